package gop

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"nas/kernels"
)

// Depthwise applies kernels.DepthwiseForward to x [N,H,W,C] with filter w
// [K][K][C] and the given stride, padding K/2.
func Depthwise(x, w *gorgonia.Node, stride int) (*gorgonia.Node, error) {
	xs, err := checkShape("Depthwise", "x", x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := checkShape("Depthwise", "w", w, 3)
	if err != nil {
		return nil, err
	}
	n, h, wd, c, k := xs[0], xs[1], xs[2], xs[3], ws[0]
	if ws[1] != k || ws[2] != c || k%2 == 0 || stride < 1 {
		return nil, fmt.Errorf("gop: Depthwise: filter shape %v and stride %d do not fit input %v; want [K K %d] with K odd", ws, stride, xs, c)
	}
	oh, ow := (h+2*(k/2)-k)/stride+1, (wd+2*(k/2)-k)/stride+1
	filter := func(data []float32) kernels.DepthwiseFilter {
		return kernels.DepthwiseFilter{Data: data, KMax: k, CMax: c, K: k}
	}

	op := &kernelOp{
		name:     fmt.Sprintf("Depthwise{%v,k%d,s%d}", xs, k, stride),
		inShapes: []tensor.Shape{xs, ws},
		outShape: tensor.Shape{n, oh, ow, c},
		forward: func(out []float32, in [][]float32) {
			kernels.DepthwiseForward(out, in[0], filter(in[1]), n, h, wd, c, stride)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, in [][]float32, dOut []float32) {
			// NOTE: the weight gradient is computed and discarded.
			dw := make([]float32, len(in[1]))
			kernels.DepthwiseBackward(dx, dw, dOut, in[0], filter(in[1]), n, h, wd, c, stride)
		}),
		gradOp(op, 1, "w", func(dw []float32, in [][]float32, dOut []float32) {
			kernels.DepthwiseBackward(nil, dw, dOut, in[0], filter(in[1]), n, h, wd, c, stride)
		}),
	}
	return apply(op, x, w)
}

// Conv2D applies kernels.Conv2DForward to x [N,H,W,Cin] with filter w
// [K][K][Cin][Cout] and the given stride, padding K/2.
func Conv2D(x, w *gorgonia.Node, stride int) (*gorgonia.Node, error) {
	xs, err := checkShape("Conv2D", "x", x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := checkShape("Conv2D", "w", w, 4)
	if err != nil {
		return nil, err
	}
	n, h, wd, cin, k, cout := xs[0], xs[1], xs[2], xs[3], ws[0], ws[3]
	if ws[1] != k || ws[2] != cin || k%2 == 0 || stride < 1 {
		return nil, fmt.Errorf("gop: Conv2D: filter shape %v and stride %d do not fit input %v; want [K K %d Cout] with K odd", ws, stride, xs, cin)
	}
	oh, ow := (h+2*(k/2)-k)/stride+1, (wd+2*(k/2)-k)/stride+1
	filter := func(data []float32) kernels.ConvFilter {
		return kernels.ConvFilter{Data: data, KMax: k, CinMax: cin, CoutMax: cout, K: k}
	}

	op := &kernelOp{
		name:     fmt.Sprintf("Conv2D{%v,%v,s%d}", xs, ws, stride),
		inShapes: []tensor.Shape{xs, ws},
		outShape: tensor.Shape{n, oh, ow, cout},
		forward: func(out []float32, in [][]float32) {
			kernels.Conv2DForward(out, in[0], filter(in[1]), n, h, wd, cin, cout, stride)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, in [][]float32, dOut []float32) {
			// NOTE: the weight gradient is computed and discarded.
			dw := make([]float32, len(in[1]))
			kernels.Conv2DBackward(dx, dw, dOut, in[0], filter(in[1]), n, h, wd, cin, cout, stride)
		}),
		gradOp(op, 1, "w", func(dw []float32, in [][]float32, dOut []float32) {
			kernels.Conv2DBackward(nil, dw, dOut, in[0], filter(in[1]), n, h, wd, cin, cout, stride)
		}),
	}
	return apply(op, x, w)
}

