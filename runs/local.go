package runs

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync"

	"nas/childnet"
	"nas/dataset"
	"nas/latency"
	"nas/searchspace"
)

// LocalConfig configures the in-process backend. The zero value of a field
// selects its default.
type LocalConfig struct {
	// BatchSize is the mini-batch size of supernet training, BN
	// recalibration and evaluation. Default 64.
	BatchSize int `json:"batch_size"`
	// LearningRate is the constant learning rate of supernet training.
	// Default 0.05.
	LearningRate float64 `json:"learning_rate"`
	// Optimizer is the supernet's optimizer. Default
	// childnet.DefaultOptimizerConfig: SGD with Nesterov momentum 0.9 and
	// weight decay 4e-5.
	Optimizer childnet.OptimizerConfig `json:"optimizer"`
	// RecalibrationImages is the number of training images, the same for
	// every child, over which BN statistics are recomputed before a child
	// is scored. Default 512.
	RecalibrationImages int `json:"recalibration_images"`
	// LatencyRuns is the number of timed forward passes at batch 1 whose
	// median is a child's latency. Default latency.DefaultRuns.
	LatencyRuns int `json:"latency_runs"`
	// Latency, when set, replaces the measurement, for example with a
	// latency table's Latency method.
	Latency func(ctx context.Context, arch searchspace.Arch) (float64, error) `json:"-"`
	// Seed seeds the supernet weights, the order of training examples and
	// the choice of recalibration images.
	Seed uint64 `json:"seed"`
}

// Default values of LocalConfig's fields.
const (
	DefaultBatchSize           = 64
	DefaultLearningRate        = 0.05
	DefaultRecalibrationImages = 512
)

// WithDefaults returns c with zero fields replaced by their defaults, or an
// error naming the first invalid field.
func (c LocalConfig) WithDefaults() (LocalConfig, error) {
	switch {
	case c.BatchSize < 0:
		return c, fmt.Errorf("runs: invalid batch size %d: use a positive number or 0 for %d", c.BatchSize, DefaultBatchSize)
	case c.LearningRate < 0 || c.LearningRate != c.LearningRate:
		return c, fmt.Errorf("runs: invalid learning rate %v: use a positive number or 0 for %v", c.LearningRate, DefaultLearningRate)
	case c.RecalibrationImages < 0:
		return c, fmt.Errorf("runs: invalid number of recalibration images %d: use a positive number or 0 for %d", c.RecalibrationImages, DefaultRecalibrationImages)
	case c.LatencyRuns < 0:
		return c, fmt.Errorf("runs: invalid number of latency runs %d: use a positive number or 0 for %d", c.LatencyRuns, latency.DefaultRuns)
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.LearningRate == 0 {
		c.LearningRate = DefaultLearningRate
	}
	if c.Optimizer == (childnet.OptimizerConfig{}) {
		c.Optimizer = childnet.DefaultOptimizerConfig()
	}
	if c.RecalibrationImages == 0 {
		c.RecalibrationImages = DefaultRecalibrationImages
	}
	return c, nil
}

// PCG streams of the local backend, so that its random sequences differ
// from each other and from other users of the same seed.
const (
	streamEpochOrder  = 0x65706f6368 // "epoch"
	streamRecalibrate = 0x726563616c // "recal"
)

// Local is the in-process Backend: one childnet supernet shared by a
// childnet.Worker per search worker, with the training and validation
// splits in memory.
//
// Mini-batch i of training comes from epoch i / B (B batches per epoch,
// the last partial batch dropped) in an order drawn from (seed, epoch), so
// any step's batch is known without replaying earlier ones.
type Local struct {
	cfg   LocalConfig
	net   *childnet.Supernet
	train *dataset.Set
	stats dataset.Stats

	workers []*localWorker

	valBatches   []childnet.Batch
	recalBatches []childnet.Batch

	mu     sync.Mutex
	orders map[int64][]int // example order by epoch, for the epochs in use
}

type localWorker struct {
	net *childnet.Worker
	x   []float32
	y   []int32
}

// NewLocal builds a supernet for space and a backend with workers workers
// that trains on train and scores on val. Normalisation statistics come
// from train.
func NewLocal(space searchspace.Space, train, val *dataset.Set, workers int, cfg LocalConfig) (*Local, error) {
	cfg, err := cfg.WithDefaults()
	if err != nil {
		return nil, err
	}
	switch {
	case workers < 1:
		return nil, fmt.Errorf("runs: invalid number of workers %d: use 1 or more", workers)
	case train.Len() < cfg.BatchSize:
		return nil, fmt.Errorf("runs: the training split has %d images, fewer than the batch size %d: use more data or a smaller batch", train.Len(), cfg.BatchSize)
	case val.Len() == 0:
		return nil, fmt.Errorf("runs: the validation split is empty: hold out some training images for validation")
	}
	net, err := childnet.NewSupernet(space, cfg.Seed)
	if err != nil {
		return nil, err
	}
	if err := net.SetOptimizer(cfg.Optimizer); err != nil {
		return nil, err
	}

	l := &Local{cfg: cfg, net: net, train: train, stats: dataset.ComputeStats(train), orders: map[int64][]int{}}
	imageSize := train.ImageSize()
	for range workers {
		l.workers = append(l.workers, &localWorker{
			net: net.NewWorker(cfg.BatchSize),
			x:   make([]float32, cfg.BatchSize*imageSize),
			y:   make([]int32, cfg.BatchSize),
		})
	}

	// Normalise the validation split and the recalibration images once:
	// every child is scored on the same batches.
	if l.valBatches, err = l.batches(val); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, streamRecalibrate))
	recal := rng.Perm(train.Len())[:min(cfg.RecalibrationImages, train.Len())]
	slices.Sort(recal)
	if l.recalBatches, err = l.batches(train.Select(recal)); err != nil {
		return nil, err
	}
	return l, nil
}

