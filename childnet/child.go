package childnet

import (
	"fmt"

	"nas/searchspace"
)

// layerKind is the convolution a layer starts with.
type layerKind int

const (
	layerStem      layerKind = iota // full k×k conv (HWIO weights)
	layerPointwise                  // 1×1 conv as a GEMM ([Cin][Cout] weights)
	layerDepthwise                  // k×k depthwise conv ([K][K][C] weights)
)

// layer is one conv → BN (→ ReLU6) unit of a child, bound to supernet tensors.
type layer struct {
	kind                 layerKind
	weight               *param
	k, stride            int
	cin, cout            int
	h, w, oh, ow         int // input and output sides
	gamma, beta          *param
	runMean, runVar      *param
	relu                 bool
	resStart, resEnd     bool // first and last layer of a residual block
	resFrom              int  // for resEnd: the layer whose output is the block input
	weightName, bnPrefix string
	torchConv, torchBN   string // PyTorch state_dict prefixes of the conv and BN
}

// Child is an architecture bound to a supernet's weights: block i of the
// architecture uses slot i of the supernet. A Child holds no activations (a
// Worker does), so binding one is cheap, and several workers may use one
// Child at the same time for training and evaluation. RecalibrateBN gives a
// Child BN statistics of its own; only one worker may recalibrate a Child
// at a time, and not while another evaluates it.
type Child struct {
	arch    searchspace.Arch
	net     *Supernet
	layers  []layer
	classes int
	featC   int // channels of the last feature map, the classifier's input
	fcW     *param
	fcB     *param
	// regions are the parts of trainable supernet tensors the child uses.
	regions []region
	// stats holds recalibrated running mean and variance per layer; nil
	// until RecalibrateBN runs, and Evaluate uses the supernet's otherwise.
	stats []bnStats
}

// bnStats is a child's own copy of the running statistics of one BN layer.
type bnStats struct{ mean, variance []float32 }

// Arch returns the architecture c was bound from.
func (c *Child) Arch() searchspace.Arch { return c.arch }

