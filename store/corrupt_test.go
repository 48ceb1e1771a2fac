package store

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// fullStore returns a closed store at path with run r1, two trials, a
// checkpoint and a replay of r1/1.
func fullStore(t *testing.T) string {
	t.Helper()
	s, path := openTemp(t)
	r := newRun(t, s)
	if err := s.Commit(r.ID, trials(r.ID, 1, 2), Checkpoint{Batch: 1, Strategy: []byte("s1")}, writeBytes("weights-1")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddReplay(Replay{Trial: "r1/1", Epochs: 1}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	return path
}

// damage opens the store at path for writing and lets change alter its
// records directly.
func damage(t *testing.T, path string, change func(tx *bolt.Tx) error) {
	t.Helper()
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.update(change); err != nil {
		t.Fatal(err)
	}
}

// storeCalls are the methods that read a run's records, by name.
func storeCalls() map[string]func(s *Store) error {
	return map[string]func(s *Store) error{
		"Run":        func(s *Store) error { _, err := s.Run("r1"); return err },
		"Runs":       func(s *Store) error { _, err := s.Runs(); return err },
		"Trial":      func(s *Store) error { _, err := s.Trial("r1", 1); return err },
		"Trials":     func(s *Store) error { _, err := s.Trials("r1"); return err },
		"Checkpoint": func(s *Store) error { _, err := s.Checkpoint("r1"); return err },
		"Replays":    func(s *Store) error { _, err := s.Replays("r1/1"); return err },
		"UpdateRun":  func(s *Store) error { _, err := s.UpdateRun("r1", func(*Run) {}); return err },
		"FinishRun":  func(s *Store) error { return s.FinishRun("r1", RunDone, "") },
		"PutTrials":  func(s *Store) error { return s.PutTrials("r1", trials("r1", 3, 1)) },
		"AddReplay":  func(s *Store) error { return s.AddReplay(Replay{Trial: "r1/1"}) },
		"Commit": func(s *Store) error {
			return s.Commit("r1", trials("r1", 3, 1), Checkpoint{Batch: 2}, writeBytes("weights-2"))
		},
	}
}

// checkCorrupt calls every method in calls on a writable store at path and
// checks that each returns an error wrapping ErrCorrupt, without panicking.
func checkCorrupt(t *testing.T, path string, calls []string) {
	t.Helper()
	all := storeCalls()
	for _, name := range calls {
		s, err := Open(path, Options{NoSync: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		func() {
			defer s.Close()
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s panicked: %v", name, r)
				}
			}()
			err := all[name](s)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s: err = %v, want ErrCorrupt", name, err)
			}
		}()
	}
}

func TestCorrupt_RunRecordBytes(t *testing.T) {
	path := fullStore(t)

	// Overwrite the start of r1's JSON in the database file itself. Freed
	// pages can hold older copies of the record, so overwrite every copy.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	record := []byte(`{"id":"r1"`)
	if bytes.Count(data, record) == 0 {
		t.Fatalf("run record %s not found in %s", record, path)
	}
	data = bytes.ReplaceAll(data, record, bytes.Repeat([]byte{'#'}, len(record)))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}

	checkCorrupt(t, path, []string{"Run", "Runs", "Trial", "Trials", "Checkpoint", "UpdateRun", "FinishRun", "PutTrials", "AddReplay", "Commit"})
}

func TestCorrupt_Records(t *testing.T) {
	cases := []struct {
		name   string
		change func(tx *bolt.Tx) error
		calls  []string
	}{
		{"trial", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTrials).Bucket([]byte("r1")).Put(seqKey(1), []byte("{not json"))
		}, []string{"Trial", "Trials"}},
		{"trial of wrong type", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTrials).Bucket([]byte("r1")).Put(seqKey(1), []byte(`{"seq":"one"}`))
		}, []string{"Trial", "Trials"}},
		{"trials bucket missing", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketTrials).DeleteBucket([]byte("r1"))
		}, []string{"Trial", "Trials", "PutTrials", "AddReplay", "Commit"}},
		{"checkpoint", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketCheckpoints).Put([]byte("r1"), []byte("[]"))
		}, []string{"Checkpoint", "Commit"}},
		{"replays", func(tx *bolt.Tx) error {
			return tx.Bucket(bucketReplays).Put([]byte("r1/1"), []byte("{}"))
		}, []string{"Replays", "AddReplay"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := fullStore(t)
			damage(t, path, c.change)
			checkCorrupt(t, path, c.calls)
		})
	}
}

func TestCorrupt_ReadOnly(t *testing.T) {
	path := fullStore(t)
	damage(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).Put([]byte("r1"), []byte("\x00\x01"))
	})
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Runs(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Runs: err = %v, want ErrCorrupt", err)
	}
	if _, err := s.Run("r1"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Run: err = %v, want ErrCorrupt", err)
	}
}

func TestCorrupt_MessageNamesStore(t *testing.T) {
	path := fullStore(t)
	damage(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).Put([]byte("r1"), []byte("{"))
	})
	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Run("r1")
	if err == nil {
		t.Fatal("Run of a damaged record succeeded")
	}
	for _, want := range []string{path, "run r1", "restore it from a backup"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
}
