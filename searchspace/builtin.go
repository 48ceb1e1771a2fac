package searchspace

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Names of the built-in spaces and presets.
const (
	SpaceDefault = "default"
	PresetV1     = "mobilenet-v1"
	PresetV2     = "mobilenet-v2"
)

// BuiltinNames returns the names BuiltinSpace accepts, sorted.
func BuiltinNames() []string {
	return []string{SpaceDefault, PresetV1, PresetV2}
}

// PresetNames returns the names Preset accepts, sorted.
func PresetNames() []string {
	return []string{PresetV1, PresetV2}
}

// BuiltinSpace returns the built-in space name for images of shape input and
// classes classes. For a preset name it returns the preset at α = 1 and
// resolution input.Height as a space of one architecture. The space is
// validated; an input too small for its strides is an error.
func BuiltinSpace(name string, input Shape, classes int) (Space, error) {
	var s Space
	switch name {
	case SpaceDefault:
		s = defaultSpace(input, classes)
	case PresetV1, PresetV2:
		s = presetSpace(name, 1, input, classes)
	default:
		return Space{}, fmt.Errorf("searchspace: unknown built-in space %q; use one of %s or a space file", name, strings.Join(BuiltinNames(), ", "))
	}
	if err := s.Validate(); err != nil {
		return Space{}, fmt.Errorf("built-in space %q for input %dx%dx%d: %w", name, input.Height, input.Width, input.Channels, err)
	}
	return s, nil
}

// defaultSpace is a MobileNetV2-style space for 28×28 and 32×32 images. The
// stem keeps the resolution and three stride-2 slots take 28 px to 14, 7 and
// 4. Each stride-2 slot is an mbconv and is followed by a slot that may be
// skipped, so the depth varies between 4 and 7 blocks.
func defaultSpace(input Shape, classes int) Space {
	kernels := []int{3, 5, 7}
	expansions := []int{1, 3, 6}
	conv := func(out, stride int) BlockChoice {
		return BlockChoice{Out: out, Stride: stride, Ops: []Op{OpMBConv}, Kernels: kernels, Expansions: expansions}
	}
	optional := func(out int) BlockChoice {
		return BlockChoice{Out: out, Stride: 1, Ops: []Op{OpMBConv, OpSkip}, Kernels: kernels, Expansions: expansions}
	}
	return Space{
		Name:    SpaceDefault,
		Input:   input,
		Classes: classes,
		Stem:    Stem{Out: 16, Kernel: 3, Stride: 1},
		Blocks: []BlockChoice{
			conv(16, 1),
			conv(24, 2), optional(24),
			conv(40, 2), optional(40),
			conv(80, 2), optional(80),
		},
		Head:                  Head{Out: 256},
		WidthMultipliers:      []float64{0.5, 0.75, 1.0},
		ResolutionMultipliers: []float64{0.86, 1.0},
		ChannelDivisor:        1,
	}
}

// Preset returns a MobileNet at width multiplier alpha, on square RGB
// images of side resolution, with classes outputs:
//
//   - mobilenet-v1 (Howard et al. 2017, "MobileNets") has a 3×3 stem of 32
//     channels with stride 2, 13 dsconv blocks and no head conv. Channels
//     are int(c·α).
//   - mobilenet-v2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals
//     and Linear Bottlenecks") has a 3×3 stem of 32 channels with stride 2,
//     17 inverted residual blocks and a 1×1 head conv of 1280 channels, kept
//     at 1280 for α < 1. Channels are rounded to multiples of 8.
//
// The tests check MACs and parameters against the published tables.
func Preset(name string, alpha float64, resolution, classes int) (Arch, error) {
	if !slices.Contains(PresetNames(), name) {
		return Arch{}, fmt.Errorf("searchspace: unknown preset %q; use one of %s", name, strings.Join(PresetNames(), ", "))
	}
	if math.IsNaN(alpha) || math.IsInf(alpha, 0) || alpha <= 0 {
		return Arch{}, fmt.Errorf("searchspace: preset %s: width multiplier %v must be finite and positive, such as 1.0 or 0.5", name, alpha)
	}
	s := presetSpace(name, alpha, Shape{Height: resolution, Width: resolution, Channels: 3}, classes)
	if err := s.Validate(); err != nil {
		return Arch{}, fmt.Errorf("preset %s at α %g, resolution %d, %d classes: %w", name, alpha, resolution, classes, err)
	}
	return s.Decode(nil)
}

// presetSpace returns the preset name as a space with one choice for every
// decision.
func presetSpace(name string, alpha float64, input Shape, classes int) Space {
	s := Space{
		Name:                  name,
		Input:                 input,
		Classes:               classes,
		Stem:                  Stem{Out: 32, Kernel: 3, Stride: 2},
		WidthMultipliers:      []float64{alpha},
		ResolutionMultipliers: []float64{1},
	}
	if name == PresetV1 {
		s.ChannelDivisor = 1
		for _, c := range []struct{ out, stride int }{
			{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
			{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1},
			{1024, 2}, {1024, 1},
		} {
			s.Blocks = append(s.Blocks, BlockChoice{Out: c.out, Stride: c.stride, Ops: []Op{OpDSConv}, Kernels: []int{3}})
		}
		return s
	}

	// MobileNetV2: rows (t, c, n, s) of expansion ratio, output channels,
	// repeats and the stride of the first repeat.
	s.ChannelDivisor = 8
	s.Head = Head{Out: 1280}
	for _, row := range [][4]int{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
		{6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	} {
		t, c, n, stride := row[0], row[1], row[2], row[3]
		for i := range n {
			if i > 0 {
				stride = 1
			}
			s.Blocks = append(s.Blocks, BlockChoice{Out: c, Stride: stride, Ops: []Op{OpMBConv}, Kernels: []int{3}, Expansions: []int{t}})
		}
	}
	return s
}
