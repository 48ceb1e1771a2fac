package rl

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"nas/controller"
)

// ReinforceConfig configures REINFORCE. The zero value of a field selects
// its default.
type ReinforceConfig struct {
	// Controller configures the LSTM policy; see controller.Config.
	Controller controller.Config
	// LearningRate is Adam's step size. Default 0.005; negative or
	// non-finite values are rejected.
	LearningRate float64
	// Beta1 and Beta2 are Adam's moment decay rates. Defaults 0.9 and
	// 0.999; values outside [0, 1) are rejected.
	Beta1, Beta2 float64
	// BaselineDecay is the decay of the moving-average baseline
	// b ← decay·b + (1−decay)·reward. Default 0.95; values outside [0, 1)
	// are rejected.
	BaselineDecay float64
	// NormalizeAdvantage divides each batch's advantages, after
	// subtracting their mean, by their standard deviation. Batches of one
	// outcome are left as they are. Default false.
	NormalizeAdvantage bool
	// EntropyWeight is the weight β of the entropy bonus in the objective
	// (see Reinforce). Default 0, no bonus; negative or non-finite values
	// are rejected.
	EntropyWeight float64
	// MaxGradNorm clips the global L2 norm of the gradient. Default 5; a
	// negative value turns clipping off; NaN and ±Inf are rejected.
	MaxGradNorm float64
	// MaxStaleness is the largest number of versions an outcome's proposal
	// may lag the current policy and still be used. Default 4; a negative
	// value drops every outcome from an older version.
	MaxStaleness int
}

// Default values of ReinforceConfig's fields.
const (
	DefaultLearningRate  = 0.005
	DefaultBeta1         = 0.9
	DefaultBeta2         = 0.999
	DefaultBaselineDecay = 0.95
	DefaultMaxGradNorm   = 5.0
	DefaultMaxStaleness  = 4
)

// adamEpsilon is the ε in Adam's denominator.
const adamEpsilon = 1e-8

