package kernels

// ResizeBilinear resizes [N,H,W,C] images to [N,OH,OW,C] by bilinear
// interpolation with half-pixel centres and align_corners=false, the
// convention of PyTorch's F.interpolate(mode="bilinear"): output pixel d reads
// source coordinate max((d+0.5)·H/OH - 0.5, 0). out is overwritten. There is
// no backward pass, because only input images are resized.
func ResizeBilinear(out, in []float32, n, h, w, c, oh, ow int) {
	const op = "ResizeBilinear"
	need(op, "in", in, n*h*w*c)
	need(op, "out", out, n*oh*ow*c)

	parallelFor(n*oh, partCount(n*oh, 8), func(_, lo, hi int) {
		for row := lo; row < hi; row++ {
			b, oy := row/oh, row%oh
			y0, y1, fy := sourceIndex(oy, h, oh)
			for ox := range ow {
				x0, x1, fx := sourceIndex(ox, w, ow)
				p00 := in[((b*h+y0)*w+x0)*c:][:c]
				p01 := in[((b*h+y0)*w+x1)*c:][:c]
				p10 := in[((b*h+y1)*w+x0)*c:][:c]
				p11 := in[((b*h+y1)*w+x1)*c:][:c]
				dst := out[((b*oh+oy)*ow+ox)*c:][:c]
				for ch := range dst {
					top := p00[ch] + fx*(p01[ch]-p00[ch])
					bottom := p10[ch] + fx*(p11[ch]-p10[ch])
					dst[ch] = top + fy*(bottom-top)
				}
			}
		}
	})
}

// sourceIndex maps output index d of a side resized from size to outSize onto
// the two source indices it blends and the weight of the second.
func sourceIndex(d, size, outSize int) (i0, i1 int, frac float32) {
	scale := float32(size) / float32(outSize)
	src := max((float32(d)+0.5)*scale-0.5, 0)
	i0 = int(src)
	i1 = min(i0+1, size-1)
	return i0, i1, src - float32(i0)
}
