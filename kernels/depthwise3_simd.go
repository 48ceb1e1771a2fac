//go:build goexperiment.simd && amd64

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// Most children use 3×3 depthwise convolutions, and the general AVX-512 rows
// in depthwise_simd.go reload every tap for each group of four outputs. The
// kernels here handle K = 3 one 16-channel block at a time and keep the
// nine taps (or, for the weight gradient, the nine sums) in registers for a
// whole row or image. Each input value is loaded once and added to every
// output that reads it: Go's compiler keeps at most 16 vectors in
// registers, too few for a sliding 3×3 window of inputs beside nine taps.
// Rows outside the image read zeroRow, which removes the edge cases from
// the inner loops.

// zeroRow is read in place of a row above or below the image. It is never
// written.
var zeroRow [1 << 14]float32

// dw3Handles reports whether the 3×3 kernels handle a convolution: K = 3,
// stride 1 or 2, and rows of w pixels of c channels that zeroRow covers.
func dw3Handles(k, w, c, stride int) bool {
	return k == 3 && (stride == 1 || stride == 2) && c > 0 && w*c <= len(zeroRow)
}

// depthwiseBackwardImageSIMD computes image b's share of DepthwiseBackward
// when the 3×3 kernels handle the shape, and reports whether it did.
func depthwiseBackwardImageSIMD(dIn, gw, dOut, in []float32, f DepthwiseFilter, b, h, w, c, stride int) bool {
	if !dw3Handles(f.K, w, c, stride) {
		return false
	}
	if dIn != nil {
		depthwise3InputGradImage(dIn, dOut, f, b, h, w, c, stride)
	}
	depthwise3WeightGradImage(gw, dOut, in, b, h, w, c, stride)
	return true
}

// dw3Taps holds the nine taps of one channel block, t[r][j] at
// base + r·rowStep + j·colStep (byte offsets, possibly negative).
type dw3Taps struct {
	base             unsafe.Pointer
	rowStep, colStep int
}

// dw3RowS1 writes one output row of one 16-channel block of a stride-1 3×3
// correlation with zero padding:
//
//	out[x] = Σ_{r,j} rows[r][x+j-1] · t[r][j]   for x in [0, w)
//
// r0, r1 and r2 point at the block's channel in column 0 of three rows of w
// pixels, pixel bytes apart. out points at the same channel of the output
// row.
//
// Go keeps at most 16 vectors in registers, so instead of a sliding 3×3
// window the loop loads each input once and adds it to the three outputs
// that read it: nine taps, three sums and the value in flight.
func dw3RowS1(out, r0, r1, r2 unsafe.Pointer, t dw3Taps, w, pixel int, m archsimd.Mask32x16) {
	t0, t1, t2 := t.base, unsafe.Add(t.base, t.rowStep), unsafe.Add(t.base, 2*t.rowStep)
	w00, w01, w02 := load16(t0, m), load16(unsafe.Add(t0, t.colStep), m), load16(unsafe.Add(t0, 2*t.colStep), m)
	w10, w11, w12 := load16(t1, m), load16(unsafe.Add(t1, t.colStep), m), load16(unsafe.Add(t1, 2*t.colStep), m)
	w20, w21, w22 := load16(t2, m), load16(unsafe.Add(t2, t.colStep), m), load16(unsafe.Add(t2, 2*t.colStep), m)

	// Column x adds to output x-1 (done after it), x and x+1.
	var prev, cur, next archsimd.Float32x16
	off := 0
	for x := range w {
		v := load16(unsafe.Add(r0, off), m)
		prev, cur, next = v.MulAdd(w02, prev), v.MulAdd(w01, cur), v.Mul(w00)
		v = load16(unsafe.Add(r1, off), m)
		prev, cur, next = v.MulAdd(w12, prev), v.MulAdd(w11, cur), v.MulAdd(w10, next)
		v = load16(unsafe.Add(r2, off), m)
		prev, cur, next = v.MulAdd(w22, prev), v.MulAdd(w21, cur), v.MulAdd(w20, next)
		if x > 0 {
			store16(unsafe.Add(out, off-pixel), prev, m)
		}
		prev, cur = cur, next
		off += pixel
	}
	store16(unsafe.Add(out, off-pixel), prev, m)
}

