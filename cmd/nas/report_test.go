package main

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"nas/runs"
	"nas/searchspace"
)

// TestShowBatchJSONMatchesText checks that show and show --json give a
// trial the same batch number, counted from 1.
func TestShowBatchJSONMatchesText(t *testing.T) {
	db := resultsFixture(t)
	// r1/3 has Batch 1 in the store: the search's second batch.
	code, stdout, stderr := runCommand(t, "show", "r1/3", "--store", db, "--json")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct {
		Batch int `json:"batch"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Batch != 2 {
		t.Errorf("show --json batch = %d, want 2, as the text output shows", got.Batch)
	}
	_, help, _ := runCommand(t, "show", "--help")
	if !strings.Contains(help, "counted from 1") {
		t.Errorf("show --help does not say how batches are counted:\n%s", help)
	}
}

func TestSearchResultSingular(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	code, stdout, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "1", "--store", tempStore(t))...)
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "run r1: 1 trial in 1 batch, stored in") {
		t.Errorf("search output does not use the singular:\n%s", stdout)
	}
}

func TestBenchThreadsHelpOneDefault(t *testing.T) {
	_, help, _ := runCommand(t, "bench", "--help")
	for _, line := range strings.Split(help, "\n") {
		if strings.Contains(line, "--threads") && strings.Contains(line, "threads per kernel call") {
			if n := strings.Count(line, "(default"); n != 1 {
				t.Errorf("--threads help names %d defaults, want 1: %s", n, line)
			}
			return
		}
	}
	t.Errorf("bench --help has no --threads line:\n%s", help)
}

// failingScoreBackend is a search backend on which scoring every child
// fails.
type failingScoreBackend struct{ runs.Backend }

func (failingScoreBackend) Score(context.Context, int, searchspace.Arch) (runs.Score, error) {
	return runs.Score{}, errors.New("out of memory")
}

// TestSearchAllChildrenFailed checks that a search whose every child
// failed exits 1 with the first failure, and logs no NaN reward.
func TestSearchAllChildrenFailed(t *testing.T) {
	original := wrapSearchBackend
	wrapSearchBackend = func(b runs.Backend) runs.Backend { return failingScoreBackend{b} }
	t.Cleanup(func() { wrapSearchBackend = original })
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)

	code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "2", "--store", db)...)
	if code != exitFailure {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFailure, stderr)
	}
	want := "nas: run r1 has no successful trial: all 2 children failed, the first (r1/1) with: out of memory; see `nas show r1/1 --store " + db + "`"
	if !strings.Contains(stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, stderr)
	}
	for _, line := range strings.Split(stderr, "\n") {
		if strings.Contains(line, "msg=batch") && strings.Contains(line, "NaN") {
			t.Errorf("batch line shows a NaN reward: %s", line)
		}
	}
}
