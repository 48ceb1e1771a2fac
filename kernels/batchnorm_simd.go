//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The AVX-512 row kernels walk one block of 16 channels at a time down the
// rows, so each accumulator stays in a register. The rows of one call
// (bnBlockRows for the reductions) stay in L1 between channel blocks.

func sumRowsSIMD(acc, in []float32, r0, r1, c int) bool {
	need("sumRows", "in", in, r1*c)
	base := unsafe.Pointer(unsafe.SliceData(in))
	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		dst := unsafe.Pointer(&acc[cb])
		sum := load16(dst, m)
		for r := r0; r < r1; r++ {
			sum = sum.Add(load16(unsafe.Add(base, 4*(r*c+cb)), m))
		}
		store16(dst, sum, m)
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func sumSquaredDeviationsSIMD(acc, in, mean []float32, r0, r1, c int) bool {
	need("sumSquaredDeviations", "in", in, r1*c)
	base := unsafe.Pointer(unsafe.SliceData(in))
	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		dst := unsafe.Pointer(&acc[cb])
		mu := load16(unsafe.Pointer(&mean[cb]), m)
		sum := load16(dst, m)
		for r := r0; r < r1; r++ {
			d := load16(unsafe.Add(base, 4*(r*c+cb)), m).Sub(mu)
			sum = d.MulAdd(d, sum)
		}
		store16(dst, sum, m)
	}
	archsimd.ClearAVXUpperBits()
	return true
}

// affineCachedFloats is the largest range, in floats, that affineRowsSIMD
// treats as already in cache: the 64 KiB blocks of PointwiseForwardAffine
// and the output rows of the fused convolutions fit.
const affineCachedFloats = 1 << 15

