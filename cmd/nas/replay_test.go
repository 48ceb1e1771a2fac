package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"nas/childnet"
	"nas/dataset"
	"nas/searchspace"
	"nas/store"
)

// quickReplay is a replay of a resultsFixture trial small enough for a
// test: one epoch on 64 training images, evaluated on 32 test images.
var quickReplay = []string{"replay", "r1/1", "--epochs", "1", "--batch-size", "32", "--train-images", "64", "--test-images", "32"}

// storedReplays returns the replays of trial in the store at db.
func storedReplays(t *testing.T, db, trial string) []store.Replay {
	t.Helper()
	s, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.Replays(trial)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestReplayOutMissingFolder(t *testing.T) {
	db := resultsFixture(t)
	out := filepath.Join(t.TempDir(), "missing", "x.safetensors")
	code, _, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out)...)
	if code != exitBadInput {
		t.Errorf("exit %d, want %d: %s", code, exitBadInput, stderr)
	}
	if !strings.Contains(stderr, "--out") || !strings.Contains(stderr, "create the folder") {
		t.Errorf("error does not name --out and the fix:\n%s", stderr)
	}
	if strings.Contains(stderr, "msg=replay") {
		t.Errorf("replay started training before it rejected --out:\n%s", stderr)
	}
	if n := len(storedReplays(t, db, "r1/1")); n != 0 {
		t.Errorf("%d replays stored, want 0", n)
	}
}

func TestReplayOutExists(t *testing.T) {
	db := resultsFixture(t)
	dir := t.TempDir()
	for _, name := range []string{"w.safetensors", "a.arch.json"} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte("first"), 0o444); err != nil {
			t.Fatal(err)
		}
		// Either the weights or the architecture file existing is enough.
		out := filepath.Join(dir, strings.TrimSuffix(strings.TrimSuffix(name, ".safetensors"), ".arch.json")+".safetensors")
		code, _, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out)...)
		if code != exitBadInput {
			t.Errorf("%s exists: exit %d, want %d: %s", name, code, exitBadInput, stderr)
		}
		if !strings.Contains(stderr, "already exists") || !strings.Contains(stderr, "pass another path") {
			t.Errorf("%s exists: error lacks the reason and the fix:\n%s", name, stderr)
		}
		if data, _ := os.ReadFile(path); string(data) != "first" {
			t.Errorf("%s was replaced: %q", name, data)
		}
	}
}

func TestReplayDefaultNameFree(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	dir := t.TempDir()
	t.Chdir(dir)
	// r1-1 has weights and r1-1-2 an architecture file, so the first free
	// name is r1-1-3.
	for _, name := range []string{"r1-1.safetensors", "r1-1-2.arch.json"} {
		if err := os.WriteFile(name, []byte("first"), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r store.Replay
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, stdout)
	}
	if r.Weights != "r1-1-3.safetensors" || r.ArchFile != "r1-1-3.arch.json" {
		t.Errorf("replay wrote %s and %s, want r1-1-3.safetensors and r1-1-3.arch.json", r.Weights, r.ArchFile)
	}
	for _, name := range []string{"r1-1.safetensors", "r1-1-2.arch.json"} {
		if data, _ := os.ReadFile(name); string(data) != "first" {
			t.Errorf("%s was replaced: %q", name, data)
		}
	}
	for _, name := range []string{"r1-1-3.safetensors", "r1-1-3.arch.json"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Errorf("replay output: %v", err)
			continue
		}
		if st.Mode().Perm() != 0o644 {
			t.Errorf("%s mode = %v, want -rw-r--r--", name, st.Mode().Perm())
		}
	}
}

// TestReplayLockedStoreFailsFast checks that a replay on a store that
// another process writes fails before it trains, and stores nothing.
func TestReplayLockedStoreFailsFast(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	holder, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "w.safetensors")
	code, _, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out)...)
	holder.Close()

	if code != exitFailure {
		t.Errorf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	if !strings.Contains(stderr, "in use by another nas process") {
		t.Errorf("error does not say the store is in use:\n%s", stderr)
	}
	if strings.Contains(stderr, "msg=replay") || strings.Contains(stderr, "msg=epoch") {
		t.Errorf("replay started training on a locked store:\n%s", stderr)
	}
	assertNoFile(t, out)
	if n := len(storedReplays(t, db, "r1/1")); n != 0 {
		t.Errorf("%d replays stored, want 0", n)
	}
}

