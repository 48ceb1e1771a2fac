package dataset

import (
	"math"
	"testing"
)

func TestComputeStats_Channels(t *testing.T) {
	// Two 1×2 RGB images. Channel 0 holds 0, 255, 0, 255: mean 0.5, std
	// 0.5. Channel 1 is constant 51: mean 0.2, std 0. Channel 2 holds 0,
	// 0, 0, 255: mean 0.25, std √(0.25·0.75).
	set := &Set{Height: 1, Width: 2, Channels: 3, Classes: 1,
		Images: []uint8{0, 51, 0, 255, 51, 0, 0, 51, 0, 255, 51, 255}, Labels: []uint8{0, 0}}
	got := ComputeStats(set)
	wantMean := []float64{0.5, 0.2, 0.25}
	wantStd := []float64{0.5, 0, math.Sqrt(0.25 * 0.75)}
	for c := range 3 {
		if math.Abs(float64(got.Mean[c])-wantMean[c]) > 1e-6 || math.Abs(float64(got.Std[c])-wantStd[c]) > 1e-6 {
			t.Errorf("channel %d: mean %v std %v, want %v and %v", c, got.Mean[c], got.Std[c], wantMean[c], wantStd[c])
		}
	}
}

// Expected values computed with NumPy from the same files:
// x = frombuffer(gzip.open(path).read()[16:], uint8) / 255; x.mean(), x.std().
func TestComputeStats_Real(t *testing.T) {
	for _, tt := range []struct {
		source    string
		mean, std float64
	}{
		{SourceFashionMNIST, 0.2860406, 0.3530242},
		{SourceMNIST, 0.1306605, 0.3081078},
	} {
		t.Run(tt.source, func(t *testing.T) {
			d := requireSource(t, tt.source)
			got := ComputeStats(d.Train)
			if math.Abs(float64(got.Mean[0])-tt.mean) > 1e-6 || math.Abs(float64(got.Std[0])-tt.std) > 1e-6 {
				t.Errorf("mean %v std %v, want %v and %v", got.Mean[0], got.Std[0], tt.mean, tt.std)
			}
		})
	}
}

func TestStats_LookupTables(t *testing.T) {
	tables := Stats{Mean: []float32{0.5, 0.2}, Std: []float32{0.25, 0}}.lookupTables()
	if got := tables[0][255]; math.Abs(float64(got)-2) > 1e-6 {
		t.Errorf("byte 255 with mean 0.5 std 0.25 → %v, want 2", got)
	}
	if got := tables[0][0]; math.Abs(float64(got)+2) > 1e-6 {
		t.Errorf("byte 0 with mean 0.5 std 0.25 → %v, want −2", got)
	}
	// A zero std is floored at minStd instead of dividing by zero.
	if got := tables[1][51]; math.Abs(float64(got)) > 1e-5 {
		t.Errorf("byte 51 with mean 0.2 std 0 → %v, want 0", got)
	}
	if got := tables[1][255]; math.IsInf(float64(got), 0) || math.IsNaN(float64(got)) {
		t.Errorf("byte 255 with std 0 → %v, want a finite value", got)
	}
}
