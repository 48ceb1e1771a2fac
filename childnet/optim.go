package childnet

import (
	"fmt"
	"math"
)

// Optimizer kinds accepted by OptimizerConfig.Kind.
const (
	SGD  = "sgd"
	Adam = "adam"
)

// OptimizerConfig selects and tunes the optimizer of a supernet. The learning
// rate is not part of it: each step passes its own, so that schedules live
// with the caller.
type OptimizerConfig struct {
	// Kind is SGD (the default when empty) or Adam.
	Kind string `json:"kind"`
	// Momentum is the SGD momentum μ in [0, 1); 0 is plain SGD.
	Momentum float64 `json:"momentum"`
	// Nesterov selects Nesterov momentum (SGD with Momentum > 0 only).
	Nesterov bool `json:"nesterov"`
	// Beta1 and Beta2 are Adam's moment decay rates in [0, 1); zero values
	// mean 0.9 and 0.999.
	Beta1 float64 `json:"beta1,omitempty"`
	Beta2 float64 `json:"beta2,omitempty"`
	// Epsilon is Adam's denominator term; zero means 1e-8.
	Epsilon float64 `json:"epsilon,omitempty"`
	// WeightDecay is the L2 coefficient added to the gradient of conv and
	// linear weights (not BN parameters or biases), PyTorch's weight_decay.
	WeightDecay float64 `json:"weight_decay"`
	// ClipNorm, when positive, scales the step's gradients so that their
	// global L2 norm over the parameters a child used is at most ClipNorm.
	ClipNorm float64 `json:"clip_norm,omitempty"`
}

