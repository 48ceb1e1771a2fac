package latency

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"nas/searchspace"
)

// fakeTimer returns the durations of attempts in order, one per timed
// run, and counts the runs it was asked to time.
type fakeTimer struct {
	times []time.Duration
	calls int
}

func (f *fakeTimer) time(run func()) time.Duration {
	d := f.times[f.calls%len(f.times)]
	f.calls++
	return d
}

func ms(v ...float64) []time.Duration {
	out := make([]time.Duration, len(v))
	for i, x := range v {
		out[i] = time.Duration(x * float64(time.Millisecond))
	}
	return out
}

func sampleWith(t *testing.T, timer *fakeTimer, opts MeasureOptions) Result {
	t.Helper()
	opts.Timer = timer.time
	opts, err := opts.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sample(context.Background(), func() {}, 1, opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSampleQuietAcceptsFirst(t *testing.T) {
	timer := &fakeTimer{times: ms(2, 2.02, 1.98, 2.01, 1.99)}
	res := sampleWith(t, timer, MeasureOptions{Runs: 5, MaxCV: 0.05})
	if res.Attempts != 1 || res.Noisy {
		t.Errorf("attempts %d, noisy %v, want 1 and false", res.Attempts, res.Noisy)
	}
	if timer.calls != 5 {
		t.Errorf("timed %d runs, want 5", timer.calls)
	}
	if math.Abs(res.MedianMs-2) > 1e-9 {
		t.Errorf("median %v ms, want 2", res.MedianMs)
	}
}

func TestSampleNoisyRemeasures(t *testing.T) {
	// The first attempt has a 5 ms outlier (CV about 0.6); the second is
	// quiet and must be the result.
	timer := &fakeTimer{times: ms(1, 1, 5, 1, 1, 2, 2, 2, 2, 2)}
	res := sampleWith(t, timer, MeasureOptions{Runs: 5, MaxCV: 0.1, Retries: 2})
	if res.Attempts != 2 {
		t.Errorf("attempts %d, want 2", res.Attempts)
	}
	if res.Noisy {
		t.Error("flagged noisy, but the second attempt is quiet")
	}
	if res.MedianMs != 2 || res.CV != 0 {
		t.Errorf("median %v ms, CV %v, want the second attempt's 2 ms and 0", res.MedianMs, res.CV)
	}
	if timer.calls != 10 {
		t.Errorf("timed %d runs, want 10", timer.calls)
	}
}

func TestSampleNoisyFlags(t *testing.T) {
	// Every attempt is noisy; the third (1, 1, 1, 1, 2) has the smallest
	// CV and must be kept.
	timer := &fakeTimer{times: ms(1, 9, 1, 9, 1, 1, 5, 1, 5, 1, 1, 1, 1, 1, 2)}
	res := sampleWith(t, timer, MeasureOptions{Runs: 5, MaxCV: 0.1, Retries: 2})
	if !res.Noisy {
		t.Error("not flagged noisy, but every attempt has a CV above 0.1")
	}
	if res.Attempts != 3 {
		t.Errorf("attempts %d, want 3 (1 + 2 retries)", res.Attempts)
	}
	if res.MedianMs != 1 || math.Abs(res.MeanMs-1.2) > 1e-9 {
		t.Errorf("median %v, mean %v ms, want the third attempt's 1 and 1.2", res.MedianMs, res.MeanMs)
	}
	// Sample variance of (1, 1, 1, 1, 2) is 0.2, so the CV is √0.2 / 1.2.
	if want := math.Sqrt(0.2) / 1.2; math.Abs(res.CV-want) > 1e-9 {
		t.Errorf("CV %v, want %v", res.CV, want)
	}
}

func TestSampleNoRetries(t *testing.T) {
	timer := &fakeTimer{times: ms(1, 9, 1)}
	res := sampleWith(t, timer, MeasureOptions{Runs: 3, MaxCV: 0.1, Retries: -1})
	if !res.Noisy || res.Attempts != 1 || timer.calls != 3 {
		t.Errorf("noisy %v, attempts %d, runs timed %d, want true, 1, 3", res.Noisy, res.Attempts, timer.calls)
	}
}

func TestSampleDividesPerCall(t *testing.T) {
	opts, err := MeasureOptions{Runs: 3, Timer: (&fakeTimer{times: ms(8)}).time}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	res, err := sample(context.Background(), func() {}, 4, opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.MedianMs != 2 {
		t.Errorf("median %v ms for 8 ms per 4 calls, want 2", res.MedianMs)
	}
}

func TestMeasureOptionsReject(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts MeasureOptions
		want string
	}{
		{"negative threads", MeasureOptions{Threads: -1}, "thread count -1"},
		{"negative runs", MeasureOptions{Runs: -2}, "timed runs -2"},
		{"NaN max CV", MeasureOptions{MaxCV: math.NaN()}, "coefficient of variation"},
		{"unknown clock", MeasureOptions{Clock: "tsc"}, `unknown clock "tsc"`},
		{"thread clock on 2 threads", MeasureOptions{Threads: 2, Clock: ClockThreadCPU}, "needs 1 thread"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.opts.withDefaults()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestMeasureOptionsDefaults(t *testing.T) {
	got, err := MeasureOptions{Threads: 2}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if got.Clock != ClockWall || got.Runs != DefaultRuns || got.Warmup != DefaultWarmup || got.Retries != DefaultRetries || got.MaxCV != DefaultMaxCV {
		t.Errorf("defaults at 2 threads: %+v", got)
	}
}

func TestMeasureEndToEnd(t *testing.T) {
	s := mustValid(t, tinySpace())
	a, err := s.Decode(make([]int, len(s.Decisions())))
	if err != nil {
		t.Fatal(err)
	}
	for _, clock := range []string{ClockWall, DefaultClock(1)} {
		opts := fastMeasure()
		opts.Clock = clock
		res, err := Measure(context.Background(), a, opts)
		if err != nil {
			t.Fatalf("clock %s: %v", clock, err)
		}
		if res.Runs != 3 || res.Clock != clock || !(res.MedianMs > 0) || res.MedianMs > 1000 {
			t.Errorf("clock %s: %+v, want 3 runs and a median in (0, 1000] ms", clock, res)
		}
	}
}

func TestMeasureRejectsInvalidArch(t *testing.T) {
	a := searchspace.Arch{Input: searchspace.Shape{Height: 8, Width: 8, Channels: 1}, Classes: 1, Resolution: 8, Alpha: 1}
	if _, err := Measure(context.Background(), a, fastMeasure()); err == nil || !strings.Contains(err.Error(), "measure architecture") {
		t.Errorf("error %v, want one naming the architecture", err)
	}
}
