package kernels

// Path names the compute path this binary's kernels run: "plain-go", or
// "simd-avx512" when built with GOEXPERIMENT=simd on a CPU with AVX-512.
func Path() string {
	if useSIMD {
		return "simd-avx512"
	}
	return "plain-go"
}
