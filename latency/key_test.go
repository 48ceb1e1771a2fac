package latency

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"nas/searchspace"
)

func TestKeyParseRoundTrip(t *testing.T) {
	for _, k := range []Key{
		{Kind: KindStem, Input: searchspace.Shape{Height: 28, Width: 28, Channels: 1}, Side: 24, In: 1, Out: 16, Kernel: 3, Stride: 1},
		{Kind: KindMBConv, Side: 24, In: 16, Out: 24, Kernel: 5, Expansion: 6, Stride: 2},
		{Kind: KindDSConv, Side: 14, In: 24, Out: 24, Kernel: 3, Stride: 1},
		{Kind: KindHead, Side: 4, In: 80, Out: 256},
		{Kind: KindClassifier, Side: 4, In: 256, Out: 10},
	} {
		t.Run(k.Kind, func(t *testing.T) {
			got, err := ParseKey(k.String())
			if err != nil {
				t.Fatalf("ParseKey(%q): %v", k.String(), err)
			}
			if got != k {
				t.Errorf("ParseKey(%q) = %+v, want %+v", k.String(), got, k)
			}
		})
	}
}

func TestKeyParseRejects(t *testing.T) {
	for _, tc := range []struct{ name, key, want string }{
		{"unknown kind", "conv/24/c16-24/k3/s1", "unknown kind"},
		{"not canonical", "mbconv/24/c16-24/k05/t6/s2", "canonical form"},
		{"trailing text", "head/4/c80-256/x", "canonical form"},
		{"missing field", "mbconv/24/c16-24/k5/s2", "after"},
		{"even kernel", "mbconv/24/c16-24/k4/t6/s2", "must be odd"},
		{"stride 3", "dsconv/24/c16-24/k3/s3", "stride 3"},
		{"zero channels", "classifier/4/c0-10", "size 0"},
		{"huge side", "head/99999999/c8-8", "outside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseKey(tc.key)
			if err == nil {
				t.Fatalf("ParseKey(%q) succeeded, want an error", tc.key)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ParseKey(%q) error %q does not contain %q", tc.key, err, tc.want)
			}
		})
	}
}