// lockOnLogWriter collects a command's stderr and opens the store at path
// for writing, as another nas process would, at the first write that
// contains trigger. The test closes the store.
type lockOnLogWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	path    string
	holder  *store.Store
	err     error
}

func (w *lockOnLogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.holder == nil && w.err == nil && bytes.Contains(p, []byte(w.trigger)) {
		w.holder, w.err = store.Open(w.path, store.Options{NoSync: true})
	}
	return w.buf.Write(p)
}

// TestReplayStoreLockedAfterTraining checks that a store taken by another
// process during the training loses nothing: the weights are written and
// the error names them and the test accuracy.
func TestReplayStoreLockedAfterTraining(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	// Train logs "test" once it has evaluated the child.
	stderr := &lockOnLogWriter{trigger: "msg=test", path: db}
	var stdout bytes.Buffer
	code := run(context.Background(), cmdArgs(quickReplay, "--store", db, "--out", out), &stdout, stderr)
	if stderr.holder != nil {
		stderr.holder.Close()
	}
	if stderr.err != nil || stderr.holder == nil {
		t.Fatalf("the test did not lock the store during the replay (err %v):\n%s", stderr.err, stderr.buf.String())
	}

	if code != exitFailure {
		t.Errorf("exit %d, want %d: %s", code, exitFailure, stderr.buf.String())
	}
	for _, want := range []string{"in use by another nas process", "test accuracy", "weights in " + out, "architecture in " + archFileFor(out)} {
		if !strings.Contains(stderr.buf.String(), want) {
			t.Errorf("error does not contain %q:\n%s", want, stderr.buf.String())
		}
	}
	for _, path := range []string{out, archFileFor(out)} {
		if _, err := os.Stat(path); err != nil {
			t.Errorf("replay output: %v", err)
		}
	}
	if n := len(storedReplays(t, db, "r1/1")); n != 0 {
		t.Errorf("%d replays stored in a locked store, want 0", n)
	}
}

// TestReplayDivergedStoresNothing checks that a replay whose training ends
// with a NaN test loss reports the divergence with a lower --lr and
// stores and writes nothing.
func TestReplayDivergedStoresNothing(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	trainChild = func(ctx context.Context, arch searchspace.Arch, train, test *dataset.Set, cfg childnet.TrainConfig, logger *slog.Logger, progress func(childnet.Progress)) (childnet.TrainResult, error) {
		res, err := childnet.Train(ctx, arch, train, test, cfg, logger, progress)
		res.TestLoss = math.NaN()
		return res, err
	}
	t.Cleanup(func() { trainChild = childnet.Train })

	code, _, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out, "--lr", "5")...)
	if code != exitFailure {
		t.Errorf("exit %d, want %d: %s", code, exitFailure, stderr)
	}
	for _, want := range []string{"training diverged", "test loss is NaN", "replay again with a lower --lr, such as 0.5"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not contain %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "json") {
		t.Errorf("error shows the JSON encoder's failure:\n%s", stderr)
	}
	assertNoFile(t, out)
	assertNoFile(t, archFileFor(out))
	if n := len(storedReplays(t, db, "r1/1")); n != 0 {
		t.Errorf("%d replays stored, want 0", n)
	}
}

func TestReplayStoredBeforeWrite(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	writeReplayFile = func(string, func(*os.File) error) error { return errors.New("write w.safetensors: disk full") }
	t.Cleanup(func() { writeReplayFile = writeNewFile })

	code, _, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out)...)
	if code == exitOK {
		t.Fatalf("replay with a failing write exited 0: %s", stderr)
	}
	if !strings.Contains(stderr, "disk full") || !strings.Contains(stderr, "result is stored") {
		t.Errorf("error does not give the cause and say the result is stored:\n%s", stderr)
	}
	if n := len(storedReplays(t, db, "r1/1")); n != 1 {
		t.Errorf("%d replays stored after a failed write, want 1", n)
	}
}

