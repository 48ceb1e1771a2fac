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
// validated. For square images smaller than the space accepts, the error
// names the smallest side it accepts rather than the space field that
// failed, since a built-in space cannot be edited.
func BuiltinSpace(name string, input Shape, classes int) (Space, error) {
	build, err := builtinBuilder(name)
	if err != nil {
		return Space{}, err
	}
	s := build(input, classes)
	if err := s.Validate(); err != nil {
		if smallest, ok := smallestSide(build, input, classes); ok && input.Height < smallest {
			return Space{}, fmt.Errorf("built-in space %q for input %dx%dx%d: the images are too small, since the space accepts square images of at least %dx%d; resize the images to %dx%d or more, or pass a space file with fewer stride-2 slots (docs/space-format.md)",
				name, input.Height, input.Width, input.Channels, smallest, smallest, smallest, smallest)
		}
		return Space{}, fmt.Errorf("built-in space %q for input %dx%dx%d: %w", name, input.Height, input.Width, input.Channels, err)
	}
	return s, nil
}

// builtinBuilder returns the function that builds the built-in space name
// for an input shape and a class count.
func builtinBuilder(name string) (func(Shape, int) Space, error) {
	switch name {
	case SpaceDefault:
		return defaultSpace, nil
	case PresetV1, PresetV2:
		return func(input Shape, classes int) Space { return presetSpace(name, 1, input, classes) }, nil
	}
	return nil, fmt.Errorf("searchspace: unknown built-in space %q; use one of %s or a space file", name, strings.Join(BuiltinNames(), ", "))
}

// maxSmallestSide bounds the search of smallestSide. The built-in spaces
// accept sides from 6 (default) and 17 (presets).
const maxSmallestSide = 1024

// smallestSide returns the smallest side of square images, with input's
// channels, for which build gives a valid space with classes classes. It
// returns false when input is not square, classes is invalid or no side up
// to maxSmallestSide is valid, since then the input's size is not the
// problem.
func smallestSide(build func(Shape, int) Space, input Shape, classes int) (int, bool) {
	if input.Height != input.Width || checkClasses(classes) != nil || input.Channels <= 0 || input.Channels > MaxSize {
		return 0, false
	}
	for side := 1; side <= maxSmallestSide; side++ {
		if build(Shape{Height: side, Width: side, Channels: input.Channels}, classes).Validate() == nil {
			return side, true
		}
	}
	return 0, false
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
