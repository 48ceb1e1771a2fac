package kernels

// plainMicroKernel is the portable 4×4 tile of sixteen scalar accumulators.
var plainMicroKernel = microKernel{mr: 4, nr: 4, fn: microKernel4x4}

func microKernel4x4(kc int, a []float32, aRow, aCol int, b []float32, bStride int, c []float32, ldc int, alpha float32, _ int, overwrite bool) {
	var c00, c01, c02, c03 float32
	var c10, c11, c12, c13 float32
	var c20, c21, c22, c23 float32
	var c30, c31, c32, c33 float32
	b = b[:(kc-1)*bStride+4]
	for p := range kc {
		ap := p * aCol
		a0, a1, a2, a3 := a[ap], a[ap+aRow], a[ap+2*aRow], a[ap+3*aRow]
		bv := b[p*bStride : p*bStride+4 : p*bStride+4]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}

	if overwrite {
		r0 := c[0*ldc : 0*ldc+4 : 0*ldc+4]
		r0[0], r0[1], r0[2], r0[3] = alpha*c00, alpha*c01, alpha*c02, alpha*c03
		r1 := c[1*ldc : 1*ldc+4 : 1*ldc+4]
		r1[0], r1[1], r1[2], r1[3] = alpha*c10, alpha*c11, alpha*c12, alpha*c13
		r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
		r2[0], r2[1], r2[2], r2[3] = alpha*c20, alpha*c21, alpha*c22, alpha*c23
		r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
		r3[0], r3[1], r3[2], r3[3] = alpha*c30, alpha*c31, alpha*c32, alpha*c33
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
	r2 := c[2*ldc : 2*ldc+4 : 2*ldc+4]
	r2[0] += alpha * c20
	r2[1] += alpha * c21
	r2[2] += alpha * c22
	r2[3] += alpha * c23
	r3 := c[3*ldc : 3*ldc+4 : 3*ldc+4]
	r3[0] += alpha * c30
	r3[1] += alpha * c31
	r3[2] += alpha * c32
	r3[3] += alpha * c33
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
