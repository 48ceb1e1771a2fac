package searchspace

import "math"

// Channels scales a base channel count by the width multiplier α with the
// space's ChannelDivisor. It is the one rounding rule that Decode, the
// presets and the cost model share:
//
//   - divisor 0 or 1: int(c·α) truncated, at least 1 (MobileNetV1);
//   - divisor d > 1: c·α rounded to the nearest multiple of d, at least d,
//     plus d more when that falls below 90% of c·α (make_divisible of the
//     MobileNetV2 reference implementation, d = 8 there).
func (s Space) Channels(base int, alpha float64) int {
	return scaleChannels(base, alpha, s.ChannelDivisor)
}

func scaleChannels(base int, alpha float64, divisor int) int {
	v := float64(base) * alpha
	if divisor <= 1 {
		return max(int(v), 1)
	}
	d := float64(divisor)
	rounded := max(d, math.Floor((v+d/2)/d)*d)
	if rounded < 0.9*v {
		rounded += d
	}
	return int(rounded)
}

// headChannels applies the MobileNetV2 rule for the last 1×1 conv: it keeps
// its base width when α ≤ 1 and is scaled by α above 1. A head of 0 (no
// head conv) stays 0.
func (s Space) headChannels(alpha float64) int {
	if s.Head.Out == 0 {
		return 0
	}
	return s.Channels(s.Head.Out, max(alpha, 1))
}

// resolution returns the side of the square network input for the
// resolution multiplier rho: round(rho·Input.Height).
func (s Space) resolution(rho float64) int {
	return int(math.Round(rho * float64(s.Input.Height)))
}
