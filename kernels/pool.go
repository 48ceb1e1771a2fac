package kernels

// GlobalAvgPoolForward averages each channel over height and width:
// out[n,ch] = (1/(H·W)) Σ_{y,x} in[n,y,x,ch]. in is [N,H,W,C] and out is
// [N,C], overwritten.
func GlobalAvgPoolForward(out, in []float32, n, h, w, c int) {
	const op = "GlobalAvgPoolForward"
	need(op, "in", in, n*h*w*c)
	need(op, "out", out, n*c)
	scale := 1 / float32(h*w)
	parallelFor(n, partCount(n, 1), func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			acc := out[b*c : (b+1)*c]
			clear(acc)
			for p := range h * w {
				x := in[(b*h*w+p)*c:][:c]
				for ch := range acc {
					acc[ch] += x[ch]
				}
			}
			for ch := range acc {
				acc[ch] *= scale
			}
		}
	})
}

// GlobalAvgPoolBackward spreads dOut evenly over height and width:
// dIn[n,y,x,ch] = dOut[n,ch] / (H·W). dIn ([N,H,W,C]) is overwritten.
func GlobalAvgPoolBackward(dIn, dOut []float32, n, h, w, c int) {
	const op = "GlobalAvgPoolBackward"
	need(op, "dIn", dIn, n*h*w*c)
	need(op, "dOut", dOut, n*c)
	scale := 1 / float32(h*w)
	parallelFor(n, partCount(n, 1), func(_, lo, hi int) {
		for b := lo; b < hi; b++ {
			g := dOut[b*c : (b+1)*c]
			for p := range h * w {
				dx := dIn[(b*h*w+p)*c:][:c]
				for ch := range dx {
					dx[ch] = g[ch] * scale
				}
			}
		}
	})
}
