package kernels

import (
	"math"
	"testing"
)

// affineRef applies batch norm in inference mode, the residual and ReLU6 to
// x ([rows, c]) in float64, as the fused kernels should.
func affineRef(x []float32, gamma, beta, mean, variance, residual []float32, rows, c int, relu6 bool) []float64 {
	out := make([]float64, rows*c)
	for r := range rows {
		for ch := range c {
			v := float64(gamma[ch])*(float64(x[r*c+ch])-float64(mean[ch]))/math.Sqrt(float64(variance[ch])+BatchNormEps) + float64(beta[ch])
			if residual != nil {
				v += float64(residual[r*c+ch])
			}
			if relu6 {
				v = math.Min(math.Max(v, 0), 6)
			}
			out[r*c+ch] = v
		}
	}
	return out
}

// randomAffine returns a batch-norm transform of c channels whose outputs
// fall on both sides of [0, 6], and its parameters.
func randomAffine(seed uint64, c int) (e Affine, gamma, beta, mean, variance []float32) {
	r := newRand(seed)
	gamma, beta, mean = randSlice(r, c), randSlice(r, c), randSlice(r, c)
	variance = make([]float32, c)
	for ch := range c {
		gamma[ch] *= 6
		variance[ch] = 0.2 + float32(ch%5)/3
	}
	e = Affine{Scale: make([]float32, c), Shift: make([]float32, c)}
	BatchNormAffine(e.Scale, e.Shift, gamma, beta, mean, variance, c)
	return e, gamma, beta, mean, variance
}

// affineVariants returns e without extras, with ReLU6, and with a residual
// of rows×c values.
func affineVariants(e Affine, residual []float32) map[string]Affine {
	relu, res := e, e
	relu.ReLU6 = true
	res.Residual = residual
	return map[string]Affine{"plain": e, "relu6": relu, "residual": res}
}

func TestPointwiseForwardAffineMatchesUnfused(t *testing.T) {
	// Row counts around and across the chunk size, odd channel counts.
	for i, tc := range []struct{ rows, cin, cout, ldw int }{
		{rows: 1, cin: 3, cout: 5, ldw: 7},
		{rows: 97, cin: 17, cout: 33, ldw: 40},
		{rows: 1283, cin: 24, cout: 144, ldw: 144},
		{rows: 613, cin: 96, cout: 16, ldw: 24},
	} {
		r := newRand(uint64(40 + i))
		in, w := randSlice(r, tc.rows*tc.cin), randSlice(r, tc.cin*tc.ldw)
		e, gamma, beta, mean, variance := randomAffine(uint64(50+i), tc.cout)
		residual := randSlice(r, tc.rows*tc.cout)

		z := make([]float32, tc.rows*tc.cout)
		PointwiseForward(z, in, w, tc.ldw, tc.rows, tc.cin, tc.cout)
		for name, v := range affineVariants(e, residual) {
			var res []float32
			if v.Residual != nil {
				res = residual
			}
			want := affineRef(z, gamma, beta, mean, variance, res, tc.rows, tc.cout, v.ReLU6)
			for _, threads := range []int{1, 2, 3} {
				buf, out := guarded(tc.rows*tc.cout, float32(math.NaN()))
				withThreads(threads, func() {
					PointwiseForwardAffine(out, in, w, tc.ldw, tc.rows, tc.cin, tc.cout, v)
				})
				label := shapeName("case %d %s threads %d", i, name, threads)
				checkGuards(t, label, buf)
				compare(t, label, out, want, 1e-5)
			}
		}
	}
}

func TestDepthwiseForwardAffineMatchesUnfused(t *testing.T) {
	for i, tc := range depthwiseCases {
		r := newRand(uint64(60 + i))
		f := DepthwiseFilter{Data: randSlice(r, tc.kMax*tc.kMax*tc.cMax), KMax: tc.kMax, CMax: tc.cMax, K: tc.k}
		in := randSlice(r, tc.n*tc.h*tc.w*tc.c)
		oh, ow := outSize(tc.h, tc.k, tc.stride), outSize(tc.w, tc.k, tc.stride)
		rows := tc.n * oh * ow
		e, gamma, beta, mean, variance := randomAffine(uint64(70+i), tc.c)
		residual := randSlice(r, rows*tc.c)

		z := make([]float32, rows*tc.c)
		DepthwiseForward(z, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride)
		for name, v := range affineVariants(e, residual) {
			want := affineRef(z, gamma, beta, mean, variance, v.Residual, rows, tc.c, v.ReLU6)
			for _, threads := range []int{1, 2} {
				buf, out := guarded(rows*tc.c, float32(math.NaN()))
				withThreads(threads, func() {
					DepthwiseForwardAffine(out, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride, v)
				})
				label := shapeName("case %d %s threads %d", i, name, threads)
				checkGuards(t, label, buf)
				compare(t, label, out, want, 1e-5)
			}
		}
	}
}

func TestConv2DForwardAffineMatchesUnfused(t *testing.T) {
	const n, h, w, cin, cout, k = 2, 9, 7, 3, 21, 3
	r := newRand(80)
	f := ConvFilter{Data: randSlice(r, 5*5*4*24), KMax: 5, CinMax: 4, CoutMax: 24, K: k}
	in := randSlice(r, n*h*w*cin)
	for _, stride := range []int{1, 2} {
		oh, ow := outSize(h, k, stride), outSize(w, k, stride)
		rows := n * oh * ow
		e, gamma, beta, mean, variance := randomAffine(81, cout)
		residual := randSlice(r, rows*cout)
		z := make([]float32, rows*cout)
		Conv2DForward(z, in, f, n, h, w, cin, cout, stride)
		for name, v := range affineVariants(e, residual) {
			want := affineRef(z, gamma, beta, mean, variance, v.Residual, rows, cout, v.ReLU6)
			buf, out := guarded(rows*cout, float32(math.NaN()))
			Conv2DForwardAffine(out, in, f, n, h, w, cin, cout, stride, v)
			label := shapeName("stride %d %s", stride, name)
			checkGuards(t, label, buf)
			compare(t, label, out, want, 1e-5)
		}
	}
}

func TestBatchNormAffineMatchesInference(t *testing.T) {
	const rows, c = 23, 19
	r := newRand(90)
	x := randSlice(r, rows*c)
	e, gamma, beta, mean, variance := randomAffine(91, c)
	want := make([]float32, rows*c)
	BatchNormForwardInference(want, x, gamma, beta, mean, variance, rows, c)
	got := make([]float32, rows*c)
	affineRows(got, x, e.Scale, e.Shift, nil, 0, rows, c, false)
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("element %d: affine %v, batch norm %v", i, got[i], want[i])
		}
	}
}

// TestAffineRowsLongRange covers the streaming order that ranges of more than
// 32,768 floats take in the AVX-512 build, with and without the extras.
func TestAffineRowsLongRange(t *testing.T) {
	const rows, c = 2111, 17
	r := newRand(92)
	x, residual := randSlice(r, rows*c), randSlice(r, rows*c)
	e, gamma, beta, mean, variance := randomAffine(93, c)
	for name, v := range affineVariants(e, residual) {
		want := affineRef(x, gamma, beta, mean, variance, v.Residual, rows, c, v.ReLU6)
		buf, out := guarded(rows*c, float32(math.NaN()))
		affineRows(out, x, v.Scale, v.Shift, v.Residual, 0, rows, c, v.ReLU6)
		checkGuards(t, name, buf)
		compare(t, name, out, want, 1e-5)
	}
}
