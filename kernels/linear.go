package kernels

// LinearForward computes a fully connected layer:
//
//	out[i,o] = bias[o] + Σ_j in[i,j] · w[j,o]
//
// in is [n, cin], out is [n, cout] and is overwritten. w is the top-left
// cin×cout block of a row-major supernet matrix with leading dimension ldw.
// bias has at least cout entries, or is nil for no bias.
func LinearForward(out, in, w []float32, ldw int, bias []float32, n, cin, cout int) {
	const op = "LinearForward"
	need(op, "out", out, n*cout)
	if bias == nil {
		Gemm(false, false, n, cout, cin, 1, in, cin, w, ldw, 0, out, cout)
		return
	}
	need(op, "bias", bias, cout)
	for i := range n {
		copy(out[i*cout:(i+1)*cout], bias[:cout])
	}
	Gemm(false, false, n, cout, cin, 1, in, cin, w, ldw, 1, out, cout)
}

// LinearBackward computes the gradients of LinearForward:
//
//	dIn    = dOut · wᵀ        (overwritten; pass nil to skip)
//	dW    += inᵀ · dOut       (accumulated, leading dimension ldw)
//	dBias += Σ_i dOut[i,:]    (accumulated; pass nil when there is no bias)
//
// dOut is [n, cout] and in is [n, cin].
func LinearBackward(dIn, dW, dBias, dOut, in, w []float32, ldw, n, cin, cout int) {
	const op = "LinearBackward"
	need(op, "dOut", dOut, n*cout)
	Gemm(true, false, cin, cout, n, 1, in, cin, dOut, cout, 1, dW, ldw)
	if dBias != nil {
		need(op, "dBias", dBias, cout)
		for i := range n {
			g := dOut[i*cout : (i+1)*cout]
			for o, v := range g {
				dBias[o] += v
			}
		}
	}
	if dIn != nil {
		Gemm(false, true, n, cin, cout, 1, dOut, cout, w, ldw, 0, dIn, cin)
	}
}
