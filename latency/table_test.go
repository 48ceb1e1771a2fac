package latency

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"nas/searchspace"
)

// profileTiny profiles the tiny space with quick measurements.
func profileTiny(t *testing.T) *Table {
	t.Helper()
	created := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	table, err := Profile(context.Background(), mustValid(t, tinySpace()), ProfileOptions{
		Measure: fastMeasure(), CalibrationSamples: 3, Seed: 1, Now: func() time.Time { return created },
	})
	if err != nil {
		t.Fatal(err)
	}
	return table
}

// handTable returns a table with the given medians and no calibration.
func handTable(medians map[string]float64) *Table {
	t := &Table{Format: FormatVersion, Machine: ThisMachine(1), Space: "hand", SpaceHash: "000000000000", Clock: ClockWall, Scale: 1}
	for k, v := range medians {
		t.Entries = append(t.Entries, Entry{Key: k, Count: 1, MedianMs: v, MeanMs: v})
	}
	return t
}

func TestTablePredictSums(t *testing.T) {
	a := searchspace.Arch{
		Input: searchspace.Shape{Height: 8, Width: 8, Channels: 1}, Classes: 3, Resolution: 8, Alpha: 1,
		Stem: searchspace.Stem{Out: 4, Kernel: 3, Stride: 1},
		Blocks: []searchspace.Block{
			{Op: searchspace.OpSkip},
			{Op: searchspace.OpMBConv, Kernel: 3, Expansion: 2, Out: 8, Stride: 2},
		},
		Head: searchspace.Head{Out: 8},
	}
	table := handTable(map[string]float64{
		"stem/8x8x1/r8/k3/s1/c4": 1,
		"mbconv/8/c4-8/k3/t2/s2": 2,
		"head/4/c8-8":            4,
		"classifier/4/c8-3":      8,
		"dsconv/8/c4-8/k3/s2":    16, // not in a
		"mbconv/8/c4-4/k3/t1/s1": 32, // not in a
	})
	got, err := table.Predict(a)
	if err != nil {
		t.Fatal(err)
	}
	if got != 15 {
		t.Errorf("Predict = %v ms, want 1 + 2 + 4 + 8 = 15", got)
	}

	table.OverheadMs, table.Scale = 0.5, 2
	if got, _ := table.Predict(a); got != 30.5 {
		t.Errorf("Predict with overhead 0.5 and scale 2 = %v ms, want 30.5", got)
	}
}

func TestTablePredictMissingEntry(t *testing.T) {
	table := handTable(map[string]float64{"stem/8x8x1/r8/k3/s1/c4": 1})
	a := searchspace.Arch{
		Input: searchspace.Shape{Height: 8, Width: 8, Channels: 1}, Classes: 3, Resolution: 8, Alpha: 1,
		Stem: searchspace.Stem{Out: 4, Kernel: 3, Stride: 1},
	}
	ms, err := table.Predict(a)
	if !errors.Is(err, ErrMissingEntry) {
		t.Fatalf("Predict = %v, %v; want ErrMissingEntry", ms, err)
	}
	if !strings.Contains(err.Error(), "classifier/8/c4-3") {
		t.Errorf("error %q does not name the missing entry classifier/8/c4-3", err)
	}
}

func TestProfileCoversSpace(t *testing.T) {
	table := profileTiny(t)
	s := tinySpace()
	keys, err := SpaceKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(table.Entries) != len(keys) {
		t.Errorf("%d entries, want %d", len(table.Entries), len(keys))
	}
	if err := table.CheckSpace(s); err != nil {
		t.Errorf("CheckSpace of its own space: %v", err)
	}
	for _, e := range table.Entries {
		if e.Count != 3 || !(e.MedianMs > 0) {
			t.Errorf("entry %+v: want 3 runs and a positive median", e)
		}
	}
	if table.CalibrationSamples != 3 || !(table.Scale >= 0.5 && table.Scale <= 2) || math.IsNaN(table.OverheadMs) {
		t.Errorf("calibration: %d samples, overhead %v, scale %v", table.CalibrationSamples, table.OverheadMs, table.Scale)
	}
	if table.Space != "tiny" || table.SpaceHash != SpaceHash(s) || table.Clock != DefaultClock(1) || table.Machine.Threads != 1 {
		t.Errorf("header: space %s %s, clock %s, threads %d", table.Space, table.SpaceHash, table.Clock, table.Machine.Threads)
	}
}

