package searchspace

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
)

// Decision fields, in the order Decisions lists them within a slot, followed
// by the two global decisions.
const (
	FieldOp                   = "op"
	FieldKernel               = "kernel"
	FieldExpansion            = "expansion"
	FieldWidthMultiplier      = "width_multiplier"
	FieldResolutionMultiplier = "resolution_multiplier"
)

// Decision is one choice a controller makes: a token indexes Choices.
type Decision struct {
	// Name is "block<i>.<field>" for a slot decision, with i counted from 0
	// as in the space's blocks list, or the field alone for a global one.
	Name string `json:"name"`
	// Block is the slot index, or -1 for the width and resolution multipliers.
	Block int `json:"block"`
	// Field is one of the Field constants.
	Field string `json:"field"`
	// Choices are the choices as text: op names, integers, or multipliers
	// formatted with strconv's shortest representation.
	Choices []string `json:"choices"`
}

// Decisions returns the decisions of s in the order tokens are read by
// Decode: for each slot its op, kernel size and expansion ratio, then the
// width multiplier and the resolution multiplier. A choice list of one is
// fixed and is not a decision. Decisions does not validate s.
func (s Space) Decisions() []Decision {
	var out []Decision
	add := func(block int, field string, choices []string) {
		if len(choices) < 2 {
			return
		}
		name := field
		if block >= 0 {
			name = fmt.Sprintf("block%d.%s", block, field)
		}
		out = append(out, Decision{Name: name, Block: block, Field: field, Choices: choices})
	}
	for i, slot := range s.Blocks {
		ops := make([]string, len(slot.Ops))
		for j, op := range slot.Ops {
			ops[j] = string(op)
		}
		add(i, FieldOp, ops)
		add(i, FieldKernel, intStrings(slot.Kernels))
		add(i, FieldExpansion, intStrings(slot.Expansions))
	}
	add(-1, FieldWidthMultiplier, floatStrings(s.WidthMultipliers))
	add(-1, FieldResolutionMultiplier, floatStrings(s.ResolutionMultipliers))
	return out
}

func intStrings(v []int) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.Itoa(x)
	}
	return out
}

func floatStrings(v []float64) []string {
	out := make([]string, len(v))
	for i, x := range v {
		out[i] = strconv.FormatFloat(x, 'g', -1, 64)
	}
	return out
}

// Size returns the number of distinct architectures Decode can return from
// a valid space. A skip block ignores its kernel and expansion tokens and a
// dsconv block its expansion token, so those combinations count once.
func (s Space) Size() *big.Int {
	n := big.NewInt(int64(len(s.WidthMultipliers) * len(s.ResolutionMultipliers)))
	for _, slot := range s.Blocks {
		var perSlot int64
		for _, op := range slot.Ops {
			switch op {
			case OpSkip:
				perSlot++
			case OpDSConv:
				perSlot += int64(len(slot.Kernels))
			case OpMBConv:
				perSlot += int64(len(slot.Kernels)) * int64(len(slot.Expansions))
			}
		}
		n.Mul(n, big.NewInt(perSlot))
	}
	return n
}

// Log10Size returns log10 of Size, for display.
func (s Space) Log10Size() float64 {
	f, _ := new(big.Float).SetInt(s.Size()).Float64()
	if !math.IsInf(f, 0) {
		return math.Log10(f)
	}
	// Beyond float64: count decimal digits instead.
	return float64(len(s.Size().String()) - 1)
}

// tokenReader hands out the tokens of a Decode call in decision order; a
// fixed choice consumes no token.
type tokenReader struct {
	tokens []int
	next   int
	err    error
}

// pick returns the index of the choice for a list of n choices named name.
func (r *tokenReader) pick(name string, n int) int {
	if r.err != nil || n == 1 {
		return 0
	}
	if r.next >= len(r.tokens) {
		r.err = fmt.Errorf("searchspace: decode: %d tokens, but decision %s needs token %d; pass one token per decision", len(r.tokens), name, r.next)
		return 0
	}
	t := r.tokens[r.next]
	if t < 0 || t >= n {
		r.err = fmt.Errorf("searchspace: decode: token %d = %d is out of range for %s, which has %d choices", r.next, t, name, n)
		return 0
	}
	r.next++
	return t
}

