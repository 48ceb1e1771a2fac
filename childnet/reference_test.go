package childnet

import (
	"math"

	"nas/searchspace"
)

// This file holds a naive float64 forward pass of a bound child, written
// from the layer definitions (PyTorch semantics: zero padding k/2, BN in
// training mode with the biased batch variance and ε = 1e-5, ReLU6, residual
// add, global average pooling, linear, mean cross-entropy). It shares no
// code with the kernels, so it is the oracle for the forward pass and, by
// finite differences, for the backward pass.

// refParams is a float64 copy of supernet tensors, keyed by name.
type refParams map[string][]float64

func newRefParams(s *Supernet) refParams {
	p := refParams{}
	for name, t := range s.params {
		v := make([]float64, len(t.data))
		for i, x := range t.data {
			v[i] = float64(x)
		}
		p[name] = v
	}
	return p
}

// refTensor is an NHWC float64 activation.
type refTensor struct {
	n, h, w, c int
	v          []float64
}

func (t refTensor) at(n, y, x, ch int) float64 { return t.v[((n*t.h+y)*t.w+x)*t.c+ch] }

// refLoss returns the mean cross-entropy of child c on x (at the child's
// resolution, which must equal the input size) and the logits, computed in
// float64 with weights from p.
func refLoss(c *Child, p refParams, x []float32, labels []int32, n int) (float64, []float64) {
	in := c.arch.Input
	cur := refTensor{n: n, h: in.Height, w: in.Width, c: in.Channels, v: make([]float64, n*in.Height*in.Width*in.Channels)}
	for i := range cur.v {
		cur.v[i] = float64(x[i])
	}
	outs := make([]refTensor, len(c.layers))
	for i := range c.layers {
		l := &c.layers[i]
		z := refConv(l, p, cur)
		y := refBatchNorm(z, p[l.bnPrefix+".weight"], p[l.bnPrefix+".bias"])
		if l.relu {
			for j, v := range y.v {
				y.v[j] = math.Min(math.Max(v, 0), 6)
			}
		}
		if l.resEnd {
			for j := range y.v {
				y.v[j] += outs[l.resFrom].v[j]
			}
		}
		outs[i] = y
		cur = y
	}

	// Pool, classify, and take the mean cross-entropy.
	fcW, fcB := p["fc.weight"], p["fc.bias"]
	ldw := c.fcW.shape[1]
	logits := make([]float64, n*c.classes)
	var loss float64
	for b := range n {
		pooled := make([]float64, cur.c)
		for y := range cur.h {
			for x := range cur.w {
				for ch := range cur.c {
					pooled[ch] += cur.at(b, y, x, ch) / float64(cur.h*cur.w)
				}
			}
		}
		row := logits[b*c.classes : (b+1)*c.classes]
		maxLogit := math.Inf(-1)
		for o := range c.classes {
			row[o] = fcB[o]
			for j := range cur.c {
				row[o] += pooled[j] * fcW[j*ldw+o]
			}
			maxLogit = math.Max(maxLogit, row[o])
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(v - maxLogit)
		}
		loss += maxLogit + math.Log(sum) - row[labels[b]]
	}
	return loss / float64(n), logits
}

// refConv applies the convolution of l to in, reading l's weights through the
// supernet layout: centre taps, first channels.
func refConv(l *layer, p refParams, in refTensor) refTensor {
	w := p[l.weightName]
	shape := l.weight.shape
	out := refTensor{n: in.n, h: l.oh, w: l.ow, c: l.cout}
	out.v = make([]float64, out.n*out.h*out.w*out.c)
	pad := l.k / 2
	for b := range in.n {
		for oy := range l.oh {
			for ox := range l.ow {
				for co := range l.cout {
					var sum float64
					switch l.kind {
					case layerPointwise:
						for ci := range l.cin {
							sum += in.at(b, oy, ox, ci) * w[ci*shape[1]+co]
						}
					case layerDepthwise, layerStem:
						o := (shape[0] - l.k) / 2
						for ky := range l.k {
							for kx := range l.k {
								iy, ix := oy*l.stride+ky-pad, ox*l.stride+kx-pad
								if iy < 0 || iy >= in.h || ix < 0 || ix >= in.w {
									continue
								}
								if l.kind == layerDepthwise {
									sum += in.at(b, iy, ix, co) * w[((ky+o)*shape[1]+kx+o)*shape[2]+co]
									continue
								}
								for ci := range l.cin {
									sum += in.at(b, iy, ix, ci) * w[(((ky+o)*shape[1]+kx+o)*shape[2]+ci)*shape[3]+co]
								}
							}
						}
					}
					out.v[((b*out.h+oy)*out.w+ox)*out.c+co] = sum
				}
			}
		}
	}
	return out
}

