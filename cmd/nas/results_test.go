package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"nas/searchspace"
	"nas/store"
)

// resultsFixture writes a store with one run of five hand-made trials, one
// of them failed, and returns its path.
func resultsFixture(t *testing.T) string {
	t.Helper()
	path := tempStore(t)
	s, err := store.Open(path, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	space, err := searchspace.BuiltinSpace(searchspace.SpaceDefault, searchspace.Shape{Height: 28, Width: 28, Channels: 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	run, err := s.CreateRun(store.Run{SpaceName: space.Name, Seed: 5, Dataset: "fashion-mnist",
		Started: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}

	// accuracy, latency: r1/1 and r1/3 and r1/4 form the Pareto front.
	rows := []struct {
		acc, lat float64
		failed   bool
	}{{0.80, 1.0, false}, {0.78, 1.5, false}, {0.85, 2.0, false}, {0.86, 3.5, false}, {0, 0, true}}
	var trials []store.Trial
	for i, r := range rows {
		tokens := make([]int, len(space.Decisions()))
		tokens[len(tokens)-1] = i % 2 // resolution multiplier
		tokens[0] = i % 3             // kernel of block 0
		arch, err := space.Decode(tokens)
		if err != nil {
			t.Fatal(err)
		}
		cost, _ := searchspace.Cost(arch)
		tr := store.Trial{Run: run.ID, Seq: i + 1, Batch: i / 2, Arch: arch.Canonical(), ArchID: arch.ID(), Tokens: tokens,
			Accuracy: r.acc, Loss: 1 - r.acc, LatencyMS: r.lat, Params: cost.Params, MACs: cost.MACs, Reward: r.acc,
			TrainSteps: int64(50 * (i/2 + 1)), WallMS: 1200, Status: store.TrialOK}
		if r.failed {
			tr.Status, tr.Error, tr.Reward = store.TrialFailed, "validation accuracy NaN or loss NaN is not finite", 0
		}
		trials = append(trials, tr)
	}
	if err := s.PutTrials(run.ID, trials); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBestTable(t *testing.T) {
	// The fixture is the default store through NAS_STORE, so the commands
	// that the table suggests hold no temporary path.
	t.Setenv("NAS_STORE", resultsFixture(t))
	code, stdout, stderr := runCommand(t, "best")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	checkGolden(t, "best.txt", []byte(stdout))
}

func TestBestPareto(t *testing.T) {
	db := resultsFixture(t)
	code, stdout, stderr := runCommand(t, "best", "--store", db, "--pareto", "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rows []bestRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Trial)
	}
	want := []string{"r1/1", "r1/3", "r1/4"}
	if len(got) != len(want) {
		t.Fatalf("Pareto front %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Pareto front %v, want %v", got, want)
		}
	}
}

func TestBestTopLimit(t *testing.T) {
	db := resultsFixture(t)
	_, stdout, _ := runCommand(t, "best", "--store", db, "--top", "2", "--json")
	var rows []bestRow
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0].Trial != "r1/4" || rows[1].Trial != "r1/3" {
		t.Errorf("best --top 2 = %+v, want r1/4 then r1/3", rows)
	}
}

func TestShowTable(t *testing.T) {
	db := resultsFixture(t)
	for name, id := range map[string]string{"show.txt": "r1/3", "show-failed.txt": "5"} {
		code, stdout, stderr := runCommand(t, "show", id, "--store", db)
		if code != exitOK {
			t.Fatalf("show %s exit %d: %s", id, code, stderr)
		}
		checkGolden(t, name, []byte(stdout))
	}
}

func TestStoreFromEnv(t *testing.T) {
	db := resultsFixture(t)
	t.Setenv("NAS_STORE", db)
	code, stdout, stderr := runCommand(t, "best", "--json")
	if code != exitOK || !strings.Contains(stdout, `"r1/4"`) {
		t.Errorf("best with NAS_STORE set: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// --store wins over NAS_STORE.
	missing := filepath.Join(t.TempDir(), "other.db")
	code, _, stderr = runCommand(t, "best", "--store", missing)
	if code != exitBadInput || !strings.Contains(stderr, missing) {
		t.Errorf("best --store %s: exit %d, stderr:\n%s", missing, code, stderr)
	}
}
