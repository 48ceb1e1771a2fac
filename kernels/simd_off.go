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

func depthwiseWeightGradRowSIMD(gw, dOut, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	return false
}
