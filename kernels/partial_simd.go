//go:build goexperiment.simd && amd64 && !race

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// loadLanes16 loads the lanes of m, a subset of block, from the floats at p;
// the other lanes are zero. block is a mask from channelMask and marks the
// lanes that exist in memory.
//
// A partial block converts p to a *[16]float32 that may run past the end of
// its allocation, as archsimd's own LoadFloat32x16SlicePart does. That is
// safe because AVX-512 masked loads never touch, or fault on, masked-off
// lanes. The checkptr instrumentation that -race turns on rejects such a
// conversion, so race builds use partial_simd_race.go instead.
func loadLanes16(p unsafe.Pointer, block, m archsimd.Mask32x16) archsimd.Float32x16 {
	return archsimd.LoadMaskedFloat32x16((*[16]float32)(p), m)
}

// store16 stores the lanes of m, a mask from channelMask, to the floats at
// p, with a masked store as in loadLanes16.
func store16(p unsafe.Pointer, v archsimd.Float32x16, m archsimd.Mask32x16) {
	v.StoreMasked((*[16]float32)(p), m)
}
