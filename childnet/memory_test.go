package childnet

import (
	"runtime"
	"testing"

	"nas/searchspace"
)

// memoryCase is a supernet or model to size, with the batch size of its
// workers and extra children to train after the widest one.
type memoryCase struct {
	name  string
	space *searchspace.Space // a supernet when set
	arch  searchspace.Arch   // a standalone model otherwise
	batch int
	opt   OptimizerConfig
	// lower is a resolution below the largest to train a child at, so
	// that a resized input is part of the check; 0 for none.
	lower int
}

func builtinSpace(t *testing.T, name string, side, channels int) *searchspace.Space {
	t.Helper()
	s, err := searchspace.BuiltinSpace(name, searchspace.Shape{Height: side, Width: side, Channels: channels}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func memoryCases(t *testing.T) []memoryCase {
	tiny := tinySpace()
	resized := tinyArch()
	resized.Resolution = 6
	skips := tinyArch()
	skips.Blocks[0] = searchspace.Block{Op: searchspace.OpSkip}
	skips.Blocks[2] = searchspace.Block{Op: searchspace.OpSkip}
	adam := OptimizerConfig{Kind: Adam}
	plain := OptimizerConfig{Kind: SGD}
	return []memoryCase{
		{name: "tiny space batch 1", space: &tiny, batch: 1, opt: DefaultOptimizerConfig(), lower: 6},
		{name: "tiny space batch 5 adam", space: &tiny, batch: 5, opt: adam, lower: 6},
		{name: "default space 28x28x1", space: builtinSpace(t, searchspace.SpaceDefault, 28, 1), batch: 16, opt: DefaultOptimizerConfig(), lower: 20},
		{name: "default space 32x32x3", space: builtinSpace(t, searchspace.SpaceDefault, 32, 3), batch: 7, opt: DefaultOptimizerConfig()},
		{name: "mobilenet-v2 32x32x3", space: builtinSpace(t, searchspace.PresetV2, 32, 3), batch: 2, opt: DefaultOptimizerConfig()},
		{name: "model", arch: tinyArch(), batch: 3, opt: DefaultOptimizerConfig()},
		{name: "model resized adam", arch: resized, batch: 4, opt: adam},
		{name: "model with skips plain sgd", arch: skips, batch: 9, opt: plain},
	}
}

// build returns the supernet or model of tc with its optimizer set.
func (tc memoryCase) build(t *testing.T) *Supernet {
	t.Helper()
	var net *Supernet
	var err error
	if tc.space != nil {
		net, err = NewSupernet(*tc.space, 1)
	} else {
		net, err = NewModel(tc.arch, 1)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := net.SetOptimizer(tc.opt); err != nil {
		t.Fatal(err)
	}
	return net
}

func (tc memoryCase) estimate(t *testing.T) TrainingMemory {
	t.Helper()
	var m TrainingMemory
	var err error
	if tc.space != nil {
		m, err = SupernetTrainingMemory(*tc.space, tc.batch, tc.opt)
	} else {
		m, err = ModelTrainingMemory(tc.arch, tc.batch, tc.opt)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestTrainingMemoryMatchesWorker compares the estimate with the sums of
// the slices that a supernet, its optimizer and a Worker hold after the
// widest child (and a child at a lower resolution) trained and evaluated.
func TestTrainingMemoryMatchesWorker(t *testing.T) {
	for _, tc := range memoryCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			est := tc.estimate(t)
			net := tc.build(t)
			w := net.NewWorker(tc.batch)
			arena := len(w.arena)

			// Train and evaluate the widest child, then one at a lower
			// resolution.
			archs := []searchspace.Arch{net.widestArch()}
			if tc.lower > 0 {
				a := net.widestArch()
				a.Resolution = tc.lower
				archs = append(archs, a)
			}
			in := net.spec.input
			x, y := randomBatch(3, tc.batch, in.Height, in.Width, in.Channels, net.spec.classes)
			for _, a := range archs {
				c, err := net.Bind(a)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.TrainStep(c, x, y, tc.batch, 0.01); err != nil {
					t.Fatal(err)
				}
				if _, err := w.Evaluate(c, []Batch{{X: x, Y: y, N: tc.batch}}); err != nil {
					t.Fatal(err)
				}
			}
			if len(w.arena) != arena {
				t.Errorf("the arena grew from %d to %d values, so NewWorker did not size it for these children", arena, len(w.arena))
			}

			// Sum what was allocated.
			var weights, trainable, grads, state int64
			for _, p := range net.params {
				weights += 4 * int64(len(p.data))
				if p.kind.trainable() {
					trainable += 4 * int64(len(p.data))
				}
			}
			for _, g := range w.grads {
				grads += 4 * int64(len(g))
			}
			for _, table := range []map[string][]float32{net.opt.first, net.opt.second} {
				for _, s := range table {
					state += 4 * int64(len(s))
				}
			}
			workspace := 4*int64(len(w.arena)) + 8*int64(len(w.labels)) + 4*int64(len(w.affine))

			if est.Weights != weights {
				t.Errorf("weights: estimate %d bytes, supernet holds %d", est.Weights, weights)
			}
			if est.Gradients != grads {
				t.Errorf("gradients: estimate %d bytes, worker holds %d", est.Gradients, grads)
			}
			if est.Workspace != workspace {
				t.Errorf("workspace: estimate %d bytes, worker holds %d (arena %d values, labels %d, affine %d)",
					est.Workspace, workspace, len(w.arena), len(w.labels), len(w.affine))
			}
			// A model's one child updates every tensor, a supernet's widest
			// child only those of its ops, so the state of a supernet is at
			// most the estimate.
			wantState := map[string]int64{Adam: 2 * trainable, SGD: trainable}[tc.opt.Kind]
			if tc.opt.Kind == SGD && tc.opt.Momentum == 0 {
				wantState = 0
			}
			if est.Optimizer != wantState {
				t.Errorf("optimizer: estimate %d bytes, want %d for %s with momentum %g", est.Optimizer, wantState, tc.opt.Kind, tc.opt.Momentum)
			}
			if tc.space == nil && state != est.Optimizer {
				t.Errorf("optimizer: estimate %d bytes, model's optimizer holds %d", est.Optimizer, state)
			}
			if state > est.Optimizer {
				t.Errorf("optimizer: estimate %d bytes, below the %d the optimizer holds", est.Optimizer, state)
			}
			if total := est.Weights + est.Optimizer + 2*(est.Gradients+est.Workspace); est.Total(2) != total {
				t.Errorf("Total(2) = %d, want %d", est.Total(2), total)
			}
		})
	}
}

// TestTrainingMemoryMatchesHeap compares the per-worker estimate with the
// bytes the Go heap allocates in NewWorker, within 1% and 64 KiB for the
// map and slice headers.
func TestTrainingMemoryMatchesHeap(t *testing.T) {
	space := builtinSpace(t, searchspace.SpaceDefault, 28, 1)
	const batch = 32
	est, err := SupernetTrainingMemory(*space, batch, DefaultOptimizerConfig())
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewSupernet(*space, 1)
	if err != nil {
		t.Fatal(err)
	}

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	w := net.NewWorker(batch)
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(w)

	// NewWorker does not allocate the batch norm scratch yet.
	want := est.Gradients + est.Workspace - 4*2*int64(maxLayerWidth(t, net))
	got := int64(after.TotalAlloc - before.TotalAlloc)
	t.Logf("NewWorker allocated %d bytes, estimate %d", got, want)
	if diff := got - want; diff < 0 || diff > want/100+64<<10 {
		t.Errorf("NewWorker allocated %d bytes, estimate without the batch norm scratch %d (difference %d)", got, want, diff)
	}
}

// maxLayerWidth returns the largest output channel count of a layer of the
// widest child of net.
func maxLayerWidth(t *testing.T, net *Supernet) int {
	t.Helper()
	c, err := net.Bind(net.widestArch())
	if err != nil {
		t.Fatal(err)
	}
	width := 0
	for _, l := range c.layers {
		width = max(width, l.cout)
	}
	return width
}

func TestTrainingMemoryRejects(t *testing.T) {
	if _, err := ModelTrainingMemory(tinyArch(), 0, DefaultOptimizerConfig()); err == nil {
		t.Error("batch 0: no error")
	}
	if _, err := ModelTrainingMemory(tinyArch(), 1, OptimizerConfig{Kind: "lbfgs"}); err == nil {
		t.Error("unknown optimizer: no error")
	}
	bad := tinyArch()
	bad.Classes = 1
	if _, err := ModelTrainingMemory(bad, 1, DefaultOptimizerConfig()); err == nil {
		t.Error("one class: no error")
	}
}

// TestTrainingMemoryGrowsWithBatch checks that only the workspace depends
// on the batch size.
func TestTrainingMemoryGrowsWithBatch(t *testing.T) {
	small, err := ModelTrainingMemory(tinyArch(), 8, DefaultOptimizerConfig())
	if err != nil {
		t.Fatal(err)
	}
	large, err := ModelTrainingMemory(tinyArch(), 64, DefaultOptimizerConfig())
	if err != nil {
		t.Fatal(err)
	}
	if large.Workspace <= small.Workspace {
		t.Errorf("workspace %d bytes at batch 64, not above %d at batch 8", large.Workspace, small.Workspace)
	}
	if large.Weights != small.Weights || large.Gradients != small.Gradients || large.Optimizer != small.Optimizer {
		t.Errorf("batch size changed the shared or gradient bytes: %+v at 8, %+v at 64", small, large)
	}
}
