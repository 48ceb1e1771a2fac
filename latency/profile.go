package latency

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"

	"nas/searchspace"
)

// Defaults of ProfileOptions.
const (
	// DefaultMinSampleTime is the least time one timed run of an entry
	// takes: an entry faster than this is called several times per run, so
	// that timer resolution and call overhead do not dominate.
	DefaultMinSampleTime = 200 * time.Microsecond
)

// ProfileOptions configures Profile. The zero value selects every default.
type ProfileOptions struct {
	// Measure configures the measurement of each entry and of the
	// calibration children. Its Threads is the table's thread count.
	Measure MeasureOptions
	// CalibrationSamples is the number of children, drawn uniformly from
	// the space, measured end to end to fit Table.OverheadMs and
	// Table.Scale. The default, 0, fits nothing (overhead 0, scale 1),
	// because on the default space a fit to 12 children made predictions
	// worse than the plain sum (docs/latency.md has the numbers).
	CalibrationSamples int
	// MinSampleTime is the least time of one timed run of an entry; 0
	// means DefaultMinSampleTime.
	MinSampleTime time.Duration
	// Seed seeds the weights, the inputs and the overhead children.
	Seed uint64
	// Progress, when not nil, is called after each entry and each
	// calibration child with the number done and the total.
	Progress func(done, total int)
	// Logger receives one debug line per entry; nil discards.
	Logger *slog.Logger
	// Now returns the table's creation time; nil means time.Now.
	Now func() time.Time
}

