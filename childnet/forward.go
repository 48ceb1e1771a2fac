package childnet

import (
	"nas/kernels"
)

// bnMode selects how the forward pass normalises.
type bnMode int

const (
	// bnTrain normalises with batch statistics and keeps them for the
	// backward pass.
	bnTrain bnMode = iota
	// bnEval normalises with running statistics: the child's own after
	// RecalibrateBN, the supernet's otherwise.
	bnEval
)

// forward runs child c over the prepared batch and leaves the logits in
// w.acts.logits. With stats not nil (bnTrain only) it adds each layer's conv
// output to stats[i], for BN recalibration. The caller holds the supernet's
// read lock.
func (w *Worker) forward(c *Child, mode bnMode, stats []*kernels.BatchNormStats) {
	a := &w.acts
	n := a.n
	in := a.input
	for i := range c.layers {
		l := &c.layers[i]
		if mode == bnEval {
			w.forwardEvalLayer(c, i, in)
			in = a.a[i]
			continue
		}
		z, out := a.z[i], a.a[i]

		// Convolution.
		switch l.kind {
		case layerStem:
			kernels.Conv2DForward(z, in, l.convFilter(), n, l.h, l.w, l.cin, l.cout, l.stride)
		case layerPointwise:
			kernels.PointwiseForward(z, in, l.weight.data, l.weight.shape[1], n*l.h*l.w, l.cin, l.cout)
		case layerDepthwise:
			kernels.DepthwiseForward(z, in, l.depthwiseFilter(), n, l.h, l.w, l.cin, l.stride)
		}

		// Batch norm with batch statistics, then ReLU6 or the residual add.
		// When recalibrating, the statistics are computed once, for the
		// accumulator, and batch norm in inference mode with them gives the
		// training-mode output (the backward pass, which needs invStd, does
		// not follow).
		rows := n * l.oh * l.ow
		gamma, beta := l.gamma.data[:l.cout], l.beta.data[:l.cout]
		switch {
		case stats != nil:
			if len(w.affine) < l.cout {
				w.affine = make([]float32, 2*l.cout)
			}
			mean, variance := a.mean[i], w.affine[:l.cout]
			stats[i].AddBatch(mean, variance, z, rows)
			if l.relu {
				kernels.BatchNormReLU6ForwardInference(out, z, gamma, beta, mean, variance, rows, l.cout)
			} else {
				kernels.BatchNormForwardInference(out, z, gamma, beta, mean, variance, rows, l.cout)
			}
		case l.relu:
			kernels.BatchNormReLU6ForwardTrain(out, a.mean[i], a.invStd[i], z, gamma, beta, nil, nil, rows, l.cout, 0)
		default:
			kernels.BatchNormForwardTrain(out, a.mean[i], a.invStd[i], z, gamma, beta, nil, nil, rows, l.cout, 0)
		}
		if l.resEnd {
			kernels.Add(out, out, a.a[l.resFrom])
		}
		in = out
	}

	// Global average pooling and the classifier.
	last := &c.layers[len(c.layers)-1]
	kernels.GlobalAvgPoolForward(a.pooled, in, n, last.oh, last.ow, c.featC)
	kernels.LinearForward(a.logits, a.pooled, c.fcW.data, c.fcW.shape[1], c.fcB.data, n, c.featC, c.classes)
}

// forwardEvalLayer runs layer i of c in inference mode on in, writing the
// layer output a.a[i]. Batch norm uses the child's recalibrated statistics
// when it has them and the supernet's running statistics otherwise. It is
// folded into a per-channel transform that the convolution applies, with
// ReLU6 or the residual add, as it writes each row. The conv output a.z[i]
// is not written.
func (w *Worker) forwardEvalLayer(c *Child, i int, in []float32) {
	a := &w.acts
	n := a.n
	l := &c.layers[i]
	mean, variance := l.runMean.data[:l.cout], l.runVar.data[:l.cout]
	if c.stats != nil {
		mean, variance = c.stats[i].mean, c.stats[i].variance
	}
	if len(w.affine) < 2*l.cout {
		w.affine = make([]float32, 2*l.cout)
	}
	e := kernels.Affine{Scale: w.affine[:l.cout], Shift: w.affine[l.cout : 2*l.cout], ReLU6: l.relu}
	kernels.BatchNormAffine(e.Scale, e.Shift, l.gamma.data, l.beta.data, mean, variance, l.cout)
	if l.resEnd {
		e.Residual = a.a[l.resFrom]
	}

	out := a.a[i]
	switch l.kind {
	case layerStem:
		kernels.Conv2DForwardAffine(out, in, l.convFilter(), n, l.h, l.w, l.cin, l.cout, l.stride, e)
	case layerPointwise:
		kernels.PointwiseForwardAffine(out, in, l.weight.data, l.weight.shape[1], n*l.h*l.w, l.cin, l.cout, e)
	case layerDepthwise:
		kernels.DepthwiseForwardAffine(out, in, l.depthwiseFilter(), n, l.h, l.w, l.cin, l.stride, e)
	}
}

