package kernels

import "math"

// Row kernels of batch norm over rows [r0, r1) of [rows, c] tensors. Each
// tries its AVX-512 version first when that is compiled in.

// sumRows adds Σ_r in[r,ch] to acc[ch].
func sumRows(acc, in []float32, r0, r1, c int) {
	if useSIMD && sumRowsSIMD(acc, in, r0, r1, c) {
		return
	}
	acc = acc[:c]
	for r := r0; r < r1; r++ {
		for ch, v := range in[r*c : (r+1)*c] {
			acc[ch] += v
		}
	}
}

// sumSquaredDeviations adds Σ_r (in[r,ch]-mean[ch])² to acc[ch].
func sumSquaredDeviations(acc, in, mean []float32, r0, r1, c int) {
	if useSIMD && sumSquaredDeviationsSIMD(acc, in, mean, r0, r1, c) {
		return
	}
	acc, mean = acc[:c], mean[:c]
	for r := r0; r < r1; r++ {
		for ch, v := range in[r*c : (r+1)*c] {
			d := v - mean[ch]
			acc[ch] += d * d
		}
	}
}

// affineRows sets out[r,ch] = in[r,ch]·scale[ch] + shift[ch], plus
// residual[r,ch] when residual is not nil, clamped to [0, 6] when relu6 is
// set. out may be in.
func affineRows(out, in, scale, shift, residual []float32, r0, r1, c int, relu6 bool) {
	if useSIMD && affineRowsSIMD(out, in, scale, shift, residual, r0, r1, c, relu6) {
		return
	}
	scale, shift = scale[:c], shift[:c]
	for r := r0; r < r1; r++ {
		y := out[r*c : (r+1)*c]
		for ch, v := range in[r*c : (r+1)*c] {
			v = v*scale[ch] + shift[ch]
			if residual != nil {
				v += residual[r*c+ch]
			}
			y[ch] = clampReLU6(v, relu6)
		}
	}
}

// reluMaskCoef holds the per-channel scale and shift of a batch norm whose
// output fed ReLU6: the gradient passes where in·scale + shift lies in
// (0, 6).
type reluMaskCoef struct{ scale, shift []float32 }

// gradSums adds Σ_r g[r,ch] to sumG[ch] and Σ_r g[r,ch]·(in[r,ch]-mean[ch])
// to sumGX[ch], where g is dOut, masked by mask when it is not nil.
func gradSums(sumG, sumGX, dOut, in, mean []float32, mask *reluMaskCoef, r0, r1, c int) {
	if useSIMD && gradSumsSIMD(sumG, sumGX, dOut, in, mean, mask, r0, r1, c) {
		return
	}
	sumG, sumGX, mean = sumG[:c], sumGX[:c], mean[:c]
	for r := r0; r < r1; r++ {
		x := in[r*c : (r+1)*c]
		for ch, g := range dOut[r*c : (r+1)*c] {
			if mask != nil {
				g = maskReLU6(g, x[ch]*mask.scale[ch]+mask.shift[ch])
			}
			sumG[ch] += g
			sumGX[ch] += g * (x[ch] - mean[ch])
		}
	}
}

// gradInput sets dIn[r,ch] = k1[ch]·g + k2[ch]·in[r,ch] + k0[ch], with g as
// in gradSums.
func gradInput(dIn, dOut, in []float32, mask *reluMaskCoef, k1, k2, k0 []float32, r0, r1, c int) {
	if useSIMD && gradInputSIMD(dIn, dOut, in, mask, k1, k2, k0, r0, r1, c) {
		return
	}
	k1, k2, k0 = k1[:c], k2[:c], k0[:c]
	for r := r0; r < r1; r++ {
		x := in[r*c : (r+1)*c]
		dx := dIn[r*c : (r+1)*c]
		for ch, g := range dOut[r*c : (r+1)*c] {
			if mask != nil {
				g = maskReLU6(g, x[ch]*mask.scale[ch]+mask.shift[ch])
			}
			dx[ch] = k1[ch]*g + k2[ch]*x[ch] + k0[ch]
		}
	}
}

// clampReLU6 returns v clamped to [0, 6] when relu6 is set, else v. The
// min and max builtins compile without branches, which matters on data
// whose sign is random.
func clampReLU6(v float32, relu6 bool) float32 {
	if !relu6 {
		return v
	}
	return min(max(v, 0), 6)
}

// maskReLU6 returns g where ReLU6 passes gradient at output or input v
// (0 < v < 6) and 0 elsewhere. It selects with a bit mask, which the
// compiler builds without branches; a branch mispredicts on random signs.
func maskReLU6(g, v float32) float32 {
	var keep uint32
	if v > 0 && v < 6 {
		keep = math.MaxUint32
	}
	return math.Float32frombits(math.Float32bits(g) & keep)
}
