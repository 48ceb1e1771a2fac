package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"nas/runs"
	"nas/searchspace"
	"nas/store"
)

// storedSettings returns the search settings stored with run.
func storedSettings(t *testing.T, db, run string) searchOptions {
	t.Helper()
	s, err := store.Open(db, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	r, err := s.Run(run)
	if err != nil {
		t.Fatal(err)
	}
	var o searchOptions
	if err := json.Unmarshal(r.Config, &o); err != nil {
		t.Fatalf("run %s settings: %v", run, err)
	}
	return o
}

// trialKeys returns what identifies each trial of run: its architecture,
// validation accuracy and loss, and reward.
func trialKeys(t *testing.T, db, run string) []string {
	t.Helper()
	var keys []string
	for _, tr := range readTrials(t, db, run) {
		data, _ := json.Marshal([]any{tr.Seq, tr.ArchID, tr.Accuracy, tr.Loss, tr.Reward, tr.TrainSteps})
		keys = append(keys, string(data))
	}
	return keys
}

// smallIDXSearch returns the arguments of a search on small synthetic IDX
// data in data: one child per batch, two supernet steps before it.
func smallIDXSearch(data string) []string {
	return []string{"search", "--data", data, "--val-size", "40", "--recal-images", "40", "--batch-size", "16",
		"--supernet-steps", "2", "--children-per-batch", "1", "--seed", "5", "--latency", "measured"}
}

// TestResumeWithLearningRate runs three searches of 3 batches with
// --lr 0.05. Run r1 is resumed after batch 1 with --lr 0.01. Run r2 is
// resumed the same way, stopped after batch 2 and resumed without --lr, so
// it must repeat r1. Run r3 runs through at 0.05, so it must differ from r1
// after batch 1.
func TestResumeWithLearningRate(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	search := cmdArgs(smallIDXSearch(data), "--budget", "3", "--lr", "0.05", "--store", db)
	resume := func(run string, more ...string) []string {
		return cmdArgs([]string{"search", "--resume", run, "--store", db}, more...)
	}

	// r1: stopped after batch 1, resumed with --lr 0.01 to the end.
	if code, _, stderr := runUntilLog(t, "msg=batch", search...); code != exitInterrupted {
		t.Fatalf("r1: exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	code, _, stderr := runCommand(t, resume("r1", "--lr", "0.01")...)
	if code != exitOK {
		t.Fatalf("r1 resume --lr 0.01: exit %d; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `msg="learning rate changed" run=r1 from=0.05 to=0.01 trials=1`) {
		t.Errorf("resume --lr does not log the change:\n%s", stderr)
	}
	got := storedSettings(t, db, "r1")
	if got.LearningRate != 0.01 {
		t.Errorf("r1 stored learning rate %v, want 0.01", got.LearningRate)
	}
	if len(got.LearningRateChanges) != 1 {
		t.Fatalf("r1 stored %d learning rate changes, want 1: %+v", len(got.LearningRateChanges), got.LearningRateChanges)
	}
	if c := got.LearningRateChanges[0]; c.From != 0.05 || c.To != 0.01 || c.Trials != 1 || c.Time.IsZero() {
		t.Errorf("r1 change = %+v, want from 0.05 to 0.01 after 1 trial, with a time", c)
	}

	// r2: the same, but stopped again after batch 2 and resumed without
	// --lr, which keeps the stored 0.01.
	if code, _, stderr := runUntilLog(t, "msg=batch", search...); code != exitInterrupted {
		t.Fatalf("r2: exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if code, _, stderr := runUntilLog(t, "msg=batch", resume("r2", "--lr", "0.01")...); code != exitInterrupted {
		t.Fatalf("r2 resume --lr 0.01: exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	code, _, stderr = runCommand(t, resume("r2")...)
	if code != exitOK {
		t.Fatalf("r2 plain resume: exit %d; stderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "learning rate changed") {
		t.Errorf("a plain resume logs a learning rate change:\n%s", stderr)
	}
	if n := len(storedSettings(t, db, "r2").LearningRateChanges); n != 1 {
		t.Errorf("r2 stored %d learning rate changes, want 1", n)
	}
	r1, r2 := trialKeys(t, db, "r1"), trialKeys(t, db, "r2")
	if strings.Join(r1, "\n") != strings.Join(r2, "\n") {
		t.Errorf("r2 (plain resume after --lr) differs from r1:\nr1:\n%s\nr2:\n%s", strings.Join(r1, "\n"), strings.Join(r2, "\n"))
	}

	// r3: --lr 0.05 throughout. It matches r1 in batch 1 and differs after.
	if code, _, stderr := runCommand(t, search...); code != exitOK {
		t.Fatalf("r3: exit %d; stderr:\n%s", code, stderr)
	}
	r3 := trialKeys(t, db, "r3")
	if len(r1) != 3 || len(r3) != 3 {
		t.Fatalf("r1 has %d trials and r3 %d, want 3 each", len(r1), len(r3))
	}
	if r1[0] != r3[0] {
		t.Errorf("batch 1 of r1 and r3 differ, though both trained at 0.05:\n%s\n%s", r1[0], r3[0])
	}
	if strings.Join(r1[1:], "\n") == strings.Join(r3[1:], "\n") {
		t.Errorf("batches 2 and 3 of r1 (at --lr 0.01) equal those of r3 (at 0.05), so the new rate was not used")
	}

	// nas runs shows the change.
	_, stdout, _ := runCommand(t, "runs", "--store", db)
	if !strings.Contains(stdout, "run r1: learning rate changed from 0.05 to 0.01 after 1 trial") {
		t.Errorf("nas runs does not show the change:\n%s", stdout)
	}
}

func TestResumeInvalidLearningRate(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	if code, _, stderr := runUntilLog(t, "msg=batch", cmdArgs(smallIDXSearch(data), "--budget", "2", "--store", db)...); code != exitInterrupted {
		t.Fatalf("search: exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	for _, lr := range []string{"0", "-0.01", "NaN", "+Inf", "1e308"} {
		t.Run(lr, func(t *testing.T) {
			_, _, fresh := runCommand(t, "search", "--lr", lr, "--store", tempStore(t))
			code, _, stderr := runCommand(t, "search", "--resume", "r1", "--lr", lr, "--store", db)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, "invalid --lr") || stderr != fresh {
				t.Errorf("message %q, want the one of a new search, %q", stderr, fresh)
			}
		})
	}

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("a rejected --lr changed the store")
	}
	if lr := storedSettings(t, db, "r1").LearningRate; lr != runs.DefaultLearningRate {
		t.Errorf("stored learning rate %v, want the default %v", lr, runs.DefaultLearningRate)
	}
}

// divergingBackend is a search backend whose supernet steps all have a NaN
// loss, as when the learning rate is far too high.
type divergingBackend struct{ runs.Backend }

func (divergingBackend) TrainStep(context.Context, int, searchspace.Arch, int64) (float64, error) {
	return math.NaN(), nil
}

// divergeSearches makes the supernet training of every search in the test
// diverge.
func divergeSearches(t *testing.T) {
	original := wrapSearchBackend
	wrapSearchBackend = func(b runs.Backend) runs.Backend { return divergingBackend{b} }
	t.Cleanup(func() { wrapSearchBackend = original })
}

func TestSearchDivergedNamesFix(t *testing.T) {
	divergeSearches(t)
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "3", "--lr", "0.05", "--store", db)...)
	if code != exitFailure {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	for _, want := range []string{"nas: run r1: supernet training diverged: 2 of 2 steps of batch 1 had a non-finite loss", "`nas search --resume r1 --lr 0.005 --store " + db + "`", "start a new run with a lower --lr"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, stderr)
		}
	}
	if st := runStatus(t, db, "r1"); st != store.RunFailed {
		t.Errorf("run status %q, want %q", st, store.RunFailed)
	}
	_, stdout, _ := runCommand(t, "runs", "--store", db)
	if !strings.Contains(stdout, "run r1 failed: supernet training diverged") {
		t.Errorf("nas runs does not say why r1 failed:\n%s", stdout)
	}
}

// TestSearchDivergedAgainNewRun checks that the error of a run that diverges
// again after --resume lowered its rate, or at an already low rate,
// suggests a new run instead of another resume with a lower rate.
func TestSearchDivergedAgainNewRun(t *testing.T) {
	divergeSearches(t)
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	if code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "3", "--lr", "0.05", "--store", db)...); code != exitFailure {
		t.Fatalf("search: exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"lowered by resume", []string{"search", "--resume", "r1", "--lr", "0.005", "--store", db},
			"run r1 diverged again after --resume lowered its learning rate to 0.005: start a new run instead, such as `nas search --lr 0.0005 --store " + db + "`"},
		{"low rate", cmdArgs(smallIDXSearch(data), "--budget", "3", "--lr", "0.00005", "--store", db),
			"the learning rate 5e-05 is already low, so a lower one is unlikely to help: start a new run instead, such as `nas search --seed 6 --store " + db + "`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code != exitFailure {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "`nas search --resume") {
				t.Errorf("stderr suggests resuming again:\n%s", stderr)
			}
		})
	}
}

// TestLearningRateAboveMax checks that search, resume and replay reject an
// --lr above 10, and that a run stored with a higher rate resumes only
// with a new --lr.
func TestLearningRateAboveMax(t *testing.T) {
	db := resultsFixture(t)
	for _, args := range [][]string{
		{"search", "--lr", "11", "--store", tempStore(t)},
		{"search", "--resume", "r1", "--lr", "1e308", "--store", db},
		{"replay", "r1/1", "--lr", "1e30", "--store", db},
	} {
		code, _, stderr := runCommand(t, args...)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want %d; stderr:\n%s", args, code, exitUsage, stderr)
		}
		if !strings.Contains(stderr, "invalid --lr") || !strings.Contains(stderr, "at most 10") {
			t.Errorf("%v: message does not name --lr and its maximum:\n%s", args, stderr)
		}
	}

	data := writeIDXFolder(t, 200, 20, 28, 28)
	old := writeResumableRun(t, data, 0)
	settings := storedSettings(t, old, "r1")
	settings.LearningRate = 1e30
	s, err := store.Open(old, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(settings)
	if _, err := s.UpdateRun("r1", func(r *store.Run) { r.Config = config }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	code, _, stderr := runCommand(t, "search", "--resume", "r1", "--store", old)
	if code != exitUsage || !strings.Contains(stderr, "`nas search --resume r1 --lr 0.05 --store "+old+"`") {
		t.Errorf("resume of a run stored with --lr 1e30: exit %d, want %d and the command with a valid --lr:\n%s", code, exitUsage, stderr)
	}
}
