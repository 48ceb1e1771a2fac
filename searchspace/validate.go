package searchspace

import (
	"fmt"
	"math"
	"slices"
)

// MaxSize is the largest channel count, kernel size, expansion ratio,
// resolution, input side and class count that Validate accepts, after the
// width and resolution multipliers. It is far above any real network and
// keeps float-to-int conversions and most products of sizes within range.
const MaxSize = 1 << 20

// FieldError is a field of a space or an architecture that Validate
// rejected. Path is the field's JSON path, such as "blocks[3].kernels[1]".
type FieldError struct {
	Path  string
	Value any
	// Reason explains what is wrong and how to fix it.
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("searchspace: %s = %v: %s", e.Path, e.Value, e.Reason)
}

func fieldErr(path string, value any, format string, args ...any) error {
	return &FieldError{Path: path, Value: value, Reason: fmt.Sprintf(format, args...)}
}

// knownOp reports whether op is one of OpDSConv, OpMBConv and OpSkip.
func knownOp(op Op) bool {
	return op == OpDSConv || op == OpMBConv || op == OpSkip
}

// convOutput returns the output side of a convolution with padding k/2,
// which for an odd k is ceil(in/stride).
func convOutput(in, kernel, stride int) int {
	return (in+2*(kernel/2)-kernel)/stride + 1
}

// checkKernel, checkStride and checkChannels are the rules that stems,
// blocks and slots share.
func checkKernel(path string, k int) error {
	if k <= 0 || k%2 == 0 {
		return fieldErr(path, k, "kernel size must be positive and odd, such as 3, 5 or 7")
	}
	return checkMax(path, k)
}

func checkMax(path string, v int) error {
	if v > MaxSize {
		return fieldErr(path, v, "exceeds the maximum size %d", MaxSize)
	}
	return nil
}

func checkStride(path string, s int) error {
	if s != 1 && s != 2 {
		return fieldErr(path, s, "stride must be 1 or 2")
	}
	return nil
}

func checkChannels(path string, c int) error {
	if c <= 0 {
		return fieldErr(path, c, "channel count must be positive")
	}
	return checkMax(path, c)
}

// checkDownsample rejects a stride-2 layer on a 1×1 map. With padding k/2 the
// output would still be 1×1, so halving it would need a map below 1×1.
func checkDownsample(path string, side, stride int) error {
	if stride == 2 && side <= 1 {
		return fieldErr(path, stride, "the feature map is already 1×1 here, so a stride of 2 cannot shrink it; use stride 1 or a larger resolution")
	}
	return nil
}

// Validate checks a and returns a *FieldError naming the first invalid
// field. It checks positive sizes, odd kernels, strides of 1 or 2, a feature
// map of at least 1×1 everywhere, an expansion ratio of at least 1 for mbconv,
// skip blocks only where the shape does not change, a resolution of at least
// 1, a finite α > 0 and at least 2 classes. Fields that an op ignores, such
// as the kernel of a skip block, are not checked.
func (a Arch) Validate() error {
	if err := checkInput(a.Input); err != nil {
		return err
	}
	if err := checkClasses(a.Classes); err != nil {
		return err
	}
	if a.Resolution < 1 {
		return fieldErr("resolution", a.Resolution, "resolution must be at least 1 pixel")
	}
	if err := checkMax("resolution", a.Resolution); err != nil {
		return err
	}
	if math.IsNaN(a.Alpha) || math.IsInf(a.Alpha, 0) || a.Alpha <= 0 {
		return fieldErr("alpha", a.Alpha, "width multiplier must be finite and positive")
	}

	// The stem.
	if err := checkChannels("stem.out", a.Stem.Out); err != nil {
		return err
	}
	if err := checkKernel("stem.kernel", a.Stem.Kernel); err != nil {
		return err
	}
	if err := checkStride("stem.stride", a.Stem.Stride); err != nil {
		return err
	}
	if err := checkDownsample("stem.stride", a.Resolution, a.Stem.Stride); err != nil {
		return err
	}
	side := convOutput(a.Resolution, a.Stem.Kernel, a.Stem.Stride)
	channels := a.Stem.Out

	// The blocks, following the feature map's side and channels.
	for i, b := range a.Blocks {
		path := fmt.Sprintf("blocks[%d]", i)
		if !knownOp(b.Op) {
			return fieldErr(path+".op", b.Op, "unknown op; use %s, %s or %s", OpMBConv, OpDSConv, OpSkip)
		}
		if b.Op == OpSkip {
			if b.Stride != 0 && b.Stride != 1 {
				return fieldErr(path+".stride", b.Stride, "a skip block is the identity and cannot have a stride; omit it or use 1")
			}
			if b.Out != 0 && b.Out != channels {
				return fieldErr(path+".out", b.Out, "a skip block is the identity and cannot change %d channels; omit out", channels)
			}
			continue
		}
		if err := checkChannels(path+".out", b.Out); err != nil {
			return err
		}
		if err := checkKernel(path+".kernel", b.Kernel); err != nil {
			return err
		}
		if err := checkStride(path+".stride", b.Stride); err != nil {
			return err
		}
		if b.Op == OpMBConv && b.Expansion < 1 {
			return fieldErr(path+".expansion", b.Expansion, "an mbconv block needs an expansion ratio of at least 1")
		}
		if err := checkMax(path+".expansion", b.Expansion); err != nil {
			return err
		}
		if err := checkDownsample(path+".stride", side, b.Stride); err != nil {
			return err
		}
		side = convOutput(side, b.Kernel, b.Stride)
		channels = b.Out
	}

	if a.Head.Out < 0 {
		return fieldErr("head.out", a.Head.Out, "head channels must be positive, or 0 for no head conv")
	}
	return checkMax("head.out", a.Head.Out)
}