// backward computes the gradients of the mean loss of the last bnTrain
// forward pass, given dLogits, into w.grads. It overwrites (does not add to)
// the gradient regions c uses. The caller holds the supernet's read lock.
func (w *Worker) backward(c *Child) {
	a := &w.acts
	n := a.n

	// Zero the gradient regions this child uses; the kernels accumulate.
	for _, r := range c.regions {
		g := w.grads[r.p.name]
		r.runs(func(start, length int) { clear(g[start : start+length]) })
	}

	// Classifier and pooling.
	last := &c.layers[len(c.layers)-1]
	kernels.LinearBackward(a.dPooled, w.grads[c.fcW.name], w.grads[c.fcB.name], a.dLogits, a.pooled, c.fcW.data, c.fcW.shape[1], n, c.featC, c.classes)
	cur, spare := a.g0, a.g1
	kernels.GlobalAvgPoolBackward(cur[:n*last.oh*last.ow*c.featC], a.dPooled, n, last.oh, last.ow, c.featC)

	// Layers in reverse. cur holds the gradient with respect to the
	// layer's output. At the end of a residual block that gradient is
	// kept in keep, the block continues in spare, and keep is added to the
	// gradient of the block input at the block's first layer.
	var keep []float32
	for i := len(c.layers) - 1; i >= 0; i-- {
		l := &c.layers[i]
		outSize := n * l.oh * l.ow * l.cout
		inSize := n * l.h * l.w * l.cin
		dOut := cur[:outSize]
		dst := cur
		if l.resEnd {
			keep = dOut
			dst = spare
		}

		// Batch norm, with the ReLU6 mask taken from the layer output.
		rows := n * l.oh * l.ow
		dz := a.dz[:outSize]
		dGamma, dBeta := w.grads[l.gamma.name][:l.cout], w.grads[l.beta.name][:l.cout]
		if l.relu {
			kernels.BatchNormReLU6Backward(dz, dGamma, dBeta, dOut, a.z[i], a.mean[i], a.invStd[i], l.gamma.data[:l.cout], l.beta.data[:l.cout], rows, l.cout)
		} else {
			kernels.BatchNormBackward(dz, dGamma, dBeta, dOut, a.z[i], a.mean[i], a.invStd[i], l.gamma.data[:l.cout], rows, l.cout)
		}

		// Convolution. The stem needs no input gradient.
		var dIn []float32
		if i > 0 {
			dIn = dst[:inSize]
		}
		in := a.input
		if i > 0 {
			in = a.a[i-1]
		}
		gw := w.grads[l.weight.name]
		switch l.kind {
		case layerStem:
			kernels.Conv2DBackward(dIn, gw, dz, in, l.convFilter(), n, l.h, l.w, l.cin, l.cout, l.stride)
		case layerPointwise:
			kernels.PointwiseBackward(dIn, gw, dz, in, l.weight.data, l.weight.shape[1], n*l.h*l.w, l.cin, l.cout)
		case layerDepthwise:
			kernels.DepthwiseBackward(dIn, gw, dz, in, l.depthwiseFilter(), n, l.h, l.w, l.cin, l.stride)
		}

		if l.resStart {
			kernels.Add(dIn, dIn, keep)
		}
		if l.resEnd {
			cur, spare = spare, cur
		}
	}
}

// convFilter returns the stem weight view of l.
func (l *layer) convFilter() kernels.ConvFilter {
	s := l.weight.shape // [K][K][CinMax][CoutMax]
	return kernels.ConvFilter{Data: l.weight.data, KMax: s[0], CinMax: s[2], CoutMax: s[3], K: l.k}
}

// depthwiseFilter returns the depthwise weight view of l.
func (l *layer) depthwiseFilter() kernels.DepthwiseFilter {
	s := l.weight.shape // [KMax][KMax][CMax]
	return kernels.DepthwiseFilter{Data: l.weight.data, KMax: s[0], CMax: s[2], K: l.k}
}
