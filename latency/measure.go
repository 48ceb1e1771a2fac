package latency

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"time"

	"nas/childnet"
	"nas/kernels"
	"nas/searchspace"
)

// Timer times one call of run. Tests pass a fake one to inject noise.
type Timer func(run func()) time.Duration

// Clocks that a measurement can time runs with.
const (
	// ClockWall is elapsed wall time, what a user of the model waits.
	ClockWall = "wall"
	// ClockThreadCPU is the CPU time of the measuring OS thread (Linux
	// only). At one thread it equals wall time on an idle machine, and it
	// leaves out the time other processes hold the core, so it is the
	// better estimate on a shared one. It needs Threads = 1, because kernel
	// work on other threads would not be counted.
	ClockThreadCPU = "thread-cpu"
)

// DefaultClock returns the clock a measurement with the given thread cap
// uses when MeasureOptions.Clock is empty: ClockThreadCPU at one thread on
// Linux, ClockWall otherwise.
func DefaultClock(threads int) string {
	if threads == 1 && threadCPUSupported {
		return ClockThreadCPU
	}
	return ClockWall
}

func wallTimer(run func()) time.Duration {
	start := time.Now()
	run()
	return time.Since(start)
}

// Defaults of MeasureOptions.
const (
	DefaultThreads = 1
	DefaultWarmup  = 3
	DefaultRuns    = 15
	DefaultMaxCV   = 0.10
	DefaultRetries = 2
)

// MeasureOptions configures a measurement. The zero value selects every
// default.
type MeasureOptions struct {
	// Threads is the kernels' thread cap while measuring (kernels.SetThreads);
	// 0 means DefaultThreads, one thread.
	Threads int
	// Warmup is the number of untimed runs before each attempt; 0 means
	// DefaultWarmup and a negative value means none.
	Warmup int
	// Runs is the number of timed runs per attempt; 0 means DefaultRuns.
	Runs int
	// MaxCV is the largest coefficient of variation (standard deviation
	// over mean of the timed runs) that an attempt may have to be accepted;
	// 0 means DefaultMaxCV.
	MaxCV float64
	// Retries is how many more attempts follow an attempt whose CV is above
	// MaxCV; 0 means DefaultRetries and a negative value means none.
	Retries int
	// Clock is ClockWall or ClockThreadCPU; empty means DefaultClock(Threads).
	Clock string
	// Timer, when not nil, times each run in place of Clock.
	Timer Timer
	// Seed seeds the weights and the input image of an end-to-end
	// measurement. Latency does not depend on their values.
	Seed uint64
}

func (o MeasureOptions) withDefaults() (MeasureOptions, error) {
	switch {
	case o.Threads < 0:
		return o, fmt.Errorf("latency: invalid thread count %d: use 1 or more, or 0 for %d", o.Threads, DefaultThreads)
	case o.Runs < 0:
		return o, fmt.Errorf("latency: invalid number of timed runs %d: use 1 or more, or 0 for %d", o.Runs, DefaultRuns)
	case math.IsNaN(o.MaxCV) || o.MaxCV < 0:
		return o, fmt.Errorf("latency: invalid maximum coefficient of variation %v: use a positive fraction such as 0.1, or 0 for %g", o.MaxCV, DefaultMaxCV)
	}

	if o.Threads == 0 {
		o.Threads = DefaultThreads
	}
	if o.Warmup == 0 {
		o.Warmup = DefaultWarmup
	}
	o.Warmup = max(o.Warmup, 0)
	if o.Runs == 0 {
		o.Runs = DefaultRuns
	}
	if o.MaxCV == 0 {
		o.MaxCV = DefaultMaxCV
	}
	if o.Retries == 0 {
		o.Retries = DefaultRetries
	}
	o.Retries = max(o.Retries, 0)

	if o.Clock == "" {
		o.Clock = DefaultClock(o.Threads)
	}
	switch {
	case o.Clock == ClockWall:
		if o.Timer == nil {
			o.Timer = wallTimer
		}
	case o.Clock == ClockThreadCPU && !threadCPUSupported:
		return o, fmt.Errorf("latency: clock %s is supported on Linux only; use %s", ClockThreadCPU, ClockWall)
	case o.Clock == ClockThreadCPU && o.Threads != 1:
		return o, fmt.Errorf("latency: clock %s needs 1 thread, not %d, because it does not count kernel work on other threads; use clock %s", ClockThreadCPU, o.Threads, ClockWall)
	case o.Clock == ClockThreadCPU:
		if o.Timer == nil {
			o.Timer = threadCPUTimer
		}
	default:
		return o, fmt.Errorf("latency: unknown clock %q; use %s or %s", o.Clock, ClockWall, ClockThreadCPU)
	}
	return o, nil
}

