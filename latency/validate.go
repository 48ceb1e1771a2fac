package latency

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"nas/searchspace"
)

// Check is one child of a validation: its predicted and measured latency.
type Check struct {
	ArchID      string  `json:"arch_id"`
	PredictedMs float64 `json:"predicted_ms"`
	MeasuredMs  float64 `json:"measured_ms"`
	// CV and Noisy are those of the measurement (see Result).
	CV    float64 `json:"cv"`
	Noisy bool    `json:"noisy,omitempty"`
}

// Validation compares a table's predictions with end-to-end measurements.
type Validation struct {
	Samples int `json:"samples"`
	// Spearman is the Spearman rank correlation between predicted and
	// measured latencies (ties get their average rank).
	Spearman float64 `json:"spearman"`
	// MeanRelError is the mean of |predicted − measured| / measured.
	MeanRelError float64 `json:"mean_rel_error"`
	// MeanRelErrorUncalibrated is MeanRelError of the plain sum of entries,
	// without the table's OverheadMs and Scale, to show what the
	// calibration is worth.
	MeanRelErrorUncalibrated float64 `json:"mean_rel_error_uncalibrated"`
	// Noisy counts the measurements flagged noisy.
	Noisy    int     `json:"noisy"`
	Children []Check `json:"children"`
}

// Validate draws samples children of s uniformly (SampleArch with rng),
// predicts their latency with t, measures them end to end with Measure and
// opts, and returns the agreement. opts.Threads should be the table's
// thread count. progress, when not nil, is called after each child.
func Validate(ctx context.Context, t *Table, s searchspace.Space, samples int, rng *rand.Rand, opts MeasureOptions, progress func(done, total int)) (Validation, error) {
	if samples < 2 {
		return Validation{}, fmt.Errorf("latency: validate with %d samples: use at least 2, since a rank correlation needs two points", samples)
	}
	v := Validation{Samples: samples}
	predicted := make([]float64, samples)
	measured := make([]float64, samples)
	var relErr, relErrUncalibrated float64
	for i := range samples {
		a, err := SampleArch(s, rng)
		if err != nil {
			return Validation{}, err
		}
		sum, err := t.sumEntries(a)
		if err != nil {
			return Validation{}, err
		}
		p := t.OverheadMs + t.Scale*sum
		m := opts
		m.Seed = opts.Seed + uint64(i)
		res, err := Measure(ctx, a, m)
		if err != nil {
			return Validation{}, err
		}
		predicted[i], measured[i] = p, res.MedianMs
		relErr += math.Abs(p-res.MedianMs) / res.MedianMs
		relErrUncalibrated += math.Abs(sum-res.MedianMs) / res.MedianMs
		if res.Noisy {
			v.Noisy++
		}
		v.Children = append(v.Children, Check{ArchID: a.ID(), PredictedMs: p, MeasuredMs: res.MedianMs, CV: res.CV, Noisy: res.Noisy})
		if progress != nil {
			progress(i+1, samples)
		}
	}
	v.Spearman = Spearman(predicted, measured)
	v.MeanRelError = relErr / float64(samples)
	v.MeanRelErrorUncalibrated = relErrUncalibrated / float64(samples)
	return v, nil
}

// Spearman returns the Spearman rank correlation of x and y: the Pearson
// correlation of their ranks, with tied values given their average rank.
// It returns NaN when either has no spread. x and y must have the same
// length.
func Spearman(x, y []float64) float64 {
	if len(x) != len(y) {
		panic(fmt.Sprintf("latency: Spearman of %d and %d values", len(x), len(y)))
	}
	return pearson(ranks(x), ranks(y))
}

// ranks returns the rank of each value of v, from 1, with ties given the
// average of the ranks they span.
func ranks(v []float64) []float64 {
	order := make([]int, len(v))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case v[a] < v[b]:
			return -1
		case v[a] > v[b]:
			return 1
		}
		return 0
	})
	r := make([]float64, len(v))
	for lo := 0; lo < len(order); {
		hi := lo + 1
		for hi < len(order) && v[order[hi]] == v[order[lo]] {
			hi++
		}
		// Positions lo..hi-1 hold equal values; ranks lo+1..hi average to
		// (lo+1+hi)/2.
		avg := float64(lo+1+hi) / 2
		for _, i := range order[lo:hi] {
			r[i] = avg
		}
		lo = hi
	}
	return r
}

func pearson(x, y []float64) float64 {
	n := float64(len(x))
	var mx, my float64
	for i := range x {
		mx += x[i]
		my += y[i]
	}
	mx, my = mx/n, my/n
	var sxy, sxx, syy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		sxy += dx * dy
		sxx += dx * dx
		syy += dy * dy
	}
	if sxx == 0 || syy == 0 {
		return math.NaN()
	}
	return sxy / math.Sqrt(sxx*syy)
}
