//go:build goexperiment.simd && amd64

package kernels

func depthwiseForwardRowSIMD(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	return false
}

func depthwiseInputGradRowSIMD(dIn, dOut []float32, f DepthwiseFilter, b, iy, h, w, c, stride int) bool {
	return false
}

func depthwiseWeightGradRowSIMD(gw, dOut, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	return false
}
