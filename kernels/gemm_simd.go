//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// microKernel6x16 is the AVX-512 tile: 6 rows by one 16-wide vector.
// Go 1.26 with GOEXPERIMENT=simd keeps loop-carried vectors in Z0–Z14
// only and hoists every broadcast of a step above its FMAs, so a tile needs
// 2·rows+1 of those 15 registers. Wider tiles or an unrolled loop spill,
// and the spills use legacy SSE moves that stall on the dirty upper halves.
func microKernel6x16(kc int, a []float32, aRow, aCol int, b []float32, bStride int, c []float32, ldc int, alpha float32, cols int, overwrite bool) {
	if kc < 1 || len(a) <= 5*aRow+(kc-1)*aCol || len(b) < (kc-1)*bStride+16 || len(c) < 5*ldc+min(cols, 16) {
		panic("kernels: microKernel6x16: operand too short")
	}
	pa, pb := unsafe.Pointer(unsafe.SliceData(a)), unsafe.Pointer(unsafe.SliceData(b))
	rowBytes, colBytes, bBytes := 4*aRow, 4*aCol, 4*bStride
	var c0, c1, c2, c3, c4, c5 archsimd.Float32x16
	for p := range kc {
		b0 := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(pb, p*bBytes)))
		ap := unsafe.Add(pa, p*colBytes)
		c0 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, 0))).MulAdd(b0, c0)
		c1 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, rowBytes))).MulAdd(b0, c1)
		c2 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, 2*rowBytes))).MulAdd(b0, c2)
		c3 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, 3*rowBytes))).MulAdd(b0, c3)
		c4 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, 4*rowBytes))).MulAdd(b0, c4)
		c5 = archsimd.BroadcastFloat32x16(*(*float32)(unsafe.Add(ap, 5*rowBytes))).MulAdd(b0, c5)
	}

	// C = alpha·acc or C += alpha·acc, row by row, masked to the first cols
	// columns.
	av := archsimd.BroadcastFloat32x16(alpha)
	pc := unsafe.Pointer(unsafe.SliceData(c))
	m := archsimd.Mask32x16FromBits(uint16(1)<<min(cols, 16) - 1)
	if cols >= 16 {
		m = archsimd.Mask32x16FromBits(0xffff)
	}
	if overwrite {
		store16(unsafe.Add(pc, 0*4*ldc), c0.Mul(av), m)
		store16(unsafe.Add(pc, 1*4*ldc), c1.Mul(av), m)
		store16(unsafe.Add(pc, 2*4*ldc), c2.Mul(av), m)
		store16(unsafe.Add(pc, 3*4*ldc), c3.Mul(av), m)
		store16(unsafe.Add(pc, 4*4*ldc), c4.Mul(av), m)
		store16(unsafe.Add(pc, 5*4*ldc), c5.Mul(av), m)
	} else {
		addScaled(unsafe.Add(pc, 0*4*ldc), c0, av, m)
		addScaled(unsafe.Add(pc, 1*4*ldc), c1, av, m)
		addScaled(unsafe.Add(pc, 2*4*ldc), c2, av, m)
		addScaled(unsafe.Add(pc, 3*4*ldc), c3, av, m)
		addScaled(unsafe.Add(pc, 4*4*ldc), c4, av, m)
		addScaled(unsafe.Add(pc, 5*4*ldc), c5, av, m)
	}
	archsimd.ClearAVXUpperBits()
}

// addScaled stores *dst + alpha·acc into the lanes of m at dst.
func addScaled(dst unsafe.Pointer, acc, alpha archsimd.Float32x16, m archsimd.Mask32x16) {
	store16(dst, acc.MulAdd(alpha, load16(dst, m)), m)
}
