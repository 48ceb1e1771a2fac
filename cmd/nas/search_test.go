package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nas/dataset"
	"nas/store"
)

// tinySearch is a search small enough for a test: a few hundred images,
// three supernet steps and two children per batch.
var tinySearch = []string{
	"search", "--train-images", "256", "--val-size", "64", "--recal-images", "64", "--batch-size", "32",
	"--supernet-steps", "3", "--children-per-batch", "2", "--seed", "5",
}

func needFashionMNIST(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skipf("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): %v", err)
	}
}

func tempStore(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "nas.db")
}

func cmdArgs(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

func TestSearchBestShowReplay(t *testing.T) {
	needFashionMNIST(t)
	db := tempStore(t)

	code, stdout, stderr := runCommand(t, cmdArgs(tinySearch, "--budget", "4", "--store", db)...)
	if code != exitOK {
		t.Fatalf("search exit %d\nstderr:\n%s", code, stderr)
	}
	for _, want := range []string{"run r1: 4 trials in 2 batches", "nas best --run r1", "nas replay r1/"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("search output lacks %q:\n%s", want, stdout)
		}
	}
	if n := strings.Count(stderr, "msg=batch"); n != 2 {
		t.Errorf("search logged %d batch lines, want 2:\n%s", n, stderr)
	}

	// best --json lists the trials by reward with the documented fields.
	code, stdout, stderr = runCommand(t, "best", "--store", db, "--json")
	if code != exitOK {
		t.Fatalf("best exit %d: %s", code, stderr)
	}
	var rows []map[string]any
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("best --json: %v\n%s", err, stdout)
	}
	if len(rows) != 4 {
		t.Fatalf("best lists %d trials, want 4", len(rows))
	}
	for _, field := range []string{"trial", "arch_id", "reward", "accuracy", "latency_ms", "params", "macs"} {
		if _, ok := rows[0][field]; !ok {
			t.Errorf("best --json row lacks %q: %v", field, rows[0])
		}
	}
	for i := 1; i < len(rows); i++ {
		if rows[i]["reward"].(float64) > rows[i-1]["reward"].(float64) {
			t.Errorf("best rows not ordered by reward: %v", rows)
		}
	}
	best := rows[0]["trial"].(string)

	// show prints the architecture of the best trial.
	code, stdout, _ = runCommand(t, "show", best, "--store", db)
	if code != exitOK || !strings.Contains(stdout, "block0") || !strings.Contains(stdout, rows[0]["arch_id"].(string)) {
		t.Errorf("show %s exit %d:\n%s", best, code, stdout)
	}

	// replay retrains it, writes weights and architecture, and stores the
	// result with the trial.
	out := filepath.Join(t.TempDir(), "best.safetensors")
	code, stdout, stderr = runCommand(t, "replay", best, "--store", db, "--epochs", "1", "--batch-size", "64",
		"--train-images", "512", "--test-images", "256", "--out", out, "--json")
	if code != exitOK {
		t.Fatalf("replay exit %d: %s", code, stderr)
	}
	var replay store.Replay
	if err := json.Unmarshal([]byte(stdout), &replay); err != nil {
		t.Fatalf("replay --json: %v\n%s", err, stdout)
	}
	if replay.TestAccuracy <= 0.1 || replay.Params <= 0 || replay.MACs <= 0 || replay.LatencyMS <= 0 {
		t.Errorf("replay = %+v, want accuracy above chance and positive cost", replay)
	}
	for _, path := range []string{out, strings.TrimSuffix(out, ".safetensors") + ".arch.json"} {
		if st, err := os.Stat(path); err != nil || st.Size() == 0 {
			t.Errorf("replay output %s: %v", path, err)
		}
	}
	code, stdout, _ = runCommand(t, "show", best, "--store", db, "--json")
	var shown showResult
	if err := json.Unmarshal([]byte(stdout), &shown); err != nil || code != exitOK {
		t.Fatalf("show --json exit %d: %v", code, err)
	}
	if len(shown.Replays) != 1 || shown.Replays[0].TestAccuracy != replay.TestAccuracy {
		t.Errorf("show lists replays %+v, want the one just run", shown.Replays)
	}

	// runs lists the finished run.
	code, stdout, _ = runCommand(t, "runs", "--store", db, "--json")
	var list []runSummary
	if err := json.Unmarshal([]byte(stdout), &list); err != nil || code != exitOK {
		t.Fatalf("runs --json exit %d: %v", code, err)
	}
	if len(list) == 1 && (list[0].Strategy != "reinforce" || list[0].Reward != "accuracy" || list[0].Budget != "4") {
		t.Errorf("runs lists settings strategy %q, objective %q, budget %q; want reinforce, accuracy, 4",
			list[0].Strategy, list[0].Reward, list[0].Budget)
	}
	if len(list) != 1 || list[0].Status != store.RunDone || list[0].Trials != 4 || list[0].BestTrial != best {
		t.Errorf("runs = %+v", list)
	}
}

