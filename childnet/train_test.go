package childnet

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"nas/dataset"
	"nas/searchspace"
)

var (
	fashionOnce sync.Once
	fashion     *dataset.Dataset
	fashionErr  error
)

// loadFashion returns Fashion-MNIST, or skips the test when the Debian
// package dataset-fashion-mnist is not installed.
func loadFashion(t *testing.T) *dataset.Dataset {
	t.Helper()
	fashionOnce.Do(func() { fashion, fashionErr = dataset.Load(dataset.SourceFashionMNIST) })
	if errors.Is(fashionErr, dataset.ErrNotFound) {
		t.Skipf("skipped: %v", fashionErr)
	}
	if fashionErr != nil {
		t.Fatal(fashionErr)
	}
	return fashion
}

// smallFashionArch is a cheap child for 28×28 grey images: a stride-2 stem
// and three mbconv blocks.
func smallFashionArch() searchspace.Arch {
	return searchspace.Arch{
		Input: searchspace.Shape{Height: 28, Width: 28, Channels: 1}, Classes: 10, Resolution: 28, Alpha: 1,
		Stem: searchspace.Stem{Out: 8, Kernel: 3, Stride: 2},
		Blocks: []searchspace.Block{
			{Op: searchspace.OpMBConv, Kernel: 3, Expansion: 3, Out: 16, Stride: 2},
			{Op: searchspace.OpMBConv, Kernel: 5, Expansion: 3, Out: 16, Stride: 1},
			{Op: searchspace.OpDSConv, Kernel: 3, Out: 24, Stride: 1},
		},
		Head: searchspace.Head{Out: 64},
	}
}

func TestTrainFashionMNISTSubset(t *testing.T) {
	ds := loadFashion(t)
	train, val, err := dataset.Split(ds.Train.Subset(5000), 1000, 1)
	if err != nil {
		t.Fatal(err)
	}
	var epochs []Progress
	cfg := TrainConfig{Epochs: 3, BatchSize: 64, LR: 0.1, Seed: 1}
	res, err := Train(context.Background(), smallFashionArch(), train, val, cfg, nil, func(p Progress) { epochs = append(epochs, p) })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("epochs %+v; validation accuracy %.3f, loss %.3f, %.0f images/s", epochs, res.TestAccuracy, res.TestLoss, res.ImagesPerSec)
	if len(epochs) != 3 {
		t.Fatalf("progress called %d times, want 3", len(epochs))
	}
	if first, last := epochs[0].Loss, epochs[2].Loss; last >= first*0.8 {
		t.Errorf("training loss went from %.3f to %.3f, want a drop of at least 20%%", first, last)
	}
	if res.TestAccuracy < 0.6 {
		t.Errorf("validation accuracy %.3f, want ≥ 0.6 (chance is 0.1)", res.TestAccuracy)
	}
	if res.Steps != 3*(4000/64) {
		t.Errorf("steps = %d, want %d", res.Steps, 3*(4000/64))
	}
}