// DefaultOptimizerConfig returns SGD with Nesterov momentum 0.9 and weight
// decay 4e-5, the MobileNetV2 recipe.
func DefaultOptimizerConfig() OptimizerConfig {
	return OptimizerConfig{Kind: SGD, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
}

// validate fills zero Adam fields with their defaults and rejects values
// outside their ranges.
func (c *OptimizerConfig) validate() error {
	if c.Kind == "" {
		c.Kind = SGD
	}
	switch c.Kind {
	case SGD:
		if c.Momentum < 0 || c.Momentum >= 1 {
			return fmt.Errorf("childnet: SGD momentum %g is outside [0, 1)", c.Momentum)
		}
		if c.Nesterov && c.Momentum == 0 {
			return fmt.Errorf("childnet: Nesterov SGD needs a momentum > 0")
		}
	case Adam:
		if c.Beta1 == 0 {
			c.Beta1 = 0.9
		}
		if c.Beta2 == 0 {
			c.Beta2 = 0.999
		}
		if c.Epsilon == 0 {
			c.Epsilon = 1e-8
		}
		if c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 || c.Epsilon < 0 {
			return fmt.Errorf("childnet: Adam betas (%g, %g) must be in [0, 1) and epsilon %g ≥ 0", c.Beta1, c.Beta2, c.Epsilon)
		}
	default:
		return fmt.Errorf("childnet: unknown optimizer %q; use %q or %q", c.Kind, SGD, Adam)
	}
	if c.WeightDecay < 0 || math.IsNaN(c.WeightDecay) {
		return fmt.Errorf("childnet: weight decay %g must be ≥ 0", c.WeightDecay)
	}
	if c.ClipNorm < 0 || math.IsNaN(c.ClipNorm) {
		return fmt.Errorf("childnet: clip norm %g must be ≥ 0 (0 disables clipping)", c.ClipNorm)
	}
	return nil
}

// optimizer holds the state of one optimizer in supernet-shaped tensors keyed
// by parameter name, so that children using different parameter sets share
// one state. State is allocated the first time a parameter is updated.
type optimizer struct {
	cfg OptimizerConfig
	// first is the SGD momentum buffer or Adam's first moment m.
	first map[string][]float32
	// second is Adam's second moment v.
	second map[string][]float32
	// steps counts Adam updates per parameter, for bias correction. A
	// parameter's count grows whenever any part of it is updated.
	steps map[string]int
}

func newOptimizer(cfg OptimizerConfig) (*optimizer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &optimizer{cfg: cfg, first: map[string][]float32{}, second: map[string][]float32{}, steps: map[string]int{}}, nil
}

// gradNorm returns the global L2 norm of grads over regions.
func gradNorm(regions []region, grads map[string][]float32) float64 {
	var sum float64
	for _, r := range regions {
		g := grads[r.p.name]
		r.runs(func(start, length int) {
			for _, v := range g[start : start+length] {
				sum += float64(v) * float64(v)
			}
		})
	}
	return math.Sqrt(sum)
}

// step updates the parts of the supernet that regions name, from grads
// (supernet-shaped, keyed by parameter name), with learning rate lr. It
// returns the gradient norm before clipping.
func (o *optimizer) step(regions []region, grads map[string][]float32, lr float64) float64 {
	norm := gradNorm(regions, grads)
	scale := 1.0
	if o.cfg.ClipNorm > 0 && norm > o.cfg.ClipNorm {
		scale = o.cfg.ClipNorm / (norm + 1e-6)
	}
	for _, r := range regions {
		p := r.p
		g := grads[p.name]
		wd := 0.0
		if p.kind.decayed() {
			wd = o.cfg.WeightDecay
		}
		switch o.cfg.Kind {
		case SGD:
			o.sgd(r, g, lr, scale, wd)
		case Adam:
			o.adam(r, g, lr, scale, wd)
		}
	}
	return norm
}

// sgd applies PyTorch's SGD update (dampening 0) to region r:
//
//	g = scale·grad + wd·w;  buf = μ·buf + g;  g = g + μ·buf (Nesterov) or buf;  w -= lr·g
func (o *optimizer) sgd(r region, grad []float32, lr, scale, wd float64) {
	p := r.p
	mu := o.cfg.Momentum
	var buf []float32
	if mu > 0 {
		buf = o.state(o.first, p)
	}
	r.runs(func(start, length int) {
		w := p.data[start : start+length]
		gr := grad[start : start+length]
		for i := range w {
			g := scale*float64(gr[i]) + wd*float64(w[i])
			if buf != nil {
				b := mu*float64(buf[start+i]) + g
				buf[start+i] = float32(b)
				if o.cfg.Nesterov {
					g += mu * b
				} else {
					g = b
				}
			}
			w[i] = float32(float64(w[i]) - lr*g)
		}
	})
}

// adam applies PyTorch's Adam update (L2 weight decay, not AdamW) to region r.
func (o *optimizer) adam(r region, grad []float32, lr, scale, wd float64) {
	p := r.p
	m, v := o.state(o.first, p), o.state(o.second, p)
	o.steps[p.name]++
	t := float64(o.steps[p.name])
	b1, b2, eps := o.cfg.Beta1, o.cfg.Beta2, o.cfg.Epsilon
	c1 := 1 - math.Pow(b1, t)
	c2 := math.Sqrt(1 - math.Pow(b2, t))
	r.runs(func(start, length int) {
		w := p.data[start : start+length]
		gr := grad[start : start+length]
		for i := range w {
			j := start + i
			g := scale*float64(gr[i]) + wd*float64(w[i])
			mj := b1*float64(m[j]) + (1-b1)*g
			vj := b2*float64(v[j]) + (1-b2)*g*g
			m[j], v[j] = float32(mj), float32(vj)
			w[i] = float32(float64(w[i]) - lr*(mj/c1)/(math.Sqrt(vj)/c2+eps))
		}
	})
}

// state returns the state tensor of p in table, allocating it zeroed.
func (o *optimizer) state(table map[string][]float32, p *param) []float32 {
	s, ok := table[p.name]
	if !ok {
		s = make([]float32, len(p.data))
		table[p.name] = s
	}
	return s
}
