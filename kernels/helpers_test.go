package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// guardLen is the number of NaN elements placed before and after an output
// slice, to catch writes out of bounds.
const guardLen = 37

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x6b65726e656c73)) }

// randSlice returns n values uniform in [-1, 1).
func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = 2*r.Float32() - 1
	}
	return x
}

func to64(x []float32) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		y[i] = float64(v)
	}
	return y
}

func to32(x []float64) []float32 {
	y := make([]float32, len(x))
	for i, v := range x {
		y[i] = float32(v)
	}
	return y
}

// guarded returns a slice of n elements filled with fill, set inside a
// larger buffer whose guard regions hold NaN.
func guarded(n int, fill float32) (buf, inner []float32) {
	buf = make([]float32, n+2*guardLen)
	for i := range buf {
		buf[i] = float32(math.NaN())
	}
	inner = buf[guardLen : guardLen+n : guardLen+n]
	for i := range inner {
		inner[i] = fill
	}
	return buf, inner
}

// checkGuards fails the test if a kernel wrote into the NaN guard regions.
func checkGuards(t *testing.T, name string, buf []float32) {
	t.Helper()
	n := len(buf) - 2*guardLen
	for i := range guardLen {
		if !math.IsNaN(float64(buf[i])) || !math.IsNaN(float64(buf[guardLen+n+i])) {
			t.Fatalf("%s: write outside the output slice (guard element %d changed)", name, i)
		}
	}
}

// compare fails the test when got and want differ by more than tol relative
// to max(1, |want|) anywhere, reporting the worst element.
func compare(t *testing.T, name string, got []float32, want []float64, tol float64) {
	t.Helper()
	if len(got) < len(want) {
		t.Fatalf("%s: got %d values, want %d", name, len(got), len(want))
	}
	worst, at := 0.0, -1
	for i, w := range want {
		g := float64(got[i])
		d := math.Abs(g-w) / math.Max(1, math.Abs(w))
		if math.IsNaN(g) {
			d = math.Inf(1)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	if worst > tol {
		t.Fatalf("%s: max relative difference %.3g at %d (got %v, want %v), tolerance %.1g",
			name, worst, at, got[at], want[at], tol)
	}
}

// dot returns Σ a·b, the scalar loss whose gradient with respect to the
// output of a layer is b.
func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// numericGrad returns the central finite difference of loss with respect to
// x[i], in float64.
func numericGrad(loss func() float64, x []float64, i int) float64 {
	const h = 1e-4
	old := x[i]
	x[i] = old + h
	up := loss()
	x[i] = old - h
	down := loss()
	x[i] = old
	return (up - down) / (2 * h)
}

// checkGradient compares an analytic gradient with central finite
// differences of loss over the indices in idx (all of x when idx is nil).
// view maps an index of x to the index of got that holds its gradient.
func checkGradient(t *testing.T, name string, got []float32, x []float64, loss func() float64, idx []int, view func(int) int) {
	t.Helper()
	if idx == nil {
		idx = make([]int, len(x))
		for i := range idx {
			idx[i] = i
		}
	}
	if view == nil {
		view = func(i int) int { return i }
	}
	worst, at := 0.0, -1
	var wantAt float64
	for _, i := range idx {
		want := numericGrad(loss, x, i)
		d := math.Abs(float64(got[view(i)])-want) / math.Max(1, math.Abs(want))
		if d > worst || math.IsNaN(float64(got[view(i)])) {
			worst, at, wantAt = d, i, want
		}
	}
	if worst > 2e-3 || math.IsNaN(worst) {
		t.Fatalf("%s: gradient differs from finite differences by %.3g (relative) at %d: got %v, want %v",
			name, worst, at, got[view(at)], wantAt)
	}
}

// sample returns up to count distinct indices in [0, n), all of them when
// n <= count.
func sample(r *rand.Rand, n, count int) []int {
	if n <= count {
		idx := make([]int, n)
		for i := range idx {
			idx[i] = i
		}
		return idx
	}
	return r.Perm(n)[:count]
}

// withThreads runs f with the thread cap set to n and restores the default.
func withThreads(n int, f func()) {
	SetThreads(n)
	defer SetThreads(0)
	f()
}

func shapeName(format string, args ...any) string { return fmt.Sprintf(format, args...) }
