//go:build goexperiment.simd && amd64 && race

package kernels

import (
	mathbits "math/bits"
	"simd/archsimd"
	"unsafe"
)

// loadLanes16 loads the lanes of m, a subset of block, from the floats at p;
// the other lanes are zero. block is a mask from channelMask and marks the
// lanes that exist in memory.
//
// In race builds a partial block is copied through a stack buffer, because
// checkptr, which -race turns on, rejects converting p to a *[16]float32
// that runs past the end of its allocation. The copy costs a memmove per
// load, so other builds use the masked load directly (partial_simd.go).
func loadLanes16(p unsafe.Pointer, block, m archsimd.Mask32x16) archsimd.Float32x16 {
	bits := block.ToBits()
	if bits == 0xffff {
		return archsimd.LoadMaskedFloat32x16((*[16]float32)(p), m)
	}
	var buf [16]float32
	n := mathbits.Len16(bits)
	copy(buf[:n], unsafe.Slice((*float32)(p), n))
	return archsimd.LoadMaskedFloat32x16(&buf, m)
}

// store16 stores the lanes of m, a mask from channelMask, to the floats at
// p, through a stack buffer for a partial block as in loadLanes16.
func store16(p unsafe.Pointer, v archsimd.Float32x16, m archsimd.Mask32x16) {
	bits := m.ToBits()
	if bits == 0xffff {
		v.Store((*[16]float32)(p))
		return
	}
	n := mathbits.Len16(bits)
	dst := unsafe.Slice((*float32)(p), n)
	var buf [16]float32
	v.StoreMasked(&buf, m)
	copy(dst, buf[:n])
}
