package main

import (
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

// TestArgsMissingOrExtra checks that each command with a positional
// argument names it when it is missing and rejects extra ones, with exit 2.
func TestArgsMissingOrExtra(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"latency", "export"}, "missing the FILE argument (usage: nas latency export FILE"},
		{[]string{"latency", "import"}, "missing the FILE argument (usage: nas latency import FILE"},
		{[]string{"show"}, "missing the TRIAL argument (usage: nas show TRIAL"},
		{[]string{"replay"}, "missing the TRIAL argument (usage: nas replay TRIAL"},
		{[]string{"show", "r1/1", "r1/2"}, "too many arguments: nas show takes 1 (TRIAL), but got 2: r1/1 r1/2"},
		{[]string{"latency", "export", "a.json", "b.json"}, "too many arguments: nas latency export takes 1 (FILE), but got 2"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
		})
	}
}

// TestSearchBatchLargerThanData checks that a --batch-size larger than the
// training images names the largest batch size that fits, and a --val-size
// only where one fits.
func TestSearchBatchLargerThanData(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	cases := []struct {
		name      string
		batchSize string
		want      string
		valSize   bool
	}{
		{"above the split", "100000000", "invalid --batch-size 100000000: it is larger than the whole " + filepath.Base(data) +
			" training split of 200 images, and holding out --val-size 40 leaves 160; use a --batch-size of at most 160", false},
		{"above the remaining images", "170", "invalid --batch-size 170: holding out --val-size 40 of the 200 " + filepath.Base(data) +
			" training images leaves 160, fewer than one batch; use a --batch-size of at most 160, or a --val-size of at most 30", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tempStore(t)
			code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "1", "--batch-size", tc.batchSize, "--store", db)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
			if got := strings.Contains(stderr, "--val-size of at most"); got != tc.valSize {
				t.Errorf("stderr names a smaller --val-size: %v, want %v:\n%s", got, tc.valSize, stderr)
			}
			assertNoFile(t, db)
		})
	}
}

func TestSearchValSizeLargerThanData(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	db := tempStore(t)
	code, _, stderr := runCommand(t, cmdArgs(smallIDXSearch(data), "--budget", "1", "--val-size", "100000000", "--store", db)...)
	if code != exitBadInput {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
	}
	if want := "invalid --val-size 100000000: the " + filepath.Base(data) + " training split has only 200 images; use a --val-size of at most 184"; !strings.Contains(stderr, want) {
		t.Errorf("stderr does not contain %q:\n%s", want, stderr)
	}
	assertNoFile(t, db)
}

// TestReplayBatchLargerThanData checks that a replay on fewer training
// images than its batch size fails before training with exit 3 and the
// largest batch size that fits.
func TestReplayBatchLargerThanData(t *testing.T) {
	data := writeIDXFolder(t, 40, 20, 28, 28)
	db := resultsFixture(t)
	s, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRun("r1", func(r *store.Run) { r.Dataset = data }); err != nil {
		t.Fatal(err)
	}
	s.Close()

	cases := []struct {
		name string
		args []string
		want string
	}{
		{"data", []string{"replay", "r1/1"}, "invalid --batch-size 128: it is larger than the 40 training images of data " + data},
		{"train images", []string{"replay", "r1/1", "--train-images", "20", "--batch-size", "32"}, "invalid --batch-size 32: it is larger than the 20 training images of --train-images 20"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "w.safetensors")
			code, _, stderr := runCommand(t, cmdArgs(tc.args, "--store", db, "--out", out)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tc.want) || !strings.Contains(stderr, "use a --batch-size of at most") {
				t.Errorf("stderr does not contain %q and the fix:\n%s", tc.want, stderr)
			}
			if strings.Contains(stderr, "msg=epoch") {
				t.Errorf("replay started training:\n%s", stderr)
			}
			assertNoFile(t, out)
		})
	}
}

// TestSpaceClassesZeroDocumented checks that --classes documents 0 as the
// space's default, which it selects, and that the message for a negative
// count names that default too.
func TestSpaceClassesZeroDocumented(t *testing.T) {
	_, stdout, _ := runCommand(t, "space", "--help")
	if !strings.Contains(stdout, "0: the space's default") {
		t.Errorf("space --help does not document --classes 0:\n%s", stdout)
	}
	code, stdout, stderr := runCommand(t, "space", "--classes", "0")
	if code != exitOK || !strings.Contains(stdout, ", 10 classes,") {
		t.Errorf("space --classes 0: exit %d, want 0 and 10 classes:\n%s%s", code, stdout, stderr)
	}
	code, _, stderr = runCommand(t, "space", "--classes", "-1")
	if code != exitUsage || !strings.Contains(stderr, "or 0 for the space's default") {
		t.Errorf("space --classes -1: exit %d, want %d and the meaning of 0:\n%s", code, exitUsage, stderr)
	}
}
