package kernels

import (
	"math"
	"testing"
)

type gemmCase struct {
	transA, transB bool
	m, n, k        int
	pad            int // extra columns beyond each matrix's width (leading dimension slack)
	alpha, beta    float32
}

var gemmCases = []gemmCase{
	{false, false, 1, 1, 1, 0, 1, 0},
	{false, false, 7, 9, 5, 3, 1, 0},
	{false, true, 37, 19, 23, 0, 0.5, 1},
	{true, false, 19, 33, 301, 5, 1, 1},
	{true, true, 65, 17, 13, 1, -2, 0.25},
	{false, false, 259, 47, 291, 2, 1, 0},
	{true, false, 24, 16, 3001, 0, 1, 1}, // few rows, long k: split over k
	{false, false, 300, 144, 96, 48, 1, 0},
}

func TestGemmMatchesNaive(t *testing.T) {
	for i, tc := range gemmCases {
		r := newRand(200 + uint64(i))
		aRows, aCols := tc.m, tc.k
		if tc.transA {
			aRows, aCols = tc.k, tc.m
		}
		bRows, bCols := tc.k, tc.n
		if tc.transB {
			bRows, bCols = tc.n, tc.k
		}
		lda, ldb, ldc := aCols+tc.pad, bCols+tc.pad, tc.n+tc.pad
		a := randSlice(r, aRows*lda)
		b := randSlice(r, bRows*ldb)
		c0 := randSlice(r, tc.m*ldc)

		want := append([]float32(nil), c0...)
		gemmNaive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)

		for _, threads := range []int{1, 2, 3} {
			buf, c := guarded(len(c0), 0)
			copy(c, c0)
			withThreads(threads, func() {
				Gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, c, ldc)
			})
			name := shapeName("case %d threads %d", i, threads)
			checkGuards(t, name, buf)
			tol := 1e-5 * math.Sqrt(float64(tc.k))
			compare(t, name, c, to64(want), tol)
			// The slack columns of C must be untouched.
			for row := range tc.m {
				for j := tc.n; j < ldc; j++ {
					if c[row*ldc+j] != c0[row*ldc+j] {
						t.Fatalf("%s: C[%d,%d] beyond n changed", name, row, j)
					}
				}
			}
		}
	}
}

func TestGemmBetaZeroIgnoresNaN(t *testing.T) {
	r := newRand(3)
	a, b := randSlice(r, 5*6), randSlice(r, 6*7)
	c := make([]float32, 5*7)
	for i := range c {
		c[i] = float32(math.NaN())
	}
	Gemm(false, false, 5, 7, 6, 1, a, 6, b, 7, 0, c, 7)
	for i, v := range c {
		if math.IsNaN(float64(v)) {
			t.Fatalf("C[%d] is NaN after beta = 0", i)
		}
	}
}

func TestGemmDeterministic(t *testing.T) {
	r := newRand(4)
	const m, n, k = 40, 48, 5000
	a, b := randSlice(r, k*m), randSlice(r, k*n)
	for _, threads := range []int{1, 2} {
		withThreads(threads, func() {
			first := make([]float32, m*n)
			Gemm(true, false, m, n, k, 1, a, m, b, n, 0, first, n)
			for range 3 {
				again := make([]float32, m*n)
				Gemm(true, false, m, n, k, 1, a, m, b, n, 0, again, n)
				requireIdentical(t, "C", first, again)
			}
		})
	}
}

func TestGemmPanicsOnShortSlice(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Gemm accepted a 5×5 A stored in 20 elements")
		}
	}()
	Gemm(false, false, 5, 5, 5, 1, make([]float32, 20), 5, make([]float32, 25), 5, 0, make([]float32, 25), 5)
}

// matmulRef returns the float64 product of x ([rows, inner], row-major) and
// the top-left inner×cols block of w (leading dimension ldw).
func matmulRef(x []float64, w []float64, ldw, rows, inner, cols int) []float64 {
	out := make([]float64, rows*cols)
	for i := range rows {
		for j := range cols {
			var s float64
			for p := range inner {
				s += x[i*inner+p] * w[p*ldw+j]
			}
			out[i*cols+j] = s
		}
	}
	return out
}

func TestPointwiseBackwardFiniteDifferences(t *testing.T) {
	const rows, cin, cout, cinMax, coutMax = 53, 19, 23, 24, 32
	r := newRand(5)
	w := randSlice(r, cinMax*coutMax)
	in := randSlice(r, rows*cin)
	dOut := randSlice(r, rows*cout)

	outBuf, out := guarded(rows*cout, 0)
	PointwiseForward(out, in, w, coutMax, rows, cin, cout)
	checkGuards(t, "out", outBuf)
	in64, w64, g64 := to64(in), to64(w), to64(dOut)
	compare(t, "out", out, matmulRef(in64, w64, coutMax, rows, cin, cout), 1e-5)

	dWBuf, dW := guarded(len(w), 0)
	dInBuf, dIn := guarded(len(in), float32(math.NaN()))
	PointwiseBackward(dIn, dW, dOut, in, w, coutMax, rows, cin, cout)
	checkGuards(t, "dW", dWBuf)
	checkGuards(t, "dIn", dInBuf)
	loss := func() float64 { return dot(matmulRef(in64, w64, coutMax, rows, cin, cout), g64) }
	checkGradient(t, "dIn", dIn, in64, loss, sample(r, len(in), 200), nil)
	checkGradient(t, "dW", dW, w64, loss, nil, nil) // entries outside the block have zero gradient
}

func TestLinearBackwardFiniteDifferences(t *testing.T) {
	const n, cin, cout, ldw = 5, 13, 10, 16
	r := newRand(6)
	w, bias := randSlice(r, cin*ldw), randSlice(r, cout)
	in, dOut := randSlice(r, n*cin), randSlice(r, n*cout)

	in64, w64, b64, g64 := to64(in), to64(w), to64(bias), to64(dOut)
	forward := func() []float64 {
		out := matmulRef(in64, w64, ldw, n, cin, cout)
		for i := range n {
			for o := range cout {
				out[i*cout+o] += b64[o]
			}
		}
		return out
	}
	out := make([]float32, n*cout)
	LinearForward(out, in, w, ldw, bias, n, cin, cout)
	compare(t, "out", out, forward(), 1e-5)

	dIn, dW, dBias := make([]float32, len(in)), make([]float32, len(w)), make([]float32, cout)
	LinearBackward(dIn, dW, dBias, dOut, in, w, ldw, n, cin, cout)
	loss := func() float64 { return dot(forward(), g64) }
	checkGradient(t, "dIn", dIn, in64, loss, nil, nil)
	checkGradient(t, "dW", dW, w64, loss, nil, nil)
	checkGradient(t, "dBias", dBias, b64, loss, nil, nil)
}
