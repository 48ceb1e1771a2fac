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

// load16 loads the lanes of m, a mask from channelMask, from the floats at
// p; the other lanes are zero.
func load16(p unsafe.Pointer, m archsimd.Mask32x16) archsimd.Float32x16 {
	return loadLanes16(p, m, m)
}

// tapRange returns the taps [lo, hi) of a kernel of size k whose input index
// o·stride + tap - pad lies in [0, size).
func tapRange(o, k, pad, stride, size int) (lo, hi int) {
	start := o*stride - pad
	return max(0, -start), min(k, size-start)
}

func depthwiseForwardRowSIMD(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) bool {
	if dw3Handles(f.K, w, c, stride) {
		depthwise3ForwardRow(out, in, f, b, oy, h, w, c, stride)
		return true
	}
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	kyLo, kyHi := tapRange(oy, k, pad, stride, h)

	inImage := unsafe.Pointer(&in[b*h*w*c])
	outRow := unsafe.Pointer(&out[(b*oh+oy)*ow*c])
	taps := unsafe.Pointer(&f.Data[f.tap(0, 0)])
	tapRow, tapCol := 4*f.KMax*f.CMax, 4*f.CMax
	pixel := 4 * c

	// Output columns [interiorLo, interiorHi) read all K taps of their row,
	// so four of them share each weight load.
	interiorLo := (pad + stride - 1) / stride
	interiorHi := max(interiorLo, (w-k+pad)/stride+1)
	if w-k+pad < 0 {
		interiorHi = interiorLo
	}

	for ox := 0; ox < ow; {
		if ox >= interiorLo && ox+4 <= interiorHi {
			depthwiseForward4(outRow, inImage, taps, ox, oy, kyLo, kyHi, k, pad, stride, w, c, tapRow, tapCol)
			ox += 4
			continue
		}
		kxLo, kxHi := tapRange(ox, k, pad, stride, w)
		full := c / 16 * 16
		x0 := (oy*stride+kyLo-pad)*w*pixel + (ox*stride-pad+kxLo)*pixel
		w0 := kyLo*tapRow + kxLo*tapCol
		for cb := 0; cb < full; cb += 16 {
			depthwiseTapsFull(unsafe.Add(outRow, ox*pixel+4*cb), inImage, taps, x0+4*cb, w0+4*cb,
				kyHi-kyLo, w*pixel, kxHi-kxLo, pixel, tapRow, tapCol)
		}
		for cb := full; cb < c; cb += 16 {
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
		ox++
	}
	archsimd.ClearAVXUpperBits()
	return true
}

// depthwiseForward4Full is depthwiseForward4 for one full block of 16
// channels: unmasked loads, and byte offsets x (input) and wt (taps) that
// advance by addition, which keeps the loop's integers in registers.
func depthwiseForward4Full(out, inImage, taps unsafe.Pointer, x, wt, rows, k, rowBytes, pixel, step, tapRow, tapCol int) {
	var acc0, acc1, acc2, acc3 archsimd.Float32x16
	for range rows {
		xp, wp := x, wt
		for range k {
			wv := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(taps, wp)))
			p := unsafe.Add(inImage, xp)
			acc0 = archsimd.LoadFloat32x16((*[16]float32)(p)).MulAdd(wv, acc0)
			acc1 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, step))).MulAdd(wv, acc1)
			acc2 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 2*step))).MulAdd(wv, acc2)
			acc3 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 3*step))).MulAdd(wv, acc3)
			xp += pixel
			wp += tapCol
		}
		x += rowBytes
		wt += tapRow
	}
	acc0.Store((*[16]float32)(out))
	acc1.Store((*[16]float32)(unsafe.Add(out, pixel)))
	acc2.Store((*[16]float32)(unsafe.Add(out, 2*pixel)))
	acc3.Store((*[16]float32)(unsafe.Add(out, 3*pixel)))
}

