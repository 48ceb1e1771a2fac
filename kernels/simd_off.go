//go:build !(goexperiment.simd && amd64)

package kernels

// useSIMD reports whether the AVX-512 kernels are compiled in and the CPU
// supports them. This build has none.
const useSIMD = false

// activeMicroKernel is the GEMM register tile this build uses.
var activeMicroKernel = plainMicroKernel

func depthwiseForwardRowSIMD(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	return false
}

func depthwiseInputGradRowSIMD(dIn, dOut []float32, f DepthwiseFilter, b, iy, h, w, c, stride int) bool {
	return false
}

func depthwiseBackwardImageSIMD(dIn, gw, dOut, in []float32, f DepthwiseFilter, b, h, w, c, stride int) bool {
	return false
}

func depthwiseWeightGradRowSIMD(gw, dOut, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	return false
}

func sumRowsSIMD(acc, in []float32, r0, r1, c int) bool { return false }

func sumSquaredDeviationsSIMD(acc, in, mean []float32, r0, r1, c int) bool { return false }

func affineRowsSIMD(out, in, scale, shift, residual []float32, r0, r1, c int, relu6 bool) bool {
	return false
}

func gradSumsSIMD(sumG, sumGX, dOut, in, mean []float32, mask *reluMaskCoef, r0, r1, c int) bool {
	return false
}

func gradInputSIMD(dIn, dOut, in []float32, mask *reluMaskCoef, k1, k2, k0 []float32, r0, r1, c int) bool {
	return false
}

func relu6SIMD(out, in []float32) bool { return false }

func conv2dForwardRowSIMD(out, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) bool {
	return false
}

func conv2dWeightGradRowSIMD(gw, dOut, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) bool {
	return false
}

func relu6BackwardSIMD(dIn, dOut, x []float32) bool { return false }
