package kernels

import (
	"fmt"
	"testing"
)

// The benchmark shapes are those of MobileNet-style children at batch 64 on
// 28×28 and 14×14 feature maps; scripts/bench_kernels.py times PyTorch on the
// same shapes.

func BenchmarkDepthwise(b *testing.B) {
	for _, shape := range []struct{ n, h, w, c int }{{64, 28, 28, 96}, {64, 14, 14, 144}} {
		for _, k := range []int{3, 5} {
			for _, stride := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%dx%d/k%d/s%d", shape.n, shape.h, shape.w, shape.c, k, stride)
				b.Run(name, func(b *testing.B) {
					benchDepthwise(b, shape.n, shape.h, shape.w, shape.c, k, stride)
				})
			}
		}
	}
}

// BenchmarkDepthwiseForward times the forward pass alone, 2·N·OH·OW·C·K²
// flops, on the shapes of BenchmarkDepthwise.
func BenchmarkDepthwiseForward(b *testing.B) {
	for _, shape := range []struct{ n, h, w, c int }{{64, 28, 28, 96}, {64, 14, 14, 144}} {
		for _, k := range []int{3, 5} {
			for _, stride := range []int{1, 2} {
				name := fmt.Sprintf("%dx%dx%dx%d/k%d/s%d", shape.n, shape.h, shape.w, shape.c, k, stride)
				b.Run(name, func(b *testing.B) {
					n, h, w, c := shape.n, shape.h, shape.w, shape.c
					r := newRand(1)
					f := DepthwiseFilter{Data: randSlice(r, 7*7*c), KMax: 7, CMax: c, K: k}
					oh, ow := outSize(h, k, stride), outSize(w, k, stride)
					in, out := randSlice(r, n*h*w*c), make([]float32, n*oh*ow*c)
					DepthwiseForward(out, in, f, n, h, w, c, stride) // warm-up: fault in the output pages
					for b.Loop() {
						DepthwiseForward(out, in, f, n, h, w, c, stride)
					}
					flops := 2 * float64(n*oh*ow*c*k*k)
					b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}

// BenchmarkDepthwiseSmallMaps times forward plus backward on the 7×7 maps
// of a child's last stage, where most output columns are within K/2 of an
// edge and take the edge path.
func BenchmarkDepthwiseSmallMaps(b *testing.B) {
	for _, k := range []int{3, 5, 7} {
		b.Run(fmt.Sprintf("64x7x7x160/k%d/s1", k), func(b *testing.B) {
			benchDepthwise(b, 64, 7, 7, 160, k, 1)
		})
	}
}

func benchDepthwise(b *testing.B, n, h, w, c, k, stride int) {
	r := newRand(1)
	f := DepthwiseFilter{Data: randSlice(r, 7*7*c), KMax: 7, CMax: c, K: k}
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	in := randSlice(r, n*h*w*c)
	out := make([]float32, n*oh*ow*c)
	dOut := randSlice(r, n*oh*ow*c)
	dIn := make([]float32, len(in))
	dW := make([]float32, len(f.Data))

	// Forward is 2·N·OH·OW·C·K² flops; backward computes dIn and dW, twice that.
	flops := 3 * 2 * float64(n*oh*ow*c*k*k)
	step := func() {
		DepthwiseForward(out, in, f, n, h, w, c, stride)
		DepthwiseBackward(dIn, dW, dOut, in, f, n, h, w, c, stride)
	}
	step() // fault in the output pages before timing, as the PyTorch script's warm-up does
	for b.Loop() {
		step()
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// gemmShapes are (K, N) pairs of 1×1 convolutions: expansions, projections
// and same-width layers.
var gemmShapes = [][2]int{{16, 96}, {96, 16}, {24, 144}, {144, 24}, {32, 32}, {144, 144}}

func BenchmarkPointwise(b *testing.B) {
	const m = 64 * 28 * 28
	for _, shape := range gemmShapes {
		k, n := shape[0], shape[1]
		r := newRand(2)
		in, w := randSlice(r, m*k), randSlice(r, k*n)
		out, dOut := make([]float32, m*n), randSlice(r, m*n)
		dIn, dW := make([]float32, m*k), make([]float32, k*n)
		flops := 2 * float64(m*n*k)
		report := func(b *testing.B) {
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		}
		b.Run(fmt.Sprintf("fwd/M%d/K%d/N%d", m, k, n), func(b *testing.B) {
			Gemm(false, false, m, n, k, 1, in, k, w, n, 0, out, n) // warm-up: fault in the output pages
			for b.Loop() {
				Gemm(false, false, m, n, k, 1, in, k, w, n, 0, out, n)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("dIn/M%d/K%d/N%d", m, k, n), func(b *testing.B) {
			Gemm(false, true, m, k, n, 1, dOut, n, w, n, 0, dIn, k) // warm-up: fault in the output pages
			for b.Loop() {
				Gemm(false, true, m, k, n, 1, dOut, n, w, n, 0, dIn, k)
			}
			report(b)
		})
		b.Run(fmt.Sprintf("dW/M%d/K%d/N%d", m, k, n), func(b *testing.B) {
			Gemm(true, false, k, n, m, 1, in, k, dOut, n, 1, dW, n) // warm-up: fault in the output pages
			for b.Loop() {
				Gemm(true, false, k, n, m, 1, in, k, dOut, n, 1, dW, n)
			}
			report(b)
		})
	}
}

func BenchmarkBatchNorm(b *testing.B) {
	const rows, c = 64 * 28 * 28, 96
	r := newRand(3)
	in, dOut := randSlice(r, rows*c), randSlice(r, rows*c)
	gamma, beta := randSlice(r, c), randSlice(r, c)
	out, dIn := make([]float32, rows*c), make([]float32, rows*c)
	mean, invStd, dGamma, dBeta := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
	b.Run("train-fwd", func(b *testing.B) {
		BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0.1)
		for b.Loop() {
			BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0.1)
		}
		b.ReportMetric(float64(rows*c*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("bwd", func(b *testing.B) {
		BatchNormBackward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, rows, c)
		for b.Loop() {
			BatchNormBackward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, rows, c)
		}
		b.ReportMetric(float64(rows*c*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	// Batch norm then ReLU6 as two kernels, against the fused kernel.
	act := make([]float32, rows*c)
	b.Run("separate-fwd+bwd", func(b *testing.B) {
		dBN := make([]float32, rows*c)
		for b.Loop() {
			BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0.1)
			ReLU6Forward(act, out)
			ReLU6Backward(dBN, dOut, act)
			BatchNormBackward(dIn, dGamma, dBeta, dBN, in, mean, invStd, gamma, rows, c)
		}
		b.ReportMetric(float64(rows*c*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("fused-fwd+bwd", func(b *testing.B) {
		for b.Loop() {
			BatchNormReLU6ForwardTrain(act, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0.1)
			BatchNormReLU6Backward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, beta, rows, c)
		}
		b.ReportMetric(float64(rows*c*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
	b.Run("relu6-fwd", func(b *testing.B) {
		for b.Loop() {
			ReLU6Forward(out, in)
		}
		b.ReportMetric(float64(rows*c*4)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
	})
}
