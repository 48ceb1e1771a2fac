package latency

import (
	"testing"

	"nas/searchspace"
)

// tinySpace returns a small valid space whose table profiles in well under
// a second: one optional mbconv slot and one stride-2 slot offering dsconv
// and mbconv, at two widths and two resolutions.
func tinySpace() searchspace.Space {
	return searchspace.Space{
		Name:    "tiny",
		Input:   searchspace.Shape{Height: 8, Width: 8, Channels: 1},
		Classes: 3,
		Stem:    searchspace.Stem{Out: 4, Kernel: 3, Stride: 1},
		Blocks: []searchspace.BlockChoice{
			{Out: 4, Stride: 1, Ops: []searchspace.Op{searchspace.OpMBConv, searchspace.OpSkip}, Kernels: []int{3, 5}, Expansions: []int{1, 2}},
			{Out: 8, Stride: 2, Ops: []searchspace.Op{searchspace.OpDSConv, searchspace.OpMBConv}, Kernels: []int{3}, Expansions: []int{2}},
		},
		Head:                  searchspace.Head{Out: 8},
		WidthMultipliers:      []float64{0.5, 1},
		ResolutionMultipliers: []float64{0.75, 1},
		ChannelDivisor:        1,
	}
}

// fastMeasure are measurement options that keep tests quick.
func fastMeasure() MeasureOptions {
	return MeasureOptions{Warmup: 1, Runs: 3, Retries: -1, MaxCV: 10}
}

func mustValid(t *testing.T, s searchspace.Space) searchspace.Space {
	t.Helper()
	if err := s.Validate(); err != nil {
		t.Fatalf("space %s is invalid: %v", s.Name, err)
	}
	return s
}