// dw3RowS2 is dw3RowS1 with stride 2: out[x] = Σ rows[r][2x+j-1]·t[r][j]
// for x in [0, ow), ow = (w+1)/2. Even column 2x adds to output x, odd
// column 2x+1 to outputs x and x+1.
func dw3RowS2(out, r0, r1, r2 unsafe.Pointer, t dw3Taps, w, pixel int, m archsimd.Mask32x16) {
	t0, t1, t2 := t.base, unsafe.Add(t.base, t.rowStep), unsafe.Add(t.base, 2*t.rowStep)
	w00, w01, w02 := load16(t0, m), load16(unsafe.Add(t0, t.colStep), m), load16(unsafe.Add(t0, 2*t.colStep), m)
	w10, w11, w12 := load16(t1, m), load16(unsafe.Add(t1, t.colStep), m), load16(unsafe.Add(t1, 2*t.colStep), m)
	w20, w21, w22 := load16(t2, m), load16(unsafe.Add(t2, t.colStep), m), load16(unsafe.Add(t2, 2*t.colStep), m)

	var cur archsimd.Float32x16
	in, o := 0, 0 // byte offsets of input column 2x and output column x
	for range w / 2 {
		odd := in + pixel
		cur = load16(unsafe.Add(r0, in), m).MulAdd(w01, cur)
		v := load16(unsafe.Add(r0, odd), m)
		var next archsimd.Float32x16
		cur, next = v.MulAdd(w02, cur), v.Mul(w00)
		cur = load16(unsafe.Add(r1, in), m).MulAdd(w11, cur)
		v = load16(unsafe.Add(r1, odd), m)
		cur, next = v.MulAdd(w12, cur), v.MulAdd(w10, next)
		cur = load16(unsafe.Add(r2, in), m).MulAdd(w21, cur)
		v = load16(unsafe.Add(r2, odd), m)
		cur, next = v.MulAdd(w22, cur), v.MulAdd(w20, next)
		store16(unsafe.Add(out, o), cur, m)
		cur = next
		in += 2 * pixel
		o += pixel
	}
	// An odd width leaves a last even column, read only by the last output.
	if w%2 == 1 {
		cur = load16(unsafe.Add(r0, in), m).MulAdd(w01, cur)
		cur = load16(unsafe.Add(r1, in), m).MulAdd(w11, cur)
		cur = load16(unsafe.Add(r2, in), m).MulAdd(w21, cur)
		store16(unsafe.Add(out, o), cur, m)
	}
}

// rowOrZero returns a pointer to row y of an image of rows rowBytes long, or
// to zeroRow when y lies outside [0, rows).
func rowOrZero(image unsafe.Pointer, y, rows, rowBytes int) unsafe.Pointer {
	if y < 0 || y >= rows {
		return unsafe.Pointer(&zeroRow)
	}
	return unsafe.Add(image, y*rowBytes)
}

// depthwise3ForwardRow computes output row oy of image b for K = 3.
func depthwise3ForwardRow(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) {
	oh, ow := outSize(h, 3, stride), outSize(w, 3, stride)
	pixel, rowBytes := 4*c, 4*w*c
	inImage := unsafe.Pointer(&in[b*h*w*c])
	outRow := unsafe.Pointer(&out[(b*oh+oy)*ow*c])
	y := oy*stride - 1
	r0 := rowOrZero(inImage, y, h, rowBytes)
	r1 := rowOrZero(inImage, y+1, h, rowBytes)
	r2 := rowOrZero(inImage, y+2, h, rowBytes)
	t := dw3Taps{base: unsafe.Pointer(&f.Data[f.tap(0, 0)]), rowStep: 4 * f.KMax * f.CMax, colStep: 4 * f.CMax}
	row := dw3RowS1
	if stride == 2 {
		row = dw3RowS2
	}
	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		off := 4 * cb
		tb := t
		tb.base = unsafe.Add(t.base, off)
		row(unsafe.Add(outRow, off), unsafe.Add(r0, off), unsafe.Add(r1, off), unsafe.Add(r2, off), tb, w, pixel, m)
	}
	archsimd.ClearAVXUpperBits()
}

