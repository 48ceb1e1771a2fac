package kernels

import "fmt"

// need panics unless x has at least want elements; kernels call it on every
// operand before touching memory, so a size mix-up fails loudly.
func need(op, name string, x []float32, want int) {
	if len(x) < want {
		panic(fmt.Sprintf("kernels: %s: %s has %d elements, need %d", op, name, len(x), want))
	}
}

// outSize returns the output side of a "same"-padded convolution:
// (size + 2*(k/2) - k)/stride + 1.
func outSize(size, k, stride int) int { return (size+2*(k/2)-k)/stride + 1 }

// checkConvSizes panics on sizes no convolution accepts.
func checkConvSizes(op string, n, h, w, c, k, stride int) {
	if n < 0 || h < 1 || w < 1 || c < 0 || stride < 1 {
		panic(fmt.Sprintf("kernels: %s: invalid sizes n=%d h=%d w=%d c=%d stride=%d", op, n, h, w, c, stride))
	}
	if k < 1 || k%2 == 0 {
		panic(fmt.Sprintf("kernels: %s: kernel size %d must be odd and positive", op, k))
	}
}