// Decode turns tokens, one per decision of s.Decisions(), into an
// architecture. Token i indexes the choices of decision i. A skip block
// decodes to Block{Op: OpSkip}; other blocks get Channels(base, α) output
// channels. The head keeps its base width for α ≤ 1 and is scaled by α above
// (the MobileNetV2 rule). Decode returns an error for a wrong number of
// tokens or a token out of range; it does not validate s.
func (s Space) Decode(tokens []int) (Arch, error) {
	r := &tokenReader{tokens: tokens}
	blocks := make([]Block, len(s.Blocks))
	for i, slot := range s.Blocks {
		prefix := fmt.Sprintf("block%d.", i)
		op := pickFrom(r, prefix+FieldOp, slot.Ops)
		kernel := pickFrom(r, prefix+FieldKernel, slot.Kernels)
		expansion := pickFrom(r, prefix+FieldExpansion, slot.Expansions)
		blocks[i] = Block{Op: op, Kernel: kernel, Expansion: expansion, Stride: slot.Stride, Out: slot.Out}
	}
	alpha := pickFrom(r, FieldWidthMultiplier, s.WidthMultipliers)
	rho := pickFrom(r, FieldResolutionMultiplier, s.ResolutionMultipliers)
	if r.err != nil {
		return Arch{}, r.err
	}
	if r.next != len(tokens) {
		return Arch{}, fmt.Errorf("searchspace: decode: %d tokens for %d decisions; pass one token per decision", len(tokens), r.next)
	}

	a := Arch{
		Input:      s.Input,
		Classes:    s.Classes,
		Resolution: s.resolution(rho),
		Alpha:      alpha,
		Stem:       Stem{Out: s.Channels(s.Stem.Out, alpha), Kernel: s.Stem.Kernel, Stride: s.Stem.Stride},
		Blocks:     blocks,
		Head:       Head{Out: s.headChannels(alpha)},
	}
	for i, b := range blocks {
		switch b.Op {
		case OpSkip:
			a.Blocks[i] = Block{Op: OpSkip}
		case OpDSConv:
			a.Blocks[i].Expansion = 0
			a.Blocks[i].Out = s.Channels(b.Out, alpha)
		default:
			a.Blocks[i].Out = s.Channels(b.Out, alpha)
		}
	}
	return a, nil
}

// pickFrom returns the chosen element of choices, or the zero value for an
// empty list (a slot whose ops do not use the field).
func pickFrom[T any](r *tokenReader, name string, choices []T) T {
	var zero T
	if len(choices) == 0 {
		return zero
	}
	return choices[r.pick(name, len(choices))]
}

// Encode returns the tokens that Decode turns into a, so that
// s.Decode(tokens) has the same Canonical encoding as a. A token for a
// choice that a ignores (the kernel of a skip block, the expansion of a
// dsconv block) is 0. Encode returns an error naming the first field of a
// that s cannot produce.
func (s Space) Encode(a Arch) ([]int, error) {
	if len(a.Blocks) != len(s.Blocks) {
		return nil, fmt.Errorf("searchspace: encode: architecture has %d blocks, space %q has %d slots", len(a.Blocks), s.Name, len(s.Blocks))
	}
	var tokens []int
	emit := func(n, index int) {
		if n > 1 {
			tokens = append(tokens, index)
		}
	}
	for i, b := range a.Blocks {
		slot := s.Blocks[i]
		opIndex := indexOf(slot.Ops, b.Op)
		if opIndex < 0 {
			return nil, fmt.Errorf("searchspace: encode: blocks[%d].op = %s is not among the choices %v of space %q", i, b.Op, slot.Ops, s.Name)
		}
		emit(len(slot.Ops), opIndex)

		kernelIndex, expansionIndex := 0, 0
		if b.Op != OpSkip {
			if kernelIndex = indexOf(slot.Kernels, b.Kernel); kernelIndex < 0 {
				return nil, fmt.Errorf("searchspace: encode: blocks[%d].kernel = %d is not among the choices %v of space %q", i, b.Kernel, slot.Kernels, s.Name)
			}
		}
		if b.Op == OpMBConv {
			if expansionIndex = indexOf(slot.Expansions, b.Expansion); expansionIndex < 0 {
				return nil, fmt.Errorf("searchspace: encode: blocks[%d].expansion = %d is not among the choices %v of space %q", i, b.Expansion, slot.Expansions, s.Name)
			}
		}
		emit(len(slot.Kernels), kernelIndex)
		emit(len(slot.Expansions), expansionIndex)
	}

	alphaIndex := -1
	for i, alpha := range s.WidthMultipliers {
		if alpha == a.Alpha {
			alphaIndex = i
			break
		}
	}
	if alphaIndex < 0 {
		return nil, fmt.Errorf("searchspace: encode: alpha = %g is not among the width multipliers %v of space %q", a.Alpha, s.WidthMultipliers, s.Name)
	}
	emit(len(s.WidthMultipliers), alphaIndex)
	rhoIndex := -1
	for i, rho := range s.ResolutionMultipliers {
		if s.resolution(rho) == a.Resolution {
			rhoIndex = i
			break
		}
	}
	if rhoIndex < 0 {
		return nil, fmt.Errorf("searchspace: encode: resolution = %d is not produced by any resolution multiplier %v of space %q at input height %d", a.Resolution, s.ResolutionMultipliers, s.Name, s.Input.Height)
	}
	emit(len(s.ResolutionMultipliers), rhoIndex)

	// The fields no token sets (input, classes, stem, channels, head) must
	// match what the space derives from the chosen α.
	decoded, err := s.Decode(tokens)
	if err != nil {
		return nil, err
	}
	if got, want := string(a.Canonical()), string(decoded.Canonical()); got != want {
		return nil, fmt.Errorf("searchspace: encode: architecture does not belong to space %q: its tokens decode to %s, not %s", s.Name, want, got)
	}
	return tokens, nil
}

func indexOf[T comparable](list []T, v T) int {
	for i, x := range list {
		if x == v {
			return i
		}
	}
	return -1
}