// depthwise3InputGradImage writes the input gradient of image b for K = 3.
// With stride 1 it is a stride-1 correlation of dOut with the taps turned
// by 180°. With stride 2, an even input row iy is read by output row iy/2
// through tap row 1, an odd one by rows (iy-1)/2 and (iy+1)/2 through tap
// rows 2 and 0; dw3GradS2Row adds one output row's share.
func depthwise3InputGradImage(dIn, dOut []float32, f DepthwiseFilter, b, h, w, c, stride int) {
	oh, ow := outSize(h, 3, stride), outSize(w, 3, stride)
	pixel := 4 * c
	gradImage := unsafe.Pointer(&dOut[b*oh*ow*c])
	dInImage := unsafe.Pointer(&dIn[b*h*w*c])
	tapRow, tapCol := 4*f.KMax*f.CMax, 4*f.CMax
	taps := unsafe.Pointer(&f.Data[f.tap(0, 0)])

	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		off := 4 * cb
		tb := unsafe.Add(taps, off)
		for iy := range h {
			dst := unsafe.Add(dInImage, iy*w*pixel+off)
			if stride == 1 {
				t := dw3Taps{base: unsafe.Add(tb, 2*tapRow+2*tapCol), rowStep: -tapRow, colStep: -tapCol}
				dw3RowS1(dst,
					unsafe.Add(rowOrZero(gradImage, iy-1, oh, ow*pixel), off),
					unsafe.Add(rowOrZero(gradImage, iy, oh, ow*pixel), off),
					unsafe.Add(rowOrZero(gradImage, iy+1, oh, ow*pixel), off),
					t, w, pixel, m)
				continue
			}
			if iy%2 == 0 {
				g := unsafe.Add(gradImage, iy/2*ow*pixel+off)
				dw3GradS2Row(dst, g, unsafe.Add(tb, tapRow), tapCol, w, pixel, m, false)
				continue
			}
			g := unsafe.Add(gradImage, (iy-1)/2*ow*pixel+off)
			dw3GradS2Row(dst, g, unsafe.Add(tb, 2*tapRow), tapCol, w, pixel, m, false)
			if oy := (iy + 1) / 2; oy < oh {
				g = unsafe.Add(gradImage, oy*ow*pixel+off)
				dw3GradS2Row(dst, g, tb, tapCol, w, pixel, m, true)
			}
		}
	}
	archsimd.ClearAVXUpperBits()
}

// dw3GradS2Row writes, or adds when accumulate is set, one output-gradient
// row's share of an input-gradient row for K = 3, stride 2: input column 2x
// gets g[x]·t[1], column 2x+1 gets g[x]·t[2] + g[x+1]·t[0]. t points at tap
// 0 of the tap row, and the others follow tapCol bytes apart. dst and g
// point at the block's channel in column 0 of rows of w and (w+1)/2 pixels.
func dw3GradS2Row(dst, g, t unsafe.Pointer, tapCol, w, pixel int, m archsimd.Mask32x16, accumulate bool) {
	w0, w1, w2 := load16(t, m), load16(unsafe.Add(t, tapCol), m), load16(unsafe.Add(t, 2*tapCol), m)
	ow := (w + 1) / 2
	cur := load16(g, m)
	gOff, dOff := 0, 0
	for range ow - 1 {
		gOff += pixel
		next := load16(unsafe.Add(g, gOff), m)
		even, odd := cur.Mul(w1), next.MulAdd(w0, cur.Mul(w2))
		pe, po := unsafe.Add(dst, dOff), unsafe.Add(dst, dOff+pixel)
		if accumulate {
			even, odd = even.Add(load16(pe, m)), odd.Add(load16(po, m))
		}
		store16(pe, even, m)
		store16(po, odd, m)
		cur = next
		dOff += 2 * pixel
	}
	even := cur.Mul(w1)
	pe := unsafe.Add(dst, dOff)
	if accumulate {
		even = even.Add(load16(pe, m))
	}
	store16(pe, even, m)
	if w%2 == 0 {
		odd := cur.Mul(w2)
		po := unsafe.Add(dst, dOff+pixel)
		if accumulate {
			odd = odd.Add(load16(po, m))
		}
		store16(po, odd, m)
	}
}

