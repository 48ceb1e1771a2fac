package searchspace

import (
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
)

func TestChannelsRounding(t *testing.T) {
	cases := []struct {
		divisor int
		base    int
		alpha   float64
		want    int
	}{
		{0, 1024, 0.25, 256},
		{0, 24, 0.75, 18},
		{1, 24, 0.75, 18},
		{1, 1, 0.25, 1},  // int(0.25) = 0, raised to 1
		{1, 10, 0.99, 9}, // truncated, not rounded
		{8, 32, 1, 32},
		{8, 16, 0.35, 8},  // 5.6 rounds to 8, the minimum
		{8, 32, 0.35, 16}, // 11.2 rounds to 8, below 90% of 11.2, so 16
		{8, 24, 0.75, 24}, // 18 rounds to 16, below 16.2, so 24
		{8, 20, 1, 24},    // 20 rounds half up to 24
		{8, 1280, 1.4, 1792},
		{4, 10, 1, 12},
	}
	for _, c := range cases {
		s := Space{ChannelDivisor: c.divisor}
		if got := s.Channels(c.base, c.alpha); got != c.want {
			t.Errorf("divisor %d: Channels(%d, %g) = %d, want %d", c.divisor, c.base, c.alpha, got, c.want)
		}
	}
}

func TestDecisionsSmallOrder(t *testing.T) {
	want := []string{
		"block1.op", "block1.kernel", "block1.expansion",
		"block2.op", "block2.kernel", "block2.expansion",
		"width_multiplier", "resolution_multiplier",
	}
	var got []string
	for _, d := range smallSpace().Decisions() {
		got = append(got, d.Name)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("decision names = %v, want %v", got, want)
	}
}

func TestDecisionsChoices(t *testing.T) {
	ds := smallSpace().Decisions()
	checks := []struct {
		index int
		block int
		field string
		want  []string
	}{
		{0, 1, FieldOp, []string{"mbconv", "dsconv"}},
		{4, 2, FieldKernel, []string{"3", "5", "7"}},
		{6, -1, FieldWidthMultiplier, []string{"0.5", "1"}},
	}
	for _, c := range checks {
		d := ds[c.index]
		if d.Block != c.block || d.Field != c.field {
			t.Errorf("decision %d = block %d field %s, want block %d field %s", c.index, d.Block, d.Field, c.block, c.field)
		}
		if !slices.Equal(d.Choices, c.want) {
			t.Errorf("decision %s choices = %v, want %v", d.Name, d.Choices, c.want)
		}
	}
}

// allTokens returns every token sequence of s.
func allTokens(s Space) [][]int {
	out := [][]int{{}}
	for _, d := range s.Decisions() {
		var next [][]int
		for _, prefix := range out {
			for c := range d.Choices {
				next = append(next, append(slices.Clone(prefix), c))
			}
		}
		out = next
	}
	return out
}

func TestSizeSmallEnumerated(t *testing.T) {
	s := smallSpace()
	distinct := make(map[string]bool)
	for _, tokens := range allTokens(s) {
		a, err := s.Decode(tokens)
		if err != nil {
			t.Fatalf("Decode(%v): %v", tokens, err)
		}
		distinct[string(a.Canonical())] = true
	}
	// Slot 1: 2·2 mbconv + 2 dsconv; slot 2: 3·2 mbconv + 1 skip; 2 α; 2 ρ.
	if want := 6 * 7 * 2 * 2; len(distinct) != want {
		t.Fatalf("enumerated %d distinct architectures, want %d", len(distinct), want)
	}
	if got := s.Size(); got.Cmp(big.NewInt(int64(len(distinct)))) != 0 {
		t.Errorf("Size() = %v, enumerated %d", got, len(distinct))
	}
}

