package kernels

// ReLU6Forward sets out[i] = min(max(in[i], 0), 6). out and in may be the
// same slice.
//
// NOTE: a NaN input stays NaN in plain Go but becomes 0 on the AVX-512 path,
// whose max instruction returns its second operand for NaN.
func ReLU6Forward(out, in []float32) {
	need("ReLU6Forward", "out", out, len(in))
	out = out[:len(in)]
	parallelFor(len(in), partCount(len(in), 1<<15), func(_, lo, hi int) {
		if useSIMD && relu6SIMD(out[lo:hi], in[lo:hi]) {
			return
		}
		for i, v := range in[lo:hi] {
			out[lo+i] = clampReLU6(v, true)
		}
	})
}

// ReLU6Backward sets dIn[i] = dOut[i] where 0 < x[i] < 6 and 0 elsewhere. x
// may be the input or the output of ReLU6Forward, since both give the same
// mask. dIn is overwritten and may be the same slice as dOut.
func ReLU6Backward(dIn, dOut, x []float32) {
	need("ReLU6Backward", "dOut", dOut, len(x))
	need("ReLU6Backward", "dIn", dIn, len(x))
	parallelFor(len(x), partCount(len(x), 1<<15), func(_, lo, hi int) {
		if useSIMD && relu6BackwardSIMD(dIn[lo:hi], dOut[lo:hi], x[lo:hi]) {
			return
		}
		for i, v := range x[lo:hi] {
			dIn[lo+i] = maskReLU6(dOut[lo+i], v)
		}
	})
}

// Add sets out[i] = a[i] + b[i], the forward pass of a residual connection.
// Its backward pass passes the gradient unchanged to both inputs. out may be
// a or b.
func Add(out, a, b []float32) {
	need("Add", "b", b, len(a))
	need("Add", "out", out, len(a))
	parallelFor(len(a), partCount(len(a), 1<<15), func(_, lo, hi int) {
		for i, v := range a[lo:hi] {
			out[lo+i] = v + b[lo+i]
		}
	})
}