func TestTrainCancelled(t *testing.T) {
	ds := loadFashion(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Train(ctx, smallFashionArch(), ds.Train.Subset(256), ds.Test.Subset(256), TrainConfig{Epochs: 1, BatchSize: 64}, nil, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

// fashionSpace is a small search space over 28×28 grey images with every
// kind of choice: op, kernel, expansion, width and resolution.
func fashionSpace() searchspace.Space {
	ops := []searchspace.Op{searchspace.OpMBConv, searchspace.OpDSConv, searchspace.OpSkip}
	return searchspace.Space{
		Name: "fashion-small", Input: searchspace.Shape{Height: 28, Width: 28, Channels: 1}, Classes: 10,
		Stem: searchspace.Stem{Out: 8, Kernel: 3, Stride: 2},
		Blocks: []searchspace.BlockChoice{
			{Out: 16, Stride: 2, Ops: ops[:2], Kernels: []int{3, 5}, Expansions: []int{2, 4}},
			{Out: 16, Stride: 1, Ops: ops, Kernels: []int{3, 5}, Expansions: []int{2, 4}},
			{Out: 24, Stride: 1, Ops: ops[:2], Kernels: []int{3, 5}, Expansions: []int{2, 4}},
		},
		Head:                  searchspace.Head{Out: 64},
		WidthMultipliers:      []float64{0.5, 1},
		ResolutionMultipliers: []float64{0.75, 1},
	}
}

// randomChild draws an architecture of fashionSpace, without Space.Decode so
// that this package's tests do not depend on the controller's encoding.
func randomChild(rng *rand.Rand) searchspace.Arch {
	space := fashionSpace()
	alpha := space.WidthMultipliers[rng.IntN(2)]
	a := searchspace.Arch{Input: space.Input, Classes: space.Classes, Alpha: alpha,
		Resolution: []int{21, 28}[rng.IntN(2)],
		Stem:       searchspace.Stem{Out: space.Channels(space.Stem.Out, alpha), Kernel: 3, Stride: 2},
		Head:       space.Head}
	cin := a.Stem.Out
	for _, b := range space.Blocks {
		op := b.Ops[rng.IntN(len(b.Ops))]
		out := space.Channels(b.Out, alpha)
		if op == searchspace.OpSkip && cin != out {
			op = searchspace.OpMBConv
		}
		blk := searchspace.Block{Op: op, Kernel: b.Kernels[rng.IntN(2)], Out: out, Stride: b.Stride}
		switch op {
		case searchspace.OpSkip:
			blk = searchspace.Block{Op: op}
			out = cin
		case searchspace.OpMBConv:
			blk.Expansion = b.Expansions[rng.IntN(2)]
		}
		a.Blocks = append(a.Blocks, blk)
		cin = out
	}
	return a
}

// fashionBatches returns the examples of set as normalised batches of size n.
func fashionBatches(t *testing.T, set *dataset.Set, stats dataset.Stats, n int) []Batch {
	t.Helper()
	loader, err := dataset.NewLoader(set, stats, dataset.LoaderConfig{BatchSize: n}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []Batch
	for {
		x, y := make([]float32, loader.BatchLen()), make([]int32, n)
		k := loader.Next(x, y)
		if k == 0 {
			return out
		}
		out = append(out, Batch{X: x, Y: y, N: k})
	}
}

// TestRecalibrateBNImprovesAccuracy trains a supernet on random children, then
// scores one child with the supernet's running BN statistics and with
// statistics recalibrated on training batches. The supernet's statistics
// mix children of other widths and resolutions, so they should score worse.
func TestRecalibrateBNImprovesAccuracy(t *testing.T) {
	ds := loadFashion(t)
	train, val, err := dataset.Split(ds.Train.Subset(6000), 1000, 2)
	if err != nil {
		t.Fatal(err)
	}
	stats := dataset.ComputeStats(train)
	batches := fashionBatches(t, train, stats, 64)
	valBatches := fashionBatches(t, val, stats, 250)

	net, err := NewSupernet(fashionSpace(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
		t.Fatal(err)
	}
	w := net.NewWorker(250)
	rng := rand.New(rand.NewPCG(4, 0))
	for step := range 200 {
		c, err := net.Bind(randomChild(rng))
		if err != nil {
			t.Fatal(err)
		}
		b := batches[step%len(batches)]
		if _, err := w.TrainStep(c, b.X, b.Y, b.N, 0.05); err != nil {
			t.Fatal(err)
		}
	}

	// Score the widest child at full resolution both ways.
	arch := net.widestArch()
	arch.Blocks[0].Kernel, arch.Blocks[1].Kernel, arch.Blocks[2].Kernel = 3, 3, 3
	c, err := net.Bind(arch)
	if err != nil {
		t.Fatal(err)
	}
	before, err := w.Evaluate(c, valBatches)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.RecalibrateBN(c, batches[:32]); err != nil { // 2,048 images
		t.Fatal(err)
	}
	after, err := w.Evaluate(c, valBatches)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation accuracy with supernet BN statistics %.3f (loss %.3f), recalibrated %.3f (loss %.3f)",
		before.Accuracy, before.Loss, after.Accuracy, after.Loss)
	if after.Loss >= before.Loss {
		t.Errorf("recalibrated loss %.3f is not below the supernet-statistics loss %.3f", after.Loss, before.Loss)
	}
	if after.Accuracy <= before.Accuracy+0.02 {
		t.Errorf("recalibrated accuracy %.3f is not above the supernet-statistics accuracy %.3f by 0.02", after.Accuracy, before.Accuracy)
	}
	if after.Accuracy < 0.3 {
		t.Errorf("recalibrated accuracy %.3f, want ≥ 0.3 after 200 supernet steps (chance is 0.1)", after.Accuracy)
	}
}

// TestTrainStepDeterministic trains the same sequence of children twice from
// the same seed with one worker and requires bit-identical weights.
func TestTrainStepDeterministic(t *testing.T) {
	run := func() map[string][]float32 {
		net, err := NewSupernet(tinySpace(), 9)
		if err != nil {
			t.Fatal(err)
		}
		if err := net.SetOptimizer(OptimizerConfig{Kind: Adam, WeightDecay: 1e-4, ClipNorm: 1}); err != nil {
			t.Fatal(err)
		}
		w := net.NewWorker(8)
		archs := []searchspace.Arch{tinyArch(), tinyArch()}
		archs[1].Resolution = 6
		archs[1].Blocks[0] = searchspace.Block{Op: searchspace.OpSkip}
		archs[1].Blocks[2].Op = searchspace.OpDSConv
		for step := range 6 {
			c, err := net.Bind(archs[step%2])
			if err != nil {
				t.Fatal(err)
			}
			x, y := randomBatch(uint64(step), 8, 8, 8, 2, 3)
			if _, err := w.TrainStep(c, x, y, 8, 0.01); err != nil {
				t.Fatal(err)
			}
		}
		out := map[string][]float32{}
		for name, p := range net.params {
			out[name] = slices.Clone(p.data)
		}
		return out
	}
	a, b := run(), run()
	changed := 0
	fresh, _ := NewSupernet(tinySpace(), 9)
	for name, v := range a {
		if !slices.Equal(v, b[name]) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
		if !slices.Equal(v, fresh.params[name].data) {
			changed++
		}
	}
	if changed == 0 {
		t.Fatal("training changed no tensor")
	}
}

// TestStepBookkeepingAllocatesNothing checks that childnet's own work in a
// training step (batch checks, workspace carving, gradient zeroing, the
// optimizer update and the running-statistics update) allocates nothing
// once the workspace exists. Allocations inside the kernels are theirs to
// test.
func TestStepBookkeepingAllocatesNothing(t *testing.T) {
	net, c := tinyChild(t, 1)
	for _, cfg := range []OptimizerConfig{DefaultOptimizerConfig(), {Kind: Adam, ClipNorm: 1}} {
		if err := net.SetOptimizer(cfg); err != nil {
			t.Fatal(err)
		}
		x, y := randomBatch(1, 8, 8, 8, 2, 3)
		w := net.NewWorker(8)
		if _, err := w.TrainStep(c, x, y, 8, 0.01); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(10, func() {
			if err := w.checkBatch(c, x, y, 8); err != nil {
				t.Fatal(err)
			}
			w.prepare(c, x, 8)
			for _, r := range c.regions {
				g := w.grads[r.p.name]
				r.runs(func(start, length int) { clear(g[start : start+length]) })
			}
			net.opt.step(c.regions, w.grads, 0.01)
			w.updateRunningStats(c)
		})
		if allocs != 0 {
			t.Errorf("%s: %.0f allocations per step, want 0", cfg.Kind, allocs)
		}
	}
}

// TestConcurrentWorkers trains two children at once from two goroutines on
// one supernet and checks that the loss of both on their training batches
// goes down. Run with -race to check the locking.
func TestConcurrentWorkers(t *testing.T) {
	net, _ := tinyChild(t, 8)
	if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
		t.Fatal(err)
	}
	archs := []searchspace.Arch{tinyArch(), tinyArch()}
	archs[1].Blocks[2].Op = searchspace.OpDSConv
	var batches []Batch
	for i := range 4 {
		x, y := randomBatch(uint64(100+i), 8, 8, 8, 2, 3)
		batches = append(batches, Batch{X: x, Y: y, N: 8})
	}
	meanLoss := func(a searchspace.Arch) float64 {
		c, err := net.Bind(a)
		if err != nil {
			t.Fatal(err)
		}
		w := net.NewWorker(8)
		if err := w.RecalibrateBN(c, batches); err != nil {
			t.Fatal(err)
		}
		r, err := w.Evaluate(c, batches)
		if err != nil {
			t.Fatal(err)
		}
		return r.Loss
	}
	before := []float64{meanLoss(archs[0]), meanLoss(archs[1])}

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Bind(archs[g])
			if err != nil {
				errs[g] = err
				return
			}
			w := net.NewWorker(8)
			for step := range 150 {
				b := batches[step%len(batches)]
				if _, err := w.TrainStep(c, b.X, b.Y, b.N, 0.05); err != nil {
					errs[g] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The two children share every layer but one, and the order in which
	// their updates land depends on scheduling, so one child can gain less
	// than the other in a given run. Each must still improve, and the two
	// together by a wide margin.
	var sumBefore, sumAfter float64
	for i, a := range archs {
		after := meanLoss(a)
		t.Logf("child %d: loss %.3f before, %.3f after", i, before[i], after)
		if after > 0.85*before[i] {
			t.Errorf("child %d: loss went from %.3f to %.3f, want a drop of at least 15%%", i, before[i], after)
		}
		sumBefore += before[i]
		sumAfter += after
	}
	if sumAfter > 0.6*sumBefore {
		t.Errorf("summed loss went from %.3f to %.3f, want a drop of at least 40%%", sumBefore, sumAfter)
	}
}

func TestTrainStepDivergedWrapsErr(t *testing.T) {
	net, err := NewSupernet(tinySpace(), 9)
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetOptimizer(OptimizerConfig{Kind: SGD}); err != nil {
		t.Fatal(err)
	}
	c, err := net.Bind(tinyArch())
	if err != nil {
		t.Fatal(err)
	}
	// An infinite classifier weight makes the logits, and so the loss, NaN.
	net.params["fc.weight"].data[0] = float32(math.Inf(1))
	w := net.NewWorker(8)
	x, y := randomBatch(1, 8, 8, 8, 2, 3)
	_, err = w.TrainStep(c, x, y, 8, 0.01)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("TrainStep with an infinite weight: err = %v, want ErrDiverged", err)
	}
}