// Pointwise applies a 1×1 convolution, kernels.PointwiseForward, to x
// [N,H,W,Cin] with weights w [Cin][Cout].
func Pointwise(x, w *gorgonia.Node) (*gorgonia.Node, error) {
	xs, err := checkShape("Pointwise", "x", x, 4)
	if err != nil {
		return nil, err
	}
	ws, err := checkShape("Pointwise", "w", w, 2)
	if err != nil {
		return nil, err
	}
	rows, cin, cout := xs[0]*xs[1]*xs[2], xs[3], ws[1]
	if ws[0] != cin {
		return nil, fmt.Errorf("gop: Pointwise: weights %v do not fit input %v; want [%d Cout]", ws, xs, cin)
	}

	op := &kernelOp{
		name:     fmt.Sprintf("Pointwise{%v,%v}", xs, ws),
		inShapes: []tensor.Shape{xs, ws},
		outShape: tensor.Shape{xs[0], xs[1], xs[2], cout},
		forward: func(out []float32, in [][]float32) {
			kernels.PointwiseForward(out, in[0], in[1], cout, rows, cin, cout)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, in [][]float32, dOut []float32) {
			kernels.Gemm(false, true, rows, cin, cout, 1, dOut, cout, in[1], cout, 0, dx, cin)
		}),
		gradOp(op, 1, "w", func(dw []float32, in [][]float32, dOut []float32) {
			kernels.Gemm(true, false, cin, cout, rows, 1, in[0], cin, dOut, cout, 0, dw, cout)
		}),
	}
	return apply(op, x, w)
}

// BatchNorm normalises x [N,H,W,C] per channel with the statistics of the
// batch (training mode) and applies gamma and beta, both [C]. It does not
// track running statistics.
func BatchNorm(x, gamma, beta *gorgonia.Node) (*gorgonia.Node, error) {
	xs, err := checkShape("BatchNorm", "x", x, 4)
	if err != nil {
		return nil, err
	}
	c := xs[3]
	rows := xs[0] * xs[1] * xs[2]
	for _, p := range []*gorgonia.Node{gamma, beta} {
		if s := p.Shape(); s.Dims() != 1 || s[0] != c {
			return nil, fmt.Errorf("gop: BatchNorm: %s has shape %v, want [%d]", p.Name(), s, c)
		}
	}
	cs := tensor.Shape{c}

	// backward recomputes the batch statistics, which the forward op does
	// not keep, and runs kernels.BatchNormBackward.
	backward := func(in [][]float32, dOut []float32) (dx, dGamma, dBeta []float32) {
		mean, invStd := make([]float32, c), make([]float32, c)
		scratch := make([]float32, rows*c)
		kernels.BatchNormForwardTrain(scratch, mean, invStd, in[0], in[1], in[2], nil, nil, rows, c, 0)
		dx, dGamma, dBeta = make([]float32, rows*c), make([]float32, c), make([]float32, c)
		kernels.BatchNormBackward(dx, dGamma, dBeta, dOut, in[0], mean, invStd, in[1], rows, c)
		return dx, dGamma, dBeta
	}

	op := &kernelOp{
		name:     fmt.Sprintf("BatchNorm{%v}", xs),
		inShapes: []tensor.Shape{xs, cs, cs},
		outShape: xs,
		forward: func(out []float32, in [][]float32) {
			mean, invStd := make([]float32, c), make([]float32, c)
			kernels.BatchNormForwardTrain(out, mean, invStd, in[0], in[1], in[2], nil, nil, rows, c, 0)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(g []float32, in [][]float32, dOut []float32) {
			dx, _, _ := backward(in, dOut)
			copy(g, dx)
		}),
		gradOp(op, 1, "gamma", func(g []float32, in [][]float32, dOut []float32) {
			_, dGamma, _ := backward(in, dOut)
			copy(g, dGamma)
		}),
		gradOp(op, 2, "beta", func(g []float32, in [][]float32, dOut []float32) {
			_, _, dBeta := backward(in, dOut)
			copy(g, dBeta)
		}),
	}
	return apply(op, x, gamma, beta)
}

// ReLU6 applies min(max(x, 0), 6) elementwise.
func ReLU6(x *gorgonia.Node) (*gorgonia.Node, error) {
	xs := x.Shape().Clone()
	op := &kernelOp{
		name:     fmt.Sprintf("ReLU6{%v}", xs),
		inShapes: []tensor.Shape{xs},
		outShape: xs,
		forward:  func(out []float32, in [][]float32) { kernels.ReLU6Forward(out, in[0]) },
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, in [][]float32, dOut []float32) {
			kernels.ReLU6Backward(dx, dOut, in[0])
		}),
	}
	return apply(op, x)
}

// GlobalAvgPool averages x [N,H,W,C] over height and width into [N,C].
func GlobalAvgPool(x *gorgonia.Node) (*gorgonia.Node, error) {
	xs, err := checkShape("GlobalAvgPool", "x", x, 4)
	if err != nil {
		return nil, err
	}
	n, h, w, c := xs[0], xs[1], xs[2], xs[3]
	op := &kernelOp{
		name:     fmt.Sprintf("GlobalAvgPool{%v}", xs),
		inShapes: []tensor.Shape{xs},
		outShape: tensor.Shape{n, c},
		forward: func(out []float32, in [][]float32) {
			kernels.GlobalAvgPoolForward(out, in[0], n, h, w, c)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, _ [][]float32, dOut []float32) {
			kernels.GlobalAvgPoolBackward(dx, dOut, n, h, w, c)
		}),
	}
	return apply(op, x)
}

