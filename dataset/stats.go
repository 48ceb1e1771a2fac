package dataset

import (
	"fmt"
	"math"
)

// minStd is the smallest standard deviation used to normalise, so that a
// constant channel maps to zero instead of dividing by zero.
const minStd = 1e-3

// Stats holds per-channel normalisation constants on the [0, 1] pixel
// scale (byte value / 255): a pixel v of channel c becomes
// (v/255 − Mean[c]) / Std[c].
type Stats struct {
	Mean []float32 `json:"mean"`
	Std  []float32 `json:"std"`
}

// ComputeStats returns the per-channel mean and population standard
// deviation of set. Compute it on the training split and use it for every
// split, so no statistic leaks from validation or test data.
func ComputeStats(set *Set) Stats {
	// Count byte values per channel, then derive both moments from the
	// histogram: exact, and one pass over the pixels.
	counts := make([][256]int64, set.Channels)
	for p, v := range set.Images {
		counts[p%set.Channels][v]++
	}

	stats := Stats{Mean: make([]float32, set.Channels), Std: make([]float32, set.Channels)}
	for c := range counts {
		var n, sum, sumSq float64
		for v, k := range counts[c] {
			x := float64(v) / 255
			n += float64(k)
			sum += float64(k) * x
			sumSq += float64(k) * x * x
		}
		if n == 0 {
			continue
		}
		mean := sum / n
		stats.Mean[c] = float32(mean)
		stats.Std[c] = float32(math.Sqrt(max(sumSq/n-mean*mean, 0)))
	}
	return stats
}

// lookupTables returns, per channel, the normalised value of each of the
// 256 byte values.
func (s Stats) lookupTables() [][256]float32 {
	tables := make([][256]float32, len(s.Mean))
	for c := range tables {
		std := max(float64(s.Std[c]), minStd)
		for v := range 256 {
			tables[c][v] = float32((float64(v)/255 - float64(s.Mean[c])) / std)
		}
	}
	return tables
}

// validate checks that s has one finite mean and a positive std per channel.
func (s Stats) validate(channels int) error {
	if len(s.Mean) != channels || len(s.Std) != channels {
		return fmt.Errorf("dataset: stats have %d means and %d stds for %d channels; compute them with ComputeStats on this dataset",
			len(s.Mean), len(s.Std), channels)
	}
	for c := range channels {
		m, sd := float64(s.Mean[c]), float64(s.Std[c])
		if math.IsNaN(m) || math.IsInf(m, 0) || math.IsNaN(sd) || math.IsInf(sd, 0) || sd < 0 {
			return fmt.Errorf("dataset: stats of channel %d are mean %v, std %v; expected finite values and std ≥ 0", c, m, sd)
		}
	}
	return nil
}