func TestSearchFlagErrors(t *testing.T) {
	db := tempStore(t)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"zero budget", []string{"--budget", "0"}, exitUsage, "--budget"},
		{"bad budget", []string{"--budget", "lots"}, exitUsage, "--budget"},
		{"mnas without target", []string{"--reward", "mnas-soft"}, exitUsage, "--latency-target"},
		{"unknown reward", []string{"--reward", "speed"}, exitUsage, "--reward"},
		{"unknown strategy", []string{"--strategy", "guess"}, exitUsage, "--strategy"},
		{"unknown latency source", []string{"--latency", "guess"}, exitUsage, "--latency"},
		{"zero workers", []string{"--workers", "0"}, exitUsage, "--workers"},
		{"negative lr", []string{"--lr", "-1"}, exitUsage, "--lr"},
		{"missing data", []string{"--data", filepath.Join(t.TempDir(), "absent")}, exitBadInput, "--data"},
		{"unknown space", []string{"--space", "nonesuch"}, exitBadInput, "nonesuch"},
		{"space without decisions", []string{"--space", "mobilenet-v2"}, exitBadInput, "no decisions"},
		{"validation larger than data", []string{"--val-size", "70000"}, exitBadInput, "--val-size"},
		{"resume with flags", []string{"--resume", "r1", "--seed", "3"}, exitUsage, "--seed"},
		{"huge supernet steps", []string{"--supernet-steps", "1000000000000"}, exitUsage, "--supernet-steps 1000000000000: use at most 100000"},
		{"huge children per batch", []string{"--children-per-batch", "100000000"}, exitUsage, "--children-per-batch 100000000: use at most 10000"},
		{"huge workers", []string{"--workers", "1000000000000"}, exitUsage, "--workers 1000000000000: use at most 1024"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.code == exitBadInput {
				needFashionMNIST(t)
			}
			code, _, stderr := runCommand(t, cmdArgs([]string{"search", "--store", db}, tc.args...)...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("message does not name %s:\n%s", tc.want, stderr)
			}
			if _, err := os.Stat(db); !os.IsNotExist(err) {
				t.Errorf("a rejected search created the store (stat: %v)", err)
			}
		})
	}
}

// TestSearchEmptyResume checks that an explicitly empty --resume, such as
// --resume "$RUN" with RUN unset, is a usage error and starts no run.
func TestSearchEmptyResume(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	for _, value := range []string{"", "  "} {
		db := tempStore(t)
		code, stdout, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "1", "--resume="+value, "--store", db)...)
		if code != exitUsage {
			t.Errorf("--resume %q: exit %d, want %d; stdout:\n%s\nstderr:\n%s", value, code, exitUsage, stdout, stderr)
		}
		if want := fmt.Sprintf("invalid --resume %q: give the id of the run to continue", value); !strings.Contains(stderr, want) {
			t.Errorf("--resume %q: stderr does not contain %q:\n%s", value, want, stderr)
		}
		assertNoFile(t, db)
	}
}

// TestSearchInterruptLongPhase checks that Ctrl-C stops a search whose
// supernet phase has the maximum number of steps within a few seconds.
// Proposing all 100,000 children of the phase before training any, with no
// check of the context, took 25 s on a 2-core machine.
func TestSearchInterruptLongPhase(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	args := cmdArgs(smallIDXSearch(data), "--budget", "1", "--supernet-steps", "100000", "--store", tempStore(t))
	began := time.Now()
	code, _, stderr := runUntilLog(t, "msg=search", args...)
	took := time.Since(began)
	if code != exitInterrupted {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	if took > 5*time.Second {
		t.Errorf("the interrupted search took %v to stop, want under 5s", took.Round(time.Millisecond))
	}
}

func TestReadCommandErrors(t *testing.T) {
	needFashionMNIST(t)
	db := tempStore(t)
	if code, _, stderr := runCommand(t, cmdArgs(tinySearch, "--budget", "2", "--store", db)...); code != exitOK {
		t.Fatalf("search exit %d: %s", code, stderr)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	missing := filepath.Join(t.TempDir(), "absent.db")
	corrupt := filepath.Join(t.TempDir(), "corrupt.db")
	if err := os.WriteFile(corrupt, []byte(strings.Repeat("not a store\n", 500)), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"runs missing store", []string{"runs", "--store", missing}, exitBadInput, "not found"},
		{"best missing store", []string{"best", "--store", missing}, exitBadInput, "not found"},
		{"show missing store", []string{"show", "r1/1", "--store", missing}, exitBadInput, "not found"},
		{"runs corrupt store", []string{"runs", "--store", corrupt}, exitBadInput, "corrupt"},
		{"best unknown run", []string{"best", "--run", "r9", "--store", db}, exitBadInput, "r9"},
		{"show unknown run", []string{"show", "r9/1", "--store", db}, exitBadInput, "r9"},
		{"show unknown trial", []string{"show", "r1/99", "--store", db}, exitBadInput, "r1/99"},
		{"show bad id", []string{"show", "r1-2", "--store", db}, exitBadInput, "RUN/SEQ"},
		{"replay unknown trial", []string{"replay", "1/99", "--store", db}, exitBadInput, "r1/99"},
		{"best zero top", []string{"best", "--top", "0", "--store", db}, exitUsage, "--top"},
		{"resume done run", []string{"search", "--resume", "r1", "--store", db}, exitBadInput, "already complete"},
		{"resume unknown run", []string{"search", "--resume", "r7", "--store", db}, exitBadInput, "r7"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("message does not contain %q:\n%s", tc.want, stderr)
			}
		})
	}

	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a read command created %s", missing)
	}
	if after, _ := os.ReadFile(corrupt); string(after) != strings.Repeat("not a store\n", 500) {
		t.Errorf("a read command changed the corrupt file")
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Errorf("failed commands changed the store")
	}
	code, stdout, _ := runCommand(t, "best", "--store", db, "--run", "1", "--json")
	if !strings.Contains(stdout, `"r1/2"`) || code != exitOK {
		t.Errorf("best after the failed commands, exit %d:\n%s", code, stdout)
	}
}

