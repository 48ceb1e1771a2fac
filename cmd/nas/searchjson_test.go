package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"testing"

	"nas/store"
)

// tinyMeasuredSearch is tinySearch with measured latency, which for two
// children a batch is faster than profiling a latency table first.
var tinyMeasuredSearch = cmdArgs(tinySearch, "--latency", "measured")

// cancelWriter collects a command's stderr and cancels a context at the
// first write that contains trigger.
type cancelWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if bytes.Contains(p, []byte(w.trigger)) {
		w.cancel()
	}
	return w.buf.Write(p)
}

func (w *cancelWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// runUntilLog runs one nas command line and cancels its context, as Ctrl-C
// does, once it logs a line containing trigger. It returns the exit code,
// stdout and stderr.
func runUntilLog(t *testing.T, trigger string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stderr := &cancelWriter{trigger: trigger, cancel: cancel}
	var stdout bytes.Buffer
	code := run(ctx, args, &stdout, stderr)
	return code, stdout.String(), stderr.String()
}

// decodeOneJSON decodes stdout into v and fails the test unless stdout is
// exactly one JSON value.
func decodeOneJSON(t *testing.T, stdout string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(stdout))
	if err := dec.Decode(v); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Errorf("stdout has more than one JSON value:\n%s", stdout)
	}
}

func TestSearchJSONDone(t *testing.T) {
	needFashionMNIST(t)
	db := tempStore(t)
	code, stdout, stderr := runCommand(t, cmdArgs(tinyMeasuredSearch, "--budget", "4", "--store", db, "--json")...)
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	var got searchReport
	decodeOneJSON(t, stdout, &got)
	if n := strings.Count(stderr, "msg=batch"); n != 2 {
		t.Errorf("stderr has %d batch lines, want 2:\n%s", n, stderr)
	}

	if got.Run != "r1" {
		t.Errorf("run = %q, want r1", got.Run)
	}
	if got.Strategy != "reinforce" {
		t.Errorf("strategy = %q, want reinforce", got.Strategy)
	}
	if got.Status != store.RunDone {
		t.Errorf("status = %q, want %q", got.Status, store.RunDone)
	}
	if got.Trials != 4 || got.Batches != 2 {
		t.Errorf("trials, batches = %d, %d; want 4, 2", got.Trials, got.Batches)
	}
	if got.Budget != "4" {
		t.Errorf("budget = %q, want 4", got.Budget)
	}
	if got.ElapsedSeconds <= 0 {
		t.Errorf("elapsed_s = %v, want positive", got.ElapsedSeconds)
	}
	if got.Store != db {
		t.Errorf("store = %q, want %q", got.Store, db)
	}

	// The best child is the stored trial with the highest reward.
	trials := readTrials(t, db, "r1")
	var want *store.Trial
	failed := 0
	for i := range trials {
		tr := &trials[i]
		if tr.Status != store.TrialOK {
			failed++
			continue
		}
		if want == nil || tr.Reward > want.Reward {
			want = tr
		}
	}
	if got.Failed != failed {
		t.Errorf("failed = %d, store has %d failed trials", got.Failed, failed)
	}
	if want == nil {
		t.Fatal("no successful trial in the store")
	}
	if got.Best == nil {
		t.Fatalf("best is null, want trial %s", want.ID())
	}
	b := *got.Best
	if b.Trial != want.ID() || b.ArchID != want.ArchID {
		t.Errorf("best = trial %s arch %s, want trial %s arch %s", b.Trial, b.ArchID, want.ID(), want.ArchID)
	}
	if b.Accuracy != want.Accuracy || b.Reward != want.Reward {
		t.Errorf("best accuracy, reward = %v, %v; stored %v, %v", b.Accuracy, b.Reward, want.Accuracy, want.Reward)
	}
	if b.LatencyMS <= 0 || b.LatencyMS != want.LatencyMS {
		t.Errorf("best latency_ms = %v, stored %v", b.LatencyMS, want.LatencyMS)
	}
	if b.Params <= 0 || b.Params != want.Params || b.MACs <= 0 || b.MACs != want.MACs {
		t.Errorf("best params, macs = %d, %d; stored %d, %d", b.Params, b.MACs, want.Params, want.MACs)
	}

	// The field names are the documented ones.
	var fields map[string]any
	decodeOneJSON(t, stdout, &fields)
	for _, name := range []string{"run", "strategy", "status", "trials", "budget", "elapsed_s", "best", "store"} {
		if _, ok := fields[name]; !ok {
			t.Errorf("JSON lacks %q:\n%s", name, stdout)
		}
	}
	for _, name := range []string{"trial", "arch_id", "accuracy", "latency_ms", "params", "macs"} {
		if _, ok := fields["best"].(map[string]any)[name]; !ok {
			t.Errorf("JSON best lacks %q:\n%s", name, stdout)
		}
	}
}

func TestSearchJSONInterrupted(t *testing.T) {
	needFashionMNIST(t)
	db := tempStore(t)
	code, stdout, stderr := runUntilLog(t, "msg=batch", cmdArgs(tinyMeasuredSearch, "--budget", "6", "--store", db, "--json")...)
	if code != exitInterrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	var got searchReport
	decodeOneJSON(t, stdout, &got)
	if got.Status != store.RunInterrupted {
		t.Errorf("status = %q, want %q", got.Status, store.RunInterrupted)
	}
	if got.Trials != 2 || got.Batches != 1 {
		t.Errorf("trials, batches = %d, %d; want 2, 1 (the first batch only)", got.Trials, got.Batches)
	}
	if got.Best == nil {
		t.Errorf("best is null after a scored batch")
	}
	if !strings.Contains(stderr, "nas search --resume r1") {
		t.Errorf("stderr does not say how to resume:\n%s", stderr)
	}
}