// Result is one measurement: the statistics of the timed runs of the
// accepted attempt, in milliseconds.
type Result struct {
	MedianMs float64 `json:"median_ms"`
	MeanMs   float64 `json:"mean_ms"`
	// VarianceMs2 is the unbiased sample variance of the runs, in ms².
	VarianceMs2 float64 `json:"variance_ms2"`
	// CV is the coefficient of variation of the runs: standard deviation
	// over mean.
	CV float64 `json:"cv"`
	// Runs is the number of timed runs behind the statistics.
	Runs int `json:"runs"`
	// Attempts is the number of attempts made, 1 when the first was
	// accepted.
	Attempts int `json:"attempts"`
	// Noisy is set when no attempt had a CV at most MaxCV; the result is then
	// the attempt with the smallest CV.
	Noisy bool `json:"noisy"`
	// Clock is the clock the runs were timed with (MeasureOptions.Clock).
	Clock string `json:"clock"`
}

// sample times run: opts.Warmup untimed runs, then opts.Runs timed ones, and
// again up to opts.Retries times while the CV of the timed runs is above
// opts.MaxCV. Each timed duration is divided by perCall, the number of times
// run calls the code being measured. opts must have its defaults applied.
func sample(ctx context.Context, run func(), perCall int, opts MeasureOptions) (Result, error) {
	// The thread CPU clock reads the current thread's time, so the
	// goroutine must stay on one thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()

	var best Result
	times := make([]float64, opts.Runs)
	for attempt := 1; attempt <= 1+opts.Retries; attempt++ {
		for range opts.Warmup {
			run()
		}
		for i := range times {
			if err := ctx.Err(); err != nil {
				return Result{}, err
			}
			times[i] = float64(opts.Timer(run).Nanoseconds()) / 1e6 / float64(perCall)
		}
		r := summarize(times)
		r.Attempts = attempt
		r.Clock = opts.Clock
		if attempt == 1 || r.CV < best.CV {
			best = r
		}
		best.Attempts = attempt
		if r.CV <= opts.MaxCV {
			return best, nil
		}
	}
	best.Noisy = true
	return best, nil
}

// summarize returns the median, mean, unbiased variance and CV of times.
func summarize(times []float64) Result {
	n := len(times)
	r := Result{Runs: n, MedianMs: median(times)}
	for _, t := range times {
		r.MeanMs += t
	}
	r.MeanMs /= float64(n)
	if n > 1 {
		for _, t := range times {
			r.VarianceMs2 += (t - r.MeanMs) * (t - r.MeanMs)
		}
		r.VarianceMs2 /= float64(n - 1)
	}
	if r.MeanMs > 0 {
		r.CV = math.Sqrt(r.VarianceMs2) / r.MeanMs
	}
	return r
}

// withThreads sets the kernels' thread cap to n for the duration of fn.
func withThreads(n int, fn func() error) error {
	previous := kernels.Threads()
	kernels.SetThreads(n)
	defer kernels.SetThreads(previous)
	return fn()
}

// Measure returns the end-to-end inference latency of a at batch 1: the
// eval-mode forward pass of childnet (Worker.Logits) of a standalone model
// with fresh weights, from the input image to the logits, including the
// resize to a's resolution. It sets the kernels' thread cap to
// opts.Threads while it runs and restores it after, so nothing else may run
// kernels meanwhile, or both the cap and the timing are wrong.
func Measure(ctx context.Context, a searchspace.Arch, opts MeasureOptions) (Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return Result{}, err
	}
	if err := a.Validate(); err != nil {
		return Result{}, fmt.Errorf("latency: measure architecture %s: %w", a.ID(), err)
	}
	net, err := childnet.NewModel(a, opts.Seed)
	if err != nil {
		return Result{}, fmt.Errorf("latency: measure architecture %s: %w", a.ID(), err)
	}
	child, err := net.Bind(a)
	if err != nil {
		return Result{}, fmt.Errorf("latency: measure architecture %s: %w", a.ID(), err)
	}
	worker := net.NewWorker(1)
	x := randomValues(rand.New(rand.NewPCG(opts.Seed, 1)), a.Input.Height*a.Input.Width*a.Input.Channels)

	var res Result
	var runErr error
	run := func() {
		if _, err := worker.Logits(child, x, 1); err != nil && runErr == nil {
			runErr = err
		}
	}
	err = withThreads(opts.Threads, func() error {
		var err error
		res, err = sample(ctx, run, 1, opts)
		return errors.Join(err, runErr)
	})
	if err != nil {
		return Result{}, fmt.Errorf("latency: measure architecture %s: %w", a.ID(), err)
	}
	return res, nil
}

// randomValues returns n values uniform in [-1, 1).
func randomValues(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}
