package rl

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math/rand/v2"
	"slices"
)

// EvolutionConfig configures regularized evolution. The zero value of a
// field selects its default.
type EvolutionConfig struct {
	// PopulationSize is the number of most recent outcomes kept. Default
	// 20; negative values are rejected.
	PopulationSize int
	// SampleSize is the number of population members drawn, without
	// replacement, for each tournament. Default 5; negative values and
	// values above PopulationSize are rejected.
	SampleSize int
}

// Default values of EvolutionConfig's fields.
const (
	DefaultPopulationSize = 20
	DefaultSampleSize     = 5
)

func (cfg EvolutionConfig) withDefaults() (EvolutionConfig, error) {
	if cfg.PopulationSize < 0 {
		return cfg, fmt.Errorf("rl: invalid PopulationSize %d: use a positive size or 0 for the default %d", cfg.PopulationSize, DefaultPopulationSize)
	}
	if cfg.PopulationSize == 0 {
		cfg.PopulationSize = DefaultPopulationSize
	}
	if cfg.SampleSize < 0 {
		return cfg, fmt.Errorf("rl: invalid SampleSize %d: use a positive size or 0 for the default %d", cfg.SampleSize, DefaultSampleSize)
	}
	if cfg.SampleSize == 0 {
		cfg.SampleSize = min(DefaultSampleSize, cfg.PopulationSize)
	}
	if cfg.SampleSize > cfg.PopulationSize {
		return cfg, fmt.Errorf("rl: SampleSize %d exceeds PopulationSize %d: a tournament draws from the population without replacement", cfg.SampleSize, cfg.PopulationSize)
	}
	return cfg, nil
}

// member is one population entry. Its fields are exported for gob.
type member struct {
	Tokens []int
	Reward float64
}

// Evolution is a Strategy implementing regularized (aging) evolution
// (Real et al., 2019). While the population has fewer than PopulationSize
// members, Propose draws uniform random tokens. After that it draws
// SampleSize members without replacement and takes the one with the
// highest reward (the earliest drawn on a tie). It returns a copy of that
// parent with one decision, picked uniformly among the decisions with at
// least two choices, changed to another choice picked uniformly. A space
// whose decisions all have one choice gets the parent back unchanged.
// Update appends every outcome to the
// population in batch order, whatever its version, and removes the oldest
// members beyond PopulationSize.
type Evolution struct {
	cfg        EvolutionConfig
	choices    []int
	mutable    []int // decisions with at least two choices
	population []member
	source     *rand.PCG
	rng        *rand.Rand
	version    int
}

