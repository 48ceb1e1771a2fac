//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// The AVX-512 depthwise rows work on blocks of 16 channels, the last block
// masked when C is not a multiple of 16. Accumulators stay in registers for
// all taps of one output (or input) pixel, so every FMA costs two loads and
// no store.

// channelMask returns the lane mask for the channel block starting at cb.
func channelMask(cb, c int) archsimd.Mask32x16 {
	if n := c - cb; n < 16 {
		return archsimd.Mask32x16FromBits(uint16(1)<<n - 1)
	}
	return archsimd.Mask32x16FromBits(0xffff)
}

// load16 loads 16 floats at p with mask m. Lanes outside the mask are not
// read, so p may point into the last partial block of a slice.
func load16(p unsafe.Pointer, m archsimd.Mask32x16) archsimd.Float32x16 {
	return archsimd.LoadMaskedFloat32x16((*[16]float32)(p), m)
}

func store16(p unsafe.Pointer, v archsimd.Float32x16, m archsimd.Mask32x16) {
	v.StoreMasked((*[16]float32)(p), m)
}

// tapRange returns the taps [lo, hi) of a kernel of size k whose input index
// o·stride + tap - pad lies in [0, size).
func tapRange(o, k, pad, stride, size int) (lo, hi int) {
	start := o*stride - pad
	return max(0, -start), min(k, size-start)
}

func depthwiseForwardRowSIMD(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	kyLo, kyHi := tapRange(oy, k, pad, stride, h)

	inImage := unsafe.Pointer(&in[b*h*w*c])
	outRow := unsafe.Pointer(&out[(b*oh+oy)*ow*c])
	taps := unsafe.Pointer(&f.Data[f.tap(0, 0)])
	tapRow, tapCol := 4*f.KMax*f.CMax, 4*f.CMax
	pixel := 4 * c

	for ox := range ow {
		kxLo, kxHi := tapRange(ox, k, pad, stride, w)
		for cb := 0; cb < c; cb += 16 {
			m := channelMask(cb, c)
			var acc archsimd.Float32x16
			for ky := kyLo; ky < kyHi; ky++ {
				// Byte offsets only; a pointer is formed for valid taps.
				x := (oy*stride+ky-pad)*w*pixel + (ox*stride-pad)*pixel + 4*cb
				wt := ky*tapRow + 4*cb
				for kx := kxLo; kx < kxHi; kx++ {
					xv := load16(unsafe.Add(inImage, x+kx*pixel), m)
					acc = xv.MulAdd(load16(unsafe.Add(taps, wt+kx*tapCol), m), acc)
				}
			}
			store16(unsafe.Add(outRow, ox*pixel+4*cb), acc, m)
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

// maxDepthwiseK bounds the kernel sizes the AVX-512 input-gradient row
// handles; larger kernels fall back to plain Go.
const maxDepthwiseK = 15

func depthwiseInputGradRowSIMD(dIn, dOut []float32, f DepthwiseFilter, b, iy, h, w, c, stride int) bool {
	k, pad := f.K, f.K/2
	if k > maxDepthwiseK {
		return false
	}
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)

	// Rows of dOut that read input row iy, and the tap row of each.
	var oys, kys [maxDepthwiseK]int
	rows := 0
	for ky := range k {
		if oy, ok := outputIndex(iy, ky, pad, stride, oh); ok {
			oys[rows], kys[rows] = oy, ky
			rows++
		}
	}

	gradImage := unsafe.Pointer(&dOut[b*oh*ow*c])
	dInRow := unsafe.Pointer(&dIn[(b*h+iy)*w*c])
	taps := unsafe.Pointer(&f.Data[f.tap(0, 0)])
	tapRow, tapCol := 4*f.KMax*f.CMax, 4*f.CMax
	pixel := 4 * c

	var oxs, kxs [maxDepthwiseK]int
	for ix := range w {
		cols := 0
		for kx := range k {
			if ox, ok := outputIndex(ix, kx, pad, stride, ow); ok {
				oxs[cols], kxs[cols] = ox, kx
				cols++
			}
		}
		for cb := 0; cb < c; cb += 16 {
			m := channelMask(cb, c)
			var acc archsimd.Float32x16
			for r := range rows {
				g := unsafe.Add(gradImage, oys[r]*ow*pixel+4*cb)
				wt := unsafe.Add(taps, kys[r]*tapRow+4*cb)
				for j := range cols {
					gv := load16(unsafe.Add(g, oxs[j]*pixel), m)
					acc = gv.MulAdd(load16(unsafe.Add(wt, kxs[j]*tapCol), m), acc)
				}
			}
			store16(unsafe.Add(dInRow, ix*pixel+4*cb), acc, m)
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

func depthwiseWeightGradRowSIMD(gw, dOut, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	kyLo, kyHi := tapRange(oy, k, pad, stride, h)

	inImage := unsafe.Pointer(&in[b*h*w*c])
	gradRow := unsafe.Pointer(&dOut[(b*oh+oy)*ow*c])
	gwBase := unsafe.Pointer(&gw[0])
	pixel := 4 * c

	for ky := kyLo; ky < kyHi; ky++ {
		iy := oy*stride + ky - pad
		inRow := unsafe.Add(inImage, iy*w*pixel)
		for kx := range k {
			// Output columns whose tap kx reads inside the row.
			last := w - 1 + pad - kx
			if last < 0 {
				continue
			}
			oxLo := max(0, (pad-kx+stride-1)/stride)
			oxHi := min(ow, last/stride+1)
			if oxLo >= oxHi {
				continue
			}
			for cb := 0; cb < c; cb += 16 {
				m := channelMask(cb, c)
				dst := unsafe.Add(gwBase, ((ky*k+kx)*c+cb)*4)
				acc := load16(dst, m)
				for ox := oxLo; ox < oxHi; ox++ {
					gv := load16(unsafe.Add(gradRow, ox*pixel+4*cb), m)
					xv := load16(unsafe.Add(inRow, (ox*stride+kx-pad)*pixel+4*cb), m)
					acc = gv.MulAdd(xv, acc)
				}
				store16(dst, acc, m)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}