// Bind binds arch to the supernet's weights. It returns an error naming the
// block when arch does not fit the supernet. That is the case for a
// different input, class count, number of blocks or strides, an op the slot
// does not offer, or a kernel size, expansion ratio or channel count larger
// than the slot's.
func (s *Supernet) Bind(arch searchspace.Arch) (*Child, error) {
	if err := checkArchShape(arch); err != nil {
		return nil, err
	}
	spec := s.spec
	bad := func(format string, args ...any) error {
		return fmt.Errorf("childnet: architecture %s does not fit the supernet: "+format, append([]any{arch.ID()}, args...)...)
	}
	switch {
	case arch.Input != spec.input:
		return nil, bad("input %+v, supernet input %+v", arch.Input, spec.input)
	case arch.Classes != spec.classes:
		return nil, bad("%d classes, supernet has %d", arch.Classes, spec.classes)
	case len(arch.Blocks) != len(spec.slots):
		return nil, bad("%d blocks, supernet has %d slots", len(arch.Blocks), len(spec.slots))
	case arch.Stem.Kernel != spec.stem.Kernel || arch.Stem.Stride != spec.stem.Stride:
		return nil, bad("stem kernel %d stride %d, supernet stem kernel %d stride %d", arch.Stem.Kernel, arch.Stem.Stride, spec.stem.Kernel, spec.stem.Stride)
	case arch.Stem.Out > spec.stem.Out:
		return nil, bad("stem out %d exceeds the supernet's %d", arch.Stem.Out, spec.stem.Out)
	case arch.Head.Out > spec.headOut:
		return nil, bad("head out %d exceeds the supernet's %d", arch.Head.Out, spec.headOut)
	case (arch.Head.Out == 0) != (spec.headOut == 0):
		return nil, bad("head out %d, but the supernet head out is %d; both must have a head conv or neither", arch.Head.Out, spec.headOut)
	}

	c := &Child{arch: arch, net: s, classes: arch.Classes}
	side := arch.Resolution
	cin := arch.Stem.Out
	torchBlock := 0

	// Stem.
	stemOut := outSide(side, arch.Stem.Kernel, arch.Stem.Stride)
	c.addLayer(layer{kind: layerStem, k: arch.Stem.Kernel, stride: arch.Stem.Stride, cin: arch.Input.Channels, cout: cin,
		h: side, w: side, oh: stemOut, ow: stemOut, relu: true}, "stem", "stem.0", "stem.1")
	side = stemOut

	// Blocks.
	for i, b := range arch.Blocks {
		slot := spec.slots[i]
		if b.Op == searchspace.OpSkip {
			if !slot.skip {
				return nil, bad("block %d is skip, which slot %d does not offer", i, i)
			}
			continue
		}
		if b.Stride != slot.stride {
			return nil, bad("block %d has stride %d, slot %d has stride %d", i, b.Stride, i, slot.stride)
		}
		if b.Out > slot.cout || cin > slot.cin {
			return nil, bad("block %d maps %d→%d channels, slot %d holds at most %d→%d", i, cin, b.Out, i, slot.cin, slot.cout)
		}
		var op *opSpec
		if b.Op == searchspace.OpMBConv {
			op = slot.mb
		} else {
			op = slot.ds
		}
		if op == nil {
			return nil, bad("block %d is %s, which slot %d does not offer", i, b.Op, i)
		}
		if b.Kernel > op.kMax || (op.kMax-b.Kernel)%2 != 0 {
			return nil, bad("block %d has kernel %d, slot %d holds %d (a child kernel must be odd and at most the slot's)", i, b.Kernel, i, op.kMax)
		}
		oside := outSide(side, b.Kernel, b.Stride)
		prefix := fmt.Sprintf("blocks.%d.%s", i, b.Op)
		torch := fmt.Sprintf("blocks.%d", torchBlock)
		torchBlock++
		first := len(c.layers)

		if b.Op == searchspace.OpMBConv {
			if b.Expansion > op.tMax {
				return nil, bad("block %d has expansion %d, slot %d holds %d", i, b.Expansion, i, op.tMax)
			}
			hidden := cin * b.Expansion
			unit := 0
			if b.Expansion > 1 {
				c.addLayer(layer{kind: layerPointwise, cin: cin, cout: hidden, h: side, w: side, oh: side, ow: side, relu: true},
					prefix+".expand", fmt.Sprintf("%s.body.%d.0", torch, unit), fmt.Sprintf("%s.body.%d.1", torch, unit))
				unit++
			}
			c.addLayer(layer{kind: layerDepthwise, k: b.Kernel, stride: b.Stride, cin: hidden, cout: hidden, h: side, w: side, oh: oside, ow: oside, relu: true},
				prefix+".dw", fmt.Sprintf("%s.body.%d.0", torch, unit), fmt.Sprintf("%s.body.%d.1", torch, unit))
			unit++
			c.addLayer(layer{kind: layerPointwise, cin: hidden, cout: b.Out, h: oside, w: oside, oh: oside, ow: oside},
				prefix+".project", fmt.Sprintf("%s.body.%d.0", torch, unit), fmt.Sprintf("%s.body.%d.1", torch, unit))
			if b.Stride == 1 && cin == b.Out {
				c.layers[first].resStart = true
				last := &c.layers[len(c.layers)-1]
				last.resEnd = true
				last.resFrom = first - 1
			}
		} else {
			c.addLayer(layer{kind: layerDepthwise, k: b.Kernel, stride: b.Stride, cin: cin, cout: cin, h: side, w: side, oh: oside, ow: oside, relu: true},
				prefix+".dw", torch+".0.0", torch+".0.1")
			c.addLayer(layer{kind: layerPointwise, cin: cin, cout: b.Out, h: oside, w: oside, oh: oside, ow: oside, relu: true},
				prefix+".pw", torch+".1.0", torch+".1.1")
		}
		cin, side = b.Out, oside
	}

	// Head conv, then the classifier.
	if arch.Head.Out > 0 {
		c.addLayer(layer{kind: layerPointwise, cin: cin, cout: arch.Head.Out, h: side, w: side, oh: side, ow: side, relu: true},
			"head", "head.0", "head.1")
		cin = arch.Head.Out
	}
	c.featC = cin
	c.fcW, c.fcB = s.params["fc.weight"], s.params["fc.bias"]
	if cin > c.fcW.shape[0] {
		return nil, bad("classifier input %d exceeds the supernet's %d", cin, c.fcW.shape[0])
	}
	c.regions = append(c.regions, firstRegion(c.fcW, cin, c.classes), firstRegion(c.fcB, c.classes))
	return c, nil
}

// addLayer binds l to the supernet tensors named prefix+".conv" and
// prefix+".bn.*", records the regions it uses, and appends it.
func (c *Child) addLayer(l layer, prefix, torchConv, torchBN string) {
	p := c.net.params
	l.weightName, l.bnPrefix = prefix+".conv", prefix+".bn"
	l.torchConv, l.torchBN = torchConv, torchBN
	l.weight = p[l.weightName]
	l.gamma, l.beta = p[l.bnPrefix+".weight"], p[l.bnPrefix+".bias"]
	l.runMean, l.runVar = p[l.bnPrefix+".running_mean"], p[l.bnPrefix+".running_var"]
	if l.weight == nil || l.gamma == nil {
		panic(fmt.Sprintf("childnet: supernet has no tensors for %s", prefix))
	}
	switch l.kind {
	case layerStem:
		c.regions = append(c.regions, centreRegion(l.weight, l.k, l.cin, l.cout))
	case layerPointwise:
		c.regions = append(c.regions, firstRegion(l.weight, l.cin, l.cout))
	case layerDepthwise:
		c.regions = append(c.regions, centreRegion(l.weight, l.k, l.cout))
	}
	c.regions = append(c.regions, firstRegion(l.gamma, l.cout), firstRegion(l.beta, l.cout))
	c.layers = append(c.layers, l)
}

// outSide returns the output side of a conv with kernel k, stride s and
// padding k/2 over an input side of n.
func outSide(n, k, s int) int { return (n+2*(k/2)-k)/s + 1 }