// NewEvolution returns regularized evolution over decisions with the given
// numbers of choices, drawing from a PCG source seeded with (seed, 1).
func NewEvolution(choices []int, cfg EvolutionConfig, seed uint64) (*Evolution, error) {
	if err := checkChoices(choices); err != nil {
		return nil, err
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	source := rand.NewPCG(seed, 1)
	s := &Evolution{cfg: cfg, choices: slices.Clone(choices), source: source, rng: rand.New(source)}
	for d, n := range choices {
		if n >= 2 {
			s.mutable = append(s.mutable, d)
		}
	}
	return s, nil
}

// Population returns a copy of the population's tokens and rewards, oldest
// first.
func (s *Evolution) Population() []Outcome {
	out := make([]Outcome, len(s.population))
	for i, m := range s.population {
		out[i] = Outcome{Proposal: Proposal{Tokens: slices.Clone(m.Tokens)}, Reward: m.Reward}
	}
	return out
}

// Propose returns random tokens while the population is not full, and a
// mutated tournament winner after that. Proposal.LogProb is 0.
func (s *Evolution) Propose() (Proposal, error) {
	if len(s.population) < s.cfg.PopulationSize {
		return Proposal{Tokens: uniformTokens(s.choices, s.rng), Version: s.version}, nil
	}

	// Tournament: the best of SampleSize distinct members.
	order := s.rng.Perm(len(s.population))
	parent := s.population[order[0]]
	for _, i := range order[1:s.cfg.SampleSize] {
		if s.population[i].Reward > parent.Reward {
			parent = s.population[i]
		}
	}

	// Mutation: one decision moves to a different choice.
	child := slices.Clone(parent.Tokens)
	if len(s.mutable) > 0 {
		d := s.mutable[s.rng.IntN(len(s.mutable))]
		shift := 1 + s.rng.IntN(s.choices[d]-1)
		child[d] = (child[d] + shift) % s.choices[d]
	}
	return Proposal{Tokens: child, Version: s.version}, nil
}

// Update adds the batch to the population, removes the oldest members
// beyond PopulationSize, and increments the version. It returns an error,
// changing nothing, if an outcome is invalid or the batch is empty.
func (s *Evolution) Update(batch []Outcome) (UpdateStats, error) {
	if err := checkBatch(batch, s.choices, s.version); err != nil {
		return UpdateStats{}, err
	}
	stats := UpdateStats{Used: len(batch)}
	for _, o := range batch {
		s.population = append(s.population, member{Tokens: slices.Clone(o.Tokens), Reward: o.Reward})
		stats.MeanReward += o.Reward
		if o.Version < s.version {
			stats.Stale++
		}
	}
	stats.MeanReward /= float64(len(batch))
	if excess := len(s.population) - s.cfg.PopulationSize; excess > 0 {
		s.population = slices.Delete(s.population, 0, excess)
	}
	s.version++
	stats.Version = s.version
	return stats, nil
}

const evolutionFormat = 1

type evolutionState struct {
	Kind       string
	Format     int
	Config     EvolutionConfig
	Choices    []int
	Population []member
	Source     []byte
	Version    int
}

// MarshalBinary encodes the configuration, the population, the version and
// the random source's state.
func (s *Evolution) MarshalBinary() ([]byte, error) {
	source, err := s.source.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rl: encoding the random source: %w", err)
	}
	state := evolutionState{
		Kind:       NameEvolution,
		Format:     evolutionFormat,
		Config:     s.cfg,
		Choices:    s.choices,
		Population: s.population,
		Source:     source,
		Version:    s.version,
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(state); err != nil {
		return nil, fmt.Errorf("rl: encoding evolution state: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary, configuration
// included. It returns an error, leaving s unchanged, if data is not an
// evolution state or was saved for other choice counts.
func (s *Evolution) UnmarshalBinary(data []byte) error {
	var state evolutionState
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&state); err != nil {
		return fmt.Errorf("rl: decoding evolution state: %w", err)
	}
	if err := checkStateHeader(state.Kind, state.Format, state.Choices, NameEvolution, evolutionFormat, s.choices, "evolution"); err != nil {
		return err
	}
	cfg, err := state.Config.withDefaults()
	if err != nil {
		return fmt.Errorf("rl: evolution state has an invalid configuration: %w", err)
	}
	if len(state.Population) > cfg.PopulationSize {
		return fmt.Errorf("rl: evolution state has %d members, above its PopulationSize %d", len(state.Population), cfg.PopulationSize)
	}
	outcomes := make([]Outcome, len(state.Population))
	for i, m := range state.Population {
		outcomes[i] = Outcome{Proposal: Proposal{Tokens: m.Tokens}, Reward: m.Reward}
	}
	if len(outcomes) > 0 {
		if err := checkBatch(outcomes, s.choices, 0); err != nil {
			return fmt.Errorf("rl: evolution state has an invalid member: %w", err)
		}
	}
	source := &rand.PCG{}
	if err := source.UnmarshalBinary(state.Source); err != nil {
		return fmt.Errorf("rl: decoding the random source: %w", err)
	}

	s.cfg = cfg
	s.population = state.Population
	s.source = source
	s.rng = rand.New(source)
	s.version = state.Version
	return nil
}