func affineRowsSIMD(out, in, scale, shift, residual []float32, r0, r1, c int, relu6 bool) bool {
	need("affineRows", "in", in, r1*c)
	need("affineRows", "out", out, r1*c)
	src := unsafe.Pointer(unsafe.SliceData(in))
	dst := unsafe.Pointer(unsafe.SliceData(out))
	var res unsafe.Pointer
	if residual != nil {
		need("affineRows", "residual", residual, r1*c)
		res = unsafe.Pointer(unsafe.SliceData(residual))
	}
	zero, six := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(6)

	// A large range streams from memory, fastest with rows outer and scale
	// and shift reloaded from L1 per row. The fused epilogues pass rows
	// that are already in cache, where keeping scale and shift in
	// registers while each channel block walks down the rows is faster.
	if (r1-r0)*c > affineCachedFloats {
		for r := r0; r < r1; r++ {
			for cb := 0; cb < c; cb += 16 {
				m := channelMask(cb, c)
				k := load16(unsafe.Pointer(&scale[cb]), m)
				sh := load16(unsafe.Pointer(&shift[cb]), m)
				off := 4 * (r*c + cb)
				y := load16(unsafe.Add(src, off), m).MulAdd(k, sh)
				if res != nil {
					y = y.Add(load16(unsafe.Add(res, off), m))
				}
				if relu6 {
					y = y.Max(zero).Min(six)
				}
				store16(unsafe.Add(dst, off), y, m)
			}
		}
		archsimd.ClearAVXUpperBits()
		return true
	}
	for b0 := r0; b0 < r1; b0 += bnBlockRows {
		b1 := min(r1, b0+bnBlockRows)
		for cb := 0; cb < c; cb += 16 {
			m := channelMask(cb, c)
			k := load16(unsafe.Pointer(&scale[cb]), m)
			sh := load16(unsafe.Pointer(&shift[cb]), m)
			for r := b0; r < b1; r++ {
				off := 4 * (r*c + cb)
				y := load16(unsafe.Add(src, off), m).MulAdd(k, sh)
				if res != nil {
					y = y.Add(load16(unsafe.Add(res, off), m))
				}
				if relu6 {
					y = y.Max(zero).Min(six)
				}
				store16(unsafe.Add(dst, off), y, m)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

// reluMask returns the lanes of m where 0 < y < 6.
func reluMask(y archsimd.Float32x16, m archsimd.Mask32x16, zero, six archsimd.Float32x16) archsimd.Mask32x16 {
	return m.And(y.Greater(zero)).And(y.Less(six))
}

func gradSumsSIMD(sumG, sumGX, dOut, in, mean []float32, mask *reluMaskCoef, r0, r1, c int) bool {
	need("gradSums", "in", in, r1*c)
	need("gradSums", "dOut", dOut, r1*c)
	x := unsafe.Pointer(unsafe.SliceData(in))
	g := unsafe.Pointer(unsafe.SliceData(dOut))
	zero, six := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(6)
	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		mu := load16(unsafe.Pointer(&mean[cb]), m)
		accG := load16(unsafe.Pointer(&sumG[cb]), m)
		accGX := load16(unsafe.Pointer(&sumGX[cb]), m)
		var k, sh archsimd.Float32x16
		if mask != nil {
			k, sh = load16(unsafe.Pointer(&mask.scale[cb]), m), load16(unsafe.Pointer(&mask.shift[cb]), m)
		}
		for r := r0; r < r1; r++ {
			off := 4 * (r*c + cb)
			xv := load16(unsafe.Add(x, off), m)
			lanes := m
			if mask != nil {
				lanes = reluMask(xv.MulAdd(k, sh), m, zero, six)
			}
			gv := loadLanes16(unsafe.Add(g, off), m, lanes)
			accG = accG.Add(gv)
			accGX = gv.MulAdd(xv.Sub(mu), accGX)
		}
		store16(unsafe.Pointer(&sumG[cb]), accG, m)
		store16(unsafe.Pointer(&sumGX[cb]), accGX, m)
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func gradInputSIMD(dIn, dOut, in []float32, mask *reluMaskCoef, k1, k2, k0 []float32, r0, r1, c int) bool {
	need("gradInput", "in", in, r1*c)
	need("gradInput", "dOut", dOut, r1*c)
	need("gradInput", "dIn", dIn, r1*c)
	x := unsafe.Pointer(unsafe.SliceData(in))
	g := unsafe.Pointer(unsafe.SliceData(dOut))
	dx := unsafe.Pointer(unsafe.SliceData(dIn))
	zero, six := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(6)

	// Blocks of bnBlockRows rows, so that the rows stay in cache while each
	// channel block walks down them. Walking all rows of the call per
	// channel block read each cache line from memory more than once.
	for b0 := r0; b0 < r1; b0 += bnBlockRows {
		b1 := min(r1, b0+bnBlockRows)
		for cb := 0; cb < c; cb += 16 {
			m := channelMask(cb, c)
			a1 := load16(unsafe.Pointer(&k1[cb]), m)
			a2 := load16(unsafe.Pointer(&k2[cb]), m)
			a0 := load16(unsafe.Pointer(&k0[cb]), m)
			var k, sh archsimd.Float32x16
			if mask != nil {
				k, sh = load16(unsafe.Pointer(&mask.scale[cb]), m), load16(unsafe.Pointer(&mask.shift[cb]), m)
			}
			for r := b0; r < b1; r++ {
				off := 4 * (r*c + cb)
				xv := load16(unsafe.Add(x, off), m)
				lanes := m
				if mask != nil {
					lanes = reluMask(xv.MulAdd(k, sh), m, zero, six)
				}
				gv := loadLanes16(unsafe.Add(g, off), m, lanes)
				store16(unsafe.Add(dx, off), gv.MulAdd(a1, xv.MulAdd(a2, a0)), m)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func relu6SIMD(out, in []float32) bool {
	n := len(in)
	src := unsafe.Pointer(unsafe.SliceData(in))
	dst := unsafe.Pointer(unsafe.SliceData(out))
	zero, six := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(6)
	for i := 0; i < n; i += 16 {
		m := channelMask(i, n)
		store16(unsafe.Add(dst, 4*i), load16(unsafe.Add(src, 4*i), m).Max(zero).Min(six), m)
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func relu6BackwardSIMD(dIn, dOut, x []float32) bool {
	n := len(x)
	px := unsafe.Pointer(unsafe.SliceData(x))
	pg := unsafe.Pointer(unsafe.SliceData(dOut))
	pd := unsafe.Pointer(unsafe.SliceData(dIn))
	zero, six := archsimd.BroadcastFloat32x16(0), archsimd.BroadcastFloat32x16(6)
	for i := 0; i < n; i += 16 {
		m := channelMask(i, n)
		pass := reluMask(load16(unsafe.Add(px, 4*i), m), m, zero, six)
		store16(unsafe.Add(pd, 4*i), loadLanes16(unsafe.Add(pg, 4*i), m, pass), m)
	}
	archsimd.ClearAVXUpperBits()
	return true
}