func TestDefaultSpaceSize(t *testing.T) {
	s, err := BuiltinSpace(SpaceDefault, Shape{Height: 28, Width: 28, Channels: 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	// Four mbconv slots with 3 kernels · 3 expansions, three slots that add
	// skip (9 + 1), 3 width and 2 resolution multipliers.
	want := int64(9 * 9 * 9 * 9 * 10 * 10 * 10 * 3 * 2)
	if s.Size().Int64() != want {
		t.Errorf("Size() = %v, want %d", s.Size(), want)
	}
	if n := len(s.Decisions()); n != 19 {
		t.Errorf("%d decisions, want 19 (2 per fixed-op slot, 3 per skippable slot, α and ρ)", n)
	}
}

func TestDecodeSkipAndChannels(t *testing.T) {
	s := smallSpace()
	// block1: dsconv k5 t6; block2: skip; α = 0.5; ρ = 1.
	a, err := s.Decode([]int{1, 1, 1, 1, 2, 1, 0, 1})
	if err != nil {
		t.Fatal(err)
	}
	if a.Blocks[2] != (Block{Op: OpSkip}) {
		t.Errorf("skip block = %+v, want Block{Op: skip}", a.Blocks[2])
	}
	if want := (Block{Op: OpDSConv, Kernel: 5, Out: 8, Stride: 2}); a.Blocks[1] != want {
		t.Errorf("dsconv block = %+v, want %+v", a.Blocks[1], want)
	}
	if a.Stem.Out != 4 || a.Alpha != 0.5 || a.Resolution != 8 {
		t.Errorf("stem %d, α %g, resolution %d; want 4, 0.5, 8", a.Stem.Out, a.Alpha, a.Resolution)
	}
	if a.Head.Out != 32 {
		t.Errorf("head = %d, want 32 (kept for α ≤ 1)", a.Head.Out)
	}
	if err := a.Validate(); err != nil {
		t.Errorf("decoded architecture is invalid: %v", err)
	}
}

func TestDecodeHeadScalesAboveOne(t *testing.T) {
	s := smallSpace()
	s.WidthMultipliers = []float64{1.5}
	tokens := make([]int, len(s.Decisions()))
	a, err := s.Decode(tokens)
	if err != nil {
		t.Fatal(err)
	}
	if a.Head.Out != 48 {
		t.Errorf("head at α 1.5 = %d, want 48", a.Head.Out)
	}
}

func TestDecodeBadTokens(t *testing.T) {
	s := smallSpace()
	cases := []struct {
		name   string
		tokens []int
		want   string
	}{
		{"too few", []int{0, 0, 0}, "needs token 3"},
		{"too many", []int{0, 0, 0, 0, 0, 0, 0, 0, 0}, "9 tokens for 8 decisions"},
		{"none", nil, "0 tokens"},
		{"out of range", []int{0, 0, 0, 0, 3, 0, 0, 0}, "block2.kernel"},
		{"negative", []int{0, 0, 0, 0, 0, 0, -1, 0}, "width_multiplier"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.Decode(c.tokens)
			if err == nil {
				t.Fatalf("Decode(%v) returned no error", c.tokens)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestEncodeRoundTrip(t *testing.T) {
	s := smallSpace()
	for _, tokens := range allTokens(s) {
		a, err := s.Decode(tokens)
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.Encode(a)
		if err != nil {
			t.Fatalf("Encode(Decode(%v)): %v", tokens, err)
		}
		back, err := s.Decode(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(back.Canonical()) != string(a.Canonical()) {
			t.Fatalf("tokens %v → %v decode to a different architecture", tokens, got)
		}
		// Tokens that the architecture uses round-trip exactly: skip
		// ignores the kernel and expansion, dsconv the expansion.
		ignored := map[int]bool{}
		if a.Blocks[1].Op == OpDSConv {
			ignored[2] = true
		}
		if a.Blocks[2].Op == OpSkip {
			ignored[4], ignored[5] = true, true
		}
		for i := range tokens {
			if !ignored[i] && got[i] != tokens[i] {
				t.Fatalf("Encode(Decode(%v)) = %v, differs at used token %d", tokens, got, i)
			}
			if ignored[i] && got[i] != 0 {
				t.Fatalf("Encode(Decode(%v)) = %v, ignored token %d is not 0", tokens, got, i)
			}
		}
	}
}

func TestEncodeRejectsForeign(t *testing.T) {
	s := smallSpace()
	base, err := s.Decode([]int{0, 0, 0, 0, 0, 0, 1, 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		edit func(*Arch)
		want string
	}{
		{"block count", func(a *Arch) { a.Blocks = a.Blocks[:2] }, "2 blocks"},
		{"op", func(a *Arch) { a.Blocks[0].Op = OpDSConv }, "blocks[0].op"},
		{"kernel", func(a *Arch) { a.Blocks[1].Kernel = 7 }, "blocks[1].kernel"},
		{"expansion", func(a *Arch) { a.Blocks[2].Expansion = 3 }, "blocks[2].expansion"},
		{"alpha", func(a *Arch) { a.Alpha = 0.75 }, "alpha"},
		{"resolution", func(a *Arch) { a.Resolution = 6 }, "resolution"},
		{"channels", func(a *Arch) { a.Blocks[1].Out = 12 }, "does not belong"},
		{"classes", func(a *Arch) { a.Classes = 3 }, "does not belong"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := base
			a.Blocks = slices.Clone(base.Blocks)
			c.edit(&a)
			_, err := s.Encode(a)
			if err == nil {
				t.Fatal("Encode accepted an architecture outside the space")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestBuiltinSpaceInputs(t *testing.T) {
	for _, in := range []Shape{{28, 28, 1}, {32, 32, 3}} {
		s, err := BuiltinSpace(SpaceDefault, in, 10)
		if err != nil {
			t.Fatalf("default space for %v: %v", in, err)
		}
		// The stem keeps the resolution and three stride-2 slots divide it
		// by 8, rounding up: 28 → 4, 24 → 3, 32 → 4.
		for rho := range s.ResolutionMultipliers {
			tokens := make([]int, len(s.Decisions()))
			tokens[len(tokens)-1] = rho
			a, err := s.Decode(tokens)
			if err != nil {
				t.Fatal(err)
			}
			c, err := Cost(a)
			if err != nil {
				t.Fatal(err)
			}
			head := c.Layers[len(c.Layers)-3]
			want := (a.Resolution + 7) / 8
			if head.Name != "head" || head.Input.Height != want {
				t.Errorf("input %v at %d px: %s input %v, want head at %d×%d", in, a.Resolution, head.Name, head.Input, want, want)
			}
		}
	}
}

func TestBuiltinSpaceErrors(t *testing.T) {
	_, err := BuiltinSpace("mobilenet-v3", Shape{28, 28, 1}, 10)
	if err == nil || !strings.Contains(err.Error(), "default, mobilenet-v1, mobilenet-v2") {
		t.Errorf("unknown name: error %v does not list the built-in names", err)
	}
	if _, err := BuiltinSpace(SpaceDefault, Shape{2, 2, 1}, 10); err == nil {
		t.Error("default space accepted a 2×2 input that its strides cannot halve 3 times")
	}
	if _, err := BuiltinSpace(SpaceDefault, Shape{28, 28, 1}, 1); err == nil {
		t.Error("default space accepted 1 class")
	}
}

func TestPresetAsSpace(t *testing.T) {
	for _, name := range PresetNames() {
		s, err := BuiltinSpace(name, Shape{224, 224, 3}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if n := len(s.Decisions()); n != 0 {
			t.Errorf("%s: %d decisions, want 0", name, n)
		}
		if s.Size().Int64() != 1 {
			t.Errorf("%s: Size() = %v, want 1", name, s.Size())
		}
		fromSpace, err := s.Decode(nil)
		if err != nil {
			t.Fatal(err)
		}
		preset, err := Preset(name, 1, 224, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if fromSpace.ID() != preset.ID() {
			t.Errorf("%s: space decodes to %s, Preset returns %s", name, fromSpace.Canonical(), preset.Canonical())
		}
	}
}

func TestPresetErrors(t *testing.T) {
	cases := []struct {
		name       string
		preset     string
		alpha      float64
		resolution int
		classes    int
		want       string
	}{
		{"unknown", "resnet", 1, 224, 1000, "mobilenet-v1, mobilenet-v2"},
		{"zero alpha", PresetV1, 0, 224, 1000, "width multiplier"},
		{"tiny resolution", PresetV2, 1, 8, 1000, "stride"},
		{"one class", PresetV1, 1, 224, 1, "classes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Preset(c.preset, c.alpha, c.resolution, c.classes)
			if err == nil {
				t.Fatal("Preset returned no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
		})
	}
}

func TestLog10Size(t *testing.T) {
	s, err := BuiltinSpace(SpaceDefault, Shape{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%.3f", s.Log10Size())
	if got != "7.595" { // log10(39,366,000)
		t.Errorf("Log10Size() = %s, want 7.595", got)
	}
}

func TestBuiltinSpaceTooSmall(t *testing.T) {
	// The default space needs two distinct resolutions from ρ 0.86 and 1,
	// which round(0.86·side) < side gives from side 4. Its three stride-2
	// slots must also halve the smaller resolution without meeting a 1×1
	// map: 5 → 3 → 2 → 1 works, so round(0.86·side) ≥ 5 and side ≥ 6. The
	// presets halve 5 times at ρ 1: 17 → 9 → 5 → 3 → 2 → 1.
	for name, smallest := range map[string]int{SpaceDefault: 6, PresetV1: 17, PresetV2: 17} {
		t.Run(name, func(t *testing.T) {
			if _, err := BuiltinSpace(name, Shape{smallest, smallest, 3}, 10); err != nil {
				t.Fatalf("%dx%d images: %v", smallest, smallest, err)
			}
			for _, side := range []int{1, smallest - 1} {
				_, err := BuiltinSpace(name, Shape{side, side, 3}, 10)
				if err == nil {
					t.Fatalf("%dx%d images accepted", side, side)
				}
				msg := err.Error()
				for _, want := range []string{fmt.Sprintf("%dx%d", side, side), "too small", fmt.Sprintf("at least %dx%d", smallest, smallest)} {
					if !strings.Contains(msg, want) {
						t.Errorf("%dx%d images: error %q does not contain %q", side, side, msg, want)
					}
				}
				for _, field := range []string{"resolution_multipliers[", ".stride ="} {
					if strings.Contains(msg, field) {
						t.Errorf("%dx%d images: error %q names the space field %s, which a built-in space does not let the user edit", side, side, msg, field)
					}
				}
			}
		})
	}

	// Other invalid inputs keep their own message.
	_, err := BuiltinSpace(SpaceDefault, Shape{4, 6, 1}, 10)
	if err == nil || !strings.Contains(err.Error(), "only square inputs") {
		t.Errorf("4x6 images: error %v, want the square-input message", err)
	}
}
