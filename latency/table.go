package latency

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"nas/searchspace"
)

// FormatVersion is the version of the table encoding that Encode writes and
// Decode accepts.
const FormatVersion = 1

var (
	// ErrMissingEntry is returned (wrapped) by Predict when a table has no
	// entry for a layer of the architecture, and by CheckSpace when a table
	// does not cover a space.
	ErrMissingEntry = errors.New("latency table has no entry")

	// ErrSpaceMismatch is returned (wrapped) by CheckSpace when a table was
	// measured for another space than the one given.
	ErrSpaceMismatch = errors.New("table is for another search space")
)

// Entry is the measured latency of one layer configuration at batch 1. The
// statistics are over the timed runs of the accepted attempt, in
// milliseconds; see Result.
type Entry struct {
	Key         string  `json:"key"`
	Count       int     `json:"count"`
	MedianMs    float64 `json:"median_ms"`
	MeanMs      float64 `json:"mean_ms"`
	VarianceMs2 float64 `json:"variance_ms2"`
	CV          float64 `json:"cv"`
	Noisy       bool    `json:"noisy,omitempty"`
}

// Table is a latency lookup table of one search space on one machine.
// Predict sums the median latencies of an architecture's entries and
// calibrates the sum with OverheadMs and Scale.
type Table struct {
	Format  int     `json:"format"`
	Machine Machine `json:"machine"`
	// Space is the name of the space and SpaceHash its SpaceHash; Input
	// and Classes are the space's, for error messages.
	Space     string            `json:"space"`
	SpaceHash string            `json:"space_hash"`
	Input     searchspace.Shape `json:"input"`
	Classes   int               `json:"classes"`
	Created   time.Time         `json:"created"`
	// Clock is the clock the entries were timed with: ClockWall or
	// ClockThreadCPU.
	Clock string `json:"clock"`
	// OverheadMs and Scale calibrate the sum of entries to end-to-end
	// latency: Predict returns OverheadMs + Scale·sum. Profile fits them,
	// when asked, by least squares to children measured end to end.
	// OverheadMs covers what no entry times, such as the forward pass's
	// input checks and workspace set-up. Scale covers effects that grow
	// with the network, such as cache state: a layer timed alone reads
	// inputs left hot by its own previous run.
	OverheadMs float64 `json:"overhead_ms"`
	Scale      float64 `json:"scale"`
	// CalibrationSamples is the number of children OverheadMs and Scale
	// were fitted to, or 0 for none (overhead 0, scale 1).
	CalibrationSamples int `json:"calibration_samples"`
	// Entries are sorted by key.
	Entries []Entry `json:"entries"`

	index map[string]int
}

// SpaceHash returns the first 12 hex digits of the SHA-256 of the JSON
// encoding of s. Two spaces with the same hash produce the same entries.
func SpaceHash(s searchspace.Space) string {
	data, err := json.Marshal(s)
	if err != nil {
		// A Space holds ints, strings and finite floats once validated.
		panic(fmt.Sprintf("latency: encode space %s: %v", s.Name, err))
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:6])
}

// Entry returns the entry of key k.
func (t *Table) Entry(k Key) (Entry, bool) {
	if t.index == nil {
		t.buildIndex()
	}
	i, ok := t.index[k.String()]
	if !ok {
		return Entry{}, false
	}
	return t.Entries[i], true
}

func (t *Table) buildIndex() {
	t.index = make(map[string]int, len(t.Entries))
	for i, e := range t.Entries {
		t.index[e.Key] = i
	}
}

// Predict returns the predicted inference latency of a at batch 1 in
// milliseconds: OverheadMs + Scale·Σ, where Σ is the sum of the median
// latencies of a's entries (ArchKeys). It returns an error wrapping
// ErrMissingEntry and naming the first missing entry when the table lacks
// one; it never counts a missing entry as 0. It returns an error instead
// of a prediction that is not finite or not above 0, which a table that
// passed Decode never gives.
func (t *Table) Predict(a searchspace.Arch) (float64, error) {
	sum, err := t.sumEntries(a)
	if err != nil {
		return 0, err
	}
	ms := t.OverheadMs + t.Scale*sum
	if !finiteAboveZero(ms) {
		return 0, fmt.Errorf("latency: predict architecture %s: %v ms from overhead_ms %v + scale %v × %v ms of entries is not a latency; check the table of space %s, machine %s with `nas latency export`, and profile the space again with `nas latency profile`", a.ID(), ms, t.OverheadMs, t.Scale, sum, t.Space, t.Machine.ID())
	}
	return ms, nil
}

// sumEntries returns the sum of the median latencies of a's entries,
// uncalibrated.
func (t *Table) sumEntries(a searchspace.Arch) (float64, error) {
	var sum float64
	for _, k := range ArchKeys(a) {
		e, ok := t.Entry(k)
		if !ok {
			return 0, fmt.Errorf("latency: predict architecture %s: %w %s (space %s, machine %s); profile this space with `nas latency profile`", a.ID(), ErrMissingEntry, k, t.Space, t.Machine.ID())
		}
		sum += e.MedianMs
	}
	return sum, nil
}

// Latency returns Predict(a). Its signature matches the Latency method of
// the search's backend, so a table can stand in for measurement.
func (t *Table) Latency(ctx context.Context, a searchspace.Arch) (float64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return t.Predict(a)
}

