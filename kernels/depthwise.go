package kernels

import "fmt"

// DepthwiseFilter is a view of a depthwise weight tensor shared by a
// supernet. Data has layout [KMax][KMax][CMax]. A child with kernel size K
// (odd, at most KMax) uses the centre K×K taps and the first C channels.
// Tap (ky, kx) of channel ch is Data[((ky+o)*KMax+(kx+o))*CMax+ch] with
// o = (KMax-K)/2.
type DepthwiseFilter struct {
	Data       []float32
	KMax, CMax int
	K          int
}

// tap returns the offset in Data of tap (ky, kx), channel 0.
func (f DepthwiseFilter) tap(ky, kx int) int {
	o := (f.KMax - f.K) / 2
	return ((ky+o)*f.KMax + (kx + o)) * f.CMax
}

func (f DepthwiseFilter) check(op string, c int) {
	if f.K < 1 || f.K%2 == 0 || f.K > f.KMax || (f.KMax-f.K)%2 != 0 {
		panic(fmt.Sprintf("kernels: %s: kernel size %d must be odd and fit centred in KMax %d", op, f.K, f.KMax))
	}
	if c > f.CMax {
		panic(fmt.Sprintf("kernels: %s: %d channels exceed the filter's CMax %d", op, c, f.CMax))
	}
	need(op, "filter", f.Data, f.KMax*f.KMax*f.CMax)
}

// DepthwiseForward computes a depthwise convolution with stride S and
// padding K/2:
//
//	out[n,oy,ox,ch] = Σ_{ky,kx} in[n, oy*S+ky-K/2, ox*S+kx-K/2, ch] · f(ky,kx,ch)
//
// where taps outside the input count as zero. in is [N,H,W,C], out is
// [N,OH,OW,C] and is overwritten.
func DepthwiseForward(out, in []float32, f DepthwiseFilter, n, h, w, c, stride int) {
	depthwiseForward("DepthwiseForward", out, in, f, n, h, w, c, stride, nil)
}

// depthwiseForward implements DepthwiseForward and, with e not nil,
// DepthwiseForwardAffine, which transforms each output row after computing
// it.
func depthwiseForward(op string, out, in []float32, f DepthwiseFilter, n, h, w, c, stride int, e *Affine) {
	checkConvSizes(op, n, h, w, c, f.K, stride)
	f.check(op, c)
	oh, ow := outSize(h, f.K, stride), outSize(w, f.K, stride)
	need(op, "in", in, n*h*w*c)
	need(op, "out", out, n*oh*ow*c)
	if e != nil {
		e.check(op, n*oh*ow, c)
	}
	if c == 0 {
		return
	}

	parallelFor(n*oh, partCount(n*oh, 4), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			depthwiseForwardRow(out, in, f, row/oh, row%oh, h, w, c, stride)
			if e != nil {
				e.apply(out, row*ow, (row+1)*ow, c)
			}
		}
	})
}

// depthwiseForwardRow computes output row oy of image b.
func depthwiseForwardRow(out, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) {
	if useSIMD && depthwiseForwardRowSIMD(out, in, f, b, oy, h, w, c, stride) {
		return
	}
	k, pad := f.K, f.K/2
	ow := outSize(w, k, stride)
	for ox := range ow {
		acc := out[((b*outSize(h, k, stride)+oy)*ow+ox)*c:][:c]
		clear(acc)
		for ky := range k {
			iy := oy*stride + ky - pad
			if iy < 0 || iy >= h {
				continue
			}
			for kx := range k {
				ix := ox*stride + kx - pad
				if ix < 0 || ix >= w {
					continue
				}
				x := in[((b*h+iy)*w+ix)*c:][:c]
				wt := f.Data[f.tap(ky, kx):][:c]
				for ch := range acc {
					acc[ch] += x[ch] * wt[ch]
				}
			}
		}
	}
}

