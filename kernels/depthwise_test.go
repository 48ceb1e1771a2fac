package kernels

import (
	"math"
	"testing"
)

// depthwiseRef is the float64 definition of DepthwiseForward on a compact
// [K][K][C] filter; the tests derive expected values and finite differences
// from it.
func depthwiseRef(in, wt []float64, n, h, w, c, k, stride int) []float64 {
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	out := make([]float64, n*oh*ow*c)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for ch := range c {
					var s float64
					for ky := range k {
						for kx := range k {
							iy, ix := oy*stride+ky-k/2, ox*stride+kx-k/2
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							s += in[((b*h+iy)*w+ix)*c+ch] * wt[(ky*k+kx)*c+ch]
						}
					}
					out[((b*oh+oy)*ow+ox)*c+ch] = s
				}
			}
		}
	}
	return out
}

type depthwiseCase struct {
	n, h, w, c, k, stride int
	kMax, cMax            int
}

var depthwiseCases = []depthwiseCase{
	{n: 2, h: 7, w: 7, c: 19, k: 3, stride: 1, kMax: 7, cMax: 24},
	{n: 3, h: 9, w: 9, c: 21, k: 5, stride: 2, kMax: 7, cMax: 21},
	{n: 2, h: 9, w: 8, c: 35, k: 7, stride: 2, kMax: 7, cMax: 40},
	{n: 2, h: 8, w: 9, c: 16, k: 3, stride: 2, kMax: 5, cMax: 32},
	{n: 1, h: 5, w: 6, c: 48, k: 5, stride: 1, kMax: 5, cMax: 48},
	{n: 2, h: 2, w: 3, c: 7, k: 7, stride: 1, kMax: 7, cMax: 7},
	// Wide rows, so the AVX-512 path runs its four-column interior blocks.
	{n: 2, h: 5, w: 19, c: 20, k: 5, stride: 2, kMax: 7, cMax: 24},
	{n: 1, h: 8, w: 15, c: 33, k: 7, stride: 1, kMax: 7, cMax: 33},
	// 3×3 kernels (depthwise3_simd.go): odd and even widths at both
	// strides, single rows and columns, partial and several channel blocks.
	{n: 2, h: 9, w: 9, c: 37, k: 3, stride: 2, kMax: 5, cMax: 40},
	{n: 2, h: 10, w: 10, c: 33, k: 3, stride: 2, kMax: 3, cMax: 33},
	{n: 1, h: 1, w: 1, c: 5, k: 3, stride: 1, kMax: 7, cMax: 8},
	{n: 2, h: 2, w: 1, c: 17, k: 3, stride: 2, kMax: 3, cMax: 17},
	{n: 1, h: 1, w: 2, c: 3, k: 3, stride: 2, kMax: 3, cMax: 3},
	{n: 2, h: 3, w: 14, c: 48, k: 3, stride: 1, kMax: 7, cMax: 64},
}

// compactFilter copies the view's K×K×C block out of the supernet tensor.
func compactFilter(f DepthwiseFilter, c int) []float64 {
	wt := make([]float64, f.K*f.K*c)
	for ky := range f.K {
		for kx := range f.K {
			for ch := range c {
				wt[(ky*f.K+kx)*c+ch] = float64(f.Data[f.tap(ky, kx)+ch])
			}
		}
	}
	return wt
}

func TestDepthwiseForwardOddShapes(t *testing.T) {
	for i, tc := range depthwiseCases {
		r := newRand(uint64(i))
		f := DepthwiseFilter{Data: randSlice(r, tc.kMax*tc.kMax*tc.cMax), KMax: tc.kMax, CMax: tc.cMax, K: tc.k}
		in := randSlice(r, tc.n*tc.h*tc.w*tc.c)
		oh, ow := outSize(tc.h, tc.k, tc.stride), outSize(tc.w, tc.k, tc.stride)
		buf, out := guarded(tc.n*oh*ow*tc.c, float32(math.NaN()))

		for _, threads := range []int{1, 2, 3} {
			withThreads(threads, func() {
				DepthwiseForward(out, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride)
			})
			name := shapeName("case %d threads %d", i, threads)
			checkGuards(t, name, buf)
			compare(t, name, out, depthwiseRef(to64(in), compactFilter(f, tc.c), tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride), 1e-5)
		}
	}
}

