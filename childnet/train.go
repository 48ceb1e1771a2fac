package childnet

import (
	"errors"
	"fmt"
	"math"

	"nas/kernels"
)

// Batch is a batch of images and labels: X holds N images NHWC at the input
// size of the architecture (not its resolution), Y holds N labels.
type Batch struct {
	X []float32
	Y []int32
	N int
}

// StepResult reports one training step.
type StepResult struct {
	// Loss is the mean cross-entropy of the batch before the update.
	Loss float64
	// Correct counts the images of the batch the child classified right
	// before the update.
	Correct int
	// GradNorm is the global L2 norm of the gradients before clipping.
	GradNorm float64
}

// SetOptimizer sets the optimizer that TrainStep applies, discarding the state
// of the previous one.
func (s *Supernet) SetOptimizer(cfg OptimizerConfig) error {
	o, err := newOptimizer(cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.opt = o
	s.mu.Unlock()
	return nil
}

// ErrDiverged is wrapped by the error of a training step whose loss is NaN
// or infinite, which usually means that the learning rate is too high.
var ErrDiverged = errors.New("training diverged")

// TrainStep runs one training step of child c on a batch. It runs a forward
// pass with batch statistics and the backward pass into the worker's
// gradient buffers. Then, under the supernet's write lock, it updates only
// the weights c uses with learning rate lr, and the running BN statistics
// of c's layers with momentum BNMomentum. It returns an error for an invalid batch or a
// non-finite loss; the supernet is not updated then.
func (w *Worker) TrainStep(c *Child, x []float32, y []int32, n int, lr float64) (StepResult, error) {
	if err := w.checkBatch(c, x, y, n); err != nil {
		return StepResult{}, err
	}
	net := w.net

	// Forward and backward under the read lock: other workers may compute
	// at the same time, but no update changes the weights meanwhile.
	net.mu.RLock()
	if net.opt == nil {
		net.mu.RUnlock()
		return StepResult{}, fmt.Errorf("childnet: no optimizer set; call SetOptimizer before TrainStep")
	}
	loss, correct := w.computeGradients(c, x, n)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		net.mu.RUnlock()
		return StepResult{Loss: loss, Correct: correct}, fmt.Errorf("childnet: %w on architecture %s: loss is %v; lower the learning rate", ErrDiverged, c.arch.ID(), loss)
	}
	net.mu.RUnlock()

	// Update under the write lock.
	net.mu.Lock()
	norm := net.opt.step(c.regions, w.grads, lr)
	w.updateRunningStats(c)
	net.mu.Unlock()
	return StepResult{Loss: loss, Correct: correct, GradNorm: norm}, nil
}

// computeGradients runs the forward and backward pass of c on a checked batch
// (labels already in w.labels) and returns the mean loss and the number of
// images classified right. The gradients are left in w.grads; when the loss
// is not finite, the backward pass is skipped. The caller holds the read lock.
func (w *Worker) computeGradients(c *Child, x []float32, n int) (float64, int) {
	w.prepare(c, x, n)
	w.forward(c, bnTrain, nil)
	a := &w.acts
	loss := float64(kernels.SoftmaxCrossEntropy(a.dLogits, a.logits, w.labels, n, c.classes))
	correct := countCorrect(a.logits, w.labels, n, c.classes)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return loss, correct
	}
	w.backward(c)
	return loss, correct
}

// updateRunningStats applies the momentum update of the running BN statistics
// of c from the batch statistics of the last forward pass, as PyTorch does in
// training mode (unbiased batch variance). The caller holds the write lock.
func (w *Worker) updateRunningStats(c *Child) {
	a := &w.acts
	const m = BNMomentum
	for i := range c.layers {
		l := &c.layers[i]
		rows := a.n * l.oh * l.ow
		unbias := 1.0
		if rows > 1 {
			unbias = float64(rows) / float64(rows-1)
		}
		mean, variance := l.runMean.data, l.runVar.data
		for ch := range l.cout {
			inv := float64(a.invStd[i][ch])
			batchVar := (1/(inv*inv) - kernels.BatchNormEps) * unbias
			mean[ch] = float32((1-m)*float64(mean[ch]) + m*float64(a.mean[i][ch]))
			variance[ch] = float32((1-m)*float64(variance[ch]) + m*max(batchVar, 0))
		}
	}
}

