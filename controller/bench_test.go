package controller

import (
	"math/rand/v2"
	"testing"
)

// benchmarkChoices is a 20-decision space of 3- and 4-way decisions, the
// size of a MobileNet-style search with 6 block slots and α, ρ.
var benchmarkChoices = []int{3, 4, 3, 3, 4, 3, 3, 4, 3, 3, 4, 3, 3, 4, 3, 3, 4, 3, 4, 3}

func BenchmarkSample(b *testing.B) {
	c := newTestController(b, benchmarkChoices, Config{}, 1)
	r := rand.New(rand.NewPCG(1, 1))
	for b.Loop() {
		c.Sample(r)
	}
}

func BenchmarkBackward(b *testing.B) {
	c := newTestController(b, benchmarkChoices, Config{}, 1)
	r := rand.New(rand.NewPCG(1, 1))
	tokens := c.Sample(r).Tokens
	if _, _, err := c.Backward(tokens, 1, 0.01); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := c.Backward(tokens, 1, 0.01); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildGraph(b *testing.B) {
	for b.Loop() {
		c := newTestController(b, benchmarkChoices, Config{}, 1)
		if _, err := c.buildGraph(10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBackwardBatch10 times the gradient of a batch of 10 sequences,
// the work of one REINFORCE update.
func BenchmarkBackwardBatch10(b *testing.B) {
	c := newTestController(b, benchmarkChoices, Config{}, 1)
	r := rand.New(rand.NewPCG(1, 1))
	batch := make([][]int, 10)
	weights := make([]float64, 10)
	for i := range batch {
		batch[i] = c.Sample(r).Tokens
		weights[i] = 0.1
	}
	if _, _, err := c.BackwardBatch(batch, weights, weights); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := c.BackwardBatch(batch, weights, weights); err != nil {
			b.Fatal(err)
		}
	}
}