// Linear computes x·w + b for x [N,Cin], w [Cin][Cout] and b [Cout].
func Linear(x, w, b *gorgonia.Node) (*gorgonia.Node, error) {
	xs, err := checkShape("Linear", "x", x, 2)
	if err != nil {
		return nil, err
	}
	ws, err := checkShape("Linear", "w", w, 2)
	if err != nil {
		return nil, err
	}
	n, cin, cout := xs[0], xs[1], ws[1]
	if ws[0] != cin || b.Shape().Dims() != 1 || b.Shape()[0] != cout {
		return nil, fmt.Errorf("gop: Linear: w %v and b %v do not fit x %v; want [%d Cout] and [Cout]", ws, b.Shape(), xs, cin)
	}

	op := &kernelOp{
		name:     fmt.Sprintf("Linear{%v,%v}", xs, ws),
		inShapes: []tensor.Shape{xs, ws, {cout}},
		outShape: tensor.Shape{n, cout},
		forward: func(out []float32, in [][]float32) {
			kernels.LinearForward(out, in[0], in[1], cout, in[2], n, cin, cout)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "x", func(dx []float32, in [][]float32, dOut []float32) {
			kernels.Gemm(false, true, n, cin, cout, 1, dOut, cout, in[1], cout, 0, dx, cin)
		}),
		gradOp(op, 1, "w", func(dw []float32, in [][]float32, dOut []float32) {
			kernels.Gemm(true, false, cin, cout, n, 1, in[0], cin, dOut, cout, 0, dw, cout)
		}),
		gradOp(op, 2, "b", func(db []float32, _ [][]float32, dOut []float32) {
			for i := range n {
				for o := range cout {
					db[o] += dOut[i*cout+o]
				}
			}
		}),
	}
	return apply(op, x, w, b)
}

// SoftmaxCrossEntropy returns the mean cross-entropy loss of logits [N,
// classes] against labels, a scalar node. The labels are fixed in the op.
func SoftmaxCrossEntropy(logits *gorgonia.Node, labels []int) (*gorgonia.Node, error) {
	ls, err := checkShape("SoftmaxCrossEntropy", "logits", logits, 2)
	if err != nil {
		return nil, err
	}
	n, classes := ls[0], ls[1]
	if len(labels) != n {
		return nil, fmt.Errorf("gop: SoftmaxCrossEntropy: %d labels for %d rows of logits", len(labels), n)
	}
	for i, l := range labels {
		if l < 0 || l >= classes {
			return nil, fmt.Errorf("gop: SoftmaxCrossEntropy: label %d of sample %d is outside [0, %d)", l, i, classes)
		}
	}
	labels = append([]int(nil), labels...)

	op := &kernelOp{
		// The labels are part of the name, so ops with different labels
		// never share a hash.
		name:     fmt.Sprintf("SoftmaxCrossEntropy{%v,%v}", ls, labels),
		inShapes: []tensor.Shape{ls},
		outShape: tensor.ScalarShape(),
		forward: func(out []float32, in [][]float32) {
			out[0] = kernels.SoftmaxCrossEntropy(nil, in[0], labels, n, classes)
		},
	}
	op.grads = []func() *kernelOp{
		gradOp(op, 0, "logits", func(dLogits []float32, in [][]float32, dOut []float32) {
			kernels.SoftmaxCrossEntropy(dLogits, in[0], labels, n, classes)
			for i := range dLogits {
				dLogits[i] *= dOut[0]
			}
		}),
	}
	return apply(op, logits)
}

// ResizeBilinear resizes x [N,H,W,C] to [N,OH,OW,C] with
// kernels.ResizeBilinear. It has no gradient.
func ResizeBilinear(x *gorgonia.Node, oh, ow int) (*gorgonia.Node, error) {
	xs, err := checkShape("ResizeBilinear", "x", x, 4)
	if err != nil {
		return nil, err
	}
	n, h, w, c := xs[0], xs[1], xs[2], xs[3]
	op := &kernelOp{
		name:     fmt.Sprintf("ResizeBilinear{%v,%d,%d}", xs, oh, ow),
		inShapes: []tensor.Shape{xs},
		outShape: tensor.Shape{n, oh, ow, c},
		forward: func(out []float32, in [][]float32) {
			kernels.ResizeBilinear(out, in[0], n, h, w, c, oh, ow)
		},
	}
	return apply(op, x)
}
