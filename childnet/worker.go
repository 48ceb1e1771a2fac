package childnet

import (
	"fmt"

	"nas/kernels"
	"nas/searchspace"
)

// BNMomentum is the momentum of the running BN statistics during training,
// PyTorch's default: running = 0.9·running + 0.1·batch.
const BNMomentum = 0.1

// Worker trains and evaluates children of one supernet. It owns the
// activation workspace and gradient buffers. Both are sized for the widest
// child when the Worker is created and reused for every step, so childnet
// allocates nothing per step unless a batch is larger than the one the
// Worker was created for. A Worker is not safe for concurrent use; run one per
// goroutine.
type Worker struct {
	net *Supernet
	// grads holds one supernet-shaped gradient tensor per trainable
	// parameter, keyed by name; a step zeroes and fills only the regions
	// its child uses.
	grads map[string][]float32

	arena  []float32
	labels []int
	acts   activations

	// affine is per-layer scratch of the forward pass: the scale and shift
	// of batch norm folded into one transform in eval mode, the batch
	// variance when recalibrating.
	affine []float32
}

// activations are the workspace slices of one forward and backward pass,
// carved out of the arena for the current child and batch size.
type activations struct {
	n       int
	input   []float32   // the batch resized to the child's resolution
	z, a    [][]float32 // per layer: conv output, and BN (+ReLU6) output
	mean    [][]float32 // per layer: batch mean from the training forward pass
	invStd  [][]float32 // per layer: batch 1/sqrt(var+ε)
	pooled  []float32   // [N, featC]
	logits  []float32   // [N, classes]
	dLogits []float32
	dPooled []float32
	g0, g1  []float32 // gradients with respect to layer outputs (ping-pong)
	dz      []float32 // gradient with respect to a conv output
}

// NewWorker returns a worker for s whose workspace fits the widest child of
// s at batch size maxBatch. Larger batches or children still work; the
// workspace grows on first use.
func (s *Supernet) NewWorker(maxBatch int) *Worker {
	w := &Worker{net: s, grads: map[string][]float32{}}
	for _, name := range s.names {
		if p := s.params[name]; p.kind.trainable() {
			w.grads[name] = make([]float32, len(p.data))
		}
	}
	if c, err := s.Bind(s.widestArch()); err == nil && maxBatch > 0 {
		// The widest child takes the input at its own size, so add room
		// for a child that resizes it.
		resized := maxBatch * s.spec.maxRes * s.spec.maxRes * s.spec.input.Channels
		w.arena = make([]float32, c.workspaceSize(maxBatch)+resized)
		w.labels = make([]int, maxBatch)
	}
	return w
}

// widestArch returns the architecture of s that needs the most workspace:
// every slot at its largest mbconv (or dsconv, when it offers no mbconv),
// at the largest resolution.
func (s *Supernet) widestArch() searchspace.Arch {
	spec := s.spec
	a := searchspace.Arch{Input: spec.input, Classes: spec.classes, Resolution: spec.maxRes, Alpha: 1,
		Stem: spec.stem, Head: searchspace.Head{Out: spec.headOut}}
	for _, slot := range spec.slots {
		switch {
		case slot.mb != nil:
			a.Blocks = append(a.Blocks, searchspace.Block{Op: searchspace.OpMBConv, Kernel: slot.mb.kMax, Expansion: slot.mb.tMax, Out: slot.cout, Stride: slot.stride})
		case slot.ds != nil:
			a.Blocks = append(a.Blocks, searchspace.Block{Op: searchspace.OpDSConv, Kernel: slot.ds.kMax, Out: slot.cout, Stride: slot.stride})
		default:
			a.Blocks = append(a.Blocks, searchspace.Block{Op: searchspace.OpSkip})
		}
	}
	return a
}

// workspaceSize returns the number of float32 values the workspace of c
// needs at batch size n; it matches the carving in Worker.prepare.
func (c *Child) workspaceSize(n int) int {
	total := 0
	if c.arch.Resolution != c.arch.Input.Height {
		total += n * c.arch.Resolution * c.arch.Resolution * c.arch.Input.Channels
	}
	maxGrad := 0
	for _, l := range c.layers {
		out := n * l.oh * l.ow * l.cout
		total += 2*out + 2*l.cout
		maxGrad = max(maxGrad, out, n*l.h*l.w*l.cin)
	}
	total += 2*n*c.featC + 2*n*c.classes
	return total + 3*maxGrad
}

// prepare carves the workspace for child c at batch size n, growing the
// arena when it is too small, and resizes x into the input buffer.
func (w *Worker) prepare(c *Child, x []float32, n int) {
	if c.net != w.net {
		panic("childnet: child is bound to a different supernet than the worker")
	}
	size := c.workspaceSize(n)
	if len(w.arena) < size {
		w.arena = make([]float32, size)
	}

	rest := w.arena
	take := func(k int) []float32 {
		s := rest[:k:k]
		rest = rest[k:]
		return s
	}

	// Input, resized to the child's resolution when needed.
	a := &w.acts
	a.n = n
	in := c.arch.Input
	res := c.arch.Resolution
	if res != in.Height {
		a.input = take(n * res * res * in.Channels)
		kernels.ResizeBilinear(a.input, x, n, in.Height, in.Width, in.Channels, res, res)
	} else {
		a.input = x[:n*in.Height*in.Width*in.Channels]
	}

	// Per-layer activations and statistics, then the classifier and the
	// gradient buffers.
	a.z, a.a, a.mean, a.invStd = a.z[:0], a.a[:0], a.mean[:0], a.invStd[:0]
	maxGrad := 0
	for _, l := range c.layers {
		out := n * l.oh * l.ow * l.cout
		a.z = append(a.z, take(out))
		a.a = append(a.a, take(out))
		a.mean = append(a.mean, take(l.cout))
		a.invStd = append(a.invStd, take(l.cout))
		maxGrad = max(maxGrad, out, n*l.h*l.w*l.cin)
	}
	a.pooled = take(n * c.featC)
	a.dPooled = take(n * c.featC)
	a.logits = take(n * c.classes)
	a.dLogits = take(n * c.classes)
	a.g0, a.g1, a.dz = take(maxGrad), take(maxGrad), take(maxGrad)
}

// checkBatch validates a batch against child c and copies its labels.
func (w *Worker) checkBatch(c *Child, x []float32, y []int32, n int) error {
	in := c.arch.Input
	if n < 1 {
		return fmt.Errorf("childnet: batch size %d, want at least 1", n)
	}
	if want := n * in.Height * in.Width * in.Channels; len(x) < want {
		return fmt.Errorf("childnet: batch of %d images of %dx%dx%d needs %d values, got %d", n, in.Height, in.Width, in.Channels, want, len(x))
	}
	if y == nil {
		return nil
	}
	if len(y) < n {
		return fmt.Errorf("childnet: batch of %d images has %d labels", n, len(y))
	}
	if cap(w.labels) < n {
		w.labels = make([]int, n)
	}
	w.labels = w.labels[:n]
	for i, label := range y[:n] {
		if label < 0 || int(label) >= c.classes {
			return fmt.Errorf("childnet: label %d of image %d is outside [0, %d)", label, i, c.classes)
		}
		w.labels[i] = int(label)
	}
	return nil
}
