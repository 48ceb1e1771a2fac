package searchspace

import (
	"errors"
	"math"
	"testing"
)

// smallSpace is a valid space with every kind of slot: a fixed mbconv, a
// stride-2 slot with two ops, and a slot that may be skipped.
func smallSpace() Space {
	return Space{
		Name:    "small",
		Input:   Shape{Height: 8, Width: 8, Channels: 1},
		Classes: 10,
		Stem:    Stem{Out: 8, Kernel: 3, Stride: 1},
		Blocks: []BlockChoice{
			{Out: 8, Stride: 1, Ops: []Op{OpMBConv}, Kernels: []int{3}, Expansions: []int{1}},
			{Out: 16, Stride: 2, Ops: []Op{OpMBConv, OpDSConv}, Kernels: []int{3, 5}, Expansions: []int{3, 6}},
			{Out: 16, Stride: 1, Ops: []Op{OpMBConv, OpSkip}, Kernels: []int{3, 5, 7}, Expansions: []int{1, 6}},
		},
		Head:                  Head{Out: 32},
		WidthMultipliers:      []float64{0.5, 1},
		ResolutionMultipliers: []float64{0.5, 1},
	}
}

func TestSpaceValidateAcceptsSmall(t *testing.T) {
	if err := smallSpace().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSpaceValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Space)
		path string // the FieldError path Validate must name
	}{
		{"zero input height", func(s *Space) { s.Input.Height = 0 }, "input.height"},
		{"negative input channels", func(s *Space) { s.Input.Channels = -1 }, "input.channels"},
		{"non-square input", func(s *Space) { s.Input.Width = 16 }, "input"},
		{"one class", func(s *Space) { s.Classes = 1 }, "classes"},
		{"negative divisor", func(s *Space) { s.ChannelDivisor = -8 }, "channel_divisor"},
		{"no width multipliers", func(s *Space) { s.WidthMultipliers = nil }, "width_multipliers"},
		{"zero alpha", func(s *Space) { s.WidthMultipliers[0] = 0 }, "width_multipliers[0]"},
		{"negative alpha", func(s *Space) { s.WidthMultipliers[1] = -1 }, "width_multipliers[1]"},
		{"NaN alpha", func(s *Space) { s.WidthMultipliers[0] = math.NaN() }, "width_multipliers[0]"},
		{"infinite alpha", func(s *Space) { s.WidthMultipliers[1] = math.Inf(1) }, "width_multipliers[1]"},
		{"duplicate alpha", func(s *Space) { s.WidthMultipliers = []float64{1, 0.5, 1} }, "width_multipliers[2]"},
		{"no resolution multipliers", func(s *Space) { s.ResolutionMultipliers = []float64{} }, "resolution_multipliers"},
		{"zero rho", func(s *Space) { s.ResolutionMultipliers[0] = 0 }, "resolution_multipliers[0]"},
		{"negative rho", func(s *Space) { s.ResolutionMultipliers[1] = -0.5 }, "resolution_multipliers[1]"},
		{"NaN rho", func(s *Space) { s.ResolutionMultipliers[0] = math.NaN() }, "resolution_multipliers[0]"},
		{"rho below one pixel", func(s *Space) { s.ResolutionMultipliers[0] = 0.01 }, "resolution_multipliers[0]"},
		{"rho same resolution", func(s *Space) { s.ResolutionMultipliers = []float64{1, 0.97} }, "resolution_multipliers[1]"},
		{"zero stem channels", func(s *Space) { s.Stem.Out = 0 }, "stem.out"},
		{"even stem kernel", func(s *Space) { s.Stem.Kernel = 4 }, "stem.kernel"},
		{"stem stride 3", func(s *Space) { s.Stem.Stride = 3 }, "stem.stride"},
		{"negative block channels", func(s *Space) { s.Blocks[1].Out = -16 }, "blocks[1].out"},
		{"block stride 0", func(s *Space) { s.Blocks[0].Stride = 0 }, "blocks[0].stride"},
		{"empty ops", func(s *Space) { s.Blocks[0].Ops = nil }, "blocks[0].ops"},
		{"unknown op", func(s *Space) { s.Blocks[1].Ops[1] = "conv" }, "blocks[1].ops[1]"},
		{"duplicate op", func(s *Space) { s.Blocks[1].Ops = []Op{OpMBConv, OpMBConv} }, "blocks[1].ops[1]"},
		{"skip with stride 2", func(s *Space) { s.Blocks[1].Ops = []Op{OpMBConv, OpSkip} }, "blocks[1].ops[1]"},
		{"skip changes channels", func(s *Space) { s.Blocks[2].Out = 24 }, "blocks[2].ops[1]"},
		{"empty kernels", func(s *Space) { s.Blocks[1].Kernels = nil }, "blocks[1].kernels"},
		{"even kernel", func(s *Space) { s.Blocks[2].Kernels[1] = 4 }, "blocks[2].kernels[1]"},
		{"zero kernel", func(s *Space) { s.Blocks[0].Kernels[0] = 0 }, "blocks[0].kernels[0]"},
		{"negative kernel", func(s *Space) { s.Blocks[0].Kernels[0] = -3 }, "blocks[0].kernels[0]"},
		{"duplicate kernel", func(s *Space) { s.Blocks[2].Kernels = []int{3, 5, 3} }, "blocks[2].kernels[2]"},
		{"empty expansions", func(s *Space) { s.Blocks[2].Expansions = []int{} }, "blocks[2].expansions"},
		{"zero expansion", func(s *Space) { s.Blocks[1].Expansions[0] = 0 }, "blocks[1].expansions[0]"},
		{"duplicate expansion", func(s *Space) { s.Blocks[1].Expansions = []int{6, 6} }, "blocks[1].expansions[1]"},
		{"unused expansions", func(s *Space) { s.Blocks[1].Ops = []Op{OpDSConv} }, "blocks[1].expansions"},
		{"unused kernels", func(s *Space) {
			s.Blocks[2].Ops = []Op{OpSkip}
			s.Blocks[2].Expansions = nil
		}, "blocks[2].kernels"},
		{"negative head", func(s *Space) { s.Head.Out = -1 }, "head.out"},
		{"stride past 1x1", func(s *Space) {
			// 4 px at ρ = 0.5: stem 4 → block1 2 → 1, and a fourth slot
			// with stride 2 would need a map below 1×1.
			s.Blocks = append(s.Blocks,
				BlockChoice{Out: 16, Stride: 2, Ops: []Op{OpMBConv}, Kernels: []int{3}, Expansions: []int{1}},
				BlockChoice{Out: 16, Stride: 2, Ops: []Op{OpMBConv}, Kernels: []int{3}, Expansions: []int{1}})
		}, "blocks[4].stride"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := smallSpace()
			c.edit(&s)
			err := s.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError for %s", err, c.path)
			}
			if fe.Path != c.path {
				t.Errorf("error path = %q, want %q (error: %v)", fe.Path, c.path, err)
			}
		})
	}
}