// countCorrect counts rows of logits whose largest value is at the label
// (the first largest on ties).
func countCorrect(logits []float32, labels []int, n, classes int) int {
	correct := 0
	for i := range n {
		row := logits[i*classes : (i+1)*classes]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		if best == labels[i] {
			correct++
		}
	}
	return correct
}

// EvalResult reports an evaluation.
type EvalResult struct {
	// Accuracy is the fraction of images classified right, in [0, 1].
	Accuracy float64
	// Loss is the mean cross-entropy per image.
	Loss float64
	// Images is the number of images evaluated.
	Images int
}

// Evaluate runs child c in inference mode over batches and returns its
// accuracy and mean loss. BN uses the child's recalibrated statistics after
// RecalibrateBN and the supernet's running statistics otherwise. The
// supernet's read lock is held per batch, so when other workers train at the
// same time, later batches may see newer weights.
func (w *Worker) Evaluate(c *Child, batches []Batch) (EvalResult, error) {
	var res EvalResult
	var lossSum float64
	correct := 0
	for bi, b := range batches {
		if b.Y == nil {
			return EvalResult{}, fmt.Errorf("childnet: evaluate: batch %d has no labels", bi)
		}
		if err := w.checkBatch(c, b.X, b.Y, b.N); err != nil {
			return EvalResult{}, fmt.Errorf("childnet: evaluate: batch %d: %w", bi, err)
		}
		// Lock per batch, so that other workers' updates wait for one
		// batch, not for the whole evaluation.
		w.net.mu.RLock()
		w.prepare(c, b.X, b.N)
		w.forward(c, bnEval, nil)
		w.net.mu.RUnlock()
		a := &w.acts
		loss := kernels.SoftmaxCrossEntropy(nil, a.logits, w.labels, b.N, c.classes)
		lossSum += float64(loss) * float64(b.N)
		correct += countCorrect(a.logits, w.labels, b.N, c.classes)
		res.Images += b.N
	}
	if res.Images == 0 {
		return EvalResult{}, fmt.Errorf("childnet: evaluate: no images; pass at least one non-empty batch")
	}
	res.Accuracy = float64(correct) / float64(res.Images)
	res.Loss = lossSum / float64(res.Images)
	return res, nil
}

// Logits runs child c in inference mode on n images x and returns a new
// [n, classes] slice of logits.
func (w *Worker) Logits(c *Child, x []float32, n int) ([]float32, error) {
	if err := w.checkBatch(c, x, nil, n); err != nil {
		return nil, err
	}
	w.net.mu.RLock()
	defer w.net.mu.RUnlock()
	w.prepare(c, x, n)
	w.forward(c, bnEval, nil)
	return append([]float32(nil), w.acts.logits[:n*c.classes]...), nil
}

// RecalibrateBN recomputes the running BN statistics of child c as exact
// averages over batches (forward passes with batch statistics, no weight
// update) and keeps them in c, leaving the supernet's statistics alone.
// Supernet statistics mix every child trained so far and are wrong for any
// single one, so recalibrate a child on a fixed set of training batches (a
// few thousand images) before scoring it. Labels are not needed.
func (w *Worker) RecalibrateBN(c *Child, batches []Batch) error {
	stats := make([]*kernels.BatchNormStats, len(c.layers))
	for i, l := range c.layers {
		stats[i] = kernels.NewBatchNormStats(l.cout)
	}
	for bi, b := range batches {
		if err := w.checkBatch(c, b.X, nil, b.N); err != nil {
			return fmt.Errorf("childnet: recalibrate BN: batch %d: %w", bi, err)
		}
		w.net.mu.RLock()
		w.prepare(c, b.X, b.N)
		w.forward(c, bnTrain, stats)
		w.net.mu.RUnlock()
	}

	// Every layer gets at least as many rows as the last one, whose output
	// may be as small as 1×1 per image.
	last := c.layers[len(c.layers)-1]
	if stats[len(stats)-1].Count() < 2 {
		return fmt.Errorf("childnet: BN recalibration of %s needs at least 2 rows per layer, the %dx%d last layer got %d; pass more images", c.arch.ID(), last.oh, last.ow, stats[len(stats)-1].Count())
	}
	own := make([]bnStats, len(c.layers))
	for i, l := range c.layers {
		own[i] = bnStats{mean: make([]float32, l.cout), variance: make([]float32, l.cout)}
		stats[i].WriteRunning(own[i].mean, own[i].variance)
	}
	c.stats = own
	return nil
}
