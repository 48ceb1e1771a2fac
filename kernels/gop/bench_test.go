package gop

import (
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"

	"nas/kernels"
)

// The two benchmarks run one training step (forward and backward, no
// optimizer) of the same tinyNet at batch 64 on 28×28×1 images with width
// 32. BenchmarkStepGraph runs it as a gorgonia graph on a tape machine, and
// BenchmarkStepDirect as kernel calls into preallocated buffers.
const (
	benchN, benchSide, benchCin, benchWidth, benchClasses = 64, 28, 1, 32, 10
)

func BenchmarkStepGraph(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	net := buildTinyNet(b, r, benchN, benchSide, benchCin, benchWidth, benchClasses)
	if _, err := gorgonia.Grad(net.loss, net.params[1:]...); err != nil {
		b.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(net.g)
	defer m.Close()
	for b.Loop() {
		m.Reset()
		if err := m.RunAll(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStepDirect(b *testing.B) {
	const n, s, cin, c, classes = benchN, benchSide, benchCin, benchWidth, benchClasses
	const rows, half = n * s * s, (s-1)/2 + 1
	const rows2, c2 = n * half * half, c + 3
	r := rand.New(rand.NewPCG(3, 4))
	rnd := func(size int) []float32 {
		x := make([]float32, size)
		for i := range x {
			x[i] = 2*r.Float32() - 1
		}
		return x
	}
	x, stem, gamma, beta := rnd(rows*cin), rnd(9*cin*c), rnd(c), rnd(c)
	dw, pw, fc, bias := rnd(25*c), rnd(c*c2), rnd(c2*classes), rnd(classes)
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}
	stemF := kernels.ConvFilter{Data: stem, KMax: 3, CinMax: cin, CoutMax: c, K: 3}
	dwF := kernels.DepthwiseFilter{Data: dw, KMax: 5, CMax: c, K: 5}

	// Activations and gradients, allocated once.
	a1, a2, a3 := make([]float32, rows*c), make([]float32, rows*c), make([]float32, rows*c)
	a4, a5 := make([]float32, rows2*c), make([]float32, rows2*c2)
	pooled, logits := make([]float32, n*c2), make([]float32, n*classes)
	mean, invStd := make([]float32, c), make([]float32, c)
	dLogits, dPooled := make([]float32, n*classes), make([]float32, n*c2)
	d5, d4 := make([]float32, rows2*c2), make([]float32, rows2*c)
	d3, d2 := make([]float32, rows*c), make([]float32, rows*c)
	gStem, gGamma, gBeta := make([]float32, len(stem)), make([]float32, c), make([]float32, c)
	gDw, gPw, gFc, gBias := make([]float32, len(dw)), make([]float32, len(pw)), make([]float32, len(fc)), make([]float32, classes)

	for b.Loop() {
		kernels.Conv2DForward(a1, x, stemF, n, s, s, cin, c, 1)
		kernels.BatchNormForwardTrain(a2, mean, invStd, a1, gamma, beta, nil, nil, rows, c, 0)
		kernels.ReLU6Forward(a3, a2)
		kernels.DepthwiseForward(a4, a3, dwF, n, s, s, c, 2)
		kernels.PointwiseForward(a5, a4, pw, c2, rows2, c, c2)
		kernels.GlobalAvgPoolForward(pooled, a5, n, half, half, c2)
		kernels.LinearForward(logits, pooled, fc, classes, bias, n, c2, classes)
		kernels.SoftmaxCrossEntropy(dLogits, logits, labels, n, classes)

		kernels.LinearBackward(dPooled, gFc, gBias, dLogits, pooled, fc, classes, n, c2, classes)
		kernels.GlobalAvgPoolBackward(d5, dPooled, n, half, half, c2)
		kernels.PointwiseBackward(d4, gPw, d5, a4, pw, c2, rows2, c, c2)
		kernels.DepthwiseBackward(d3, gDw, d4, a3, dwF, n, s, s, c, 2)
		kernels.ReLU6Backward(d2, d3, a2)
		kernels.BatchNormBackward(d2, gGamma, gBeta, d2, a1, mean, invStd, gamma, rows, c)
		kernels.Conv2DBackward(nil, gStem, d2, x, stemF, n, s, s, cin, c, 1)
	}
}
