package childnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"nas/searchspace"
)

// slotSpec is the largest variant of one block slot.
type slotSpec struct {
	stride    int
	cin, cout int // channels at the widest α
	skip      bool
	mb        *opSpec // nil when the slot does not offer mbconv
	ds        *opSpec // nil when the slot does not offer dsconv
}

// opSpec is the largest kernel size and expansion ratio an op takes in a slot.
type opSpec struct{ kMax, tMax int }

// netSpec is the shape of a supernet: every tensor is sized from it.
type netSpec struct {
	input   searchspace.Shape
	classes int
	stem    searchspace.Stem // Out at the widest α
	slots   []slotSpec
	headOut int // at the widest α; 0 when there is no head conv
	maxRes  int // largest resolution a child may use
}

// specFromSpace sizes a supernet for every architecture space can decode to.
func specFromSpace(space searchspace.Space) (netSpec, error) {
	if len(space.WidthMultipliers) == 0 || len(space.ResolutionMultipliers) == 0 {
		return netSpec{}, fmt.Errorf("childnet: space %q has no width or resolution multipliers; list at least one of each", space.Name)
	}
	alpha := slices.Max(space.WidthMultipliers)
	rho := slices.Max(space.ResolutionMultipliers)
	s := netSpec{
		input:   space.Input,
		classes: space.Classes,
		stem:    space.Stem,
		maxRes:  int(math.Round(rho * float64(space.Input.Height))),
	}
	s.stem.Out = space.Channels(space.Stem.Out, alpha)
	cin := s.stem.Out
	for i, b := range space.Blocks {
		slot := slotSpec{stride: b.Stride, cin: cin, cout: space.Channels(b.Out, alpha)}
		// A slot that offers only skip has no kernel sizes, no weights
		// and no layers, so its children pass their input through.
		usesKernel := slices.ContainsFunc(b.Ops, func(op searchspace.Op) bool { return op != searchspace.OpSkip })
		if usesKernel && len(b.Kernels) == 0 {
			return netSpec{}, fmt.Errorf("childnet: space %q block %d offers %v but no kernel sizes; list them under kernels", space.Name, i, b.Ops)
		}
		kMax, tMax := 0, 1
		if len(b.Kernels) > 0 {
			kMax = slices.Max(b.Kernels)
		}
		if len(b.Expansions) > 0 {
			tMax = slices.Max(b.Expansions)
		}
		for _, op := range b.Ops {
			switch op {
			case searchspace.OpSkip:
				slot.skip = true
			case searchspace.OpMBConv:
				slot.mb = &opSpec{kMax: kMax, tMax: tMax}
			case searchspace.OpDSConv:
				slot.ds = &opSpec{kMax: kMax, tMax: 1}
			default:
				return netSpec{}, fmt.Errorf("childnet: space %q block %d has unknown op %q", space.Name, i, op)
			}
		}
		s.slots = append(s.slots, slot)
		cin = slot.cout
	}
	// The head conv keeps its base width for α ≤ 1 and scales above it, so
	// its largest width is at max(α, 1).
	if space.Head.Out > 0 {
		s.headOut = space.Channels(space.Head.Out, max(alpha, 1))
	}
	return s, nil
}

// specFromArch sizes a standalone model: a supernet with exactly one child.
// Skip blocks become slots without weights.
func specFromArch(a searchspace.Arch) (netSpec, error) {
	if err := checkArchShape(a); err != nil {
		return netSpec{}, err
	}
	s := netSpec{input: a.Input, classes: a.Classes, stem: a.Stem, headOut: a.Head.Out, maxRes: a.Resolution}
	cin := a.Stem.Out
	for _, b := range a.Blocks {
		slot := slotSpec{stride: b.Stride, cin: cin, cout: b.Out}
		switch b.Op {
		case searchspace.OpSkip:
			slot.skip, slot.stride, slot.cout = true, 1, cin
		case searchspace.OpMBConv:
			slot.mb = &opSpec{kMax: b.Kernel, tMax: b.Expansion}
		case searchspace.OpDSConv:
			slot.ds = &opSpec{kMax: b.Kernel, tMax: 1}
		}
		s.slots = append(s.slots, slot)
		cin = slot.cout
	}
	return s, nil
}

// checkArchShape rejects an architecture whose sizes no network can have.
func checkArchShape(a searchspace.Arch) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("childnet: architecture %s: "+format, append([]any{a.ID()}, args...)...)
	}
	switch {
	case a.Input.Height <= 0 || a.Input.Width <= 0 || a.Input.Channels <= 0:
		return bad("input shape %+v must be positive", a.Input)
	case a.Input.Height != a.Input.Width:
		return bad("input %dx%d is not square; childnet resizes to square Resolution×Resolution only from square inputs", a.Input.Height, a.Input.Width)
	case a.Classes < 2:
		return bad("classes = %d, want at least 2", a.Classes)
	case a.Resolution <= 0:
		return bad("resolution = %d, want a positive side in pixels", a.Resolution)
	case a.Stem.Out <= 0 || a.Stem.Kernel <= 0 || a.Stem.Kernel%2 == 0 || a.Stem.Stride < 1:
		return bad("stem %+v needs positive out, an odd kernel and stride ≥ 1", a.Stem)
	case a.Head.Out < 0:
		return bad("head out = %d, want 0 (no head conv) or more", a.Head.Out)
	}
	for i, b := range a.Blocks {
		switch b.Op {
		case searchspace.OpSkip:
			continue
		case searchspace.OpMBConv:
			if b.Expansion < 1 {
				return bad("block %d: mbconv expansion = %d, want ≥ 1", i, b.Expansion)
			}
		case searchspace.OpDSConv:
		default:
			return bad("block %d: unknown op %q; use mbconv, dsconv or skip", i, b.Op)
		}
		if b.Kernel < 1 || b.Kernel%2 == 0 {
			return bad("block %d: kernel = %d, want an odd size", i, b.Kernel)
		}
		if b.Stride != 1 && b.Stride != 2 {
			return bad("block %d: stride = %d, want 1 or 2", i, b.Stride)
		}
		if b.Out <= 0 {
			return bad("block %d: out = %d, want > 0", i, b.Out)
		}
	}
	return nil
}

