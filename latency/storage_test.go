package latency

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "nas.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func TestStorageSaveLoad(t *testing.T) {
	st := openStore(t)
	s := tinySpace()
	if _, err := Load(st, s); !errors.Is(err, ErrNoTable) {
		t.Fatalf("Load of an empty store: %v, want ErrNoTable", err)
	}

	table := profileTiny(t)
	if err := Save(st, table); err != nil {
		t.Fatal(err)
	}
	got, err := Load(st, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Machine != table.Machine || len(got.Entries) != len(table.Entries) || got.Entries[3] != table.Entries[3] {
		t.Errorf("loaded table differs from the saved one")
	}
}

func TestStorageLoadsLastSaved(t *testing.T) {
	st := openStore(t)
	s := tinySpace()
	local := profileTiny(t)
	remote := profileTiny(t)
	remote.Machine.CPU = "Cortex-A76"
	remote.Entries[0].MedianMs = 123
	for _, table := range []*Table{local, remote} {
		if err := Save(st, table); err != nil {
			t.Fatal(err)
		}
	}

	got, err := Load(st, s)
	if err != nil {
		t.Fatal(err)
	}
	if got.Machine.CPU != "Cortex-A76" || got.Entries[0].MedianMs != 123 {
		t.Errorf("Load returned the table of %s, want the one saved last (Cortex-A76)", got.Machine.CPU)
	}
	got, err = LoadFor(st, s, local.Machine.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.Machine != local.Machine {
		t.Errorf("LoadFor the local machine returned %s", got.Machine)
	}

	_, err = LoadFor(st, s, "ffffffffffff")
	if !errors.Is(err, ErrNoTable) {
		t.Fatalf("LoadFor an unknown machine: %v, want ErrNoTable", err)
	}
	for _, id := range []string{local.Machine.ID(), remote.Machine.ID()} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("error %q does not list machine %s", err, id)
		}
	}
}

func TestStorageLoadOtherSpace(t *testing.T) {
	st := openStore(t)
	if err := Save(st, profileTiny(t)); err != nil {
		t.Fatal(err)
	}
	other := tinySpace()
	other.Classes = 5
	if _, err := Load(st, other); !errors.Is(err, ErrNoTable) {
		t.Errorf("Load for a space with other classes: %v, want ErrNoTable", err)
	}
}

func TestStorageCorruptRecords(t *testing.T) {
	st := openStore(t)
	s := tinySpace()
	table := profileTiny(t)
	if err := Save(st, table); err != nil {
		t.Fatal(err)
	}

	// A stored table that does not decode.
	if err := st.PutLatency(tableKey(table.Space, table.SpaceHash, table.Machine.ID()), []byte("{")); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(st, s); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Load of a table that does not decode: %v, want store.ErrCorrupt", err)
	}

	// A table index that does not decode.
	if err := st.PutLatency(indexKey, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFor(st, s, "ffffffffffff"); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("LoadFor with an index that does not decode: %v, want store.ErrCorrupt", err)
	}
	if err := Save(st, table); !errors.Is(err, store.ErrCorrupt) {
		t.Errorf("Save with an index that does not decode: %v, want store.ErrCorrupt", err)
	}
}

func TestStorageSaveRejectsInvalid(t *testing.T) {
	st := openStore(t)
	good := profileTiny(t)
	if err := Save(st, good); err != nil {
		t.Fatal(err)
	}
	bad := profileTiny(t)
	bad.Machine.CPU = "Cortex-A76"
	bad.OverheadMs = -100
	keys := []string{
		indexKey,
		currentKey(good.Space, good.SpaceHash),
		tableKey(good.Space, good.SpaceHash, good.Machine.ID()),
		tableKey(bad.Space, bad.SpaceHash, bad.Machine.ID()),
	}
	before := latencyRecords(t, st, keys)

	err := Save(st, bad)
	if err == nil || !strings.Contains(err.Error(), "overhead_ms -100") {
		t.Fatalf("Save of a table with overhead -100 ms: err = %v, want one naming overhead_ms -100", err)
	}
	after := latencyRecords(t, st, keys)
	for _, key := range keys {
		if after[key] != before[key] {
			t.Errorf("record %s changed by a rejected Save", key)
		}
	}
	if before[keys[3]] != "" {
		t.Errorf("record %s existed before the Save", keys[3])
	}
}

// latencyRecords returns the values of keys in the store's latency bucket.
func latencyRecords(t *testing.T, st *store.Store, keys []string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, key := range keys {
		v, err := st.Latency(key)
		if err != nil {
			t.Fatal(err)
		}
		out[key] = string(v)
	}
	return out
}
