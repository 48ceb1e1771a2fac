package kernels

import "fmt"

// Gemm computes the row-major single-precision matrix product
//
//	C = alpha*op(A)*op(B) + beta*C
//
// where op(X) is X, or Xᵀ when the matching trans flag is set. op(A) is m×k,
// op(B) is k×n and C is m×n. lda, ldb and ldc are the row strides (leading
// dimensions) of a, b and c as stored. With beta == 0, C is overwritten and
// its old contents (NaN included) are ignored, as in BLAS sgemm.
//
// A 1×1 convolution over [N·H·W, Cin] maps onto Gemm directly; see
// PointwiseForward and PointwiseBackward.
//
// Gemm splits rows of C across goroutines, or, when C has few rows and the
// inner dimension is long, splits k and adds the per-part sums in part order.
// It panics if a slice is too short for its sizes and strides.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}

	// With beta == 0 the first depth block overwrites C, which saves a pass
	// over C; otherwise C is scaled by beta first and the product added.
	if alpha == 0 || k == 0 {
		scaleMatrix(c, m, n, ldc, beta)
		return
	}
	overwrite := beta == 0
	if !overwrite {
		scaleMatrix(c, m, n, ldc, beta)
	}

	op := gemmOperands{transA: transA, transB: transB, a: a, lda: lda, b: b, ldb: ldb}

	// Split rows of C when every part gets a useful number of rows, unless
	// C is small and the inner dimension long, as in the weight gradient of
	// a 1×1 convolution. There a row split would make every goroutine read
	// all of B, while a depth split reads each input once.
	rowParts := partCount(m, gemmMinRowsPerPart)
	parts := partCount(k, gemmMinDepthPerPart)
	if rowParts > 1 && (m*n > gemmMaxDepthSplitC || parts < rowParts) {
		parallelFor(m, rowParts, func(_, lo, hi int) {
			gemmBlock(op, lo, hi, 0, n, 0, k, alpha, c, ldc, overwrite)
		})
		return
	}

	// Split the inner dimension and add partial products in part order, so
	// the sum does not depend on scheduling.
	if parts == 1 {
		gemmBlock(op, 0, m, 0, n, 0, k, alpha, c, ldc, overwrite)
		return
	}
	partials := make([]*[]float32, parts)
	for p := 1; p < parts; p++ {
		partials[p] = getScratch(m * n)
	}
	parallelFor(k, parts, func(part, lo, hi int) {
		if part == 0 {
			gemmBlock(op, 0, m, 0, n, lo, hi, alpha, c, ldc, overwrite)
			return
		}
		gemmBlock(op, 0, m, 0, n, lo, hi, alpha, (*partials[part])[:m*n], n, true)
	})
	for p := 1; p < parts; p++ {
		buf := (*partials[p])[:m*n]
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			src := buf[i*n : i*n+n]
			for j := range row {
				row[j] += src[j]
			}
		}
		putScratch(partials[p])
	}
}

const (
	// gemmMinRowsPerPart is the fewest rows of C worth a goroutine of their own.
	gemmMinRowsPerPart = 64
	// gemmMinDepthPerPart is the shortest slice of k worth a goroutine.
	gemmMinDepthPerPart = 1024
	// gemmMaxDepthSplitC is the largest C, in elements, that Gemm splits
	// over k; each extra part needs a private copy of C.
	gemmMaxDepthSplitC = 1 << 16

	// gemmKC and gemmNC size the packed block of B (KC×NC), which stays in
	// L2 while the A strips of mr rows stream past it.
	gemmKC = 256
	gemmNC = 2048
)

// gemmOperands carries A and B with their layout flags.
type gemmOperands struct {
	transA, transB bool
	a              []float32
	lda            int
	b              []float32
	ldb            int
}

// microKernel adds alpha·op(A)·B̂ to an mr×nr tile of C. Element (i, p) of
// the tile's A block is a[i*aRow+p*aCol], so a kernel reads A in place,
// whether A is row-major (aRow = lda, aCol = 1) or transposed (aRow = 1,
// aCol = lda). Element (p, j) of the B block is b[p*bStride+j]: a packed
// strip has bStride = nr, a row-major B read in place has bStride = ldb.
// With overwrite set the kernel stores the product instead of adding it.
// Only the first cols columns are needed: a kernel may leave columns past
// cols, rounded up to its vector width, untouched.
//
// A kernel with maskedCols set writes exactly the first cols columns, so
// gemmBlock passes it C directly for a partial column strip.
type microKernel struct {
	mr, nr     int
	maskedCols bool
	fn         func(kc int, a []float32, aRow, aCol int, b []float32, bStride int, c []float32, ldc int, alpha float32, cols int, overwrite bool)
}