func checkClasses(n int) error {
	if n < 2 {
		return fieldErr("classes", n, "a classifier needs at least 2 classes")
	}
	return checkMax("classes", n)
}

// checkInput checks the input shape. The child networks scale one side, the
// resolution, and build square feature maps, so the input must be square too.
func checkInput(s Shape) error {
	if err := checkShape("input", s); err != nil {
		return err
	}
	if s.Height != s.Width {
		return fieldErr("input", fmt.Sprintf("%dx%dx%d", s.Height, s.Width, s.Channels),
			"height %d and width %d differ, but only square inputs are supported; crop or resize the images to a square such as %dx%d",
			s.Height, s.Width, min(s.Height, s.Width), min(s.Height, s.Width))
	}
	return nil
}

func checkShape(path string, s Shape) error {
	if s.Height <= 0 {
		return fieldErr(path+".height", s.Height, "height must be positive")
	}
	if s.Width <= 0 {
		return fieldErr(path+".width", s.Width, "width must be positive")
	}
	if s.Channels <= 0 {
		return fieldErr(path+".channels", s.Channels, "channels must be positive")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"height", s.Height}, {"width", s.Width}, {"channels", s.Channels}} {
		if err := checkMax(path+"."+f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks s and returns a *FieldError naming the first invalid
// field. Besides the value rules of Arch.Validate, it rejects:
//
//   - empty choice lists, duplicate choices and unknown ops;
//   - skip in a slot whose stride or channels change;
//   - a kernel or expansion list in a slot whose ops do not use it;
//   - two resolution multipliers that give the same resolution;
//   - a stride of 2 on a 1×1 map at the smallest resolution;
//   - sizes above MaxSize, also after scaling by α or ρ.
func (s Space) Validate() error {
	if err := checkInput(s.Input); err != nil {
		return err
	}
	if err := checkClasses(s.Classes); err != nil {
		return err
	}
	if s.ChannelDivisor < 0 || s.ChannelDivisor > MaxSize {
		return fieldErr("channel_divisor", s.ChannelDivisor, "use 0 or 1 to truncate, or a positive multiple such as 8")
	}
	if err := s.validateMultipliers(); err != nil {
		return err
	}

	// The skeleton: stem, slots and head.
	if err := checkChannels("stem.out", s.Stem.Out); err != nil {
		return err
	}
	if err := checkKernel("stem.kernel", s.Stem.Kernel); err != nil {
		return err
	}
	if err := checkStride("stem.stride", s.Stem.Stride); err != nil {
		return err
	}
	in := s.Stem.Out
	for i, slot := range s.Blocks {
		if err := slot.validate(fmt.Sprintf("blocks[%d]", i), in); err != nil {
			return err
		}
		in = slot.Out
	}
	if s.Head.Out < 0 {
		return fieldErr("head.out", s.Head.Out, "head channels must be positive, or 0 for no head conv")
	}
	if err := checkMax("head.out", s.Head.Out); err != nil {
		return err
	}

	// Rules that combine the skeleton with the multipliers.
	if err := s.validateScaledChannels(); err != nil {
		return err
	}
	return s.validateMapSize()
}

// validateScaledChannels rejects a width multiplier that scales some base
// channel count above MaxSize. It compares in float64 before Channels
// converts to int.
func (s Space) validateScaledChannels() error {
	for i, alpha := range s.WidthMultipliers {
		largest := max(s.Stem.Out, s.Head.Out)
		for _, slot := range s.Blocks {
			largest = max(largest, slot.Out)
		}
		scaled := float64(largest)*alpha + float64(max(s.ChannelDivisor, 1))
		if scaled > MaxSize {
			return fieldErr(fmt.Sprintf("width_multipliers[%d]", i), alpha, "scales %d base channels above the maximum size %d", largest, MaxSize)
		}
	}
	return nil
}

func (s Space) validateMultipliers() error {
	if len(s.WidthMultipliers) == 0 {
		return fieldErr("width_multipliers", "[]", "list at least one width multiplier, such as [1.0]")
	}
	for i, alpha := range s.WidthMultipliers {
		path := fmt.Sprintf("width_multipliers[%d]", i)
		if math.IsNaN(alpha) || math.IsInf(alpha, 0) || alpha <= 0 {
			return fieldErr(path, alpha, "width multiplier must be finite and positive")
		}
		if j := slices.Index(s.WidthMultipliers, alpha); j < i {
			return fieldErr(path, alpha, "duplicate of width_multipliers[%d]; list each choice once", j)
		}
	}

	if len(s.ResolutionMultipliers) == 0 {
		return fieldErr("resolution_multipliers", "[]", "list at least one resolution multiplier, such as [1.0]")
	}
	seen := make(map[int]int) // resolution → index of the first multiplier giving it
	for i, rho := range s.ResolutionMultipliers {
		path := fmt.Sprintf("resolution_multipliers[%d]", i)
		if math.IsNaN(rho) || math.IsInf(rho, 0) || rho <= 0 {
			return fieldErr(path, rho, "resolution multiplier must be finite and positive")
		}
		if rho*float64(s.Input.Height) > MaxSize {
			return fieldErr(path, rho, "gives a resolution above the maximum size %d", MaxSize)
		}
		r := s.resolution(rho)
		if r < 1 {
			return fieldErr(path, rho, "gives a resolution of %d pixels for input height %d; use a larger multiplier", r, s.Input.Height)
		}
		if j, dup := seen[r]; dup {
			return fieldErr(path, rho, "gives %d pixels, the same as resolution_multipliers[%d]; list each resolution once", r, j)
		}
		seen[r] = i
	}
	return nil
}

// validate checks one slot whose input has in base channels.
func (b BlockChoice) validate(path string, in int) error {
	if err := checkChannels(path+".out", b.Out); err != nil {
		return err
	}
	if err := checkStride(path+".stride", b.Stride); err != nil {
		return err
	}

	if len(b.Ops) == 0 {
		return fieldErr(path+".ops", "[]", "list at least one op: %s, %s or %s", OpMBConv, OpDSConv, OpSkip)
	}
	for i, op := range b.Ops {
		p := fmt.Sprintf("%s.ops[%d]", path, i)
		if !knownOp(op) {
			return fieldErr(p, op, "unknown op; use %s, %s or %s", OpMBConv, OpDSConv, OpSkip)
		}
		if j := slices.Index(b.Ops, op); j < i {
			return fieldErr(p, op, "duplicate of ops[%d]; list each choice once", j)
		}
		if op == OpSkip && (b.Stride != 1 || b.Out != in) {
			return fieldErr(p, op, "skip is the identity, but this slot has stride %d and %d → %d channels; allow skip only where the stride is 1 and the channels do not change", b.Stride, in, b.Out)
		}
	}

	usesKernel := slices.ContainsFunc(b.Ops, func(op Op) bool { return op != OpSkip })
	if err := checkChoiceList(path+".kernels", b.Kernels, usesKernel, "a kernel size", checkKernel); err != nil {
		return err
	}
	usesExpansion := slices.Contains(b.Ops, OpMBConv)
	return checkChoiceList(path+".expansions", b.Expansions, usesExpansion, "an expansion ratio", func(p string, t int) error {
		if t < 1 {
			return fieldErr(p, t, "expansion ratio must be at least 1")
		}
		return checkMax(p, t)
	})
}

// checkChoiceList checks an integer choice list that the slot's ops need
// (used) or must leave empty (not used).
func checkChoiceList(path string, list []int, used bool, what string, check func(string, int) error) error {
	if !used {
		if len(list) > 0 {
			return fieldErr(path, list, "no op of this slot takes %s; remove the list", what)
		}
		return nil
	}
	if len(list) == 0 {
		return fieldErr(path, "[]", "list at least one choice of %s", what)
	}
	for i, v := range list {
		p := fmt.Sprintf("%s[%d]", path, i)
		if err := check(p, v); err != nil {
			return err
		}
		if j := slices.Index(list, v); j < i {
			return fieldErr(p, v, "duplicate of %s[%d]; list each choice once", path, j)
		}
	}
	return nil
}

// validateMapSize walks the strides at the smallest resolution. Strides do
// not depend on any decision (skip is allowed only in stride-1 slots), so
// the smallest resolution is the one that can run out of pixels.
func (s Space) validateMapSize() error {
	side := math.MaxInt
	for _, rho := range s.ResolutionMultipliers {
		side = min(side, s.resolution(rho))
	}
	if err := checkDownsample("stem.stride", side, s.Stem.Stride); err != nil {
		return err
	}
	side = convOutput(side, s.Stem.Kernel, s.Stem.Stride)
	for i, slot := range s.Blocks {
		if err := checkDownsample(fmt.Sprintf("blocks[%d].stride", i), side, slot.Stride); err != nil {
			return err
		}
		// Every kernel choice is odd, so the output side is ceil(side/stride)
		// whichever one is picked.
		side = (side-1)/slot.Stride + 1
	}
	return nil
}
