package latency

import (
	"math/rand/v2"

	"nas/kernels"
)

// bnLayer holds the inference-mode batch norm parameters of c channels.
type bnLayer struct{ gamma, beta, mean, variance []float32 }

func newBN(c int) bnLayer {
	bn := bnLayer{gamma: make([]float32, c), beta: make([]float32, c), mean: make([]float32, c), variance: make([]float32, c)}
	for i := range c {
		bn.gamma[i], bn.variance[i] = 1, 1
	}
	return bn
}

// apply normalises z into out over rows rows, clamping with ReLU6 in the
// same pass when relu is set, as childnet's eval-mode forward pass does.
func (bn bnLayer) apply(out, z []float32, rows, c int, relu bool) {
	if relu {
		kernels.BatchNormReLU6ForwardInference(out, z, bn.gamma, bn.beta, bn.mean, bn.variance, rows, c)
		return
	}
	kernels.BatchNormForwardInference(out, z, bn.gamma, bn.beta, bn.mean, bn.variance, rows, c)
}

// newRunner returns a function that runs the layers of key k once at batch 1
// on buffers and weights of its own. It calls the kernels in the order and
// with the buffer layout of childnet's eval-mode forward pass, where each
// conv writes its own output buffer and batch norm a second one. Weight
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
	z, out := make([]float32, rows*k.Out), make([]float32, rows*k.Out)
	bn := newBN(k.Out)
	return func() {
		src := x
		if resized != nil {
			kernels.ResizeBilinear(resized, x, 1, in.Height, in.Width, in.Channels, k.Side, k.Side)
			src = resized
		}
		kernels.Conv2DForward(z, src, filter, 1, k.Side, k.Side, in.Channels, k.Out, k.Stride)
		bn.apply(out, z, rows, k.Out, true)
	}
}

// pointwiseRunner runs a 1×1 conv, batch norm and ReLU6 on a side×side map:
// the head conv.
func pointwiseRunner(side, cin, cout int, rng *rand.Rand) func() {
	rows := side * side
	x := randomValues(rng, rows*cin)
	w := randomValues(rng, cin*cout)
	z, out := make([]float32, rows*cout), make([]float32, rows*cout)
	bn := newBN(cout)
	return func() {
		kernels.PointwiseForward(z, x, w, cout, rows, cin, cout)
		bn.apply(out, z, rows, cout, true)
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

	var expandW, expandZ, expanded []float32
	var expandBN bnLayer
	if k.Expansion > 1 {
		expandW = randomValues(rng, k.In*hidden)
		expandZ, expanded = make([]float32, rows*hidden), make([]float32, rows*hidden)
		expandBN = newBN(hidden)
	}
	dwFilter := kernels.DepthwiseFilter{Data: randomValues(rng, k.Kernel*k.Kernel*hidden), KMax: k.Kernel, CMax: hidden, K: k.Kernel}
	dwZ, dwOut := make([]float32, orows*hidden), make([]float32, orows*hidden)
	dwBN := newBN(hidden)
	projectW := randomValues(rng, hidden*k.Out)
	projectZ, out := make([]float32, orows*k.Out), make([]float32, orows*k.Out)
	projectBN := newBN(k.Out)
	residual := k.Stride == 1 && k.In == k.Out

	return func() {
		dwIn := x
		if k.Expansion > 1 {
			kernels.PointwiseForward(expandZ, x, expandW, hidden, rows, k.In, hidden)
			expandBN.apply(expanded, expandZ, rows, hidden, true)
			dwIn = expanded
		}
		kernels.DepthwiseForward(dwZ, dwIn, dwFilter, 1, k.Side, k.Side, hidden, k.Stride)
		dwBN.apply(dwOut, dwZ, orows, hidden, true)
		kernels.PointwiseForward(projectZ, dwOut, projectW, k.Out, orows, hidden, k.Out)
		projectBN.apply(out, projectZ, orows, k.Out, false)
		if residual {
			kernels.Add(out, out, x)
		}
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
	dwZ, dwOut := make([]float32, orows*k.In), make([]float32, orows*k.In)
	dwBN := newBN(k.In)
	pwW := randomValues(rng, k.In*k.Out)
	pwZ, out := make([]float32, orows*k.Out), make([]float32, orows*k.Out)
	pwBN := newBN(k.Out)
	return func() {
		kernels.DepthwiseForward(dwZ, x, dwFilter, 1, k.Side, k.Side, k.In, k.Stride)
		dwBN.apply(dwOut, dwZ, orows, k.In, true)
		kernels.PointwiseForward(pwZ, dwOut, pwW, k.Out, orows, k.In, k.Out)
		pwBN.apply(out, pwZ, orows, k.Out, true)
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