func (cfg ReinforceConfig) withDefaults() (ReinforceConfig, error) {
	finite := func(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
	if cfg.LearningRate < 0 || !finite(cfg.LearningRate) {
		return cfg, fmt.Errorf("rl: invalid LearningRate %v: use a positive finite value or 0 for the default %v", cfg.LearningRate, DefaultLearningRate)
	}
	if cfg.LearningRate == 0 {
		cfg.LearningRate = DefaultLearningRate
	}
	for _, f := range []struct {
		name  string
		value *float64
		def   float64
	}{
		{"Beta1", &cfg.Beta1, DefaultBeta1},
		{"Beta2", &cfg.Beta2, DefaultBeta2},
		{"BaselineDecay", &cfg.BaselineDecay, DefaultBaselineDecay},
	} {
		if *f.value < 0 || *f.value >= 1 || !finite(*f.value) {
			return cfg, fmt.Errorf("rl: invalid %s %v: use a value in (0, 1) or 0 for the default %v", f.name, *f.value, f.def)
		}
		if *f.value == 0 {
			*f.value = f.def
		}
	}
	if cfg.EntropyWeight < 0 || !finite(cfg.EntropyWeight) {
		return cfg, fmt.Errorf("rl: invalid EntropyWeight %v: use a finite value ≥ 0", cfg.EntropyWeight)
	}
	if !finite(cfg.MaxGradNorm) {
		return cfg, fmt.Errorf("rl: invalid MaxGradNorm %v: use a positive finite value, 0 for the default %v, or a negative value for no clipping", cfg.MaxGradNorm, DefaultMaxGradNorm)
	}
	if cfg.MaxGradNorm == 0 {
		cfg.MaxGradNorm = DefaultMaxGradNorm
	}
	if cfg.MaxStaleness == 0 {
		cfg.MaxStaleness = DefaultMaxStaleness
	}
	return cfg, nil
}

// Reinforce is a Strategy that samples from a controller.Controller and
// trains it with REINFORCE (Williams, 1992). An update on a batch of n used
// outcomes takes one Adam step that maximises
//
//	J = (1/n) Σ_i w_i·A_i·log π(τ_i) + β·(1/n) Σ_i H(τ_i)
//
// where A_i = r_i − b is the advantage against the moving-average baseline
// b as it stood before the batch (optionally normalised), H is the summed
// entropy along τ_i and β is EntropyWeight. The baseline starts at the mean
// reward of the first batch and then moves by BaselineDecay once per used
// outcome, in batch order.
//
// Outcomes from an older version are down-weighted: an outcome proposed k
// versions ago, 0 < k ≤ MaxStaleness, gets the truncated importance weight
// w = min(1, π_now(τ)/π_then(τ)), with π_then from Proposal.LogProb. Fresh
// outcomes get w = 1, and outcomes more than MaxStaleness versions old are
// dropped and counted in UpdateStats.Dropped.
type Reinforce struct {
	cfg        ReinforceConfig
	choices    []int
	controller *controller.Controller
	optimizer  *adam
	source     *rand.PCG
	rng        *rand.Rand

	baseline    float64
	baselineSet bool
	version     int
}

// NewReinforce returns a REINFORCE strategy over decisions with the given
// numbers of choices. The controller's weights come from seed (stream 0)
// and proposals from a PCG source seeded with (seed, 1).
func NewReinforce(choices []int, cfg ReinforceConfig, seed uint64) (*Reinforce, error) {
	if err := checkChoices(choices); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ctrl, err := controller.New(choices, cfg.Controller, seed)
	if err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	cfg.Controller = ctrl.Config()

	source := rand.NewPCG(seed, 1)
	return &Reinforce{
		cfg:        cfg,
		choices:    slices.Clone(choices),
		controller: ctrl,
		optimizer:  newAdam(ctrl.Params(), cfg.LearningRate, cfg.Beta1, cfg.Beta2, adamEpsilon),
		source:     source,
		rng:        rand.New(source),
	}, nil
}

// Controller returns the policy. Changing its weights changes the strategy.
func (s *Reinforce) Controller() *controller.Controller { return s.controller }

// Version returns the number of updates so far.
func (s *Reinforce) Version() int { return s.version }

// Baseline returns the moving-average baseline and whether it has been set
// by a first update.
func (s *Reinforce) Baseline() (float64, bool) { return s.baseline, s.baselineSet }

// Propose samples one architecture from the current policy.
func (s *Reinforce) Propose() (Proposal, error) {
	sample := s.controller.Sample(s.rng)
	return Proposal{Tokens: sample.Tokens, Version: s.version, LogProb: sample.LogProb}, nil
}

// Update takes one Adam step on the batch as described on Reinforce and
// increments the version. It returns an error, changing nothing, if an
// outcome is invalid (see Strategy) or the batch is empty. A batch whose
// outcomes are all dropped as too old still counts as an update.
func (s *Reinforce) Update(batch []Outcome) (UpdateStats, error) {
	if err := checkBatch(batch, s.choices, s.version); err != nil {
		return UpdateStats{}, err
	}

	// Select the outcomes to use and weight the stale ones.
	var used []Outcome
	var weights []float64
	stats := UpdateStats{}
	for _, o := range batch {
		staleness := s.version - o.Version
		if staleness > 0 && staleness > s.cfg.MaxStaleness {
			stats.Dropped++
			continue
		}
		weight := 1.0
		if staleness > 0 {
			stats.Stale++
			logProb, _, err := s.controller.LogProb(o.Tokens)
			if err != nil {
				return UpdateStats{}, fmt.Errorf("rl: %w", err)
			}
			weight = math.Min(1, math.Exp(logProb-o.LogProb))
		}
		used = append(used, o)
		weights = append(weights, weight)
	}
	stats.Used = len(used)
	if len(used) == 0 {
		s.version++
		stats.Version = s.version
		stats.Baseline = s.baseline
		return stats, nil
	}

	// Advantages against the baseline before this batch, then the baseline
	// update.
	advantages := make([]float64, len(used))
	for _, o := range used {
		stats.MeanReward += o.Reward
	}
	stats.MeanReward /= float64(len(used))
	baseline := s.baseline
	if !s.baselineSet {
		baseline = stats.MeanReward
	}
	for i, o := range used {
		advantages[i] = o.Reward - baseline
	}
	for _, o := range used {
		baseline = s.cfg.BaselineDecay*baseline + (1-s.cfg.BaselineDecay)*o.Reward
	}
	if s.cfg.NormalizeAdvantage && len(used) > 1 {
		normalize(advantages)
	}

	// Gradient of the loss −J over the whole batch.
	n := float64(len(used))
	sequences := make([][]int, len(used))
	wLogProb := make([]float64, len(used))
	wEntropy := make([]float64, len(used))
	for i, o := range used {
		sequences[i] = o.Tokens
		wLogProb[i] = -weights[i] * advantages[i] / n
		wEntropy[i] = -s.cfg.EntropyWeight / n
	}
	s.controller.ZeroGrad()
	_, entropies, err := s.controller.BackwardBatch(sequences, wLogProb, wEntropy)
	if err != nil {
		return UpdateStats{}, fmt.Errorf("rl: %w", err)
	}
	for _, entropy := range entropies {
		stats.Entropy += entropy / n
	}

	// Clip, step, and clear the gradients for the next update. Nothing
	// below can fail, so the strategy changes only from here on.
	stats.GradNorm = clipGradients(s.controller.Params(), s.cfg.MaxGradNorm)
	s.optimizer.step(s.controller.Params())
	s.controller.ZeroGrad()
	s.baseline = baseline
	s.baselineSet = true

	s.version++
	stats.Version = s.version
	stats.Baseline = s.baseline
	return stats, nil
}

// normalize subtracts the mean of x and divides by its standard deviation,
// leaving x all zero when the deviation is zero.
func normalize(x []float64) {
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	variance := 0.0
	for _, v := range x {
		variance += (v - mean) * (v - mean)
	}
	std := math.Sqrt(variance / float64(len(x)))
	for i := range x {
		x[i] -= mean
		if std > 0 {
			x[i] /= std
		}
	}
}

// reinforceFormat is the version of the encoding Reinforce.MarshalBinary
// writes.
const reinforceFormat = 1

type reinforceState struct {
	Kind        string
	Format      int
	Config      ReinforceConfig
	Choices     []int
	Controller  []byte
	Optimizer   adam
	Source      []byte
	Baseline    float64
	BaselineSet bool
	Version     int
}

// MarshalBinary encodes the configuration, controller weights, Adam state,
// baseline, version and the proposal source's state.
func (s *Reinforce) MarshalBinary() ([]byte, error) {
	ctrl, err := s.controller.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rl: %w", err)
	}
	source, err := s.source.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rl: encoding the random source: %w", err)
	}
	state := reinforceState{
		Kind:        NameReinforce,
		Format:      reinforceFormat,
		Config:      s.cfg,
		Choices:     s.choices,
		Controller:  ctrl,
		Optimizer:   *s.optimizer,
		Source:      source,
		Baseline:    s.baseline,
		BaselineSet: s.baselineSet,
		Version:     s.version,
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(state); err != nil {
		return nil, fmt.Errorf("rl: encoding REINFORCE state: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary, configuration
// included. It returns an error, leaving s unchanged, if data is not a
// REINFORCE state or was saved for other choice counts.
func (s *Reinforce) UnmarshalBinary(data []byte) error {
	var state reinforceState
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&state); err != nil {
		return fmt.Errorf("rl: decoding REINFORCE state: %w", err)
	}
	if err := checkStateHeader(state.Kind, state.Format, state.Choices, NameReinforce, reinforceFormat, s.choices, "REINFORCE"); err != nil {
		return err
	}

	// Decode into fresh objects first so that a failure changes nothing.
	cfg, err := state.Config.withDefaults()
	if err != nil {
		return fmt.Errorf("rl: REINFORCE state has an invalid configuration: %w", err)
	}
	ctrl, err := controller.New(s.choices, cfg.Controller, 0)
	if err != nil {
		return fmt.Errorf("rl: REINFORCE state has an invalid controller configuration: %w", err)
	}
	if err := ctrl.UnmarshalBinary(state.Controller); err != nil {
		return fmt.Errorf("rl: %w", err)
	}
	params := ctrl.Params()
	if len(state.Optimizer.First) != len(params) || len(state.Optimizer.Second) != len(params) {
		return fmt.Errorf("rl: REINFORCE state has Adam moments for %d parameters, want %d", len(state.Optimizer.First), len(params))
	}
	for i, p := range params {
		if len(state.Optimizer.First[i]) != len(p.Value) || len(state.Optimizer.Second[i]) != len(p.Value) {
			return fmt.Errorf("rl: REINFORCE state has Adam moments of the wrong size for %s", p.Name)
		}
	}
	source := &rand.PCG{}
	if err := source.UnmarshalBinary(state.Source); err != nil {
		return fmt.Errorf("rl: decoding the random source: %w", err)
	}

	optimizer := state.Optimizer
	*s = Reinforce{
		cfg:         cfg,
		choices:     s.choices,
		controller:  ctrl,
		optimizer:   &optimizer,
		source:      source,
		rng:         rand.New(source),
		baseline:    state.Baseline,
		baselineSet: state.BaselineSet,
		version:     state.Version,
	}
	return nil
}
