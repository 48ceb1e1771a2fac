package store

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func openTemp(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nas.db")
	s, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func newRun(t *testing.T, s *Store) Run {
	t.Helper()
	r, err := s.CreateRun(Run{SpaceName: "default", Seed: 7, Dataset: "fashion-mnist"})
	if err != nil {
		t.Fatalf("CreateRun: %v", err)
	}
	return r
}

func trials(run string, from, n int) []Trial {
	var list []Trial
	for i := 0; i < n; i++ {
		list = append(list, Trial{Run: run, Seq: from + i, ArchID: "a", Reward: float64(from + i), Status: TrialOK})
	}
	return list
}

func writeBytes(data string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, data)
		return err
	}
}

func TestOpen_CreatesAndReopens(t *testing.T) {
	s, path := openTemp(t)
	r := newRun(t, s)
	if r.ID != "r1" || r.Status != RunRunning {
		t.Fatalf("first run = %q status %q, want r1 running", r.ID, r.Status)
	}
	s.Close()

	ro, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("reopen read-only: %v", err)
	}
	defer ro.Close()
	got, err := ro.Run("r1")
	if err != nil {
		t.Fatalf("Run(r1): %v", err)
	}
	if got.Seed != 7 || got.Dataset != "fashion-mnist" {
		t.Errorf("run after reopen = %+v", got)
	}
}

func TestOpen_ReadOnlyMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.db")
	_, err := Open(path, Options{ReadOnly: true})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open missing read-only: err = %v, want ErrNotFound", err)
	}
	if _, statErr := os.Stat(path); !errors.Is(statErr, os.ErrNotExist) {
		t.Errorf("read-only Open created %s", path)
	}
}

func TestOpen_Corrupt(t *testing.T) {
	cases := map[string][]byte{
		"text":      []byte(strings.Repeat("this is not a bbolt file\n", 400)),
		"truncated": nil, // filled below
		"empty":     {},
	}
	// A real store cut to its first 100 bytes.
	_, good := openTemp(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases["truncated"] = data[:100]

	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.db")
			if err := os.WriteFile(path, content, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, ro := range []bool{true, false} {
				if name == "empty" && !ro {
					continue // a writable open initialises an empty file
				}
				s, err := Open(path, Options{ReadOnly: ro})
				if err == nil {
					s.Close()
					t.Fatalf("Open(readOnly=%v) of a %s file succeeded", ro, name)
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Errorf("Open(readOnly=%v): err = %v, want ErrCorrupt", ro, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
			}
			after, _ := os.ReadFile(path)
			if string(after) != string(content) {
				t.Errorf("Open changed the corrupt file")
			}
		})
	}
}

func TestOpen_ForeignBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o644, nil)
	if err != nil {
		t.Fatal(err)
	}
	db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("someone-else"))
		return err
	})
	db.Close()

	_, err = Open(path, Options{})
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open of a bbolt file without a meta bucket: err = %v, want ErrCorrupt", err)
	}
}

func TestOpen_LayoutVersion(t *testing.T) {
	s, path := openTemp(t)
	s.update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyLayout, []byte("99"))
	})
	s.Close()

	for _, ro := range []bool{true, false} {
		_, err := Open(path, Options{ReadOnly: ro})
		if !errors.Is(err, ErrLayout) {
			t.Fatalf("Open(readOnly=%v) of layout 99: err = %v, want ErrLayout", ro, err)
		}
		if !strings.Contains(err.Error(), "99") {
			t.Errorf("error %q does not name the version", err)
		}
	}
}

func TestOpen_InUse(t *testing.T) {
	_, path := openTemp(t)

	start := time.Now()
	_, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	var inUse *InUseError
	if !errors.As(err, &inUse) {
		t.Fatalf("second writable Open: err = %v, want *InUseError", err)
	}
	if inUse.PID != os.Getpid() {
		t.Errorf("InUseError.PID = %d, want %d", inUse.PID, os.Getpid())
	}
	if elapsed > 2*time.Second {
		t.Errorf("second Open took %v", elapsed)
	}
	if !strings.Contains(err.Error(), "in use by another nas process") {
		t.Errorf("message %q", err)
	}
}

