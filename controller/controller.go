package controller

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Config sets the shape of the controller and how its logits are shaped
// before the softmax. The zero value of a field selects its default.
type Config struct {
	// Hidden is the LSTM hidden size and the embedding size. Default 64;
	// negative values and 1 are rejected, because gorgonia v0.9.18 turns a
	// one-column slice of the gate matrix into a vector.
	Hidden int
	// Temperature T divides the logits before clipping. Default 1; values
	// that are negative or not finite are rejected.
	Temperature float64
	// TanhClip C bounds the logits to (−C, C) through C·tanh(z/T), which
	// caps the probability of any one choice and so keeps some exploration.
	// Default 2.5, which caps a 3-way decision at about 0.987. A negative
	// value turns clipping off (logits are z/T); NaN and ±Inf are rejected.
	TanhClip float64
	// InitScale is the half-width of the uniform distribution every weight
	// starts from. Default 0.1; negative or non-finite values are rejected.
	InitScale float64
}

// Default values of Config's fields.
const (
	DefaultHidden      = 64
	DefaultTemperature = 1.0
	DefaultTanhClip    = 2.5
	DefaultInitScale   = 0.1
)

// withDefaults returns cfg with zero fields replaced by their defaults, or
// an error naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.Hidden < 0 || cfg.Hidden == 1 {
		return cfg, fmt.Errorf("controller: invalid Hidden %d: use a size of at least 2 or 0 for the default %d", cfg.Hidden, DefaultHidden)
	}
	if cfg.Hidden == 0 {
		cfg.Hidden = DefaultHidden
	}
	if cfg.Temperature < 0 || math.IsNaN(cfg.Temperature) || math.IsInf(cfg.Temperature, 0) {
		return cfg, fmt.Errorf("controller: invalid Temperature %v: use a positive finite value or 0 for the default %v", cfg.Temperature, DefaultTemperature)
	}
	if cfg.Temperature == 0 {
		cfg.Temperature = DefaultTemperature
	}
	if math.IsNaN(cfg.TanhClip) || math.IsInf(cfg.TanhClip, 0) {
		return cfg, fmt.Errorf("controller: invalid TanhClip %v: use a positive finite value, 0 for the default %v, or a negative value for no clipping", cfg.TanhClip, DefaultTanhClip)
	}
	if cfg.TanhClip == 0 {
		cfg.TanhClip = DefaultTanhClip
	}
	if cfg.InitScale < 0 || math.IsNaN(cfg.InitScale) || math.IsInf(cfg.InitScale, 0) {
		return cfg, fmt.Errorf("controller: invalid InitScale %v: use a positive finite value or 0 for the default %v", cfg.InitScale, DefaultInitScale)
	}
	if cfg.InitScale == 0 {
		cfg.InitScale = DefaultInitScale
	}
	return cfg, nil
}

// Param is one named weight tensor of the controller, stored row-major.
// Value and Grad alias the controller's own storage: an optimizer updates
// Value in place, and Backward adds into Grad.
type Param struct {
	Name  string
	Shape []int
	Value []float64
	Grad  []float64
}

// Controller is an LSTM policy over a fixed sequence of categorical
// decisions. It is not safe for concurrent use.
type Controller struct {
	cfg     Config
	choices []int
	// offsets[d] is the first row of decision d's tokens in the embedding
	// table. Row 0 is the start token.
	offsets []int
	// headOffsets[d] is the first column of decision d's log-probabilities
	// in the concatenated output of all heads.
	headOffsets []int
	totalChoice int

	emb    *Param   // (rows, H): start token, then one row per token of decisions 0..D−2
	wx     *Param   // (H, 4H): input weights, gates in order i, f, g, o
	wh     *Param   // (H, 4H): recurrent weights
	bias   *Param   // (1, 4H)
	headW  []*Param // (H, n_d)
	headB  []*Param // (1, n_d)
	params []*Param

	graphs map[int]*graph // by batch rows, each built on first use
}

// New returns a controller for decisions with the given numbers of choices,
// its weights drawn uniformly from [−InitScale, InitScale] by a PCG source
// seeded with (seed, 0).
func New(choices []int, cfg Config, seed uint64) (*Controller, error) {
	if len(choices) == 0 {
		return nil, errors.New("controller: no decisions: pass the number of choices of at least one decision")
	}
	for d, n := range choices {
		if n < 1 {
			return nil, fmt.Errorf("controller: decision %d has %d choices: each decision needs at least 1", d, n)
		}
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}

	c := &Controller{cfg: cfg, choices: append([]int(nil), choices...)}
	c.layOut()

	// Initialise every weight from one seeded source, in parameter order.
	r := rand.New(rand.NewPCG(seed, 0))
	for _, p := range c.params {
		for i := range p.Value {
			p.Value[i] = (2*r.Float64() - 1) * cfg.InitScale
		}
	}
	return c, nil
}

// layOut allocates the parameters and index tables for c.choices and
// c.cfg.Hidden.
func (c *Controller) layOut() {
	h := c.cfg.Hidden
	d := len(c.choices)

	c.offsets = make([]int, d)
	rows := 1
	for i := 0; i < d; i++ {
		c.offsets[i] = rows
		if i < d-1 {
			rows += c.choices[i]
		}
	}
	c.headOffsets = make([]int, d)
	c.totalChoice = 0
	for i, n := range c.choices {
		c.headOffsets[i] = c.totalChoice
		c.totalChoice += n
	}

	newParam := func(name string, shape ...int) *Param {
		size := 1
		for _, s := range shape {
			size *= s
		}
		p := &Param{Name: name, Shape: shape, Value: make([]float64, size), Grad: make([]float64, size)}
		c.params = append(c.params, p)
		return p
	}
	c.params = nil
	c.emb = newParam("embedding", rows, h)
	c.wx = newParam("lstm.wx", h, 4*h)
	c.wh = newParam("lstm.wh", h, 4*h)
	c.bias = newParam("lstm.bias", 1, 4*h)
	c.headW = make([]*Param, d)
	c.headB = make([]*Param, d)
	for i, n := range c.choices {
		c.headW[i] = newParam(fmt.Sprintf("head%d.w", i), h, n)
		c.headB[i] = newParam(fmt.Sprintf("head%d.b", i), 1, n)
	}
}

// Choices returns a copy of the number of choices of each decision.
func (c *Controller) Choices() []int { return append([]int(nil), c.choices...) }

// Config returns the controller's configuration with defaults filled in.
func (c *Controller) Config() Config { return c.cfg }

// Params returns the controller's parameters in a fixed order, which
// optimizers may use as a key. The slices alias the controller's storage.
func (c *Controller) Params() []*Param { return c.params }

// ZeroGrad sets every parameter's gradient to zero.
func (c *Controller) ZeroGrad() {
	for _, p := range c.params {
		clear(p.Grad)
	}
}

// checkTokens returns an error if tokens is not a valid decision sequence.
func (c *Controller) checkTokens(tokens []int) error {
	if len(tokens) != len(c.choices) {
		return fmt.Errorf("controller: got %d tokens for %d decisions: pass one token per decision", len(tokens), len(c.choices))
	}
	for d, t := range tokens {
		if t < 0 || t >= c.choices[d] {
			return fmt.Errorf("controller: token %d of decision %d is out of range [0, %d)", t, d, c.choices[d])
		}
	}
	return nil
}