// depthwiseForward4 computes output columns ox to ox+3 of a row, all of
// which read every tap kx of the rows [kyLo, kyHi).
func depthwiseForward4(outRow, inImage, taps unsafe.Pointer, ox, oy, kyLo, kyHi, k, pad, stride, w, c, tapRow, tapCol int) {
	pixel := 4 * c
	step := stride * pixel
	rowBytes := w * pixel
	x0 := (oy*stride+kyLo-pad)*rowBytes + (ox*stride-pad)*pixel
	w0 := kyLo * tapRow
	full := c / 16 * 16
	for cb := 0; cb < full; cb += 16 {
		depthwiseForward4Full(unsafe.Add(outRow, ox*pixel+4*cb), inImage, taps, x0+4*cb, w0+4*cb,
			kyHi-kyLo, k, rowBytes, pixel, step, tapRow, tapCol)
	}
	for cb := full; cb < c; cb += 16 {
		m := channelMask(cb, c)
		var acc0, acc1, acc2, acc3 archsimd.Float32x16
		for ky := kyLo; ky < kyHi; ky++ {
			x := (oy*stride+ky-pad)*w*pixel + (ox*stride-pad)*pixel + 4*cb
			wt := ky*tapRow + 4*cb
			for kx := range k {
				wv := load16(unsafe.Add(taps, wt+kx*tapCol), m)
				xp := x + kx*pixel
				acc0 = load16(unsafe.Add(inImage, xp), m).MulAdd(wv, acc0)
				acc1 = load16(unsafe.Add(inImage, xp+step), m).MulAdd(wv, acc1)
				acc2 = load16(unsafe.Add(inImage, xp+2*step), m).MulAdd(wv, acc2)
				acc3 = load16(unsafe.Add(inImage, xp+3*step), m).MulAdd(wv, acc3)
			}
		}
		dst := ox*pixel + 4*cb
		store16(unsafe.Add(outRow, dst), acc0, m)
		store16(unsafe.Add(outRow, dst+pixel), acc1, m)
		store16(unsafe.Add(outRow, dst+2*pixel), acc2, m)
		store16(unsafe.Add(outRow, dst+3*pixel), acc3, m)
	}
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
	for ix := 0; ix < w; ix++ {
		cols := 0
		for kx := range k {
			if ox, ok := outputIndex(ix, kx, pad, stride, ow); ok {
				oxs[cols], kxs[cols] = ox, kx
				cols++
			}
		}

		// Columns in [pad, (ow-1)·stride-pad] have every tap of their
		// parity class inside the output row. Columns ix+q·stride, q < 4,
		// then share the taps of ix with output columns ox+q, so a group
		// of 4·stride interior columns runs as stride blocks of four.
		if ix >= pad && ix+4*stride-1 <= (ow-1)*stride-pad {
			for r0 := range stride {
				if r0 > 0 {
					cols = 0
					for kx := range k {
						if ox, ok := outputIndex(ix+r0, kx, pad, stride, ow); ok {
							oxs[cols], kxs[cols] = ox, kx
							cols++
						}
					}
				}
				depthwiseInputGrad4(dInRow, gradImage, taps, ix+r0, &oys, &kys, rows, &oxs, &kxs, cols, ow, c, stride, tapRow, tapCol)
			}
			ix += 4*stride - 1
			continue
		}

		// Full channel blocks: taps kx = kx0 + j·stride read output
		// columns ox0 - j, the layout depthwiseTapsFull walks.
		// Without taps the masked loop below writes the zeros.
		full := c / 16 * 16
		if rows == 0 || cols == 0 {
			full = 0
		}
		for cb := 0; cb < full; cb += 16 {
			dst := unsafe.Add(dInRow, ix*pixel+4*cb)
			for r := range rows {
				g0 := oys[r]*ow*pixel + oxs[0]*pixel + 4*cb
				w0 := kys[r]*tapRow + kxs[0]*tapCol + 4*cb
				depthwiseTapsAccumulate(dst, gradImage, taps, g0, w0, cols, -pixel, stride*tapCol, r == 0)
			}
		}
		for cb := full; cb < c; cb += 16 {
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
			full := c / 16 * 16
			for cb := 0; cb < full; cb += 16 {
				depthwiseWeightGradFull(unsafe.Add(gwBase, ((ky*k+kx)*c+cb)*4), gradRow, inRow,
					oxLo*pixel+4*cb, (oxLo*stride+kx-pad)*pixel+4*cb, oxHi-oxLo, pixel, stride*pixel)
			}
			for cb := full; cb < c; cb += 16 {
				m := channelMask(cb, c)
				dst := unsafe.Add(gwBase, ((ky*k+kx)*c+cb)*4)
				// Four accumulators hide the FMA latency; their sum order
				// is fixed, so results stay deterministic.
				acc0 := load16(dst, m)
				var acc1, acc2, acc3 archsimd.Float32x16
				ox := oxLo
				for ; ox+4 <= oxHi; ox += 4 {
					g := ox*pixel + 4*cb
					x := (ox*stride+kx-pad)*pixel + 4*cb
					step := stride * pixel
					acc0 = load16(unsafe.Add(gradRow, g), m).MulAdd(load16(unsafe.Add(inRow, x), m), acc0)
					acc1 = load16(unsafe.Add(gradRow, g+pixel), m).MulAdd(load16(unsafe.Add(inRow, x+step), m), acc1)
					acc2 = load16(unsafe.Add(gradRow, g+2*pixel), m).MulAdd(load16(unsafe.Add(inRow, x+2*step), m), acc2)
					acc3 = load16(unsafe.Add(gradRow, g+3*pixel), m).MulAdd(load16(unsafe.Add(inRow, x+3*step), m), acc3)
				}
				for ; ox < oxHi; ox++ {
					gv := load16(unsafe.Add(gradRow, ox*pixel+4*cb), m)
					xv := load16(unsafe.Add(inRow, (ox*stride+kx-pad)*pixel+4*cb), m)
					acc0 = gv.MulAdd(xv, acc0)
				}
				store16(dst, acc0.Add(acc1).Add(acc2.Add(acc3)), m)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
	return true
}

// depthwiseInputGrad4 writes input-gradient columns ix, ix+stride,
// ix+2·stride and ix+3·stride of a row, given the dOut rows and tap rows
// (oys, kys) and the output columns and taps (oxs, kxs) of column ix.
func depthwiseInputGrad4(dInRow, gradImage, taps unsafe.Pointer, ix int, oys, kys *[maxDepthwiseK]int, rows int,
	oxs, kxs *[maxDepthwiseK]int, cols, ow, c, stride, tapRow, tapCol int) {
	pixel := 4 * c
	// Full channel blocks: the taps of column ix are kx = kx0 + j·stride
	// with output columns ox0 - j, so offsets advance by addition.
	full := c / 16 * 16
	if full > 0 {
		var gRows, wRows [maxDepthwiseK]int
		for r := range rows {
			gRows[r], wRows[r] = oys[r]*ow*pixel, kys[r]*tapRow
		}
		kx0 := kxs[0]
		for cb := 0; cb < full; cb += 16 {
			depthwiseInputGrad4Full(unsafe.Add(dInRow, ix*pixel+4*cb), gradImage, taps, &gRows, &wRows, rows,
				oxs[0]*pixel+4*cb, kx0*tapCol+4*cb, cols, pixel, stride*tapCol, stride*pixel)
		}
	}
	for cb := full; cb < c; cb += 16 {
		m := channelMask(cb, c)
		var acc0, acc1, acc2, acc3 archsimd.Float32x16
		for r := range rows {
			g := oys[r]*ow*pixel + 4*cb
			wt := kys[r]*tapRow + 4*cb
			for j := range cols {
				wv := load16(unsafe.Add(taps, wt+kxs[j]*tapCol), m)
				gp := g + oxs[j]*pixel
				acc0 = load16(unsafe.Add(gradImage, gp), m).MulAdd(wv, acc0)
				acc1 = load16(unsafe.Add(gradImage, gp+pixel), m).MulAdd(wv, acc1)
				acc2 = load16(unsafe.Add(gradImage, gp+2*pixel), m).MulAdd(wv, acc2)
				acc3 = load16(unsafe.Add(gradImage, gp+3*pixel), m).MulAdd(wv, acc3)
			}
		}
		dst := ix*pixel + 4*cb
		step := stride * pixel
		store16(unsafe.Add(dInRow, dst), acc0, m)
		store16(unsafe.Add(dInRow, dst+step), acc1, m)
		store16(unsafe.Add(dInRow, dst+2*step), acc2, m)
		store16(unsafe.Add(dInRow, dst+3*step), acc3, m)
	}
}

// depthwiseWeightGradFull adds Σ over count output columns of dOut·in to the
// 16 gradient entries at dst, for one full channel block. g and x are the
// byte offsets of the first column in gradRow and inRow; they advance by
// pixel and step. Four accumulators hide the FMA latency, and their sum
// order is fixed.
func depthwiseWeightGradFull(dst, gradRow, inRow unsafe.Pointer, g, x, count, pixel, step int) {
	acc0 := archsimd.LoadFloat32x16((*[16]float32)(dst))
	var acc1, acc2, acc3 archsimd.Float32x16
	i := 0
	for ; i+4 <= count; i += 4 {
		gp, xp := unsafe.Add(gradRow, g), unsafe.Add(inRow, x)
		acc0 = archsimd.LoadFloat32x16((*[16]float32)(gp)).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(xp)), acc0)
		acc1 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(gp, pixel))).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(xp, step))), acc1)
		acc2 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(gp, 2*pixel))).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(xp, 2*step))), acc2)
		acc3 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(gp, 3*pixel))).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(xp, 3*step))), acc3)
		g += 4 * pixel
		x += 4 * step
	}
	for ; i < count; i++ {
		acc0 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(gradRow, g))).MulAdd(archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(inRow, x))), acc0)
		g += pixel
		x += step
	}
	acc0.Add(acc1).Add(acc2.Add(acc3)).Store((*[16]float32)(dst))
}

