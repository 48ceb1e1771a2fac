package childnet

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"nas/dataset"
	"nas/searchspace"
)

// TrainConfig configures the training of a standalone model. The zero value
// of every field selects its default; DefaultTrainConfig lists them.
type TrainConfig struct {
	// Epochs is the number of passes over the training set; default 5.
	Epochs int `json:"epochs"`
	// BatchSize is the number of images per step; default 128. The last
	// partial batch of an epoch is dropped.
	BatchSize int `json:"batch_size"`
	// LR is the peak learning rate of the cosine schedule, which decays
	// from LR to 0 over all steps; default 0.1.
	LR float64 `json:"lr"`
	// Optimizer defaults to DefaultOptimizerConfig (Nesterov SGD, momentum
	// 0.9, weight decay 4e-5) when its Kind is empty.
	Optimizer OptimizerConfig `json:"optimizer"`
	// NoAugment turns off the random crop with padding and the horizontal
	// flip (the flip only where the dataset allows it).
	NoAugment bool `json:"no_augment,omitempty"`
	// Seed seeds the weight initialisation and the data order and
	// augmentation.
	Seed uint64 `json:"seed"`
	// EvalBatch is the batch size of the test evaluation; default 256.
	EvalBatch int `json:"eval_batch"`
}

// DefaultTrainConfig returns the defaults of TrainConfig.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Epochs: 5, BatchSize: 128, LR: 0.1, Optimizer: DefaultOptimizerConfig(), EvalBatch: 256}
}