// batches returns set normalised into batches of the configured size.
func (l *Local) batches(set *dataset.Set) ([]childnet.Batch, error) {
	loader, err := dataset.NewLoader(set, l.stats, dataset.LoaderConfig{BatchSize: l.cfg.BatchSize}, nil)
	if err != nil {
		return nil, err
	}
	var out []childnet.Batch
	for {
		x := make([]float32, loader.BatchLen())
		y := make([]int32, l.cfg.BatchSize)
		n := loader.Next(x, y)
		if n == 0 {
			return out, nil
		}
		out = append(out, childnet.Batch{X: x[:n*set.ImageSize()], Y: y[:n], N: n})
	}
}

// Supernet returns the shared supernet.
func (l *Local) Supernet() *childnet.Supernet { return l.net }

// epochOrder returns the example order of an epoch, keeping the orders of
// the two newest epochs asked for, since workers may straddle a boundary.
func (l *Local) epochOrder(epoch int64) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if order, ok := l.orders[epoch]; ok {
		return order
	}
	order := rand.New(rand.NewPCG(l.cfg.Seed, streamEpochOrder<<24+uint64(epoch))).Perm(l.train.Len())
	for e := range l.orders {
		if e < epoch-1 {
			delete(l.orders, e)
		}
	}
	l.orders[epoch] = order
	return order
}

// TrainStep implements Backend.
func (l *Local) TrainStep(ctx context.Context, worker int, arch searchspace.Arch, step int64) (float64, error) {
	w := l.workers[worker]
	child, err := l.net.Bind(arch)
	if err != nil {
		return 0, err
	}

	// Fill the worker's buffers with mini-batch number step.
	perEpoch := int64(l.train.Len() / l.cfg.BatchSize)
	order := l.epochOrder(step / perEpoch)
	first := int(step%perEpoch) * l.cfg.BatchSize
	indices := slices.Clone(order[first : first+l.cfg.BatchSize])
	loader, err := dataset.NewLoader(l.train.Select(indices), l.stats, dataset.LoaderConfig{BatchSize: l.cfg.BatchSize}, nil)
	if err != nil {
		return 0, err
	}
	n := loader.Next(w.x, w.y)

	res, err := w.net.TrainStep(child, w.x, w.y, n, l.cfg.LearningRate)
	return res.Loss, err
}

// Score implements Backend: it recalibrates the child's BN statistics on the
// fixed recalibration images, then evaluates it on the validation split.
func (l *Local) Score(ctx context.Context, worker int, arch searchspace.Arch) (Score, error) {
	w := l.workers[worker]
	child, err := l.net.Bind(arch)
	if err != nil {
		return Score{}, err
	}
	cost, err := searchspace.Cost(arch)
	if err != nil {
		return Score{}, err
	}
	if err := w.net.RecalibrateBN(child, l.recalBatches); err != nil {
		return Score{}, err
	}
	res, err := w.net.Evaluate(child, l.valBatches)
	if err != nil {
		return Score{}, err
	}
	return Score{Accuracy: res.Accuracy, Loss: res.Loss, Params: cost.Params, MACs: cost.MACs}, nil
}

// Latency implements Backend. It returns LocalConfig.Latency's value when
// that is set, and otherwise the median of LatencyRuns end-to-end timings
// of a standalone model of arch by latency.Measure: batch 1, one thread,
// with the thread's CPU clock on Linux.
func (l *Local) Latency(ctx context.Context, arch searchspace.Arch) (float64, error) {
	if l.cfg.Latency != nil {
		return l.cfg.Latency(ctx, arch)
	}
	res, err := latency.Measure(ctx, arch, latency.MeasureOptions{Runs: l.cfg.LatencyRuns, Seed: l.cfg.Seed})
	if err != nil {
		return 0, err
	}
	return res.MedianMs, nil
}

// Save implements Backend with childnet's supernet checkpoint format.
//
// Save rejects a supernet with a NaN or infinite weight with an error
// wrapping ErrDiverged. The store then keeps the last checkpoint from
// before training diverged, and a resume with a lower learning rate starts
// from finite weights.
func (l *Local) Save(w io.Writer) error {
	if name := l.net.FirstNonFinite(); name != "" {
		return fmt.Errorf("%w: supernet tensor %s contains a NaN or infinite value, so this checkpoint is not stored", ErrDiverged, name)
	}
	return l.net.SaveCheckpoint(w, nil)
}

// Load implements Backend.
func (l *Local) Load(data []byte) error {
	_, err := l.net.LoadCheckpoint(bytes.NewReader(data))
	return err
}
