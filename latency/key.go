package latency

import (
	"fmt"
	"slices"
	"strings"

	"nas/searchspace"
)

// Kinds of table entries. A block entry's kind is its op.
const (
	KindStem       = "stem"
	KindMBConv     = string(searchspace.OpMBConv)
	KindDSConv     = string(searchspace.OpDSConv)
	KindHead       = "head"
	KindClassifier = "classifier"
)

// Key identifies one layer configuration, the unit that a table times. Two
// children that contain the same configuration at the same place in the
// network (same input side and channels) share its key, whatever the rest
// of the two networks is. Fields that a kind does not use are zero.
type Key struct {
	Kind string
	// Input is the image shape the stem reads, before resizing (stem only).
	Input searchspace.Shape
	// Side is the height and width of the layer's input feature map; for
	// the stem it is the resolution the image is resized to.
	Side int
	// In and Out are the input and output channels. For the classifier Out
	// is the number of classes.
	In, Out int
	// Kernel is the depthwise (or stem) kernel size, Expansion the
	// expansion ratio of an mbconv block, and Stride the block's stride.
	Kernel, Expansion, Stride int
}

// String returns the canonical text form of k, which is the entry's name in
// a table and in its JSON encoding:
//
//	stem/28x28x1/r24/k3/s1/c16
//	mbconv/24/c16-24/k5/t6/s2
//	dsconv/24/c16-24/k3/s1
//	head/4/c80-256
//	classifier/4/c256-10
func (k Key) String() string {
	switch k.Kind {
	case KindStem:
		return fmt.Sprintf("stem/%dx%dx%d/r%d/k%d/s%d/c%d", k.Input.Height, k.Input.Width, k.Input.Channels, k.Side, k.Kernel, k.Stride, k.Out)
	case KindMBConv:
		return fmt.Sprintf("mbconv/%d/c%d-%d/k%d/t%d/s%d", k.Side, k.In, k.Out, k.Kernel, k.Expansion, k.Stride)
	case KindDSConv:
		return fmt.Sprintf("dsconv/%d/c%d-%d/k%d/s%d", k.Side, k.In, k.Out, k.Kernel, k.Stride)
	case KindHead:
		return fmt.Sprintf("head/%d/c%d-%d", k.Side, k.In, k.Out)
	case KindClassifier:
		return fmt.Sprintf("classifier/%d/c%d-%d", k.Side, k.In, k.Out)
	}
	return fmt.Sprintf("unknown kind %q", k.Kind)
}

// ParseKey parses the text form that Key.String writes. It rejects any other
// spelling, so that a table never holds two names for one configuration.
func ParseKey(s string) (Key, error) {
	kind, _, _ := strings.Cut(s, "/")
	var k Key
	var n int
	var err error
	switch kind {
	case KindStem:
		k.Kind = KindStem
		n, err = fmt.Sscanf(s, "stem/%dx%dx%d/r%d/k%d/s%d/c%d", &k.Input.Height, &k.Input.Width, &k.Input.Channels, &k.Side, &k.Kernel, &k.Stride, &k.Out)
		k.In = k.Input.Channels
	case KindMBConv:
		k.Kind = KindMBConv
		n, err = fmt.Sscanf(s, "mbconv/%d/c%d-%d/k%d/t%d/s%d", &k.Side, &k.In, &k.Out, &k.Kernel, &k.Expansion, &k.Stride)
	case KindDSConv:
		k.Kind = KindDSConv
		n, err = fmt.Sscanf(s, "dsconv/%d/c%d-%d/k%d/s%d", &k.Side, &k.In, &k.Out, &k.Kernel, &k.Stride)
	case KindHead:
		k.Kind = KindHead
		n, err = fmt.Sscanf(s, "head/%d/c%d-%d", &k.Side, &k.In, &k.Out)
	case KindClassifier:
		k.Kind = KindClassifier
		n, err = fmt.Sscanf(s, "classifier/%d/c%d-%d", &k.Side, &k.In, &k.Out)
	default:
		return Key{}, fmt.Errorf("latency: invalid entry key %q: unknown kind %q; use stem, mbconv, dsconv, head or classifier", s, kind)
	}
	if err != nil {
		return Key{}, fmt.Errorf("latency: invalid entry key %q after %d fields: %w", s, n, err)
	}
	if k.String() != s {
		return Key{}, fmt.Errorf("latency: invalid entry key %q: the canonical form is %q", s, k.String())
	}
	if err := k.check(); err != nil {
		return Key{}, fmt.Errorf("latency: invalid entry key %q: %w", s, err)
	}
	return k, nil
}