// DepthwiseBackward computes the gradients of DepthwiseForward:
//
//	dIn[n,iy,ix,ch] = Σ dOut[n,oy,ox,ch] · f(ky,kx,ch)   over taps that read (iy,ix)
//	dW(ky,kx,ch)   += Σ_{n,oy,ox} dOut[n,oy,ox,ch] · in[n, oy*S+ky-K/2, ox*S+kx-K/2, ch]
//
// dIn ([N,H,W,C]) is overwritten; pass nil to skip it. dW has the supernet
// layout of f.Data, [KMax][KMax][CMax]; the gradient is added to its centre
// K×K taps and first C channels. dOut is [N,OH,OW,C] and in is [N,H,W,C].
//
// The batch is split across goroutines, each summing its weight gradient in
// a private buffer; the buffers are added in part order.
func DepthwiseBackward(dIn, dW []float32, dOut, in []float32, f DepthwiseFilter, n, h, w, c, stride int) {
	const op = "DepthwiseBackward"
	checkConvSizes(op, n, h, w, c, f.K, stride)
	f.check(op, c)
	oh, ow := outSize(h, f.K, stride), outSize(w, f.K, stride)
	need(op, "dOut", dOut, n*oh*ow*c)
	need(op, "in", in, n*h*w*c)
	need(op, "dW", dW, len(f.Data[:f.KMax*f.KMax*f.CMax]))
	if dIn != nil {
		need(op, "dIn", dIn, n*h*w*c)
	}

	k := f.K
	parts := partCount(n, 1)
	partials := make([]*[]float32, parts)
	for p := range parts {
		partials[p] = getScratch(k * k * c)
		clear(*partials[p])
	}

	parallelFor(n, parts, func(part, lo, hi int) {
		gw := *partials[part]
		for b := lo; b < hi; b++ {
			if useSIMD && depthwiseBackwardImageSIMD(dIn, gw, dOut, in, f, b, h, w, c, stride) {
				continue
			}
			if dIn != nil {
				for iy := range h {
					depthwiseInputGradRow(dIn, dOut, f, b, iy, h, w, c, stride)
				}
			}
			for oy := range oh {
				depthwiseWeightGradRow(gw, dOut, in, f, b, oy, h, w, c, stride)
			}
		}
	})

	// Add the per-part weight gradients into the supernet layout, in order.
	for p := range parts {
		gw := *partials[p]
		for ky := range k {
			for kx := range k {
				dst := dW[f.tap(ky, kx):][:c]
				src := gw[(ky*k+kx)*c:][:c]
				for ch := range dst {
					dst[ch] += src[ch]
				}
			}
		}
		putScratch(partials[p])
	}
}

// depthwiseInputGradRow writes row iy of image b of the input gradient. It
// gathers, for each input pixel, the output pixels whose taps read it, so
// each element is written once:
//
//	dIn[b,iy,ix,ch] = Σ dOut[b,oy,ox,ch]·f(ky,kx,ch) over oy·S+ky-K/2 = iy, ox·S+kx-K/2 = ix
func depthwiseInputGradRow(dIn, dOut []float32, f DepthwiseFilter, b, iy, h, w, c, stride int) {
	if useSIMD && depthwiseInputGradRowSIMD(dIn, dOut, f, b, iy, h, w, c, stride) {
		return
	}
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	for ix := range w {
		acc := dIn[((b*h+iy)*w+ix)*c:][:c]
		clear(acc)
		for ky := range k {
			oy, ok := outputIndex(iy, ky, pad, stride, oh)
			if !ok {
				continue
			}
			for kx := range k {
				ox, ok := outputIndex(ix, kx, pad, stride, ow)
				if !ok {
					continue
				}
				g := dOut[((b*oh+oy)*ow+ox)*c:][:c]
				wt := f.Data[f.tap(ky, kx):][:c]
				for ch := range acc {
					acc[ch] += g[ch] * wt[ch]
				}
			}
		}
	}
}

// outputIndex returns the output index o with o·stride + tap - pad = i, and
// whether it exists in [0, size).
func outputIndex(i, tap, pad, stride, size int) (int, bool) {
	num := i + pad - tap
	if num < 0 || num%stride != 0 {
		return 0, false
	}
	o := num / stride
	return o, o < size
}

// depthwiseWeightGradRow adds the weight-gradient contributions of output
// row oy of image b to gw, a compact [K][K][C] buffer:
//
//	gw[ky,kx,ch] += Σ_ox dOut[b,oy,ox,ch]·in[b, oy·S+ky-K/2, ox·S+kx-K/2, ch]
func depthwiseWeightGradRow(gw, dOut, in []float32, f DepthwiseFilter, b, oy, h, w, c, stride int) {
	if useSIMD && depthwiseWeightGradRowSIMD(gw, dOut, in, f, b, oy, h, w, c, stride) {
		return
	}
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	for ky := range k {
		iy := oy*stride + ky - pad
		if iy < 0 || iy >= h {
			continue
		}
		for kx := range k {
			acc := gw[(ky*k+kx)*c:][:c]
			for ox := range ow {
				ix := ox*stride + kx - pad
				if ix < 0 || ix >= w {
					continue
				}
				g := dOut[((b*oh+oy)*ow+ox)*c:][:c]
				x := in[((b*h+iy)*w+ix)*c:][:c]
				for ch := range acc {
					acc[ch] += g[ch] * x[ch]
				}
			}
		}
	}
}