// depthwiseInputGrad4Full is depthwiseInputGrad4 for one full block of 16
// channels. For each dOut row r (byte offsets gRows[r], wRows[r]) it runs
// cols taps, starting at byte offsets g (dOut) and wt (taps) and moving by
// -pixel and wStep. The four results go to dst + q·step.
func depthwiseInputGrad4Full(dst, gradImage, taps unsafe.Pointer, gRows, wRows *[maxDepthwiseK]int, rows int,
	g, wt, cols, pixel, wStep, step int) {
	var acc0, acc1, acc2, acc3 archsimd.Float32x16
	for r := range rows {
		gp, wp := gRows[r]+g, wRows[r]+wt
		for range cols {
			wv := archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(taps, wp)))
			p := unsafe.Add(gradImage, gp)
			acc0 = archsimd.LoadFloat32x16((*[16]float32)(p)).MulAdd(wv, acc0)
			acc1 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, pixel))).MulAdd(wv, acc1)
			acc2 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 2*pixel))).MulAdd(wv, acc2)
			acc3 = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(p, 3*pixel))).MulAdd(wv, acc3)
			gp -= pixel
			wp += wStep
		}
	}
	acc0.Store((*[16]float32)(dst))
	acc1.Store((*[16]float32)(unsafe.Add(dst, step)))
	acc2.Store((*[16]float32)(unsafe.Add(dst, 2*step)))
	acc3.Store((*[16]float32)(unsafe.Add(dst, 3*step)))
}