// archWith decodes the default space with every token 0 except those set.
func archWith(t *testing.T, s searchspace.Space, set map[string]int) searchspace.Arch {
	t.Helper()
	decisions := s.Decisions()
	tokens := make([]int, len(decisions))
	for i, d := range decisions {
		tokens[i] = set[d.Name]
	}
	a, err := s.Decode(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func defaultSpace(t *testing.T) searchspace.Space {
	t.Helper()
	s, err := searchspace.BuiltinSpace(searchspace.SpaceDefault, searchspace.Shape{Height: 28, Width: 28, Channels: 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestArchKeysSharedBlock(t *testing.T) {
	s := defaultSpace(t)
	// Both children have block 3 as mbconv k5 t6 at α 1 and ρ 1; they
	// differ in block 0 and in whether block 2 is skipped.
	a := archWith(t, s, map[string]int{"block3.kernel": 1, "block3.expansion": 2, "width_multiplier": 2, "resolution_multiplier": 1})
	b := archWith(t, s, map[string]int{"block3.kernel": 1, "block3.expansion": 2, "width_multiplier": 2, "resolution_multiplier": 1,
		"block0.kernel": 2, "block2.op": 1})
	a.Alpha, b.Alpha = 0, 0 // Alpha is only a record; keys must not use it.

	keyA := ArchKeys(a)[4] // stem, blocks 0-2, then block 3
	keyB := ArchKeys(b)[3] // stem, blocks 0-1 (block 2 skipped), then block 3
	want := Key{Kind: KindMBConv, Side: 14, In: 24, Out: 40, Kernel: 5, Expansion: 6, Stride: 2}
	if keyA != want {
		t.Errorf("block 3 of the first child has key %s, want %s", keyA, want)
	}
	if keyA != keyB {
		t.Errorf("block 3 has key %s in one child and %s in the other", keyA, keyB)
	}

	// A table built from the first child's entries alone predicts the
	// second child's shared entry from the same value.
	table := &Table{Scale: 1}
	for i, k := range ArchKeys(a) {
		table.Entries = append(table.Entries, Entry{Key: k.String(), Count: 1, MedianMs: float64(i + 1)})
	}
	ea, okA := table.Entry(keyA)
	eb, okB := table.Entry(keyB)
	if !okA || !okB || ea != eb {
		t.Errorf("shared entry lookups: %+v (%v) and %+v (%v), want one entry", ea, okA, eb, okB)
	}
	if _, err := table.Predict(b); !errors.Is(err, ErrMissingEntry) {
		t.Errorf("Predict of the second child (block 0 differs) returned %v, want ErrMissingEntry", err)
	}
}

func TestArchKeysDistinguish(t *testing.T) {
	s := defaultSpace(t)
	base := ArchKeys(archWith(t, s, nil))[1]
	for name, set := range map[string]map[string]int{
		"kernel":     {"block0.kernel": 1},
		"expansion":  {"block0.expansion": 1},
		"width":      {"width_multiplier": 1},
		"resolution": {"resolution_multiplier": 1},
	} {
		if k := ArchKeys(archWith(t, s, set))[1]; k == base {
			t.Errorf("changing the %s leaves block 0's key at %s", name, k)
		}
	}
}

func TestArchKeysSkipHasNoKey(t *testing.T) {
	s := defaultSpace(t)
	full := ArchKeys(archWith(t, s, nil))
	skipped := ArchKeys(archWith(t, s, map[string]int{"block2.op": 1, "block4.op": 1, "block6.op": 1}))
	// Stem, 7 blocks, head, classifier; then 3 blocks fewer.
	if len(full) != 10 || len(skipped) != 7 {
		t.Errorf("got %d keys for the full child and %d with 3 skips, want 10 and 7", len(full), len(skipped))
	}
}

func TestSpaceKeysDefaultCount(t *testing.T) {
	keys, err := SpaceKeys(defaultSpace(t))
	if err != nil {
		t.Fatal(err)
	}
	// 3 widths × 2 resolutions = 6 (α, ρ) pairs. Each has a stem, a head
	// (80α → 256 channels) and 7 slots × 3 kernels × 3 expansion ratios
	// = 63 mbconv blocks: 6 × 65 = 390. The classifier always maps 256
	// channels to 10 classes, so it differs only by the final side (3 or
	// 4): 2 more.
	if len(keys) != 392 {
		t.Errorf("default space has %d distinct keys, want 392", len(keys))
	}
	if !slices.IsSortedFunc(keys, func(a, b Key) int { return strings.Compare(a.String(), b.String()) }) {
		t.Error("keys are not sorted by their text form")
	}
}

func TestSpaceKeysCoverSamples(t *testing.T) {
	for _, s := range []searchspace.Space{defaultSpace(t), mustValid(t, tinySpace())} {
		keys, err := SpaceKeys(s)
		if err != nil {
			t.Fatal(err)
		}
		all := map[Key]bool{}
		for _, k := range keys {
			all[k] = true
		}
		used := map[Key]bool{}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 2000 {
			a, err := SampleArch(s, rng)
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range ArchKeys(a) {
				if !all[k] {
					t.Fatalf("space %s: child %s has key %s, which SpaceKeys does not list", s.Name, a.ID(), k)
				}
				used[k] = true
			}
		}
		// Every listed key is reachable; 2000 uniform samples hit all of
		// the tiny space's 34 keys.
		if s.Name == "tiny" && len(used) != len(keys) {
			t.Errorf("space tiny: samples used %d of %d listed keys", len(used), len(keys))
		}
	}
}

func TestArchKeysRepeatedBlocksShare(t *testing.T) {
	// MobileNetV1 repeats its 512-channel, 14×14 dsconv block 5 times.
	a, err := searchspace.Preset(searchspace.PresetV1, 1, 224, 1000)
	if err != nil {
		t.Fatal(err)
	}
	keys := ArchKeys(a)
	if len(keys) != 15 {
		t.Fatalf("%d keys, want stem + 13 blocks + classifier = 15", len(keys))
	}
	medians := map[string]float64{}
	for _, k := range keys {
		medians[k.String()] = 1
	}
	if len(medians) != 11 {
		t.Errorf("%d distinct keys, want 11: the 5 repeated blocks share one", len(medians))
	}
	got, err := handTable(medians).Predict(a)
	if err != nil {
		t.Fatal(err)
	}
	if got != 15 {
		t.Errorf("Predict = %v ms with every entry 1 ms, want 15: a shared entry counts once per use", got)
	}
}
