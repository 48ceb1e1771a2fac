package latency

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"nas/searchspace"
)

func TestSpearman(t *testing.T) {
	for _, tc := range []struct {
		name string
		x, y []float64
		want float64
	}{
		{"monotone", []float64{1, 2, 3, 4}, []float64{10, 20, 25, 100}, 1},
		{"reversed", []float64{1, 2, 3}, []float64{3, 2, 1}, -1},
		// Ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4): covariance sum 4.5,
		// sums of squares 4.5 and 5, so 4.5 / √22.5.
		{"tie", []float64{1, 2, 2, 3}, []float64{1, 3, 2, 4}, 4.5 / math.Sqrt(22.5)},
	} {
		if got := Spearman(tc.x, tc.y); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: Spearman = %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := Spearman([]float64{1, 1}, []float64{1, 2}); !math.IsNaN(got) {
		t.Errorf("Spearman without spread = %v, want NaN", got)
	}
}

func TestValidateTiny(t *testing.T) {
	table := profileTiny(t)
	v, err := Validate(context.Background(), table, tinySpace(), 5, rand.New(rand.NewPCG(3, 0)), fastMeasure(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if v.Samples != 5 || len(v.Children) != 5 {
		t.Fatalf("%d samples, %d children, want 5", v.Samples, len(v.Children))
	}
	for _, c := range v.Children {
		want, err := table.Predict(archByID(t, c.ArchID))
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(c.PredictedMs-want) > 1e-12 || !(c.MeasuredMs > 0) {
			t.Errorf("child %s: predicted %v (Predict %v), measured %v", c.ArchID, c.PredictedMs, want, c.MeasuredMs)
		}
	}
	if math.IsNaN(v.MeanRelError) || v.MeanRelError < 0 || v.Spearman < -1 || v.Spearman > 1 {
		t.Errorf("mean relative error %v, Spearman %v", v.MeanRelError, v.Spearman)
	}
}

// archByID finds the child of the tiny space with the given id by
// sampling with the seed TestValidateTiny uses.
func archByID(t *testing.T, id string) (a searchspace.Arch) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 0))
	for range 5 {
		c, err := SampleArch(tinySpace(), rng)
		if err != nil {
			t.Fatal(err)
		}
		if c.ID() == id {
			return c
		}
	}
	t.Fatalf("no sampled child has id %s", id)
	return a
}

func TestValidateRejectsOneSample(t *testing.T) {
	if _, err := Validate(context.Background(), &Table{}, tinySpace(), 1, rand.New(rand.NewPCG(1, 0)), fastMeasure(), nil); err == nil {
		t.Error("Validate with 1 sample succeeded, want an error")
	}
}