// Profile measures every layer configuration that the space s can produce
// (SpaceKeys) at batch 1 and returns the table. Each entry is timed alone on
// buffers of its own, calling the same kernels as childnet's eval-mode
// forward pass. Then CalibrationSamples children, if any, are measured end
// to end (Measure) and calibrate fits OverheadMs and Scale to them. Profile sets the kernels'
// thread cap while it runs, so nothing else may run kernels meanwhile. s
// must be valid.
func Profile(ctx context.Context, s searchspace.Space, opts ProfileOptions) (*Table, error) {
	measure, err := opts.Measure.withDefaults()
	if err != nil {
		return nil, err
	}
	if opts.CalibrationSamples < 0 {
		return nil, fmt.Errorf("latency: invalid calibration sample count %d: use 0 for none, or 3 or more", opts.CalibrationSamples)
	}
	if opts.MinSampleTime <= 0 {
		opts.MinSampleTime = DefaultMinSampleTime
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	keys, err := SpaceKeys(s)
	if err != nil {
		return nil, err
	}

	t := &Table{
		Format:    FormatVersion,
		Machine:   ThisMachine(measure.Threads),
		Space:     s.Name,
		SpaceHash: SpaceHash(s),
		Input:     s.Input,
		Classes:   s.Classes,
		Created:   opts.Now().UTC(),
		Clock:     measure.Clock,
		Scale:     1,
	}
	total := len(keys) + opts.CalibrationSamples
	rng := rand.New(rand.NewPCG(opts.Seed, 2))

	// Entries, each timed alone.
	err = withThreads(measure.Threads, func() error {
		for i, k := range keys {
			res, err := measureEntry(ctx, k, rng, opts.MinSampleTime, measure)
			if err != nil {
				return fmt.Errorf("latency: profile entry %s: %w", k, err)
			}
			t.Entries = append(t.Entries, Entry{Key: k.String(), Count: res.Runs, MedianMs: res.MedianMs, MeanMs: res.MeanMs,
				VarianceMs2: res.VarianceMs2, CV: res.CV, Noisy: res.Noisy})
			opts.Logger.Debug("latency entry", "key", k.String(), "median_ms", res.MedianMs, "cv", res.CV, "attempts", res.Attempts, "noisy", res.Noisy)
			if opts.Progress != nil {
				opts.Progress(i+1, total)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.buildIndex()

	// The calibration from children measured end to end.
	children := rand.New(rand.NewPCG(opts.Seed, 3))
	sums := make([]float64, 0, opts.CalibrationSamples)
	measured := make([]float64, 0, opts.CalibrationSamples)
	for i := range opts.CalibrationSamples {
		a, err := SampleArch(s, children)
		if err != nil {
			return nil, err
		}
		sum, err := t.sumEntries(a)
		if err != nil {
			return nil, err
		}
		m := measure
		m.Seed = opts.Seed + uint64(i)
		res, err := Measure(ctx, a, m)
		if err != nil {
			return nil, err
		}
		sums = append(sums, sum)
		measured = append(measured, res.MedianMs)
		if opts.Progress != nil {
			opts.Progress(len(keys)+i+1, total)
		}
	}
	t.OverheadMs, t.Scale = calibrate(sums, measured)
	t.CalibrationSamples = len(sums)

	// An import would reject a table that fails Decode's checks, so Profile
	// does not return one either.
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("latency: profile of space %s gave an invalid table: %w; profile it again", s.Name, err)
	}
	return t, nil
}

// measureEntry times the layers of k alone. A run calls them often enough
// to take at least minTime, and the times are divided by that count.
func measureEntry(ctx context.Context, k Key, rng *rand.Rand, minTime time.Duration, opts MeasureOptions) (Result, error) {
	if err := k.check(); err != nil {
		return Result{}, err
	}
	once := newRunner(k, rng)
	once()
	start := time.Now()
	once()
	single := time.Since(start)
	perCall := 1
	if single < minTime {
		perCall = min(int(minTime/max(single, time.Nanosecond))+1, 10000)
	}
	run := func() {
		for range perCall {
			once()
		}
	}
	return sample(ctx, run, perCall, opts)
}

// SampleArch draws an architecture of s uniformly: each decision's choice
// independently and with equal probability.
func SampleArch(s searchspace.Space, rng *rand.Rand) (searchspace.Arch, error) {
	decisions := s.Decisions()
	tokens := make([]int, len(decisions))
	for i, d := range decisions {
		tokens[i] = rng.IntN(len(d.Choices))
	}
	a, err := s.Decode(tokens)
	if err != nil {
		return searchspace.Arch{}, fmt.Errorf("latency: sample an architecture of space %s: %w", s.Name, err)
	}
	return a, nil
}

// calibrate fits measured ≈ overhead + scale·sum by least squares (fitLine).
// A negative overhead would predict a negative latency for a small enough
// child, so when the fit gives one, calibrate fits the scale alone with the
// overhead at 0 (fitScale). With no points it returns 0 and 1.
func calibrate(sums, measured []float64) (overhead, scale float64) {
	if len(sums) == 0 {
		return 0, 1
	}
	overhead, scale = fitLine(sums, measured)
	if overhead >= 0 {
		return overhead, scale
	}
	return 0, fitScale(sums, measured)
}

// fitLine fits measured ≈ overhead + scale·sum by least squares. It keeps
// scale 1 and returns the median difference as the overhead when there are
// fewer than 3 points, no spread in sum, or a fitted scale outside [0.5, 2],
// which it takes for a fit to noise. sums must not be empty.
func fitLine(sums, measured []float64) (overhead, scale float64) {
	n := len(sums)
	diffs := make([]float64, n)
	for i := range sums {
		diffs[i] = measured[i] - sums[i]
	}
	if n < 3 {
		return median(diffs), 1
	}

	var meanX, meanY float64
	for i := range sums {
		meanX += sums[i]
		meanY += measured[i]
	}
	meanX, meanY = meanX/float64(n), meanY/float64(n)

	var sxy, sxx float64
	for i := range sums {
		sxy += (sums[i] - meanX) * (measured[i] - meanY)
		sxx += (sums[i] - meanX) * (sums[i] - meanX)
	}
	if sxx == 0 {
		return median(diffs), 1
	}

	scale = sxy / sxx
	if scale < 0.5 || scale > 2 {
		return median(diffs), 1
	}
	return meanY - scale*meanX, scale
}

// fitScale fits measured ≈ scale·sum by least squares: Σ sum·measured / Σ
// sum². It returns 1 for a scale outside [0.5, 2], which it takes for a fit
// to noise.
func fitScale(sums, measured []float64) float64 {
	var sxy, sxx float64
	for i := range sums {
		sxy += sums[i] * measured[i]
		sxx += sums[i] * sums[i]
	}
	if sxx == 0 {
		return 1
	}
	scale := sxy / sxx
	if !(scale >= 0.5 && scale <= 2) {
		return 1
	}
	return scale
}

func median(v []float64) float64 {
	sorted := slices.Sorted(slices.Values(v))
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}
