package kernels

// plainMicroKernel is the portable 2×4 tile of eight scalar accumulators.
// A 4×4 tile measured about a third slower: its sixteen accumulators do not
// fit the fifteen float registers the Go compiler allocates, so they spill.
var plainMicroKernel = microKernel{mr: 2, nr: 4, fn: microKernel2x4}

func microKernel2x4(kc int, a []float32, aRow, aCol int, b []float32, bStride int, c []float32, ldc int, alpha float32, _ int, overwrite bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	b = b[:(kc-1)*bStride+4]
	for p := range kc {
		ap := p * aCol
		bv := b[p*bStride : p*bStride+4 : p*bStride+4]
		a0 := a[ap]
		c00 += a0 * bv[0]
		c01 += a0 * bv[1]
		c02 += a0 * bv[2]
		c03 += a0 * bv[3]
		a1 := a[ap+aRow]
		c10 += a1 * bv[0]
		c11 += a1 * bv[1]
		c12 += a1 * bv[2]
		c13 += a1 * bv[3]
	}

	if overwrite {
		r0 := c[0*ldc : 0*ldc+4 : 0*ldc+4]
		r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
		r1 := c[1*ldc : 1*ldc+4 : 1*ldc+4]
		r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
		return
	}
	r0 := c[0*ldc : 0*ldc+4 : 0*ldc+4]
	r0[0] += alpha * c00
	r0[1] += alpha * c01
	r0[2] += alpha * c02
	r0[3] += alpha * c03
	r1 := c[1*ldc : 1*ldc+4 : 1*ldc+4]
	r1[0] += alpha * c10
	r1[1] += alpha * c11
	r1[2] += alpha * c12
	r1[3] += alpha * c13
}

// gemmNaive is the reference triple loop that Gemm is tested against. It
// accumulates in float64.
func gemmNaive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var sum float64
			for p := range k {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				sum += float64(av) * float64(bv)
			}
			old := float32(0)
			if beta != 0 {
				old = beta * c[i*ldc+j]
			}
			c[i*ldc+j] = alpha*float32(sum) + old
		}
	}
}