func TestOpen_ReadWhileWriting(t *testing.T) {
	w, path := openTemp(t)
	run, err := w.CreateRun(Run{SpaceName: "default", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}

	// A reader opens, reads what the writer committed, and closes, while the
	// writer stays open.
	r, err := Open(path, Options{ReadOnly: true, Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("read-only Open while a writer is open: %v", err)
	}
	if _, err := r.Run(run.ID); err != nil {
		t.Errorf("reader cannot see run %s: %v", run.ID, err)
	}
	r.Close()

	// The writer goes on writing after the reader is gone.
	if err := w.PutTrials(run.ID, []Trial{{Run: run.ID, Seq: 1, Status: TrialOK}}); err != nil {
		t.Fatalf("write after a reader closed: %v", err)
	}
	if _, err := w.Trial(run.ID, 1); err != nil {
		t.Errorf("writer cannot read its trial: %v", err)
	}
}

func TestClose_ReleasesWriterLock(t *testing.T) {
	w, path := openTemp(t)
	w.Close()
	again, err := Open(path, Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	again.Close()
}

func TestTrials_Sequence(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.PutTrials(r.ID, trials(r.ID, 1, 3)); err != nil {
		t.Fatalf("PutTrials 1..3: %v", err)
	}
	if err := s.PutTrials(r.ID, trials(r.ID, 3, 1)); err == nil {
		t.Errorf("PutTrials repeating seq 3 succeeded")
	}
	if err := s.PutTrials(r.ID, trials(r.ID, 5, 1)); err == nil {
		t.Errorf("PutTrials skipping seq 4 succeeded")
	}
	got, err := s.Trials(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d trials stored, want 3", len(got))
	}
	for i, tr := range got {
		if tr.Seq != i+1 {
			t.Errorf("trial %d has seq %d", i, tr.Seq)
		}
	}
	tr, err := s.Trial(r.ID, 2)
	if err != nil || tr.Reward != 2 {
		t.Errorf("Trial(2) = %+v, %v", tr, err)
	}
	if _, err := s.Trial(r.ID, 9); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trial(9): err = %v, want ErrNotFound", err)
	}
	if _, err := s.Trials("r42"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Trials(r42): err = %v, want ErrNotFound", err)
	}
}

func TestCommit_Atomic(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.Commit(r.ID, trials(r.ID, 1, 2), Checkpoint{Batch: 1, Strategy: []byte("s1")}, writeBytes("weights-1")); err != nil {
		t.Fatalf("Commit batch 1: %v", err)
	}

	// The second trial repeats seq 3, so the whole batch must be rejected:
	// no trial, no checkpoint, no weights file.
	bad := append(trials(r.ID, 3, 1), trials(r.ID, 3, 1)...)
	if err := s.Commit(r.ID, bad, Checkpoint{Batch: 2, Strategy: []byte("s2")}, writeBytes("weights-2")); err == nil {
		t.Fatal("Commit with a repeated seq succeeded")
	}
	got, _ := s.Trials(r.ID)
	if len(got) != 2 {
		t.Errorf("%d trials after a failed commit, want 2", len(got))
	}
	c, err := s.Checkpoint(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Batch != 1 || string(c.Strategy) != "s1" || c.Trials != 2 {
		t.Errorf("checkpoint after a failed commit = batch %d strategy %q trials %d, want 1 s1 2", c.Batch, c.Strategy, c.Trials)
	}
	if left, _ := filepath.Glob(s.filePath(r.ID + "/supernet-000002-*")); len(left) > 0 {
		t.Errorf("weights file of the failed commit was left behind: %v", left)
	}
	data, err := s.ReadFile(*c.Supernet)
	if err != nil || string(data) != "weights-1" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}

	// A good second batch replaces the checkpoint and removes the old file.
	if err := s.Commit(r.ID, trials(r.ID, 3, 2), Checkpoint{Batch: 2, Strategy: []byte("s2")}, writeBytes("weights-2")); err != nil {
		t.Fatalf("Commit batch 2: %v", err)
	}
	if _, err := os.Stat(s.filePath(c.Supernet.Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("previous weights file %s still exists", c.Supernet.Name)
	}
	run, _ := s.Run(r.ID)
	if run.Trials != 4 {
		t.Errorf("run.Trials = %d, want 4", run.Trials)
	}
}

func TestCommit_ChecksumMismatch(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.Commit(r.ID, nil, Checkpoint{Batch: 1}, writeBytes("weights-1")); err != nil {
		t.Fatal(err)
	}
	c, _ := s.Checkpoint(r.ID)

	cases := map[string]string{"same size": "weights-X", "shorter": "weights"}
	for name, content := range cases {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(s.filePath(c.Supernet.Name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := s.ReadFile(*c.Supernet)
			if !errors.Is(err, ErrChecksum) {
				t.Errorf("ReadFile of a changed file: err = %v, want ErrChecksum", err)
			}
		})
	}
}

func TestRuns_OrderAndFinish(t *testing.T) {
	s, _ := openTemp(t)
	for i := 0; i < 11; i++ {
		newRun(t, s)
	}
	if err := s.FinishRun("r10", RunInterrupted, ""); err != nil {
		t.Fatal(err)
	}
	list, err := s.Runs()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 11 || list[1].ID != "r2" || list[10].ID != "r11" {
		t.Fatalf("Runs order: %v", list)
	}
	if list[9].Status != RunInterrupted || list[9].Ended.IsZero() {
		t.Errorf("r10 = status %q ended %v", list[9].Status, list[9].Ended)
	}
	if err := s.FinishRun("r99", RunDone, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("FinishRun(r99): err = %v, want ErrNotFound", err)
	}
}

func TestParseTrialID(t *testing.T) {
	good := map[string]struct {
		run string
		seq int
	}{"r3/17": {"r3", 17}, "3/1": {"r3", 1}}
	for in, want := range good {
		run, seq, err := ParseTrialID(in)
		if err != nil || run != want.run || seq != want.seq {
			t.Errorf("ParseTrialID(%q) = %q, %d, %v", in, run, seq, err)
		}
	}
	for _, in := range []string{"r3", "r3/0", "r3/x", "/4", ""} {
		if _, _, err := ParseTrialID(in); err == nil {
			t.Errorf("ParseTrialID(%q) succeeded", in)
		}
	}
}

func TestReplays(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	s.PutTrials(r.ID, trials(r.ID, 1, 1))
	if err := s.AddReplay(Replay{Trial: "r1/1", Epochs: 2, TestAccuracy: 0.8}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddReplay(Replay{Trial: "r1/1", Epochs: 3, TestAccuracy: 0.85}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddReplay(Replay{Trial: "r1/2"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("AddReplay of a missing trial: err = %v", err)
	}
	list, err := s.Replays("r1/1")
	if err != nil || len(list) != 2 || list[1].Epochs != 3 {
		t.Errorf("Replays = %+v, %v", list, err)
	}
}

func TestLatencyBucket(t *testing.T) {
	s, _ := openTemp(t)
	if v, err := s.Latency("k"); v != nil || err != nil {
		t.Errorf("Latency of a missing key = %q, %v", v, err)
	}
	s.PutLatency("k", []byte("v"))
	if v, _ := s.Latency("k"); string(v) != "v" {
		t.Errorf("Latency(k) = %q", v)
	}
}

func TestOpen_WritableReopenWritesNothing(t *testing.T) {
	s, path := openTemp(t)
	newRun(t, s)
	s.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	s, err = Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	after, _ := os.ReadFile(path)
	if string(after) != string(before) {
		t.Errorf("opening and closing a store for writing changed the file")
	}
}

func TestCommit_SameBatchTwice(t *testing.T) {
	s, _ := openTemp(t)
	r := newRun(t, s)
	if err := s.Commit(r.ID, nil, Checkpoint{Batch: 1}, writeBytes("after training")); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Checkpoint(r.ID)
	if err := s.Commit(r.ID, trials(r.ID, 1, 1), Checkpoint{Batch: 1}, writeBytes("after scoring")); err != nil {
		t.Fatal(err)
	}
	second, _ := s.Checkpoint(r.ID)
	if first.Supernet.Name == second.Supernet.Name {
		t.Fatalf("two checkpoints of batch 1 share the file name %s", first.Supernet.Name)
	}
	data, err := s.ReadFile(*second.Supernet)
	if err != nil || string(data) != "after scoring" {
		t.Errorf("ReadFile = %q, %v", data, err)
	}
	if _, err := os.Stat(s.filePath(first.Supernet.Name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the replaced checkpoint file %s still exists", first.Supernet.Name)
	}
}
