package kernels

import "math"

// Affine is a per-channel transform applied to a convolution's output as it
// is written: out = x·Scale[ch] + Shift[ch], plus Residual when it is not
// nil, then clamped to [0, 6] when ReLU6 is set. Batch norm in inference
// mode is such a transform (BatchNormAffine), and fusing it into the
// convolution saves a pass over the output in memory.
type Affine struct {
	Scale, Shift []float32
	// Residual, when not nil, is added after the shift. It has the
	// output's layout and is read, never written.
	Residual []float32
	ReLU6    bool
}

// BatchNormAffine writes into scale and shift the transform of batch norm in
// inference mode, so that x·scale + shift = gamma·(x-mean)/sqrt(variance+ε)
// + beta per channel, computed as BatchNormForwardInference computes it.
// All slices have length c or more.
func BatchNormAffine(scale, shift, gamma, beta, mean, variance []float32, c int) {
	const op = "BatchNormAffine"
	for _, v := range []struct {
		name string
		x    []float32
	}{{"scale", scale}, {"shift", shift}, {"gamma", gamma}, {"beta", beta}, {"mean", mean}, {"variance", variance}} {
		need(op, v.name, v.x, c)
	}
	for ch := range c {
		invStd := float32(1 / math.Sqrt(float64(variance[ch])+BatchNormEps))
		scale[ch] = gamma[ch] * invStd
		shift[ch] = beta[ch] - mean[ch]*scale[ch]
	}
}

func (e Affine) check(op string, rows, c int) {
	need(op, "Scale", e.Scale, c)
	need(op, "Shift", e.Shift, c)
	if e.Residual != nil {
		need(op, "Residual", e.Residual, rows*c)
	}
}

// apply transforms rows [r0, r1) of out, [rows, c], in place.
func (e Affine) apply(out []float32, r0, r1, c int) {
	affineRows(out, out, e.Scale, e.Shift, e.Residual, r0, r1, c, e.ReLU6)
}

// pointwiseChunkRows returns how many rows of a 1×1 convolution's output
// PointwiseForwardAffine computes before transforming them. About 64 KiB of
// output is still in L2 when the transform reads it, and the count is a
// multiple of the GEMM's register tile height.
func pointwiseChunkRows(cout int) int {
	mr := activeMicroKernel.mr
	return roundUp(max(mr, (1<<14)/max(cout, 1)), mr)
}

// PointwiseForwardAffine is PointwiseForward followed by the transform e,
// applied to blocks of rows while they are still in cache. out must not
// overlap in or e.Residual.
func PointwiseForwardAffine(out, in, w []float32, ldw, rows, cin, cout int, e Affine) {
	const op = "PointwiseForwardAffine"
	checkGemm(false, false, rows, cout, cin, in, cin, w, ldw, out, cout)
	e.check(op, rows, cout)
	if rows == 0 || cout == 0 {
		return
	}
	if cin == 0 {
		clear(out[:rows*cout])
		parallelFor(rows, partCount(rows, gemmMinRowsPerPart), func(_, lo, hi int) { e.apply(out, lo, hi, cout) })
		return
	}
	gemm := gemmOperands{a: in, lda: cin, b: w, ldb: ldw}
	chunk := pointwiseChunkRows(cout)
	parallelFor(rows, partCount(rows, gemmMinRowsPerPart), func(_, lo, hi int) {
		for r0 := lo; r0 < hi; r0 += chunk {
			r1 := min(hi, r0+chunk)
			gemmBlock(gemm, r0, r1, 0, cout, 0, cin, 1, out, cout, true)
			e.apply(out, r0, r1, cout)
		}
	})
}

// DepthwiseForwardAffine is DepthwiseForward followed by the transform e,
// applied to each output row while it is still in cache. out must not
// overlap in or e.Residual.
func DepthwiseForwardAffine(out, in []float32, f DepthwiseFilter, n, h, w, c, stride int, e Affine) {
	depthwiseForward("DepthwiseForwardAffine", out, in, f, n, h, w, c, stride, &e)
}

// Conv2DForwardAffine is Conv2DForward followed by the transform e, applied
// to each output row while it is still in cache. out must not overlap in or
// e.Residual.
func Conv2DForwardAffine(out, in []float32, f ConvFilter, n, h, w, cin, cout, stride int, e Affine) {
	conv2dForward("Conv2DForwardAffine", out, in, f, n, h, w, cin, cout, stride, &e)
}