// validArch is a valid architecture with every op.
func validArch() Arch {
	return Arch{
		Input: Shape{Height: 8, Width: 8, Channels: 1}, Classes: 10, Resolution: 8, Alpha: 1,
		Stem: Stem{Out: 8, Kernel: 3, Stride: 1},
		Blocks: []Block{
			{Op: OpMBConv, Kernel: 3, Expansion: 6, Out: 16, Stride: 2},
			{Op: OpSkip},
			{Op: OpDSConv, Kernel: 5, Out: 24, Stride: 2},
		},
		Head: Head{Out: 32},
	}
}

func TestArchValidateAcceptsValid(t *testing.T) {
	if err := validArch().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestArchValidateRejects(t *testing.T) {
	cases := []struct {
		name string
		edit func(*Arch)
		path string
	}{
		{"zero input width", func(a *Arch) { a.Input.Width = 0 }, "input.width"},
		{"non-square input", func(a *Arch) { a.Input.Height = 12 }, "input"},
		{"one class", func(a *Arch) { a.Classes = 1 }, "classes"},
		{"zero resolution", func(a *Arch) { a.Resolution = 0 }, "resolution"},
		{"zero alpha", func(a *Arch) { a.Alpha = 0 }, "alpha"},
		{"NaN alpha", func(a *Arch) { a.Alpha = math.NaN() }, "alpha"},
		{"infinite alpha", func(a *Arch) { a.Alpha = math.Inf(1) }, "alpha"},
		{"zero stem channels", func(a *Arch) { a.Stem.Out = 0 }, "stem.out"},
		{"even stem kernel", func(a *Arch) { a.Stem.Kernel = 2 }, "stem.kernel"},
		{"stem stride 0", func(a *Arch) { a.Stem.Stride = 0 }, "stem.stride"},
		{"unknown op", func(a *Arch) { a.Blocks[0].Op = "fused" }, "blocks[0].op"},
		{"empty op", func(a *Arch) { a.Blocks[0].Op = "" }, "blocks[0].op"},
		{"zero block channels", func(a *Arch) { a.Blocks[2].Out = 0 }, "blocks[2].out"},
		{"even kernel", func(a *Arch) { a.Blocks[0].Kernel = 4 }, "blocks[0].kernel"},
		{"negative kernel", func(a *Arch) { a.Blocks[2].Kernel = -5 }, "blocks[2].kernel"},
		{"block stride 3", func(a *Arch) { a.Blocks[2].Stride = 3 }, "blocks[2].stride"},
		{"zero expansion", func(a *Arch) { a.Blocks[0].Expansion = 0 }, "blocks[0].expansion"},
		{"skip with stride 2", func(a *Arch) { a.Blocks[1].Stride = 2 }, "blocks[1].stride"},
		{"skip changes channels", func(a *Arch) { a.Blocks[1].Out = 32 }, "blocks[1].out"},
		{"negative head", func(a *Arch) { a.Head.Out = -8 }, "head.out"},
		{"stride past 1x1", func(a *Arch) {
			// 8 px: 8 → 4 → 2, then 1, then a stride 2 on the 1×1 map.
			a.Blocks = append(a.Blocks,
				Block{Op: OpDSConv, Kernel: 3, Out: 24, Stride: 2},
				Block{Op: OpDSConv, Kernel: 3, Out: 24, Stride: 2})
		}, "blocks[4].stride"},
		{"stem stride at 1 px", func(a *Arch) {
			a.Resolution = 1
			a.Stem.Stride = 2
		}, "stem.stride"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := validArch()
			c.edit(&a)
			err := a.Validate()
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Validate() = %v, want a *FieldError for %s", err, c.path)
			}
			if fe.Path != c.path {
				t.Errorf("error path = %q, want %q (error: %v)", fe.Path, c.path, err)
			}
		})
	}
}

func TestArchValidateSkipDefaults(t *testing.T) {
	a := validArch()
	a.Blocks[1] = Block{Op: OpSkip, Stride: 1, Out: 16, Kernel: 4}
	if err := a.Validate(); err != nil {
		t.Fatalf("skip with stride 1, unchanged channels and an ignored kernel: %v", err)
	}
}