// gemmBlock computes rows [i0, i1), columns [j0, j1) and the depth range
// [p0, p1) of the product and adds alpha·A·B into c, or, with overwrite set,
// stores it there, ignoring what c held.
func gemmBlock(op gemmOperands, i0, i1, j0, j1, p0, p1 int, alpha float32, c []float32, ldc int, overwrite bool) {
	mk := activeMicroKernel
	mr, nr := mk.mr, mk.nr

	packedB := getScratch(gemmKC * roundUp(min(gemmNC, j1-j0), nr))
	edgeA := getScratch(mr * gemmKC)
	tile := getScratch(mr * nr)
	defer putScratch(packedB)
	defer putScratch(edgeA)
	defer putScratch(tile)

	for jc := j0; jc < j1; jc += gemmNC {
		nc := min(gemmNC, j1-jc)
		for pc := p0; pc < p1; pc += gemmKC {
			kc := min(gemmKC, p1-pc)
			store := overwrite && pc == p0
			// A row-major B is read in place for full strips of nr
			// columns; only a transposed B, or the last partial strip, is
			// packed. packedFrom is the first column that is packed.
			packedFrom := 0
			if !op.transB {
				packedFrom = nc / nr * nr
			}
			bBuf := (*packedB)[:kc*roundUp(nc-packedFrom, nr)]
			packB(bBuf, op, pc, kc, jc+packedFrom, nc-packedFrom, nr)

			// A strip shorter than mr rows at the bottom is copied and
			// padded with zeros; full strips are read in place.
			if tail := (i1 - i0) % mr; tail != 0 {
				packA((*edgeA)[:mr*kc], op, i1-tail, tail, pc, kc, mr)
			}
			aStripAt := func(ir int) (strip []float32, aRow, aCol int) {
				switch {
				case ir+mr > i1:
					return (*edgeA)[:mr*kc], 1, mr
				case op.transA:
					return op.a[pc*op.lda+ir:], 1, op.lda
				default:
					return op.a[ir*op.lda+pc:], op.lda, 1
				}
			}

			computeTile := func(ir, jr int) {
				rows := min(mr, i1-ir)
				aStrip, aRow, aCol := aStripAt(ir)
				bStrip, bStride := op.b, op.ldb
				if jr >= packedFrom {
					bStrip, bStride = bBuf[(jr-packedFrom)*kc:(jr-packedFrom+nr)*kc], nr
				} else {
					bStrip = op.b[pc*op.ldb+jc+jr:]
				}
				cols := min(nr, nc-jr)
				cOff := ir*ldc + jc + jr
				if rows == mr && (cols == nr || mk.maskedCols) {
					mk.fn(kc, aStrip, aRow, aCol, bStrip, bStride, c[cOff:], ldc, alpha, cols, store)
					return
				}

				// Edge tile: compute a full tile into scratch and copy or
				// add back only the valid part.
				t := (*tile)[:mr*nr]
				mk.fn(kc, aStrip, aRow, aCol, bStrip, bStride, t, nr, alpha, cols, true)
				for i := range rows {
					dst := c[cOff+i*ldc : cOff+i*ldc+cols]
					if store {
						copy(dst, t[i*nr:])
						continue
					}
					for j := range dst {
						dst[j] += t[i*nr+j]
					}
				}
			}

			// A transposed A (the weight gradient of a 1×1 convolution)
			// reads one cache line per step for every strip, so keep a B
			// strip in L1 across all A strips instead of the reverse.
			if op.transA {
				for jr := 0; jr < nc; jr += nr {
					for ir := i0; ir < i1; ir += mr {
						computeTile(ir, jr)
					}
				}
				continue
			}
			for ir := i0; ir < i1; ir += mr {
				for jr := 0; jr < nc; jr += nr {
					computeTile(ir, jr)
				}
			}
		}
	}
}

// packA copies rows [ic, ic+mc) and depth [pc, pc+kc) of op(A), mc <= mr, into
// dst with element (i, p) at dst[p*mr+i]. Rows past mc are zero.
func packA(dst []float32, op gemmOperands, ic, mc, pc, kc, mr int) {
	clear(dst[:kc*mr])
	a, lda := op.a, op.lda
	for i := range mc {
		row := ic + i
		for p := range kc {
			if op.transA {
				dst[p*mr+i] = a[(pc+p)*lda+row]
			} else {
				dst[p*mr+i] = a[row*lda+pc+p]
			}
		}
	}
}

// packB copies depth [pc, pc+kc) and columns [jc, jc+nc) of op(B) into strips
// of nr columns: strip s holds element (p, j) at dst[s*kc*nr + p*nr + j].
// Columns past nc are zero.
func packB(dst []float32, op gemmOperands, pc, kc, jc, nc, nr int) {
	b, ldb := op.b, op.ldb
	for s := 0; s*nr < nc; s++ {
		strip := dst[s*kc*nr : (s+1)*kc*nr]
		cols := min(nr, nc-s*nr)
		if cols < nr {
			clear(strip)
		}
		col0 := jc + s*nr
		if op.transB {
			// Column j of op(B) is row col0+j of b: read it contiguously.
			for j := range cols {
				src := b[(col0+j)*ldb+pc : (col0+j)*ldb+pc+kc]
				for p, v := range src {
					strip[p*nr+j] = v
				}
			}
			continue
		}
		for p := range kc {
			copy(strip[p*nr:p*nr+cols], b[(pc+p)*ldb+col0:])
		}
	}
}

// scaleMatrix sets the m×n matrix c to beta·c, writing zeros when beta is 0.
func scaleMatrix(c []float32, m, n, ldc int, beta float32) {
	if beta == 1 {
		return
	}
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// checkGemm panics if any slice is too short for the sizes and strides given.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("kernels: Gemm sizes m=%d n=%d k=%d must not be negative", m, n, k))
	}
	aRows, aCols := m, k
	if transA {
		aRows, aCols = k, m
	}
	bRows, bCols := k, n
	if transB {
		bRows, bCols = n, k
	}
	checkMatrix("A", a, aRows, aCols, lda)
	checkMatrix("B", b, bRows, bCols, ldb)
	checkMatrix("C", c, m, n, ldc)
}

func checkMatrix(name string, x []float32, rows, cols, ld int) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("kernels: Gemm %s leading dimension %d is less than its %d columns", name, ld, cols))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("kernels: Gemm %s has %d elements, need %d for %d×%d with leading dimension %d",
			name, len(x), (rows-1)*ld+cols, rows, cols, ld))
	}
}