// Supernet is one set of weights that every child of a search space shares.
// Each block slot holds its largest variant: the largest kernel size and
// expansion ratio, with channels at the widest α. A child uses the centre k×k
// taps of each depthwise kernel and the first channels of each layer. When a
// slot offers both dsconv and mbconv, each op has weights of its own.
//
// The weights are read by every Worker training or evaluating a child and
// written only under the Supernet's lock; see Worker.
type Supernet struct {
	spec   netSpec
	params map[string]*param
	names  []string // parameter names in creation order

	// mu guards params' data and opt: workers hold it for reading while they
	// compute and for writing while they apply an update.
	mu  sync.RWMutex
	opt *optimizer
}

// NewSupernet builds the supernet of space with He-initialised weights drawn
// from a PCG generator seeded with seed.
func NewSupernet(space searchspace.Space, seed uint64) (*Supernet, error) {
	spec, err := specFromSpace(space)
	if err != nil {
		return nil, err
	}
	return newSupernet(spec, seed), nil
}

// NewModel builds a standalone model of arch with fresh He-initialised weights
// drawn from a PCG generator seeded with seed: a supernet with exactly one
// child, arch itself.
func NewModel(arch searchspace.Arch, seed uint64) (*Supernet, error) {
	spec, err := specFromArch(arch)
	if err != nil {
		return nil, err
	}
	return newSupernet(spec, seed), nil
}

func newSupernet(spec netSpec, seed uint64) *Supernet {
	s := layoutSupernet(spec)

	// Allocate and initialise in creation order from one generator, so a
	// seed fixes every weight.
	rng := rand.New(rand.NewPCG(seed, 0x6368696c646e6574)) // stream "childnet"
	for _, name := range s.names {
		p := s.params[name]
		p.data = make([]float32, shapeSize(p.shape))
		p.init(rng)
	}
	return s
}

// layoutSupernet returns a supernet of spec whose tensors have names, kinds,
// shapes and fan-ins but no values: newSupernet allocates them, and the
// memory estimate counts them.
func layoutSupernet(spec netSpec) *Supernet {
	s := &Supernet{spec: spec, params: map[string]*param{}}
	cin := spec.input.Channels

	// Stem: HWIO [K][K][Cin][CoutMax].
	k := spec.stem.Kernel
	s.addConv("stem.conv", k*k*cin, k, k, cin, spec.stem.Out)
	s.addBN("stem.bn", spec.stem.Out)
	cin = spec.stem.Out

	for i, slot := range spec.slots {
		if mb := slot.mb; mb != nil {
			prefix := fmt.Sprintf("blocks.%d.mbconv", i)
			hidden := cin * mb.tMax
			if mb.tMax > 1 {
				s.addConv(prefix+".expand.conv", cin, cin, hidden)
				s.addBN(prefix+".expand.bn", hidden)
			}
			s.addConv(prefix+".dw.conv", mb.kMax*mb.kMax, mb.kMax, mb.kMax, hidden)
			s.addBN(prefix+".dw.bn", hidden)
			s.addConv(prefix+".project.conv", hidden, hidden, slot.cout)
			s.addBN(prefix+".project.bn", slot.cout)
		}
		if ds := slot.ds; ds != nil {
			prefix := fmt.Sprintf("blocks.%d.dsconv", i)
			s.addConv(prefix+".dw.conv", ds.kMax*ds.kMax, ds.kMax, ds.kMax, cin)
			s.addBN(prefix+".dw.bn", cin)
			s.addConv(prefix+".pw.conv", cin, cin, slot.cout)
			s.addBN(prefix+".pw.bn", slot.cout)
		}
		cin = slot.cout
	}

	if spec.headOut > 0 {
		s.addConv("head.conv", cin, cin, spec.headOut)
		s.addBN("head.bn", spec.headOut)
		cin = spec.headOut
	}
	s.add(&param{name: "fc.weight", kind: kindLinear, shape: []int{cin, spec.classes}, fanIn: cin})
	s.add(&param{name: "fc.bias", kind: kindBias, shape: []int{spec.classes}})
	return s
}

func (s *Supernet) add(p *param) {
	s.params[p.name] = p
	s.names = append(s.names, p.name)
}

func (s *Supernet) addConv(name string, fanIn int, shape ...int) {
	s.add(&param{name: name, kind: kindConv, shape: shape, fanIn: fanIn})
}

func (s *Supernet) addBN(prefix string, c int) {
	for _, t := range []struct {
		suffix string
		kind   paramKind
	}{{".weight", kindGamma}, {".bias", kindBeta}, {".running_mean", kindRunMean}, {".running_var", kindRunVar}} {
		s.add(&param{name: prefix + t.suffix, kind: t.kind, shape: []int{c}})
	}
}

// FirstNonFinite returns the name of the first tensor, in creation order,
// that holds a NaN or an infinity, or "" when every value is finite. A
// training step that overflows leaves such values behind, and every later
// step and score through them fails.
func (s *Supernet) FirstNonFinite() string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, name := range s.names {
		for _, v := range s.params[name].data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return name
			}
		}
	}
	return ""
}

// NumParams returns the number of trainable values in the supernet.
func (s *Supernet) NumParams() int {
	n := 0
	for _, p := range s.params {
		if p.kind.trainable() {
			n += len(p.data)
		}
	}
	return n
}
