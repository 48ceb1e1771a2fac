package kernels

import "fmt"

// ConvFilter is a view of a full convolution weight tensor (the stem) shared
// by a supernet. Data has HWIO layout [KMax][KMax][CinMax][CoutMax]. A child
// with kernel size K (odd, at most KMax) uses the centre K×K taps, the first
// Cin input channels and the first Cout output channels. Weight (ky, kx, ci, co)
// is Data[(((ky+o)*KMax+(kx+o))*CinMax+ci)*CoutMax+co] with o = (KMax-K)/2.
type ConvFilter struct {
	Data                  []float32
	KMax, CinMax, CoutMax int
	K                     int
}

// at returns the offset in Data of weight (ky, kx, ci, 0).
func (f ConvFilter) at(ky, kx, ci int) int {
	o := (f.KMax - f.K) / 2
	return (((ky+o)*f.KMax+(kx+o))*f.CinMax + ci) * f.CoutMax
}

func (f ConvFilter) check(op string, cin, cout int) {
	if f.K < 1 || f.K%2 == 0 || f.K > f.KMax || (f.KMax-f.K)%2 != 0 {
		panic(fmt.Sprintf("kernels: %s: kernel size %d must be odd and fit centred in KMax %d", op, f.K, f.KMax))
	}
	if cin > f.CinMax || cout > f.CoutMax || cin < 1 || cout < 1 {
		panic(fmt.Sprintf("kernels: %s: channels %d→%d do not fit the filter's %d→%d", op, cin, cout, f.CinMax, f.CoutMax))
	}
	need(op, "filter", f.Data, f.KMax*f.KMax*f.CinMax*f.CoutMax)
}

// Conv2DForward computes a full convolution with stride S and padding K/2:
//
//	out[n,oy,ox,co] = Σ_{ky,kx,ci} in[n, oy*S+ky-K/2, ox*S+kx-K/2, ci] · f(ky,kx,ci,co)
//
// in is [N,H,W,Cin] and out is [N,OH,OW,Cout], overwritten. It is meant for
// the stem, where Cin is small (1 or 3), so it loops over taps directly
// instead of building an im2col matrix.
func Conv2DForward(out, in []float32, f ConvFilter, n, h, w, cin, cout, stride int) {
	conv2dForward("Conv2DForward", out, in, f, n, h, w, cin, cout, stride, nil)
}

// conv2dForward implements Conv2DForward and, with e not nil,
// Conv2DForwardAffine, which transforms each output row after computing it.
func conv2dForward(op string, out, in []float32, f ConvFilter, n, h, w, cin, cout, stride int, e *Affine) {
	checkConvSizes(op, n, h, w, cin, f.K, stride)
	f.check(op, cin, cout)
	oh, ow := outSize(h, f.K, stride), outSize(w, f.K, stride)
	need(op, "in", in, n*h*w*cin)
	need(op, "out", out, n*oh*ow*cout)
	if e != nil {
		e.check(op, n*oh*ow, cout)
	}
	if cout == 0 {
		return
	}

	parallelFor(n*oh, partCount(n*oh, 4), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			conv2dForwardRow(out, in, f, row/oh, row%oh, h, w, cin, cout, stride)
			if e != nil {
				e.apply(out, row*ow, (row+1)*ow, cout)
			}
		}
	})
}

// conv2dForwardRow computes output row oy of image b.
func conv2dForwardRow(out, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) {
	if useSIMD && conv2dForwardRowSIMD(out, in, f, b, oy, h, w, cin, cout, stride) {
		return
	}
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	for ox := range ow {
		acc := out[((b*oh+oy)*ow+ox)*cout:][:cout]
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
				x := in[((b*h+iy)*w+ix)*cin:][:cin]
				for ci, xv := range x {
					wt := f.Data[f.at(ky, kx, ci):][:cout]
					for co := range acc {
						acc[co] += xv * wt[co]
					}
				}
			}
		}
	}
}

