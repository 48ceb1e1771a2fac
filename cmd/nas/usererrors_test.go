package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

// writeIDXFolder writes the four IDX files of a data set with train and
// test images of height×width pixels, one channel and labels 0–9.
func writeIDXFolder(t *testing.T, train, test, height, width int) string {
	t.Helper()
	dir := t.TempDir()
	write := func(name string, header []uint32, body []byte) {
		var b []byte
		for _, v := range header {
			b = binary.BigEndian.AppendUint32(b, v)
		}
		if err := os.WriteFile(filepath.Join(dir, name), append(b, body...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, split := range []struct {
		prefix string
		n      int
	}{{"train", train}, {"t10k", test}} {
		pixels := make([]byte, split.n*height*width)
		for i := range pixels {
			pixels[i] = byte(i * 7)
		}
		labels := make([]byte, split.n)
		for i := range labels {
			labels[i] = byte(i % 10)
		}
		write(split.prefix+"-images-idx3-ubyte", []uint32{0x803, uint32(split.n), uint32(height), uint32(width)}, pixels)
		write(split.prefix+"-labels-idx1-ubyte", []uint32{0x801, uint32(split.n)}, labels)
	}
	return dir
}

func assertNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the rejected command created %s (stat: %v)", path, err)
	}
}

func TestNonSquareInputRejected(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 14, 56)
	cases := []struct {
		name string
		args []string
	}{
		{"search data", []string{"search", "--data", data, "--val-size", "40", "--batch-size", "16", "--budget", "1"}},
		{"space input", []string{"space", "--input", "28x32x1"}},
		{"latency profile input", []string{"latency", "profile", "--input", "20x40x1", "--runs", "1"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tempStore(t)
			args := tc.args
			if args[0] != "space" {
				args = cmdArgs(args, "--store", db)
			}
			code, _, stderr := runCommand(t, args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, "square") {
				t.Errorf("message does not say the input must be square:\n%s", stderr)
			}
			assertNoFile(t, db)
		})
	}
}

func TestRunsKilledStatus(t *testing.T) {
	db := tempStore(t)
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRun(store.Run{SpaceName: "default", Seed: 1}); err != nil {
		t.Fatal(err)
	}

	// While this process holds the store for writing, the run is running.
	code, stdout, stderr := runCommand(t, "runs", "--store", db, "--json")
	if code != exitOK {
		t.Fatalf("runs --json: exit %d, stderr: %s", code, stderr)
	}
	var rows []runSummary
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if len(rows) != 1 || rows[0].Status != store.RunRunning {
		t.Errorf("with a writer: runs --json = %+v, want one running run", rows)
	}
	if _, text, _ := runCommand(t, "runs", "--store", db); strings.Contains(text, "killed") {
		t.Errorf("with a writer: the table shows a killed run:\n%s", text)
	}

	// Closing without finishing the run is what a SIGKILL leaves behind.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCommand(t, "runs", "--store", db, "--json")
	if code != exitOK {
		t.Fatalf("runs --json: exit %d, stderr: %s", code, stderr)
	}
	rows = nil
	if err := json.Unmarshal([]byte(stdout), &rows); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if len(rows) != 1 || rows[0].Status != runStatusKilled {
		t.Errorf("without a writer: runs --json = %+v, want one killed run", rows)
	}
	if _, text, _ := runCommand(t, "runs", "--store", db); !strings.Contains(text, "killed") || !strings.Contains(text, "--resume r1") {
		t.Errorf("without a writer: the table does not show r1 as killed with the resume command:\n%s", text)
	}
}

func TestStoreDirectoryRejected(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{"runs", "--store", dir},
		{"latency", "profile", "--space", "default", "--runs", "1", "--store", dir},
	} {
		t.Run(args[0], func(t *testing.T) {
			code, _, stderr := runCommand(t, args...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, "is a directory") {
				t.Errorf("message does not say the store is a directory:\n%s", stderr)
			}
		})
	}
}

// runCanceled runs one nas command line with a context that is already
// canceled, as after a Ctrl-C.
func runCanceled(t *testing.T, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	return code, stderr.String()
}

func TestInterruptedProfileMessage(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"search profile", []string{"search", "--data", data, "--val-size", "40", "--batch-size", "16", "--budget", "1"}, "search interrupted while profiling the latency table: nothing was stored"},
		{"latency profile", []string{"latency", "profile", "--runs", "1"}, "latency profile interrupted: nothing was stored"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tempStore(t)
			code, stderr := runCanceled(t, cmdArgs(tc.args, "--store", db)...)
			if code != exitInterrupted {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitInterrupted, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not say %q:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "context canceled") {
				t.Errorf("stderr contains the error chain:\n%s", stderr)
			}

			s, err := store.Open(db, store.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if runs, err := s.Runs(); err != nil || len(runs) != 0 {
				t.Errorf("store runs = %v (err %v), want none", runs, err)
			}
		})
	}
}

func TestSearchImageCountErrors(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	cases := []struct {
		name    string
		args    []string
		want    []string
		notWant string
	}{
		{"val-size leaves too few", []string{"--val-size", "190", "--batch-size", "16"},
			[]string{"--val-size 190", "leaves 10", "--batch-size 16", "at most 184"}, "--train-images"},
		{"train-images above available", []string{"--val-size", "40", "--batch-size", "16", "--train-images", "1000"},
			[]string{"--train-images 1000", "leaves 160", "at most 160"}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tempStore(t)
			code, _, stderr := runCommand(t, cmdArgs([]string{"search", "--data", data, "--store", db}, tc.args...)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message does not contain %q:\n%s", w, stderr)
				}
			}
			if tc.notWant != "" && strings.Contains(stderr, tc.notWant) {
				t.Errorf("message names %s, which was not passed:\n%s", tc.notWant, stderr)
			}
			assertNoFile(t, db)
		})
	}
}

func TestSearchRecalImagesClamped(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	code, _, stderr := runCommand(t, "search", "--data", data, "--store", db, "--val-size", "40", "--batch-size", "16",
		"--recal-images", "1000", "--latency", "measured", "--budget", "1", "--supernet-steps", "1", "--children-per-batch", "1")
	if code != exitOK {
		t.Fatalf("exit %d; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"--recal-images exceeds the training images", "recal_images=1000", "train_images=160"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not log %q:\n%s", want, stderr)
		}
	}
}

func TestBenchRejectsHugeArch(t *testing.T) {
	if machineMemoryBytes() == 0 {
		t.Skip("/proc/meminfo is not readable, so bench cannot compare with the machine's memory")
	}
	huge := strings.Replace(tinyBenchArch, `"classes": 4,`, `"classes": 4, "resolution": 100000,`, 1)
	path := writeBenchArch(t, huge)
	code, _, stderr := runCommand(t, "bench", "--arch", path, "--steps", "1")
	if code != exitBadInput {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
	}
	if !strings.Contains(stderr, "needs an estimated") || !strings.Contains(stderr, "GiB") {
		t.Errorf("message does not give the estimate:\n%s", stderr)
	}
}

func TestCorruptErrorIsBadInput(t *testing.T) {
	err := fmt.Errorf("read run r1: %w", store.ErrCorrupt)
	if code := exitCodeOf(err); code != exitBadInput {
		t.Errorf("exit code of %q = %d, want %d", err, code, exitBadInput)
	}
}
