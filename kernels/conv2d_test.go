package kernels

import (
	"math"
	"testing"
)

// conv2dRef is the float64 definition of Conv2DForward on a compact
// [K][K][Cin][Cout] filter.
func conv2dRef(in, wt []float64, n, h, w, cin, cout, k, stride int) []float64 {
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	out := make([]float64, n*oh*ow*cout)
	for b := range n {
		for oy := range oh {
			for ox := range ow {
				for co := range cout {
					var s float64
					for ky := range k {
						for kx := range k {
							iy, ix := oy*stride+ky-k/2, ox*stride+kx-k/2
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							for ci := range cin {
								s += in[((b*h+iy)*w+ix)*cin+ci] * wt[((ky*k+kx)*cin+ci)*cout+co]
							}
						}
					}
					out[((b*oh+oy)*ow+ox)*cout+co] = s
				}
			}
		}
	}
	return out
}

func TestConv2DFiniteDifferences(t *testing.T) {
	cases := []struct {
		n, h, w, cin, cout, k, stride int
		kMax, cinMax, coutMax         int
	}{
		{2, 7, 7, 3, 5, 3, 1, 5, 4, 8},
		{2, 9, 9, 1, 17, 3, 2, 3, 1, 17},
		{1, 9, 8, 3, 6, 5, 2, 5, 3, 6},
	}
	for i, tc := range cases {
		r := newRand(300 + uint64(i))
		f := ConvFilter{Data: randSlice(r, tc.kMax*tc.kMax*tc.cinMax*tc.coutMax), KMax: tc.kMax, CinMax: tc.cinMax, CoutMax: tc.coutMax, K: tc.k}
		in := randSlice(r, tc.n*tc.h*tc.w*tc.cin)
		oh, ow := outSize(tc.h, tc.k, tc.stride), outSize(tc.w, tc.k, tc.stride)
		dOut := randSlice(r, tc.n*oh*ow*tc.cout)
		name := shapeName("case %d", i)

		k, cin, cout := tc.k, tc.cin, tc.cout
		compact := make([]float64, k*k*cin*cout)
		viewIndex := func(j int) int {
			co := j % cout
			ci := j / cout % cin
			tap := j / (cout * cin)
			return f.at(tap/k, tap%k, ci) + co
		}
		for j := range compact {
			compact[j] = float64(f.Data[viewIndex(j)])
		}
		in64, g64 := to64(in), to64(dOut)

		outBuf, out := guarded(tc.n*oh*ow*cout, float32(math.NaN()))
		Conv2DForward(out, in, f, tc.n, tc.h, tc.w, cin, cout, tc.stride)
		checkGuards(t, name+" out", outBuf)
		compare(t, name+" out", out, conv2dRef(in64, compact, tc.n, tc.h, tc.w, cin, cout, k, tc.stride), 1e-5)

		dWBuf, dW := guarded(len(f.Data), 0)
		dInBuf, dIn := guarded(len(in), float32(math.NaN()))
		Conv2DBackward(dIn, dW, dOut, in, f, tc.n, tc.h, tc.w, cin, cout, tc.stride)
		checkGuards(t, name+" dW", dWBuf)
		checkGuards(t, name+" dIn", dInBuf)
		loss := func() float64 { return dot(conv2dRef(in64, compact, tc.n, tc.h, tc.w, cin, cout, k, tc.stride), g64) }
		checkGradient(t, name+" dIn", dIn, in64, loss, sample(r, len(in), 200), nil)
		checkGradient(t, name+" dW", dW, compact, loss, nil, viewIndex)

		// Entries outside the view keep their zero gradient.
		var outside float64
		for j := range dW {
			outside += math.Abs(float64(dW[j]))
		}
		for j := range compact {
			outside -= math.Abs(float64(dW[viewIndex(j)]))
		}
		if math.Abs(outside) > 1e-3 {
			t.Fatalf("%s: dW outside the view has total magnitude %v", name, outside)
		}
	}
}
