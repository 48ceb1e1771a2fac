package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func needMachineMemory(t *testing.T) {
	t.Helper()
	if machineMemoryBytes() == 0 {
		t.Skip("/proc/meminfo is not readable, so the commands cannot compare with the machine's memory")
	}
}

func TestSearchRejectsTooManyWorkers(t *testing.T) {
	needMachineMemory(t)
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	// 1,024 workers, the maximum, at batch size 128 need over 500 GiB.
	code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "1", "--workers", "1024", "--batch-size", "128", "--store", db)...)
	if code != exitBadInput {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
	}
	for _, want := range []string{"--workers 1024 at --batch-size 128 needs an estimated", "MiB per worker", "of memory", "use a smaller --batch-size or fewer --workers"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message does not contain %q:\n%s", want, stderr)
		}
	}
	assertNoFile(t, db)
}

// TestResumeReplayRejectMemory checks that a resume with too many workers
// and a replay with too large a batch are rejected before they change the
// store or write a file.
func TestResumeReplayRejectMemory(t *testing.T) {
	needMachineMemory(t)
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	// The run's batch size of 128 makes 1,024 workers need over 500 GiB.
	if code, _, stderr := runUntilLog(t, "msg=batch", cmdArgs(smallIDXSearch(data), "--budget", "2", "--batch-size", "128", "--store", db)...); code != exitInterrupted {
		t.Fatalf("search: exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
	}
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(t.TempDir(), "w.safetensors")
	cases := []struct {
		name string
		args []string
		want []string
	}{
		{"resume", []string{"search", "--resume", "r1", "--workers", "1024", "--lr", "0.01"},
			[]string{"--workers 1024 at --batch-size 128 needs an estimated", "use a smaller --batch-size or fewer --workers"}},
		{"replay", []string{"replay", "r1/1", "--batch-size", "1000000000", "--out", out},
			[]string{"trial r1/1: training at resolution", "batch size 1000000000 needs an estimated", "use a smaller --batch-size"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, cmdArgs(tc.args, "--store", db)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			for _, want := range tc.want {
				if !strings.Contains(stderr, want) {
					t.Errorf("message does not contain %q:\n%s", want, stderr)
				}
			}
		})
	}

	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("a rejected command changed the store")
	}
	if lr := storedSettings(t, db, "r1").LearningRate; lr != 0.05 {
		t.Errorf("stored learning rate %v after a rejected resume, want 0.05", lr)
	}
	assertNoFile(t, out)
}