// withDefaults fills zero fields and rejects invalid ones.
func (c TrainConfig) withDefaults() (TrainConfig, error) {
	d := DefaultTrainConfig()
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.BatchSize == 0 {
		c.BatchSize = d.BatchSize
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Optimizer.Kind == "" {
		c.Optimizer = d.Optimizer
	}
	if c.EvalBatch == 0 {
		c.EvalBatch = d.EvalBatch
	}
	switch {
	case c.Epochs < 0:
		return c, fmt.Errorf("childnet: epochs %d must be positive", c.Epochs)
	case c.BatchSize < 0 || c.EvalBatch < 0:
		return c, fmt.Errorf("childnet: batch sizes %d and %d must be positive", c.BatchSize, c.EvalBatch)
	case c.LR < 0 || math.IsNaN(c.LR) || math.IsInf(c.LR, 0):
		return c, fmt.Errorf("childnet: learning rate %g must be a positive number", c.LR)
	}
	return c, nil
}

// Progress reports one finished epoch of standalone training.
type Progress struct {
	Epoch, Epochs int
	// Loss and Accuracy are the means over the epoch's training batches.
	Loss, Accuracy float64
	// LR is the learning rate of the epoch's last step.
	LR float64
	// ImagesPerSec is the training throughput of the epoch.
	ImagesPerSec float64
}

// TrainResult reports a finished standalone training.
type TrainResult struct {
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	// TrainLoss and TrainAccuracy are the means over the last epoch.
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
	Steps         int     `json:"steps"`
	// Wall is the time of training and evaluation together.
	Wall time.Duration `json:"wall_ns"`
	// ImagesPerSec is the training throughput over all epochs.
	ImagesPerSec float64 `json:"images_per_s"`

	// Model and Child hold the trained weights, for Child.SaveWeights.
	Model *Supernet `json:"-"`
	Child *Child    `json:"-"`
}

// Train trains arch from fresh He-initialised weights on train with a cosine
// learning-rate schedule and light augmentation, then evaluates it on test.
// It logs one line per epoch to logger (nil discards) and calls progress
// (when not nil) after each epoch. It stops with ctx's error when ctx is
// cancelled, checked before every step.
func Train(ctx context.Context, arch searchspace.Arch, train, test *dataset.Set, cfg TrainConfig, logger *slog.Logger, progress func(Progress)) (TrainResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return TrainResult{}, err
	}
	if logger == nil {
		logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, set := range []*dataset.Set{train, test} {
		got := searchspace.Shape{Height: set.Height, Width: set.Width, Channels: set.Channels}
		if got != arch.Input || set.Classes != arch.Classes {
			return TrainResult{}, fmt.Errorf("childnet: the %s %s split has %dx%dx%d images of %d classes, architecture %s expects %dx%dx%d of %d",
				set.Name, set.Split, set.Height, set.Width, set.Channels, set.Classes, arch.ID(), arch.Input.Height, arch.Input.Width, arch.Input.Channels, arch.Classes)
		}
	}
	model, err := NewModel(arch, cfg.Seed)
	if err != nil {
		return TrainResult{}, err
	}
	child, err := model.Bind(arch)
	if err != nil {
		return TrainResult{}, err
	}
	if err := model.SetOptimizer(cfg.Optimizer); err != nil {
		return TrainResult{}, err
	}

	// Data: normalise with training statistics; shuffle and augment
	// training batches from the seed.
	stats := dataset.ComputeStats(train)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x64617461)) // stream "data"
	loader, err := dataset.NewLoader(train, stats, dataset.LoaderConfig{BatchSize: cfg.BatchSize, Shuffle: true, DropLast: true, Augment: !cfg.NoAugment}, rng)
	if err != nil {
		return TrainResult{}, fmt.Errorf("childnet: %w", err)
	}
	worker := model.NewWorker(max(cfg.BatchSize, cfg.EvalBatch))
	x := make([]float32, loader.BatchLen())
	y := make([]int32, cfg.BatchSize)
	totalSteps := cfg.Epochs * loader.BatchesPerEpoch()

	// Training.
	res := TrainResult{Model: model, Child: child}
	start := time.Now()
	var trainTime time.Duration
	for epoch := range cfg.Epochs {
		epochStart := time.Now()
		var lossSum float64
		correct, images := 0, 0
		lr := cfg.LR
		for n := loader.Next(x, y); n > 0; n = loader.Next(x, y) {
			if err := ctx.Err(); err != nil {
				return res, fmt.Errorf("childnet: training %s stopped at epoch %d step %d: %w", arch.ID(), epoch+1, res.Steps, err)
			}
			lr = cfg.LR * 0.5 * (1 + math.Cos(math.Pi*float64(res.Steps)/float64(totalSteps)))
			step, err := worker.TrainStep(child, x, y, n, lr)
			if err != nil {
				return res, err
			}
			res.Steps++
			lossSum += step.Loss * float64(n)
			correct += step.Correct
			images += n
		}
		elapsed := time.Since(epochStart)
		trainTime += elapsed
		p := Progress{Epoch: epoch + 1, Epochs: cfg.Epochs, Loss: lossSum / float64(images), Accuracy: float64(correct) / float64(images),
			LR: lr, ImagesPerSec: float64(images) / elapsed.Seconds()}
		res.TrainLoss, res.TrainAccuracy = p.Loss, p.Accuracy
		logger.Info("epoch", "arch", arch.ID(), "epoch", p.Epoch, "epochs", p.Epochs, "loss", p.Loss, "accuracy", p.Accuracy, "lr", p.LR, "images_per_s", math.Round(p.ImagesPerSec))
		if progress != nil {
			progress(p)
		}
	}
	res.ImagesPerSec = float64(res.Steps*cfg.BatchSize) / trainTime.Seconds()

	// Test evaluation with the running BN statistics of training.
	eval, err := EvaluateSet(ctx, worker, child, test, stats, cfg.EvalBatch)
	if err != nil {
		return res, err
	}
	res.TestAccuracy, res.TestLoss = eval.Accuracy, eval.Loss
	res.Wall = time.Since(start)
	logger.Info("test", "arch", arch.ID(), "accuracy", res.TestAccuracy, "loss", res.TestLoss, "wall", res.Wall.Round(time.Millisecond))
	return res, nil
}

// EvaluateSet evaluates child c on every image of set, normalised with stats,
// in batches of batchSize. It stops with ctx's error when ctx is cancelled.
func EvaluateSet(ctx context.Context, w *Worker, c *Child, set *dataset.Set, stats dataset.Stats, batchSize int) (EvalResult, error) {
	loader, err := dataset.NewLoader(set, stats, dataset.LoaderConfig{BatchSize: batchSize}, nil)
	if err != nil {
		return EvalResult{}, fmt.Errorf("childnet: %w", err)
	}
	x := make([]float32, loader.BatchLen())
	y := make([]int32, batchSize)
	var total EvalResult
	var lossSum, correct float64
	for n := loader.Next(x, y); n > 0; n = loader.Next(x, y) {
		if err := ctx.Err(); err != nil {
			return EvalResult{}, fmt.Errorf("childnet: evaluation of %s stopped: %w", c.arch.ID(), err)
		}
		r, err := w.Evaluate(c, []Batch{{X: x, Y: y, N: n}})
		if err != nil {
			return EvalResult{}, err
		}
		lossSum += r.Loss * float64(n)
		correct += math.Round(r.Accuracy * float64(n))
		total.Images += n
	}
	total.Accuracy = correct / float64(total.Images)
	total.Loss = lossSum / float64(total.Images)
	return total, nil
}