// depthwiseTapsFull stores at out the sum over rows × cols taps of one full
// 16-channel block: input at byte offset x, moving by pixel per tap and
// rowBytes per row, times weights at offset wt, moving by tapCol and tapRow.
func depthwiseTapsFull(out, inImage, taps unsafe.Pointer, x, wt, rows, rowBytes, cols, pixel, tapRow, tapCol int) {
	var acc archsimd.Float32x16
	for range rows {
		xp, wp := x, wt
		for range cols {
			acc = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(inImage, xp))).MulAdd(
				archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(taps, wp))), acc)
			xp += pixel
			wp += tapCol
		}
		x += rowBytes
		wt += tapRow
	}
	acc.Store((*[16]float32)(out))
}

// depthwiseTapsAccumulate adds to dst, or stores there when first is set,
// the sum over cols taps of one full 16-channel block: values at byte offset
// g, moving by gStep, times weights at offset wt, moving by wStep.
func depthwiseTapsAccumulate(dst, values, taps unsafe.Pointer, g, wt, cols, gStep, wStep int, first bool) {
	var acc archsimd.Float32x16
	if !first {
		acc = archsimd.LoadFloat32x16((*[16]float32)(dst))
	}
	for range cols {
		acc = archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(values, g))).MulAdd(
			archsimd.LoadFloat32x16((*[16]float32)(unsafe.Add(taps, wt))), acc)
		g += gStep
		wt += wStep
	}
	acc.Store((*[16]float32)(dst))
}
