package rl

import (
	"math"
	"testing"
)

func TestRandomRoundTrip(t *testing.T) {
	task := newSyntheticTask(5)
	original, err := NewRandom(task.choices, 3)
	if err != nil {
		t.Fatal(err)
	}
	restored, err := NewRandom(task.choices, 4)
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, original, restored, task)
}

func TestRandomProposalsUniform(t *testing.T) {
	choices := []int{2, 3, 4}
	s, err := NewRandom(choices, 1)
	if err != nil {
		t.Fatal(err)
	}
	const draws = 12000
	counts := make([][]int, len(choices))
	for d, n := range choices {
		counts[d] = make([]int, n)
	}
	for _, p := range proposeN(t, s, draws) {
		if want := -math.Log(24); math.Abs(p.LogProb-want) > 1e-12 {
			t.Fatalf("LogProb = %v, want log(1/24) = %v", p.LogProb, want)
		}
		for d, tok := range p.Tokens {
			counts[d][tok]++
		}
	}
	// Each count is binomial; 5 standard deviations is a loose bound.
	for d, n := range choices {
		expected := float64(draws) / float64(n)
		std := math.Sqrt(expected * (1 - 1/float64(n)))
		for tok, count := range counts[d] {
			if math.Abs(float64(count)-expected) > 5*std {
				t.Errorf("decision %d token %d drawn %d times, expected about %.0f", d, tok, count, expected)
			}
		}
	}
}

func TestNewRandomRejectsBadChoices(t *testing.T) {
	for _, choices := range [][]int{nil, {3, 0}, {-1}} {
		if _, err := NewRandom(choices, 1); err == nil {
			t.Errorf("NewRandom(%v) returned no error", choices)
		}
	}
}
