package childnet

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// paramKind selects the initialisation, weight decay and export of a parameter.
type paramKind int

const (
	kindConv    paramKind = iota // convolution weight: He init, decayed
	kindLinear                   // classifier weight: He init, decayed
	kindBias                     // classifier bias: zero, not decayed
	kindGamma                    // BN scale: one, not decayed
	kindBeta                     // BN shift: zero, not decayed
	kindRunMean                  // BN running mean: zero, not trained
	kindRunVar                   // BN running variance: one, not trained
)

// trainable reports whether an optimizer updates parameters of kind k.
func (k paramKind) trainable() bool { return k != kindRunMean && k != kindRunVar }

// decayed reports whether weight decay applies to parameters of kind k. As is
// usual for MobileNets, it applies to conv and linear weights only.
func (k paramKind) decayed() bool { return k == kindConv || k == kindLinear }

// param is one supernet tensor, stored row-major in its supernet shape.
type param struct {
	name  string
	kind  paramKind
	shape []int
	// fanIn is the fan-in of one output unit at the supernet's largest
	// size, used by He initialisation.
	fanIn int
	data  []float32
}

// init fills p for its kind. Conv and linear weights get He (Kaiming normal,
// fan-in mode) values N(0, 2/fanIn) from rng.
func (p *param) init(rng *rand.Rand) {
	switch p.kind {
	case kindConv, kindLinear:
		std := math.Sqrt(2 / float64(p.fanIn))
		for i := range p.data {
			p.data[i] = float32(rng.NormFloat64() * std)
		}
	case kindGamma, kindRunVar:
		for i := range p.data {
			p.data[i] = 1
		}
	default:
		clear(p.data)
	}
}

// maxDims is the largest rank of a supernet tensor (the HWIO stem).
const maxDims = 4

// region is the part of a supernet tensor one child uses: along dimension d,
// the indices [off[d], off[d]+size[d]).
type region struct {
	p    *param
	off  []int
	size []int
}

// runs calls fn(start, length) for each contiguous run of flat indices of r,
// in increasing order.
func (r region) runs(fn func(start, length int)) {
	dims := len(r.p.shape)
	if dims == 0 {
		fn(0, 1)
		return
	}
	for d := range dims {
		if r.size[d] == 0 {
			return
		}
	}
	if dims > maxDims {
		panic(fmt.Sprintf("childnet: region of %s: %d dimensions, at most %d supported", r.p.name, dims, maxDims))
	}
	// Strides of the supernet shape, in arrays so that no step allocates.
	var stride, idx [maxDims]int
	s := 1
	for d := dims - 1; d >= 0; d-- {
		stride[d] = s
		s *= r.p.shape[d]
	}
	for {
		start := r.off[dims-1]
		for d := range dims - 1 {
			start += (r.off[d] + idx[d]) * stride[d]
		}
		fn(start, r.size[dims-1])

		// Advance the multi-index over all dimensions but the last.
		d := dims - 2
		for ; d >= 0; d-- {
			idx[d]++
			if idx[d] < r.size[d] {
				break
			}
			idx[d] = 0
		}
		if d < 0 {
			return
		}
	}
}

// count returns the number of elements in r.
func (r region) count() int {
	n := 1
	for _, s := range r.size {
		n *= s
	}
	return n
}

// firstRegion returns the region of p that starts at the origin and has the
// given size.
func firstRegion(p *param, size ...int) region {
	if len(size) != len(p.shape) {
		panic(fmt.Sprintf("childnet: region of %s: %d sizes for a %d-dimensional tensor", p.name, len(size), len(p.shape)))
	}
	for d, s := range size {
		if s > p.shape[d] {
			panic(fmt.Sprintf("childnet: region of %s: size %v exceeds shape %v", p.name, size, p.shape))
		}
	}
	return region{p: p, off: make([]int, len(size)), size: size}
}

// centreRegion returns the region of a [KMax][KMax][...] tensor that holds
// the centre k×k taps and the first sizes of the remaining dimensions.
func centreRegion(p *param, k int, rest ...int) region {
	o := (p.shape[0] - k) / 2
	r := firstRegion(p, append([]int{k, k}, rest...)...)
	r.off[0], r.off[1] = o, o
	return r
}
