package latency

import (
	"math/rand/v2"

	"nas/kernels"
)

// bnLayer holds the inference-mode batch norm parameters of c channels.
type bnLayer struct{ gamma, beta, mean, variance, scale, shift []float32 }

func newBN(c int) bnLayer {
	bn := bnLayer{gamma: make([]float32, c), beta: make([]float32, c), mean: make([]float32, c), variance: make([]float32, c),
		scale: make([]float32, c), shift: make([]float32, c)}
	for i := range c {
		bn.gamma[i], bn.variance[i] = 1, 1
	}
	return bn
}

// affine folds the batch norm into the transform that a conv applies as it
// writes its output, with ReLU6 when relu is set and the residual when it is
// not nil, as childnet's eval-mode forward pass does for every layer.
func (bn bnLayer) affine(relu bool, residual []float32) kernels.Affine {
	c := len(bn.gamma)
	kernels.BatchNormAffine(bn.scale, bn.shift, bn.gamma, bn.beta, bn.mean, bn.variance, c)
	return kernels.Affine{Scale: bn.scale, Shift: bn.shift, Residual: residual, ReLU6: relu}
}

// newRunner returns a function that runs the layers of key k once at batch 1
// on buffers and weights of its own. It calls the kernels in the order and
// with the buffer layout of childnet's eval-mode forward pass, where each
// conv applies its batch norm, ReLU6 and residual add as it writes its
// output buffer. Weight
// values are random because latency does not depend on them.
//
// NOTE: this mirrors childnet's forward pass by hand. If that pass gains or
// changes a layer, entries drift from end-to-end times; the profile's
// overhead term and `nas latency validate` show such a drift.
func newRunner(k Key, rng *rand.Rand) func() {
	switch k.Kind {
	case KindStem:
		return stemRunner(k, rng)
	case KindMBConv:
		return mbconvRunner(k, rng)
	case KindDSConv:
		return dsconvRunner(k, rng)
	case KindHead:
		return pointwiseRunner(k.Side, k.In, k.Out, rng)
	case KindClassifier:
		return classifierRunner(k, rng)
	}
	panic("latency: runner for unknown kind " + k.Kind)
}

// stemRunner resizes the input image to the resolution when it differs,
// then runs the k×k conv, batch norm and ReLU6.
func stemRunner(k Key, rng *rand.Rand) func() {
	in := k.Input
	x := randomValues(rng, in.Height*in.Width*in.Channels)
	var resized []float32
	if k.Side != in.Height {
		resized = make([]float32, k.Side*k.Side*in.Channels)
	}
	filter := kernels.ConvFilter{Data: randomValues(rng, k.Kernel*k.Kernel*in.Channels*k.Out), KMax: k.Kernel, CinMax: in.Channels, CoutMax: k.Out, K: k.Kernel}
	oside := outSide(k.Side, k.Kernel, k.Stride)
	rows := oside * oside
	out := make([]float32, rows*k.Out)
	bn := newBN(k.Out)
	return func() {
		src := x
		if resized != nil {
			kernels.ResizeBilinear(resized, x, 1, in.Height, in.Width, in.Channels, k.Side, k.Side)
			src = resized
		}
		kernels.Conv2DForwardAffine(out, src, filter, 1, k.Side, k.Side, in.Channels, k.Out, k.Stride, bn.affine(true, nil))
	}
}

// pointwiseRunner runs a 1×1 conv, batch norm and ReLU6 on a side×side map:
// the head conv.
func pointwiseRunner(side, cin, cout int, rng *rand.Rand) func() {
	rows := side * side
	x := randomValues(rng, rows*cin)
	w := randomValues(rng, cin*cout)
	out := make([]float32, rows*cout)
	bn := newBN(cout)
	return func() {
		kernels.PointwiseForwardAffine(out, x, w, cout, rows, cin, cout, bn.affine(true, nil))
	}
}

// mbconvRunner runs an inverted residual block: 1×1 expand (when the
// expansion ratio is above 1), k×k depthwise and 1×1 project. Each conv is
// followed by batch norm, and all but the projection by ReLU6. The residual
// add follows when the stride is 1 and the channels do not change.
func mbconvRunner(k Key, rng *rand.Rand) func() {
	hidden := k.In * k.Expansion
	rows := k.Side * k.Side
	oside := outSide(k.Side, k.Kernel, k.Stride)
	orows := oside * oside
	x := randomValues(rng, rows*k.In)

	var expandW, expanded []float32
	var expandBN bnLayer
	if k.Expansion > 1 {
		expandW = randomValues(rng, k.In*hidden)
		expanded = make([]float32, rows*hidden)
		expandBN = newBN(hidden)
	}
	dwFilter := kernels.DepthwiseFilter{Data: randomValues(rng, k.Kernel*k.Kernel*hidden), KMax: k.Kernel, CMax: hidden, K: k.Kernel}
	dwOut := make([]float32, orows*hidden)
	dwBN := newBN(hidden)
	projectW := randomValues(rng, hidden*k.Out)
	out := make([]float32, orows*k.Out)
	projectBN := newBN(k.Out)
	var residual []float32
	if k.Stride == 1 && k.In == k.Out {
		residual = x
	}

	return func() {
		dwIn := x
		if k.Expansion > 1 {
			kernels.PointwiseForwardAffine(expanded, x, expandW, hidden, rows, k.In, hidden, expandBN.affine(true, nil))
			dwIn = expanded
		}
		kernels.DepthwiseForwardAffine(dwOut, dwIn, dwFilter, 1, k.Side, k.Side, hidden, k.Stride, dwBN.affine(true, nil))
		kernels.PointwiseForwardAffine(out, dwOut, projectW, k.Out, orows, hidden, k.Out, projectBN.affine(false, residual))
	}
}

// dsconvRunner runs a depthwise-separable block: k×k depthwise and 1×1
// pointwise, each followed by batch norm and ReLU6.
func dsconvRunner(k Key, rng *rand.Rand) func() {
	rows := k.Side * k.Side
	oside := outSide(k.Side, k.Kernel, k.Stride)
	orows := oside * oside
	x := randomValues(rng, rows*k.In)
	dwFilter := kernels.DepthwiseFilter{Data: randomValues(rng, k.Kernel*k.Kernel*k.In), KMax: k.Kernel, CMax: k.In, K: k.Kernel}
	dwOut := make([]float32, orows*k.In)
	dwBN := newBN(k.In)
	pwW := randomValues(rng, k.In*k.Out)
	out := make([]float32, orows*k.Out)
	pwBN := newBN(k.Out)
	return func() {
		kernels.DepthwiseForwardAffine(dwOut, x, dwFilter, 1, k.Side, k.Side, k.In, k.Stride, dwBN.affine(true, nil))
		kernels.PointwiseForwardAffine(out, dwOut, pwW, k.Out, orows, k.In, k.Out, pwBN.affine(true, nil))
	}
}

// classifierRunner runs global average pooling and the linear layer with
// bias.
func classifierRunner(k Key, rng *rand.Rand) func() {
	x := randomValues(rng, k.Side*k.Side*k.In)
	w := randomValues(rng, k.In*k.Out)
	bias := randomValues(rng, k.Out)
	pooled, logits := make([]float32, k.In), make([]float32, k.Out)
	return func() {
		kernels.GlobalAvgPoolForward(pooled, x, 1, k.Side, k.Side, k.In)
		kernels.LinearForward(logits, pooled, w, k.Out, bias, 1, k.In, k.Out)
	}
}
