package controller

import (
	"math"
	"math/rand/v2"
)

// Sample is one decision sequence drawn from the controller.
type Sample struct {
	Tokens []int
	// LogProb is Σ_d log π(token_d | tokens before d), in nats.
	LogProb float64
	// Entropy is Σ_d H(π(· | tokens before d)), the summed entropy of the
	// distributions the tokens were drawn from, in nats.
	Entropy float64
}

// Sample draws one token per decision from r and returns the tokens with
// their summed log-probability and entropy. It reads the weights directly
// and does not touch the gradient graph.
func (c *Controller) Sample(r *rand.Rand) Sample {
	tokens := make([]int, len(c.choices))
	logp, entropy := c.forward(tokens, r)
	return Sample{Tokens: tokens, LogProb: logp, Entropy: entropy}
}

// LogProb returns the summed log-probability of tokens under the current
// weights and the summed entropy of the distributions along that sequence.
// It returns an error if tokens has the wrong length or a token is out of
// range.
func (c *Controller) LogProb(tokens []int) (logProb, entropy float64, err error) {
	if err := c.checkTokens(tokens); err != nil {
		return 0, 0, err
	}
	logProb, entropy = c.forward(tokens, nil)
	return logProb, entropy, nil
}

// forward runs the LSTM over the decisions. With r nil it scores the given
// tokens; otherwise it draws each token from r and writes it into tokens.
//
// Per step d, with x the embedding of the previous token (the start token
// at d = 0):
//
//	[i f g o] = x·Wx + h·Wh + b
//	c = σ(f)⊙c + σ(i)⊙tanh(g);  h = σ(o)⊙tanh(c)
//	z = C·tanh((h·W_d + b_d)/T);  π = softmax(z)
func (c *Controller) forward(tokens []int, r *rand.Rand) (logProb, entropy float64) {
	hsize := c.cfg.Hidden
	h := make([]float64, hsize)
	cell := make([]float64, hsize)
	gates := make([]float64, 4*hsize)
	logits := make([]float64, 0, 8)

	row := 0
	for d, n := range c.choices {
		// LSTM cell on the previous token's embedding.
		x := c.emb.Value[row*hsize : (row+1)*hsize]
		copy(gates, c.bias.Value)
		addVecMat(gates, x, c.wx.Value)
		addVecMat(gates, h, c.wh.Value)
		for j := 0; j < hsize; j++ {
			in := sigmoid(gates[j])
			forget := sigmoid(gates[hsize+j])
			candidate := math.Tanh(gates[2*hsize+j])
			out := sigmoid(gates[3*hsize+j])
			cell[j] = forget*cell[j] + in*candidate
			h[j] = out * math.Tanh(cell[j])
		}

		// Head d: shaped logits, then log-softmax.
		logits = logits[:n]
		copy(logits, c.headB[d].Value)
		addVecMat(logits, h, c.headW[d].Value)
		for k := range logits {
			logits[k] = c.shape(logits[k])
		}
		logSoftmax(logits)
		for _, lp := range logits {
			entropy -= math.Exp(lp) * lp
		}

		if r != nil {
			tokens[d] = drawLog(logits, r.Float64())
		}
		logProb += logits[tokens[d]]
		row = c.offsets[d] + tokens[d]
	}
	return logProb, entropy
}

// shape applies temperature and tanh clipping to one logit.
func (c *Controller) shape(z float64) float64 {
	z /= c.cfg.Temperature
	if c.cfg.TanhClip > 0 {
		z = c.cfg.TanhClip * math.Tanh(z)
	}
	return z
}

// addVecMat adds x·W to dst, where W is len(x)×len(dst), row-major.
func addVecMat(dst, x, w []float64) {
	cols := len(dst)
	for i, xi := range x {
		wrow := w[i*cols : (i+1)*cols]
		for j, wij := range wrow {
			dst[j] += xi * wij
		}
	}
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// logSoftmax replaces z with log softmax(z).
func logSoftmax(z []float64) {
	max := math.Inf(-1)
	for _, v := range z {
		max = math.Max(max, v)
	}
	sum := 0.0
	for _, v := range z {
		sum += math.Exp(v - max)
	}
	lse := max + math.Log(sum)
	for i := range z {
		z[i] -= lse
	}
}

// drawLog returns the index k where the cumulative probability first exceeds
// u ∈ [0, 1), given log-probabilities. Rounding can leave the total just
// below u, in which case the last index with nonzero probability is returned.
func drawLog(logProbs []float64, u float64) int {
	cumulative := 0.0
	last := 0
	for k, lp := range logProbs {
		p := math.Exp(lp)
		if p > 0 {
			last = k
		}
		cumulative += p
		if u < cumulative {
			return k
		}
	}
	return last
}