func TestReplayPartialCounts(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	out := filepath.Join(t.TempDir(), "w.safetensors")
	code, stdout, stderr := runCommand(t, cmdArgs(quickReplay, "--store", db, "--out", out, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var r store.Replay
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, stdout)
	}
	if r.Epochs != 1 || r.TrainImages != 64 || r.TestImages != 32 || r.TestSplitImages <= 32 || r.TrainSplitImages <= 64 {
		t.Errorf("replay counts = epochs %d, train %d/%d, test %d/%d; want 1, 64 of the split, 32 of the split",
			r.Epochs, r.TrainImages, r.TrainSplitImages, r.TestImages, r.TestSplitImages)
	}
	if stored := storedReplays(t, db, "r1/1"); len(stored) != 1 || stored[0].TestImages != 32 {
		t.Errorf("stored replays = %+v, want one with 32 test images", stored)
	}

	code, stdout, _ = runCommand(t, "show", "r1/1", "--store", db)
	if code != exitOK || !strings.Contains(stdout, "TEST IMAGES") || !strings.Contains(stdout, "32/") {
		t.Errorf("show exit %d does not list the test image count:\n%s", code, stdout)
	}

	code, stdout, _ = runCommand(t, "best", "--store", db)
	if code != exitOK || !strings.Contains(stdout, "*") || !strings.Contains(stdout, "part of the test split") {
		t.Errorf("best exit %d does not mark the partial test accuracy:\n%s", code, stdout)
	}
}

func TestBestPrefersFullTestReplay(t *testing.T) {
	db := resultsFixture(t)
	s, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	full := store.Replay{Trial: "r1/4", Epochs: 10, TestAccuracy: 0.9, TestImages: 10000, TestSplitImages: 10000, Time: at}
	partial := store.Replay{Trial: "r1/4", Epochs: 1, TestAccuracy: 0.16, TestImages: 50, TestSplitImages: 10000, Time: at.Add(time.Hour)}
	for _, r := range []store.Replay{full, partial} {
		if err := s.AddReplay(r); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	code, stdout, stderr := runCommand(t, "best", "--store", db, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []bestRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	for _, row := range rows {
		if row.Trial != "r1/4" {
			continue
		}
		if row.TestAccuracy == nil || *row.TestAccuracy != 0.9 || row.TestPartial || row.TestImages != 10000 {
			t.Errorf("best row of r1/4 = %+v, want the full-split replay's 0.9 on 10000 images", row)
		}
	}

	code, stdout, _ = runCommand(t, "best", "--store", db)
	if code != exitOK || strings.Contains(stdout, "*") || !strings.Contains(stdout, "0.9000") {
		t.Errorf("best exit %d, want 0.9000 unmarked:\n%s", code, stdout)
	}
}

func TestShowBatchFromOne(t *testing.T) {
	db := resultsFixture(t)
	// r1/3 has Batch 1 in the store: the search's second batch.
	code, stdout, stderr := runCommand(t, "show", "r1/3", "--store", db)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "(batch 2,") {
		t.Errorf("show r1/3 does not print batch 2:\n%s", stdout)
	}
}

// TestReplayInterrupted checks that a replay stopped by SIGINT (a cancelled
// context) exits 130 with one short line and stores nothing.
func TestReplayInterrupted(t *testing.T) {
	needFashionMNIST(t)
	db := resultsFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	args := cmdArgs(quickReplay, "--store", db, "--out", filepath.Join(t.TempDir(), "w.safetensors"))
	code := run(ctx, args, &stdout, &stderr)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d: %s", code, exitInterrupted, stderr.String())
	}
	if strings.Contains(stderr.String(), "context canceled") || !strings.Contains(stderr.String(), "nas: interrupted") {
		t.Errorf("interrupted replay prints:\n%s", stderr.String())
	}
	if n := len(storedReplays(t, db, "r1/1")); n != 0 {
		t.Errorf("%d replays stored, want 0", n)
	}
}