func TestDepthwiseBackwardFiniteDifferences(t *testing.T) {
	for i, tc := range depthwiseCases {
		r := newRand(100 + uint64(i))
		f := DepthwiseFilter{Data: randSlice(r, tc.kMax*tc.kMax*tc.cMax), KMax: tc.kMax, CMax: tc.cMax, K: tc.k}
		in := randSlice(r, tc.n*tc.h*tc.w*tc.c)
		oh, ow := outSize(tc.h, tc.k, tc.stride), outSize(tc.w, tc.k, tc.stride)
		dOut := randSlice(r, tc.n*oh*ow*tc.c)

		// dW starts at 1 everywhere, to check accumulation and that taps
		// and channels outside the view are left alone.
		dWBuf, dW := guarded(len(f.Data), 1)
		dInBuf, dIn := guarded(len(in), float32(math.NaN()))
		DepthwiseBackward(dIn, dW, dOut, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride)
		name := shapeName("case %d", i)
		checkGuards(t, name+" dW", dWBuf)
		checkGuards(t, name+" dIn", dInBuf)

		in64, wt64, g64 := to64(in), compactFilter(f, tc.c), to64(dOut)
		loss := func() float64 {
			return dot(depthwiseRef(in64, wt64, tc.n, tc.h, tc.w, tc.c, tc.k, tc.stride), g64)
		}
		checkGradient(t, name+" dIn", dIn, in64, loss, sample(r, len(in), 300), nil)

		// Subtract the initial 1 from the view's entries before comparing.
		shifted := make([]float32, len(dW))
		for j, v := range dW {
			shifted[j] = v - 1
		}
		k, c := tc.k, tc.c
		checkGradient(t, name+" dW", shifted, wt64, loss, nil, func(j int) int {
			tap, ch := j/c, j%c
			return f.tap(tap/k, tap%k) + ch
		})
		inView := make([]bool, len(dW))
		for ky := range k {
			for kx := range k {
				for ch := range c {
					inView[f.tap(ky, kx)+ch] = true
				}
			}
		}
		for j, v := range dW {
			if !inView[j] && v != 1 {
				t.Fatalf("%s: dW[%d] outside the view changed to %v", name, j, v)
			}
		}
	}
}

func TestDepthwiseBackwardNilInputGradient(t *testing.T) {
	tc := depthwiseCases[1]
	r := newRand(7)
	f := DepthwiseFilter{Data: randSlice(r, tc.kMax*tc.kMax*tc.cMax), KMax: tc.kMax, CMax: tc.cMax, K: tc.k}
	in := randSlice(r, tc.n*tc.h*tc.w*tc.c)
	oh, ow := outSize(tc.h, tc.k, tc.stride), outSize(tc.w, tc.k, tc.stride)
	dOut := randSlice(r, tc.n*oh*ow*tc.c)

	withInput := make([]float32, len(f.Data))
	without := make([]float32, len(f.Data))
	DepthwiseBackward(make([]float32, len(in)), withInput, dOut, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride)
	DepthwiseBackward(nil, without, dOut, in, f, tc.n, tc.h, tc.w, tc.c, tc.stride)
	for j := range withInput {
		if withInput[j] != without[j] {
			t.Fatalf("dW[%d] = %v with dIn, %v without", j, withInput[j], without[j])
		}
	}
}

func TestDepthwiseDeterministic(t *testing.T) {
	const n, h, w, c, k, stride = 8, 14, 14, 40, 5, 1
	r := newRand(9)
	f := DepthwiseFilter{Data: randSlice(r, 7*7*c), KMax: 7, CMax: c, K: k}
	in := randSlice(r, n*h*w*c)
	dOut := randSlice(r, n*h*w*c)
	run := func() (out, dIn, dW []float32) {
		out, dIn, dW = make([]float32, n*h*w*c), make([]float32, n*h*w*c), make([]float32, len(f.Data))
		DepthwiseForward(out, in, f, n, h, w, c, stride)
		DepthwiseBackward(dIn, dW, dOut, in, f, n, h, w, c, stride)
		return out, dIn, dW
	}
	for _, threads := range []int{1, 2, 3} {
		withThreads(threads, func() {
			o1, i1, w1 := run()
			for range 3 {
				o2, i2, w2 := run()
				requireIdentical(t, "out", o1, o2)
				requireIdentical(t, "dIn", i1, i2)
				requireIdentical(t, "dW", w1, w2)
			}
		})
	}
}

// requireIdentical fails unless a and b are bit-identical.
func requireIdentical(t *testing.T, name string, a, b []float32) {
	t.Helper()
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			t.Fatalf("%s[%d]: %v in one run, %v in another", name, i, a[i], b[i])
		}
	}
}

// TestDepthwiseWideRows checks rows too wide for the AVX-512 3×3 kernels'
// zero row (w·c above 16,384), which take the general path.
func TestDepthwiseWideRows(t *testing.T) {
	const n, h, w, c, k = 1, 3, 130, 131, 3
	r := newRand(7)
	f := DepthwiseFilter{Data: randSlice(r, k*k*c), KMax: k, CMax: c, K: k}
	in := randSlice(r, n*h*w*c)
	for _, stride := range []int{1, 2} {
		oh, ow := outSize(h, k, stride), outSize(w, k, stride)
		out := make([]float32, n*oh*ow*c)
		DepthwiseForward(out, in, f, n, h, w, c, stride)
		compare(t, shapeName("stride %d", stride), out, depthwiseRef(to64(in), compactFilter(f, c), n, h, w, c, k, stride), 1e-5)
	}
}
