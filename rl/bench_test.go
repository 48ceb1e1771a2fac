package rl

import (
	"testing"
)

// BenchmarkReinforcePropose times one sampled architecture with its
// log-probability, at the default hidden size 64 and 20 decisions.
func BenchmarkReinforcePropose(b *testing.B) {
	task := newSyntheticTask(1)
	s, err := NewReinforce(task.choices, ReinforceConfig{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Propose(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReinforceUpdate times one update on a batch of 10 outcomes, at
// the default hidden size 64 and 20 decisions. The graph is built before
// the timer starts.
func BenchmarkReinforceUpdate(b *testing.B) {
	task := newSyntheticTask(1)
	s, err := NewReinforce(task.choices, ReinforceConfig{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	batch := func() []Outcome {
		outcomes := make([]Outcome, 10)
		for i := range outcomes {
			p, err := s.Propose()
			if err != nil {
				b.Fatal(err)
			}
			outcomes[i] = Outcome{Proposal: p, Reward: task.reward(p.Tokens)}
		}
		return outcomes
	}
	if _, err := s.Update(batch()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		outcomes := batch()
		b.StartTimer()
		if _, err := s.Update(outcomes); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvolutionPropose times one tournament and mutation with a full
// default population of 20.
func BenchmarkEvolutionPropose(b *testing.B) {
	task := newSyntheticTask(1)
	s, err := NewEvolution(task.choices, EvolutionConfig{}, 1)
	if err != nil {
		b.Fatal(err)
	}
	var outcomes []Outcome
	for i := 0; i < 20; i++ {
		p, _ := s.Propose()
		outcomes = append(outcomes, Outcome{Proposal: p, Reward: task.reward(p.Tokens)})
	}
	if _, err := s.Update(outcomes); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Propose(); err != nil {
			b.Fatal(err)
		}
	}
}