// CheckSpace returns an error wrapping ErrSpaceMismatch when t was measured
// for another space than s or holds an entry that s does not produce, or
// wrapping ErrMissingEntry when t lacks an entry of s. A table that passes
// predicts every child of s.
func (t *Table) CheckSpace(s searchspace.Space) error {
	if hash := SpaceHash(s); t.SpaceHash != hash {
		return fmt.Errorf("latency: %w: it was profiled for space %s (hash %s, input %dx%dx%d, %d classes), not %s (hash %s, input %dx%dx%d, %d classes); pass the same --space, --input and --classes it was profiled with, or profile this space",
			ErrSpaceMismatch, t.Space, t.SpaceHash, t.Input.Height, t.Input.Width, t.Input.Channels, t.Classes,
			s.Name, hash, s.Input.Height, s.Input.Width, s.Input.Channels, s.Classes)
	}
	keys, err := SpaceKeys(s)
	if err != nil {
		return err
	}
	var missing []string
	produced := make(map[string]bool, len(keys))
	for _, k := range keys {
		produced[k.String()] = true
		if _, ok := t.Entry(k); !ok {
			missing = append(missing, k.String())
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("latency: %w for %d of the %d layer configurations of space %s, the first %s; profile the space again with `nas latency profile`", ErrMissingEntry, len(missing), len(keys), s.Name, missing[0])
	}

	// An entry the space cannot produce means the table was built from
	// another space, or edited, even though the hash matches.
	var extra []string
	for _, e := range t.Entries {
		if !produced[e.Key] {
			extra = append(extra, e.Key)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("latency: %w: %d of its entries are layer configurations that space %s does not produce, the first %s; profile the space again with `nas latency profile`", ErrSpaceMismatch, len(extra), s.Name, extra[0])
	}
	return nil
}

// Encode returns t as indented JSON, the export format.
func (t *Table) Encode() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	if err := enc.Encode(t); err != nil {
		return nil, fmt.Errorf("latency: encode table: %w", err)
	}
	return buf.Bytes(), nil
}

// Decode parses a table that Encode wrote and checks it. The format
// version, the machine and the space fields must be set. The overhead must
// be finite and at least 0, and the scale finite and above 0. Every entry
// key must parse (ParseKey) and appear once, with a count of at least 1,
// finite medians and means above 0, and finite variances and CVs of at
// least 0. These checks keep every prediction finite and above 0. Unknown
// fields are rejected. Decode does not check the table against a space;
// call CheckSpace.
func Decode(data []byte) (*Table, error) {
	var t Table
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("latency: decode table: %w; pass a file that `nas latency export` wrote", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("latency: decode table: trailing data after the JSON object; pass a file that `nas latency export` wrote")
	}
	if err := t.check(); err != nil {
		return nil, fmt.Errorf("latency: invalid table: %w; correct the field, or export the table again with `nas latency export` from the store it was profiled in", err)
	}
	t.buildIndex()
	return &t, nil
}

// check validates the fields of a table. Its messages name each field by
// its JSON name, since people edit exported tables.
func (t *Table) check() error {
	switch {
	case t.Format != FormatVersion:
		return fmt.Errorf("format %d is not supported; this nas reads format %d", t.Format, FormatVersion)
	case t.Space == "":
		return fmt.Errorf("missing space name")
	case len(t.SpaceHash) != 12:
		return fmt.Errorf("space hash %q must be 12 hex digits", t.SpaceHash)
	case t.Machine.CPU == "" || t.Machine.Threads < 1:
		return fmt.Errorf("machine %+v needs a CPU name and a thread count (threads) of at least 1", t.Machine)
	case !finiteAtLeastZero(t.OverheadMs):
		return fmt.Errorf("overhead_ms %v must be finite and at least 0 (a negative overhead gives small children negative latencies); use 0 for an uncalibrated table", t.OverheadMs)
	case !finiteAboveZero(t.Scale):
		return fmt.Errorf("scale %v must be finite and above 0; use 1 for an uncalibrated table", t.Scale)
	case t.CalibrationSamples < 0:
		return fmt.Errorf("calibration_samples %d is negative; use 0 for an uncalibrated table", t.CalibrationSamples)
	case t.Clock != ClockWall && t.Clock != ClockThreadCPU:
		return fmt.Errorf("clock %q must be %s or %s", t.Clock, ClockWall, ClockThreadCPU)
	case len(t.Entries) == 0:
		return fmt.Errorf("the table has no entries")
	}
	seen := make(map[string]bool, len(t.Entries))
	for i, e := range t.Entries {
		if _, err := ParseKey(e.Key); err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if seen[e.Key] {
			return fmt.Errorf("entry %d: duplicate key %s", i, e.Key)
		}
		seen[e.Key] = true
		if err := e.check(); err != nil {
			return fmt.Errorf("entry %d (%s): %w", i, e.Key, err)
		}
	}
	return nil
}

// check validates the count and statistics of an entry. A median of 0
// would let a layer cost nothing, so medians and means must be above 0.
func (e Entry) check() error {
	if e.Count < 1 {
		return fmt.Errorf("count %d must be at least 1", e.Count)
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"median_ms", e.MedianMs}, {"mean_ms", e.MeanMs}} {
		if !finiteAboveZero(f.v) {
			return fmt.Errorf("%s %v must be finite and above 0", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"variance_ms2", e.VarianceMs2}, {"cv", e.CV}} {
		if !finiteAtLeastZero(f.v) {
			return fmt.Errorf("%s %v must be finite and at least 0", f.name, f.v)
		}
	}
	return nil
}

func finiteAtLeastZero(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v >= 0
}

func finiteAboveZero(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0) && v > 0
}

// Summary returns a one-line description of t for people.
func (t *Table) Summary() string {
	noisy := 0
	for _, e := range t.Entries {
		if e.Noisy {
			noisy++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "space %s (%s), %d entries (%d noisy), prediction %.4f ms + %.3f × sum, %s clock, machine %s (%s), %s",
		t.Space, t.SpaceHash, len(t.Entries), noisy, t.OverheadMs, t.Scale, t.Clock, t.Machine.ID(), t.Machine, t.Created.Format(time.DateOnly))
	return b.String()
}