// depthwise3WeightGradImage adds the weight gradient of image b for K = 3 to
// gw, a compact [3][3][C] buffer.
func depthwise3WeightGradImage(gw, dOut, in []float32, b, h, w, c, stride int) {
	oh, ow := outSize(h, 3, stride), outSize(w, 3, stride)
	inImage := unsafe.Pointer(&in[b*h*w*c])
	gradImage := unsafe.Pointer(&dOut[b*oh*ow*c])
	gwBase := unsafe.Pointer(&gw[0])
	for cb := 0; cb < c; cb += 16 {
		m := channelMask(cb, c)
		off := 4 * cb
		if stride == 1 {
			dw3WeightGradS1(unsafe.Add(gwBase, off), unsafe.Add(gradImage, off), unsafe.Add(inImage, off), h, w, c, m)
		} else {
			dw3WeightGradS2(unsafe.Add(gwBase, off), unsafe.Add(gradImage, off), unsafe.Add(inImage, off), h, w, c, m)
		}
	}
	archsimd.ClearAVXUpperBits()
}

// dw3WeightGradS1 adds to the nine taps of one channel block at dst (tap
// (r, j) at (3r+j)·4c bytes) the stride-1 weight gradient of one image:
//
//	dst[r][j] += Σ_{y,x} g[y][x] · in[y+r-1][x+j-1]
//
// g and in point at the block's channel in pixel 0 of dOut and of the input,
// both h×w pixels of c channels. The nine sums stay in registers for the
// whole image. Each input value in[y'][x] is loaded once and meets the
// three gradients of row y = y'+1-r that read it, g[x+1], g[x] and g[x-1],
// for taps j = 0, 1 and 2.
func dw3WeightGradS1(dst, g, in unsafe.Pointer, h, w, c int, m archsimd.Mask32x16) {
	pixel, rowBytes := 4*c, 4*w*c
	var s00, s01, s02, s10, s11, s12, s20, s21, s22 archsimd.Float32x16
	for y := range h {
		gRow := unsafe.Add(g, y*rowBytes)
		r0 := rowOrZero(in, y-1, h, rowBytes)
		r1 := unsafe.Add(in, y*rowBytes)
		r2 := rowOrZero(in, y+1, h, rowBytes)
		var gPrev archsimd.Float32x16
		gCur := load16(gRow, m)
		off := 0
		for range w - 1 {
			next := off + pixel
			gNext := load16(unsafe.Add(gRow, next), m)
			v := load16(unsafe.Add(r0, off), m)
			s00, s01, s02 = v.MulAdd(gNext, s00), v.MulAdd(gCur, s01), v.MulAdd(gPrev, s02)
			v = load16(unsafe.Add(r1, off), m)
			s10, s11, s12 = v.MulAdd(gNext, s10), v.MulAdd(gCur, s11), v.MulAdd(gPrev, s12)
			v = load16(unsafe.Add(r2, off), m)
			s20, s21, s22 = v.MulAdd(gNext, s20), v.MulAdd(gCur, s21), v.MulAdd(gPrev, s22)
			gPrev, gCur = gCur, gNext
			off = next
		}
		v := load16(unsafe.Add(r0, off), m)
		s01, s02 = v.MulAdd(gCur, s01), v.MulAdd(gPrev, s02)
		v = load16(unsafe.Add(r1, off), m)
		s11, s12 = v.MulAdd(gCur, s11), v.MulAdd(gPrev, s12)
		v = load16(unsafe.Add(r2, off), m)
		s21, s22 = v.MulAdd(gCur, s21), v.MulAdd(gPrev, s22)
	}
	dw3AddSums(dst, 4*c, m, s00, s01, s02, s10, s11, s12, s20, s21, s22)
}

