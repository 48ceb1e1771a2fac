package searchspace

import (
	"errors"
	"fmt"
	"math"
)

// ErrCostOverflow is returned by Cost when a count does not fit in int64,
// which only architectures far larger than any real network reach.
var ErrCostOverflow = errors.New("searchspace: cost overflows int64")

// Layer kinds of a LayerCost.
const (
	KindResize    = "resize"    // bilinear resize of the input to Resolution×Resolution
	KindConv      = "conv"      // standard convolution (the stem)
	KindDepthwise = "depthwise" // depthwise convolution
	KindPointwise = "pointwise" // 1×1 convolution
	KindAdd       = "add"       // residual add
	KindIdentity  = "identity"  // a skip block
	KindPool      = "pool"      // global average pooling
	KindLinear    = "linear"    // the classifier
)

// LayerCost is one row of a cost report. Every convolution row includes the
// batch normalization and ReLU6 that follow it.
type LayerCost struct {
	// Name is "resize", "stem", "block<i>.<part>" (expand, depthwise,
	// project, pointwise, add, skip), "head", "pool" or "classifier".
	Name   string `json:"name"`
	Kind   string `json:"kind"`
	Input  Shape  `json:"input"`
	Output Shape  `json:"output"`
	// Params counts conv and linear weights, linear biases, and the γ and
	// β of batch normalization. Convolutions have no bias.
	Params int64 `json:"params"`
	// MACs counts the multiply-accumulates of one image.
	MACs int64 `json:"macs"`
	// ActivationBytes is the float32 memory alive while this layer runs at
	// batch 1; see CostReport.PeakActivationBytes.
	ActivationBytes int64 `json:"activation_bytes"`
}

// CostReport is the static cost of an architecture at batch 1.
type CostReport struct {
	Layers []LayerCost `json:"layers"`
	// Params is the number of trainable parameters: conv weights, linear
	// weights and biases, and batch-norm γ and β. BN running statistics are
	// buffers and are not counted.
	Params int64 `json:"params"`
	// MACs is the sum of multiply-accumulates of the conv and linear layers:
	// k·k·Cin·Cout·OH·OW for a standard conv, k·k·C·OH·OW for a depthwise
	// conv, Cin·Cout·H·W for a 1×1 conv and in·out for the classifier.
	// Resize, batch norm, activations, residual adds and pooling count 0.
	MACs int64 `json:"macs"`
	// PeakActivationBytes is the maximum over layers of the float32 bytes
	// alive at once at batch 1. For one layer these are its input and its
	// output. Inside a residual block they include the block input saved
	// for the add, unless that is the layer's input. A residual add counts
	// both its inputs and its output. Weights, gradients and scratch
	// buffers are not counted.
	PeakActivationBytes int64 `json:"peak_activation_bytes"`
	// PeakLayer names the layer where the peak occurs first.
	PeakLayer string `json:"peak_layer"`
}

// costBuilder walks an architecture and appends rows.
type costBuilder struct {
	report   CostReport
	cur      Shape // the current feature map
	saved    int64 // elements of a residual block input held for the add, or 0
	overflow bool  // set by mul and sum when a result left int64
}

// mul returns the product of v, or 0 and sets overflow.
func (b *costBuilder) mul(v ...int64) int64 {
	p := int64(1)
	for _, x := range v {
		if x != 0 && (p > math.MaxInt64/x || p < math.MinInt64/x) {
			b.overflow = true
			return 0
		}
		p *= x
	}
	return p
}

// sum returns the sum of non-negative v, or 0 and sets overflow.
func (b *costBuilder) sum(v ...int64) int64 {
	s := int64(0)
	for _, x := range v {
		if s > math.MaxInt64-x {
			b.overflow = true
			return 0
		}
		s += x
	}
	return s
}

func (b *costBuilder) elements(s Shape) int64 {
	return b.mul(int64(s.Height), int64(s.Width), int64(s.Channels))
}

func (b *costBuilder) add(name, kind string, out Shape, params, macs, extraElements int64) {
	bytes := b.mul(4, b.sum(b.elements(b.cur), b.elements(out), extraElements))
	b.report.Layers = append(b.report.Layers, LayerCost{
		Name: name, Kind: kind, Input: b.cur, Output: out,
		Params: params, MACs: macs, ActivationBytes: bytes,
	})
	b.report.Params = b.sum(b.report.Params, params)
	b.report.MACs = b.sum(b.report.MACs, macs)
	if bytes > b.report.PeakActivationBytes {
		b.report.PeakActivationBytes = bytes
		b.report.PeakLayer = name
	}
	b.cur = out
}

