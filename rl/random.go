package rl

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Random is a Strategy that proposes every token uniformly at random and
// learns nothing from rewards. It is the baseline any search must beat.
type Random struct {
	choices []int
	source  *rand.PCG
	rng     *rand.Rand
	version int
	logProb float64 // −Σ_d log n_d, the log-probability of every proposal
}

// NewRandom returns a uniform random search over decisions with the given
// numbers of choices, drawing from a PCG source seeded with (seed, 1).
func NewRandom(choices []int, seed uint64) (*Random, error) {
	if err := checkChoices(choices); err != nil {
		return nil, err
	}
	source := rand.NewPCG(seed, 1)
	s := &Random{choices: slices.Clone(choices), source: source, rng: rand.New(source)}
	for _, n := range choices {
		s.logProb -= math.Log(float64(n))
	}
	return s, nil
}

// Propose draws each token uniformly.
func (s *Random) Propose() (Proposal, error) {
	return Proposal{Tokens: uniformTokens(s.choices, s.rng), Version: s.version, LogProb: s.logProb}, nil
}

// Update checks the batch, counts it and increments the version. Random
// search uses no outcome.
func (s *Random) Update(batch []Outcome) (UpdateStats, error) {
	if err := checkBatch(batch, s.choices, s.version); err != nil {
		return UpdateStats{}, err
	}
	stats := UpdateStats{Used: len(batch)}
	for _, o := range batch {
		stats.MeanReward += o.Reward
		if o.Version < s.version {
			stats.Stale++
		}
	}
	stats.MeanReward /= float64(len(batch))
	s.version++
	stats.Version = s.version
	return stats, nil
}

// uniformTokens draws one token per decision uniformly from r.
func uniformTokens(choices []int, r *rand.Rand) []int {
	tokens := make([]int, len(choices))
	for d, n := range choices {
		tokens[d] = r.IntN(n)
	}
	return tokens
}

const randomFormat = 1

type randomState struct {
	Kind    string
	Format  int
	Choices []int
	Source  []byte
	Version int
}

// MarshalBinary encodes the random source's state and the version.
func (s *Random) MarshalBinary() ([]byte, error) {
	source, err := s.source.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("rl: encoding the random source: %w", err)
	}
	var buf bytes.Buffer
	state := randomState{Kind: NameRandom, Format: randomFormat, Choices: s.choices, Source: source, Version: s.version}
	if err := gob.NewEncoder(&buf).Encode(state); err != nil {
		return nil, fmt.Errorf("rl: encoding random search state: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary restores a state written by MarshalBinary. It returns an
// error, leaving s unchanged, if data is not a random search state or was
// saved for other choice counts.
func (s *Random) UnmarshalBinary(data []byte) error {
	var state randomState
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&state); err != nil {
		return fmt.Errorf("rl: decoding random search state: %w", err)
	}
	if err := checkStateHeader(state.Kind, state.Format, state.Choices, NameRandom, randomFormat, s.choices, "random search"); err != nil {
		return err
	}
	source := &rand.PCG{}
	if err := source.UnmarshalBinary(state.Source); err != nil {
		return fmt.Errorf("rl: decoding the random source: %w", err)
	}
	s.source = source
	s.rng = rand.New(source)
	s.version = state.Version
	return nil
}