func TestLockedStore(t *testing.T) {
	db := tempStore(t)
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.CreateRun(store.Run{Seed: 1}); err != nil {
		t.Fatal(err)
	}

	// Commands that write are rejected while another process writes.
	var commands [][]string
	if _, err := os.Stat(dataset.FashionMNISTDir); err == nil {
		commands = append(commands, cmdArgs(tinySearch, "--budget", "2"), []string{"search", "--resume", "r1"})
	}
	for _, cmd := range commands {
		code, _, stderr := runCommand(t, cmdArgs(cmd, "--store", db)...)
		if code != exitFailure || !strings.Contains(stderr, "in use by another nas process") {
			t.Errorf("%s on a locked store: exit %d, stderr:\n%s", cmd[0], code, stderr)
		}
	}

	// Commands that only read work meanwhile, so a running search can be
	// watched.
	for _, cmd := range [][]string{{"runs"}, {"best", "--run", "r1"}} {
		code, stdout, stderr := runCommand(t, cmdArgs(cmd, "--store", db)...)
		if code != exitOK {
			t.Errorf("%s while another process writes: exit %d, stderr:\n%s", cmd[0], code, stderr)
		}
		if cmd[0] == "runs" && !strings.Contains(stdout, "r1") {
			t.Errorf("runs while another process writes does not list r1:\n%s", stdout)
		}
	}
	runs, err := s.Runs()
	if err != nil || len(runs) != 1 || runs[0].Status != store.RunRunning {
		t.Errorf("runs after the rejected commands = %+v, %v; want r1 alone, untouched", runs, err)
	}
}

// TestSearchLatencySources checks that the default search predicts latency
// from a table it profiles into the store, and that --latency measured
// stores the measurement and, with that table present, the prediction.
func TestSearchLatencySources(t *testing.T) {
	needFashionMNIST(t)
	db := tempStore(t)

	trials := func(run string) []store.Trial {
		t.Helper()
		st, err := store.Open(db, store.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		list, err := st.Trials(run)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}

	code, _, stderr := runCommand(t, cmdArgs(tinySearch, "--budget", "2", "--store", db)...)
	if code != exitOK {
		t.Fatalf("search exit %d\nstderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "latency table saved") {
		t.Errorf("first search did not profile a latency table:\n%s", stderr)
	}
	for _, tr := range trials("r1") {
		if tr.LatencySource != "predicted" || tr.PredictedLatencyMS <= 0 || tr.LatencyMS != tr.PredictedLatencyMS || tr.MeasuredLatencyMS != 0 {
			t.Errorf("predicted run: trial %s latency %v source %q predicted %v measured %v",
				tr.ID(), tr.LatencyMS, tr.LatencySource, tr.PredictedLatencyMS, tr.MeasuredLatencyMS)
		}
	}

	code, _, stderr = runCommand(t, cmdArgs(tinySearch, "--budget", "2", "--store", db, "--latency", "measured")...)
	if code != exitOK {
		t.Fatalf("measured search exit %d\nstderr:\n%s", code, stderr)
	}
	if strings.Contains(stderr, "latency table saved") {
		t.Errorf("second search profiled again although the store has a table:\n%s", stderr)
	}
	for _, tr := range trials("r2") {
		if tr.LatencySource != "measured" || tr.MeasuredLatencyMS <= 0 || tr.LatencyMS != tr.MeasuredLatencyMS || tr.PredictedLatencyMS <= 0 {
			t.Errorf("measured run: trial %s latency %v source %q predicted %v measured %v",
				tr.ID(), tr.LatencyMS, tr.LatencySource, tr.PredictedLatencyMS, tr.MeasuredLatencyMS)
		}
	}
}