// conv appends a k×k convolution with BN from the current map to out
// channels; a depthwise conv has out equal to its input channels.
func (b *costBuilder) conv(name, kind string, kernel, stride, out int, depthwise bool) {
	in := b.cur
	side := func(x int) int { return convOutput(x, kernel, stride) }
	outShape := Shape{Height: side(in.Height), Width: side(in.Width), Channels: out}
	k2 := int64(kernel) * int64(kernel)
	inPerGroup := int64(in.Channels)
	if depthwise {
		inPerGroup = 1
	}
	weights := b.mul(k2, inPerGroup, int64(out))
	params := b.sum(weights, 2*int64(out))
	macs := b.mul(weights, int64(outShape.Height), int64(outShape.Width))
	b.add(name, kind, outShape, params, macs, b.saved)
}

// Cost returns the per-layer and total parameters, MACs and peak activation
// memory of a at batch 1. It validates a first and returns its error.
func Cost(a Arch) (CostReport, error) {
	if err := a.Validate(); err != nil {
		return CostReport{}, err
	}
	b := &costBuilder{cur: a.Input}

	if a.Resolution != a.Input.Height || a.Resolution != a.Input.Width {
		b.add("resize", KindResize, Shape{Height: a.Resolution, Width: a.Resolution, Channels: a.Input.Channels}, 0, 0, 0)
	} else {
		b.cur = Shape{Height: a.Resolution, Width: a.Resolution, Channels: a.Input.Channels}
	}
	b.conv("stem", KindConv, a.Stem.Kernel, a.Stem.Stride, a.Stem.Out, false)

	for i, blk := range a.Blocks {
		name := fmt.Sprintf("block%d.", i)
		switch blk.Op {
		case OpSkip:
			// The identity reads and returns the same tensor.
			b.report.Layers = append(b.report.Layers, LayerCost{
				Name: name + "skip", Kind: KindIdentity, Input: b.cur, Output: b.cur,
				ActivationBytes: b.mul(4, b.elements(b.cur)),
			})
		case OpDSConv:
			b.conv(name+"depthwise", KindDepthwise, blk.Kernel, blk.Stride, b.cur.Channels, true)
			b.conv(name+"pointwise", KindPointwise, 1, 1, blk.Out, false)
		case OpMBConv:
			b.mbconv(name, blk)
		}
	}

	if a.Head.Out > 0 {
		b.conv("head", KindPointwise, 1, 1, a.Head.Out, false)
	}
	c := int64(b.cur.Channels)
	b.add("pool", KindPool, Shape{Height: 1, Width: 1, Channels: b.cur.Channels}, 0, 0, 0)
	weights := b.mul(c, int64(a.Classes))
	b.add("classifier", KindLinear, Shape{Height: 1, Width: 1, Channels: a.Classes}, b.sum(weights, int64(a.Classes)), weights, 0)

	if b.overflow {
		return CostReport{}, fmt.Errorf("%w: architecture %s", ErrCostOverflow, a.ID())
	}
	return b.report, nil
}

// mbconv appends the rows of an inverted residual block: an expand 1×1 conv
// unless the expansion ratio is 1, the depthwise conv, the linear project
// 1×1 conv and, for stride 1 with equal channels, the residual add.
func (b *costBuilder) mbconv(name string, blk Block) {
	in := b.cur
	residual := blk.Stride == 1 && in.Channels == blk.Out
	hidden := in.Channels * blk.Expansion

	// The first conv reads the block input itself; from the next one on, a
	// residual block holds it for the add.
	if blk.Expansion != 1 {
		b.conv(name+"expand", KindPointwise, 1, 1, hidden, false)
		if residual {
			b.saved = b.elements(in)
		}
		b.conv(name+"depthwise", KindDepthwise, blk.Kernel, blk.Stride, hidden, true)
	} else {
		b.conv(name+"depthwise", KindDepthwise, blk.Kernel, blk.Stride, hidden, true)
		if residual {
			b.saved = b.elements(in)
		}
	}
	b.conv(name+"project", KindPointwise, 1, 1, blk.Out, false)
	if residual {
		// Inputs: the projection (current map) and the saved block input;
		// output: their sum.
		b.saved = 0
		b.add(name+"add", KindAdd, b.cur, 0, 0, b.elements(in))
	}
}
