package kernels

// PointwiseForward computes a 1×1 convolution as one GEMM over the rows of an
// NHWC tensor:
//
//	out[r,co] = Σ_ci in[r,ci] · w[ci,co]
//
// in is [rows, cin] with rows = N·H·W, out is [rows, cout] and is overwritten.
// w is the top-left cin×cout block of a row-major supernet matrix whose
// leading dimension is ldw (its CoutMax).
func PointwiseForward(out, in, w []float32, ldw, rows, cin, cout int) {
	Gemm(false, false, rows, cout, cin, 1, in, cin, w, ldw, 0, out, cout)
}

// PointwiseBackward computes the gradients of PointwiseForward:
//
//	dIn = dOut · wᵀ     (overwritten; pass nil to skip)
//	dW += inᵀ · dOut    (accumulated into the cin×cout block, leading dimension ldw)
//
// dOut is [rows, cout] and in is [rows, cin].
func PointwiseBackward(dIn, dW, dOut, in, w []float32, ldw, rows, cin, cout int) {
	Gemm(true, false, cin, cout, rows, 1, in, cin, dOut, cout, 1, dW, ldw)
	if dIn != nil {
		Gemm(false, true, rows, cin, cout, 1, dOut, cout, w, ldw, 0, dIn, cin)
	}
}