// dw3WeightGradS2 is dw3WeightGradS1 for stride 2, where dOut has
// (h+1)/2 × (w+1)/2 pixels:
//
//	dst[r][j] += Σ_{y,x} g[y][x] · in[2y+r-1][2x+j-1]
//
// Even input column 2x meets g[x] (tap 1); odd column 2x+1 meets g[x]
// (tap 2) and g[x+1] (tap 0).
func dw3WeightGradS2(dst, g, in unsafe.Pointer, h, w, c int, m archsimd.Mask32x16) {
	pixel, rowBytes := 4*c, 4*w*c
	oh, ow := (h+1)/2, (w+1)/2
	// Pairs of columns whose odd column has a g[x+1]; an even width's last
	// pair has none and is finished after the loop.
	pairs := ow - 1
	var s00, s01, s02, s10, s11, s12, s20, s21, s22 archsimd.Float32x16
	for y := range oh {
		gp := unsafe.Add(g, y*ow*pixel)
		p0 := rowOrZero(in, 2*y-1, h, rowBytes)
		p1 := unsafe.Add(in, 2*y*rowBytes)
		p2 := rowOrZero(in, 2*y+1, h, rowBytes)
		gCur := load16(gp, m)
		for range pairs {
			gp = unsafe.Add(gp, pixel)
			gNext := load16(gp, m)
			v := load16(p0, m)
			s01 = v.MulAdd(gCur, s01)
			v = load16(unsafe.Add(p0, pixel), m)
			s02, s00 = v.MulAdd(gCur, s02), v.MulAdd(gNext, s00)
			v = load16(p1, m)
			s11 = v.MulAdd(gCur, s11)
			v = load16(unsafe.Add(p1, pixel), m)
			s12, s10 = v.MulAdd(gCur, s12), v.MulAdd(gNext, s10)
			v = load16(p2, m)
			s21 = v.MulAdd(gCur, s21)
			v = load16(unsafe.Add(p2, pixel), m)
			s22, s20 = v.MulAdd(gCur, s22), v.MulAdd(gNext, s20)
			gCur = gNext
			p0, p1, p2 = unsafe.Add(p0, 2*pixel), unsafe.Add(p1, 2*pixel), unsafe.Add(p2, 2*pixel)
		}
		s01 = load16(p0, m).MulAdd(gCur, s01)
		s11 = load16(p1, m).MulAdd(gCur, s11)
		s21 = load16(p2, m).MulAdd(gCur, s21)
		if w%2 == 0 {
			s02 = load16(unsafe.Add(p0, pixel), m).MulAdd(gCur, s02)
			s12 = load16(unsafe.Add(p1, pixel), m).MulAdd(gCur, s12)
			s22 = load16(unsafe.Add(p2, pixel), m).MulAdd(gCur, s22)
		}
	}
	dw3AddSums(dst, 4*c, m, s00, s01, s02, s10, s11, s12, s20, s21, s22)
}

// dw3AddSums adds the nine sums to the taps at dst, tap (r, j) at
// (3r+j)·tapBytes bytes.
func dw3AddSums(dst unsafe.Pointer, tapBytes int, m archsimd.Mask32x16, s00, s01, s02, s10, s11, s12, s20, s21, s22 archsimd.Float32x16) {
	add := func(i int, v archsimd.Float32x16) {
		p := unsafe.Add(dst, i*tapBytes)
		store16(p, load16(p, m).Add(v), m)
	}
	add(0, s00)
	add(1, s01)
	add(2, s02)
	add(3, s10)
	add(4, s11)
	add(5, s12)
	add(6, s20)
	add(7, s21)
	add(8, s22)
}
