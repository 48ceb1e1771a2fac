package kernels

import (
	"math"
	"testing"
)

func TestReLU6ForwardBackward(t *testing.T) {
	in := []float32{-3, -0.5, 0.25, 2, 5.5, 6.5, 100, float32(math.Copysign(0, -1))}
	want := []float64{0, 0, 0.25, 2, 5.5, 6, 6, 0}
	out := make([]float32, len(in))
	ReLU6Forward(out, in)
	compare(t, "out", out, want, 0)

	dOut := []float32{1, 2, 3, 4, 5, 6, 7, 8}
	dIn := make([]float32, len(in))
	ReLU6Backward(dIn, dOut, in)
	compare(t, "dIn", dIn, []float64{0, 0, 3, 4, 5, 0, 0, 0}, 0)
}

func TestAddLargeSplit(t *testing.T) {
	r := newRand(12)
	n := 100_003
	a, b := randSlice(r, n), randSlice(r, n)
	buf, out := guarded(n, 0)
	withThreads(3, func() { Add(out, a, b) })
	checkGuards(t, "out", buf)
	want := make([]float64, n)
	for i := range want {
		want[i] = float64(a[i] + b[i])
	}
	compare(t, "out", out, want, 0)
}

func TestGlobalAvgPoolFiniteDifferences(t *testing.T) {
	const n, h, w, c = 3, 7, 5, 19
	r := newRand(13)
	in, dOut := randSlice(r, n*h*w*c), randSlice(r, n*c)
	in64, g64 := to64(in), to64(dOut)
	forward := func() []float64 {
		out := make([]float64, n*c)
		for b := range n {
			for p := range h * w {
				for ch := range c {
					out[b*c+ch] += in64[(b*h*w+p)*c+ch] / float64(h*w)
				}
			}
		}
		return out
	}
	outBuf, out := guarded(n*c, float32(math.NaN()))
	GlobalAvgPoolForward(out, in, n, h, w, c)
	checkGuards(t, "out", outBuf)
	compare(t, "out", out, forward(), 1e-6)

	dInBuf, dIn := guarded(len(in), float32(math.NaN()))
	GlobalAvgPoolBackward(dIn, dOut, n, h, w, c)
	checkGuards(t, "dIn", dInBuf)
	checkGradient(t, "dIn", dIn, in64, func() float64 { return dot(forward(), g64) }, nil, nil)
}

func TestSoftmaxCrossEntropyFiniteDifferences(t *testing.T) {
	const n, classes = 6, 10
	r := newRand(14)
	logits := randSlice(r, n*classes)
	for i := range logits {
		logits[i] *= 4
	}
	labels := []int{0, 9, 3, 3, 7, 1}
	logits64 := to64(logits)
	loss := func() float64 {
		var total float64
		for i := range n {
			row := logits64[i*classes : (i+1)*classes]
			var sum float64
			for _, v := range row {
				sum += math.Exp(v)
			}
			total += math.Log(sum) - row[labels[i]]
		}
		return total / n
	}
	dLogits := make([]float32, n*classes)
	got := SoftmaxCrossEntropy(dLogits, logits, labels, n, classes)
	if d := math.Abs(float64(got) - loss()); d > 1e-6 {
		t.Fatalf("loss = %v, want %v", got, loss())
	}
	checkGradient(t, "dLogits", dLogits, logits64, loss, nil, nil)
}

func TestSoftmaxCrossEntropyLargeLogits(t *testing.T) {
	logits := []float32{1000, 0, -1000}
	got := SoftmaxCrossEntropy(nil, logits, []int{1}, 1, 3)
	if math.Abs(float64(got)-1000) > 1e-3 {
		t.Fatalf("loss = %v, want 1000 (no overflow)", got)
	}
}

// TestResizeBilinearMatchesPyTorch checks values that PyTorch 1.13 returns
// for F.interpolate(x, size=(3, 5), mode="bilinear", align_corners=False) on
// x = torch.arange(8.).reshape(1, 1, 2, 4).
func TestResizeBilinearMatchesPyTorch(t *testing.T) {
	in := []float32{0, 1, 2, 3, 4, 5, 6, 7}
	want := []float64{
		0.0, 0.7, 1.5, 2.3, 3.0,
		2.0, 2.7, 3.5, 4.3, 5.0,
		4.0, 4.7, 5.5, 6.3, 7.0,
	}
	buf, out := guarded(15, float32(math.NaN()))
	ResizeBilinear(out, in, 1, 2, 4, 1, 3, 5)
	checkGuards(t, "out", buf)
	compare(t, "out", out, want, 1e-6)
}