// Conv2DBackward computes the gradients of Conv2DForward. dIn ([N,H,W,Cin])
// is overwritten; pass nil to skip it, as for the first layer. dW has the
// supernet layout of f.Data and the gradient is added to the block the view
// selects. dOut is [N,OH,OW,Cout] and in is [N,H,W,Cin].
//
// The batch is split across goroutines with private weight-gradient buffers
// that are added in part order.
func Conv2DBackward(dIn, dW []float32, dOut, in []float32, f ConvFilter, n, h, w, cin, cout, stride int) {
	const op = "Conv2DBackward"
	checkConvSizes(op, n, h, w, cin, f.K, stride)
	f.check(op, cin, cout)
	oh, ow := outSize(h, f.K, stride), outSize(w, f.K, stride)
	need(op, "dOut", dOut, n*oh*ow*cout)
	need(op, "in", in, n*h*w*cin)
	need(op, "dW", dW, f.KMax*f.KMax*f.CinMax*f.CoutMax)
	if dIn != nil {
		need(op, "dIn", dIn, n*h*w*cin)
	}

	k := f.K
	parts := partCount(n, 1)
	partials := make([]*[]float32, parts)
	for p := range parts {
		partials[p] = getScratch(k * k * cin * cout)
		clear(*partials[p])
	}

	parallelFor(n, parts, func(part, lo, hi int) {
		gw := *partials[part]
		for b := lo; b < hi; b++ {
			if dIn != nil {
				conv2dInputGrad(dIn, dOut, f, b, h, w, cin, cout, stride)
			}
			for oy := range oh {
				conv2dWeightGradRow(gw, dOut, in, f, b, oy, h, w, cin, cout, stride)
			}
		}
	})

	// Add the per-part weight gradients into the supernet layout, in order.
	for p := range parts {
		gw := *partials[p]
		for ky := range k {
			for kx := range k {
				for ci := range cin {
					dst := dW[f.at(ky, kx, ci):][:cout]
					src := gw[((ky*k+kx)*cin+ci)*cout:][:cout]
					for co := range dst {
						dst[co] += src[co]
					}
				}
			}
		}
		putScratch(partials[p])
	}
}

// conv2dInputGrad writes the input gradient of image b:
// dIn[b,iy,ix,ci] = Σ dOut[b,oy,ox,co]·f(ky,kx,ci,co) over the taps that read
// (iy, ix).
func conv2dInputGrad(dIn, dOut []float32, f ConvFilter, b, h, w, cin, cout, stride int) {
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	clear(dIn[b*h*w*cin : (b+1)*h*w*cin])
	for oy := range oh {
		for ox := range ow {
			g := dOut[((b*oh+oy)*ow+ox)*cout:][:cout]
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
					dx := dIn[((b*h+iy)*w+ix)*cin:][:cin]
					for ci := range dx {
						wt := f.Data[f.at(ky, kx, ci):][:cout]
						var s float32
						for co, gv := range g {
							s += gv * wt[co]
						}
						dx[ci] += s
					}
				}
			}
		}
	}
}

// conv2dWeightGradRow adds the weight-gradient contributions of output row
// oy of image b to gw, a compact [K][K][Cin][Cout] buffer:
//
//	gw[ky,kx,ci,co] += Σ_ox dOut[b,oy,ox,co]·in[b, oy·S+ky-K/2, ox·S+kx-K/2, ci]
func conv2dWeightGradRow(gw, dOut, in []float32, f ConvFilter, b, oy, h, w, cin, cout, stride int) {
	if useSIMD && conv2dWeightGradRowSIMD(gw, dOut, in, f, b, oy, h, w, cin, cout, stride) {
		return
	}
	k, pad := f.K, f.K/2
	oh, ow := outSize(h, k, stride), outSize(w, k, stride)
	for ox := range ow {
		g := dOut[((b*oh+oy)*ow+ox)*cout:][:cout]
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
				x := in[((b*h+iy)*w+ix)*cin:][:cin]
				for ci, xv := range x {
					acc := gw[((ky*k+kx)*cin+ci)*cout:][:cout]
					for co, gv := range g {
						acc[co] += gv * xv
					}
				}
			}
		}
	}
}