// check rejects sizes that no valid architecture has, so that a malformed
// table cannot make the profiler allocate absurd buffers.
func (k Key) check() error {
	const maxSize = 1 << 16
	sizes := []int{k.Side, k.In, k.Out}
	if k.Kind == KindStem {
		sizes = append(sizes, k.Input.Height, k.Input.Width)
	}
	for _, v := range sizes {
		if v < 1 || v > maxSize {
			return fmt.Errorf("size %d is outside [1, %d]", v, maxSize)
		}
	}
	switch k.Kind {
	case KindStem, KindMBConv, KindDSConv:
		if k.Kernel < 1 || k.Kernel%2 == 0 || k.Kernel > 15 {
			return fmt.Errorf("kernel size %d must be odd and in [1, 15]", k.Kernel)
		}
		if k.Stride != 1 && k.Stride != 2 {
			return fmt.Errorf("stride %d must be 1 or 2", k.Stride)
		}
	}
	if k.Kind == KindMBConv && (k.Expansion < 1 || k.Expansion > 64) {
		return fmt.Errorf("expansion ratio %d must be in [1, 64]", k.Expansion)
	}
	return nil
}

// outSide returns the output side of a convolution with kernel k, stride s
// and padding k/2 over an input side of n, as childnet computes it.
func outSide(n, k, s int) int { return (n+2*(k/2)-k)/s + 1 }

// ArchKeys returns the keys of the layers of a, in network order: the stem,
// each block that is not a skip, the head conv when a has one, and the
// classifier (global average pooling and the linear layer). A skip block
// has no key because childnet runs no layer for it.
func ArchKeys(a searchspace.Arch) []Key {
	keys := make([]Key, 0, len(a.Blocks)+3)
	side := a.Resolution
	keys = append(keys, Key{Kind: KindStem, Input: a.Input, Side: side, In: a.Input.Channels, Out: a.Stem.Out, Kernel: a.Stem.Kernel, Stride: a.Stem.Stride})
	side = outSide(side, a.Stem.Kernel, a.Stem.Stride)
	in := a.Stem.Out

	for _, b := range a.Blocks {
		switch b.Op {
		case searchspace.OpSkip:
			continue
		case searchspace.OpMBConv:
			keys = append(keys, Key{Kind: KindMBConv, Side: side, In: in, Out: b.Out, Kernel: b.Kernel, Expansion: b.Expansion, Stride: b.Stride})
		default:
			keys = append(keys, Key{Kind: string(b.Op), Side: side, In: in, Out: b.Out, Kernel: b.Kernel, Stride: b.Stride})
		}
		side = outSide(side, b.Kernel, b.Stride)
		in = b.Out
	}

	if a.Head.Out > 0 {
		keys = append(keys, Key{Kind: KindHead, Side: side, In: in, Out: a.Head.Out})
		in = a.Head.Out
	}
	return append(keys, Key{Kind: KindClassifier, Side: side, In: in, Out: a.Classes})
}

// SpaceKeys returns the distinct keys of every architecture the space s can
// decode to, sorted by their text form. It relies on a rule that
// Space.Validate enforces: a skip slot keeps the side and channels, so the
// keys of one slot depend only on its own choices and on α and ρ. It
// therefore decodes each slot's choices once per (α, ρ) pair instead of
// every architecture. s must be valid.
func SpaceKeys(s searchspace.Space) ([]Key, error) {
	decisions := s.Decisions()
	tokens := make([]int, len(decisions))
	seen := map[string]Key{}
	add := func() error {
		a, err := s.Decode(tokens)
		if err != nil {
			return fmt.Errorf("latency: enumerate space %s: %w", s.Name, err)
		}
		for _, k := range ArchKeys(a) {
			seen[k.String()] = k
		}
		return nil
	}

	// Decisions lists each slot's decisions together, then the two global
	// ones; index them so each loop below changes only its own tokens.
	slotDecisions := make([][]int, len(s.Blocks))
	var globals []int
	for i, d := range decisions {
		if d.Block < 0 {
			globals = append(globals, i)
		} else {
			slotDecisions[d.Block] = append(slotDecisions[d.Block], i)
		}
	}

	err := forEachCombination(decisions, globals, tokens, func() error {
		if err := add(); err != nil {
			return err
		}
		for _, slot := range slotDecisions {
			err := forEachCombination(decisions, slot, tokens, add)
			for _, i := range slot {
				tokens[i] = 0
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}

	keys := make([]Key, 0, len(seen))
	for _, k := range seen {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	return keys, nil
}

// forEachCombination sets tokens[i] for i in which to every combination of
// choices of those decisions and calls fn for each. It leaves the last
// combination in tokens.
func forEachCombination(decisions []searchspace.Decision, which []int, tokens []int, fn func() error) error {
	if len(which) == 0 {
		return fn()
	}
	i := which[0]
	for c := range decisions[i].Choices {
		tokens[i] = c
		if err := forEachCombination(decisions, which[1:], tokens, fn); err != nil {
			return err
		}
	}
	return nil
}