func TestProfileProgress(t *testing.T) {
	var calls []int
	_, err := Profile(context.Background(), mustValid(t, tinySpace()), ProfileOptions{
		Measure: fastMeasure(), CalibrationSamples: 2, Seed: 1,
		Progress: func(done, total int) {
			if total != 36 {
				t.Errorf("progress total %d, want 34 entries + 2 children", total)
			}
			calls = append(calls, done)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) != 36 || calls[0] != 1 || calls[35] != 36 {
		t.Errorf("progress calls %v, want 1 to 36", calls)
	}
}

func TestProfileCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Profile(ctx, mustValid(t, tinySpace()), ProfileOptions{Measure: fastMeasure()})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestTableExportImportRoundTrip(t *testing.T) {
	table := profileTiny(t)
	data, err := table.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	table.index, back.index = nil, nil
	if !reflect.DeepEqual(table, back) {
		t.Errorf("decoded table differs:\n got %+v\nwant %+v", back, table)
	}
	for _, field := range []string{`"machine"`, `"cpu"`, `"space": "tiny"`, `"created": "2026-12-04T12:00:00Z"`, `"entries"`, `"count"`, `"mean_ms"`, `"variance_ms2"`} {
		if !strings.Contains(string(data), field) {
			t.Errorf("export lacks %s", field)
		}
	}
}

// mutate decodes the export of table into a map, applies change, and
// encodes it again.
func mutate(t *testing.T, table *Table, change func(m map[string]any)) []byte {
	t.Helper()
	data, err := table.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	change(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestTableDecodeRejects(t *testing.T) {
	table := profileTiny(t)
	entry := func(m map[string]any, i int) map[string]any {
		return m["entries"].([]any)[i].(map[string]any)
	}
	for _, tc := range []struct {
		name   string
		change func(m map[string]any)
		want   string
	}{
		{"format", func(m map[string]any) { m["format"] = 2 }, "format 2 is not supported"},
		{"unknown field", func(m map[string]any) { m["units"] = "us" }, `unknown field "units"`},
		{"no space", func(m map[string]any) { m["space"] = "" }, "missing space name"},
		{"short hash", func(m map[string]any) { m["space_hash"] = "abc" }, "12 hex digits"},
		{"clock", func(m map[string]any) { m["clock"] = "tsc" }, `clock "tsc"`},
		{"zero scale", func(m map[string]any) { m["scale"] = 0 }, "scale 0"},
		{"negative scale", func(m map[string]any) { m["scale"] = -1.5 }, "scale -1.5"},
		{"negative overhead", func(m map[string]any) { m["overhead_ms"] = -100 }, "overhead_ms -100"},
		{"negative calibration samples", func(m map[string]any) { m["calibration_samples"] = -3 }, "calibration_samples -3"},
		{"no threads", func(m map[string]any) { m["machine"].(map[string]any)["threads"] = 0 }, "threads"},
		{"no entries", func(m map[string]any) { m["entries"] = []any{} }, "no entries"},
		{"bad key", func(m map[string]any) { entry(m, 0)["key"] = "mbconv/8/c4-4/k4/t1/s1" }, "must be odd"},
		{"duplicate key", func(m map[string]any) { entry(m, 1)["key"] = entry(m, 0)["key"] }, "duplicate key"},
		{"zero count", func(m map[string]any) { entry(m, 0)["count"] = 0 }, "count 0"},
		{"negative median", func(m map[string]any) { entry(m, 0)["median_ms"] = -1 }, "median_ms -1"},
		{"zero median", func(m map[string]any) { entry(m, 2)["median_ms"] = 0 }, "median_ms 0"},
		{"zero mean", func(m map[string]any) { entry(m, 0)["mean_ms"] = 0 }, "mean_ms 0"},
		{"negative variance", func(m map[string]any) { entry(m, 0)["variance_ms2"] = -0.5 }, "variance_ms2 -0.5"},
		{"negative cv", func(m map[string]any) { entry(m, 0)["cv"] = -0.1 }, "cv -0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Decode(mutate(t, table, tc.change))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), "nas latency export") {
				t.Errorf("error %q does not say how to get a valid table", err)
			}
		})
	}

	for name, data := range map[string]string{
		"truncated": `{"format": 1, "entries": [`,
		"trailing":  `{"format": 1} {}`,
		"not JSON":  `format = 1`,
	} {
		if _, err := Decode([]byte(data)); err == nil || !strings.Contains(err.Error(), "decode table") {
			t.Errorf("%s: error %v, want a decode error", name, err)
		}
	}
}

func TestTableCheckSpaceMismatch(t *testing.T) {
	table := profileTiny(t)
	other := tinySpace()
	other.Input = searchspace.Shape{Height: 10, Width: 10, Channels: 1}
	err := table.CheckSpace(mustValid(t, other))
	if !errors.Is(err, ErrSpaceMismatch) {
		t.Fatalf("error %v, want ErrSpaceMismatch", err)
	}
	for _, want := range []string{"input 8x8x1", "input 10x10x1", "--input"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}

func TestTableCheckSpaceMissing(t *testing.T) {
	table := profileTiny(t)
	removed := table.Entries[5].Key
	table.Entries = append(table.Entries[:5:5], table.Entries[6:]...)
	table.buildIndex()
	err := table.CheckSpace(tinySpace())
	if !errors.Is(err, ErrMissingEntry) {
		t.Fatalf("error %v, want ErrMissingEntry", err)
	}
	if !strings.Contains(err.Error(), removed) || !strings.Contains(err.Error(), "1 of the 34") {
		t.Errorf("error %q does not name the 1 missing entry %s", err, removed)
	}
}

func TestTableCheckSpaceExtraEntry(t *testing.T) {
	table := profileTiny(t)
	// A valid key that the tiny space cannot produce: its widest block has
	// 8 output channels.
	extra := "mbconv/8/c4-64/k3/t2/s1"
	table.Entries = append(table.Entries, Entry{Key: extra, Count: 1, MedianMs: 1, MeanMs: 1})
	table.buildIndex()
	err := table.CheckSpace(tinySpace())
	if !errors.Is(err, ErrSpaceMismatch) {
		t.Fatalf("error %v, want ErrSpaceMismatch", err)
	}
	if !strings.Contains(err.Error(), extra) {
		t.Errorf("error %q does not name the extra entry %s", err, extra)
	}
}

func TestTablePredictNeverNegative(t *testing.T) {
	a := searchspace.Arch{
		Input: searchspace.Shape{Height: 8, Width: 8, Channels: 1}, Classes: 3, Resolution: 8, Alpha: 1,
		Stem: searchspace.Stem{Out: 4, Kernel: 3, Stride: 1},
		Head: searchspace.Head{Out: 0},
	}
	medians := map[string]float64{"stem/8x8x1/r8/k3/s1/c4": 0.05, "classifier/8/c4-3": 0.07}
	for _, tc := range []struct {
		name            string
		overhead, scale float64
	}{
		{"negative overhead", -100, 1},
		{"negative scale", 0, -1},
		{"NaN overhead", math.NaN(), 1},
		{"NaN scale", 0, math.NaN()},
		{"infinite scale", 0, math.Inf(1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			table := handTable(medians)
			table.OverheadMs, table.Scale = tc.overhead, tc.scale
			ms, err := table.Predict(a)
			if err == nil {
				t.Errorf("Predict = %v ms, want an error", ms)
			}
		})
	}
}

func TestCalibrateOverheadNonNegative(t *testing.T) {
	for _, tc := range []struct {
		name          string
		sums, measure []float64
		scale         float64
	}{
		// Least squares gives 0.7·sum − 0.2, so the scale alone is fitted:
		// Σxy/Σx² = 8.6/14.
		{"line", []float64{1, 2, 3}, []float64{0.5, 1.2, 1.9}, 8.6 / 14},
		// One child: the median difference, −1 ms, is replaced by the
		// ratio 1/2.
		{"one child", []float64{2}, []float64{1}, 0.5},
		// The ratio is outside [0.5, 2], so no calibration.
		{"far off", []float64{4, 8}, []float64{1, 2}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			overhead, scale := calibrate(tc.sums, tc.measure)
			if overhead != 0 {
				t.Errorf("overhead = %v ms, want 0", overhead)
			}
			if math.Abs(scale-tc.scale) > 1e-12 {
				t.Errorf("scale = %v, want %v", scale, tc.scale)
			}
		})
	}

	// A positive intercept is kept as it is.
	overhead, scale := calibrate([]float64{1, 2, 3}, []float64{1.5, 2.5, 3.5})
	if math.Abs(overhead-0.5) > 1e-12 || math.Abs(scale-1) > 1e-12 {
		t.Errorf("calibrate of measured = sum + 0.5: overhead %v, scale %v; want 0.5, 1", overhead, scale)
	}
}