// refBatchNorm normalises z per channel with its batch statistics.
func refBatchNorm(z refTensor, gamma, beta []float64) refTensor {
	out := refTensor{n: z.n, h: z.h, w: z.w, c: z.c, v: make([]float64, len(z.v))}
	rows := len(z.v) / z.c
	for ch := range z.c {
		var mean, variance float64
		for r := range rows {
			mean += z.v[r*z.c+ch]
		}
		mean /= float64(rows)
		for r := range rows {
			d := z.v[r*z.c+ch] - mean
			variance += d * d
		}
		variance /= float64(rows)
		inv := 1 / math.Sqrt(variance+1e-5)
		for r := range rows {
			out.v[r*z.c+ch] = gamma[ch]*(z.v[r*z.c+ch]-mean)*inv + beta[ch]
		}
	}
	return out
}

// tinySpace is a small space whose slots offer every op, so that one child
// can exercise every backward path: mbconv with t = 1 and t > 1, with and
// without residual, stride 2, dsconv, a head conv, and kernels and channels
// smaller than the slot's.
func tinySpace() searchspace.Space {
	all := []searchspace.Op{searchspace.OpMBConv, searchspace.OpDSConv, searchspace.OpSkip}
	return searchspace.Space{
		Name:    "tiny",
		Input:   searchspace.Shape{Height: 8, Width: 8, Channels: 2},
		Classes: 3,
		Stem:    searchspace.Stem{Out: 5, Kernel: 3, Stride: 1},
		Blocks: []searchspace.BlockChoice{
			{Out: 5, Stride: 1, Ops: all, Kernels: []int{3, 5}, Expansions: []int{1, 2}},
			{Out: 6, Stride: 2, Ops: all[:2], Kernels: []int{3, 5}, Expansions: []int{2, 3}},
			{Out: 6, Stride: 1, Ops: all, Kernels: []int{3, 5}, Expansions: []int{2, 3}},
			{Out: 8, Stride: 2, Ops: all[:2], Kernels: []int{3}, Expansions: []int{2}},
		},
		Head:                  searchspace.Head{Out: 7},
		WidthMultipliers:      []float64{1},
		ResolutionMultipliers: []float64{0.75, 1},
	}
}

// tinyArch is a child of tinySpace that uses every block path, with some
// channel counts and kernels below the slot's maximum.
func tinyArch() searchspace.Arch {
	return searchspace.Arch{
		Input:      searchspace.Shape{Height: 8, Width: 8, Channels: 2},
		Classes:    3,
		Resolution: 8,
		Alpha:      1,
		Stem:       searchspace.Stem{Out: 4, Kernel: 3, Stride: 1},
		Blocks: []searchspace.Block{
			{Op: searchspace.OpMBConv, Kernel: 3, Expansion: 1, Out: 4, Stride: 1}, // residual, no expand
			{Op: searchspace.OpMBConv, Kernel: 5, Expansion: 2, Out: 5, Stride: 2}, // expand, stride 2
			{Op: searchspace.OpMBConv, Kernel: 3, Expansion: 3, Out: 5, Stride: 1}, // expand, residual
			{Op: searchspace.OpDSConv, Kernel: 3, Out: 6, Stride: 2},
		},
		Head: searchspace.Head{Out: 6},
	}
}
