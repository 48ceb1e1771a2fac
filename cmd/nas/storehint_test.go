package main

import (
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

// storeWithRun creates a store at db with one run of status status, closes
// it, and returns db.
func storeWithRun(t *testing.T, db, status string) string {
	t.Helper()
	s, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	run, err := s.CreateRun(store.Run{SpaceName: "default", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if status != store.RunRunning {
		if err := s.FinishRun(run.ID, status, ""); err != nil {
			t.Fatal(err)
		}
	}
	return db
}

// emptyStore creates a store at db without runs and returns db.
func emptyStore(t *testing.T, db string) string {
	t.Helper()
	s, err := store.Open(db, store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	return db
}

// TestHintsNameStore checks that the command lines that the messages of
// search, runs and best suggest name --store when the store is not the
// default one.
func TestHintsNameStore(t *testing.T) {
	t.Setenv("NAS_STORE", "")
	dir := t.TempDir()
	data := writeIDXFolder(t, 200, 20, 28, 28)

	interrupted := filepath.Join(dir, "int.db")
	killed := storeWithRun(t, filepath.Join(dir, "k.db"), store.RunRunning)
	done := storeWithRun(t, filepath.Join(dir, "done.db"), store.RunDone)
	empty := emptyStore(t, filepath.Join(dir, "empty.db"))
	results := resultsFixture(t)
	spaced := storeWithRun(t, filepath.Join(dir, "my runs.db"), store.RunRunning)

	cases := []struct {
		name string
		run  func() (int, string, string)
		want string
	}{
		{"search interrupted", func() (int, string, string) {
			return runUntilLog(t, "msg=batch", cmdArgs(smallIDXSearch(data), "--budget", "3", "--store", interrupted)...)
		}, "`nas search --resume r1 --store " + interrupted + "`"},
		{"runs killed", func() (int, string, string) { return runCommand(t, "runs", "--store", killed) },
			"`nas search --resume r1 --store " + killed + "`"},
		{"runs quoted path", func() (int, string, string) { return runCommand(t, "runs", "--store", spaced) },
			"`nas search --resume r1 --store '" + spaced + "'`"},
		{"runs empty", func() (int, string, string) { return runCommand(t, "runs", "--store", empty) },
			"`nas search --store " + empty + "`"},
		{"best empty", func() (int, string, string) { return runCommand(t, "best", "--store", empty) },
			"`nas search --store " + empty + "`"},
		{"best", func() (int, string, string) { return runCommand(t, "best", "--store", results) },
			"`nas show TRIAL --store " + results + "`, retrain it with `nas replay TRIAL --store " + results + "`"},
		{"resume done run", func() (int, string, string) { return runCommand(t, "search", "--resume", "r1", "--store", done) },
			"`nas best --run r1 --store " + done + "`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stdout, stderr := tc.run()
			if !strings.Contains(stdout+stderr, tc.want) {
				t.Errorf("output does not contain %s:\nstdout:\n%s\nstderr:\n%s", tc.want, stdout, stderr)
			}
		})
	}
}

// TestHintsDefaultStore checks that a hint leaves --store out when the
// command would find the store without it.
func TestHintsDefaultStore(t *testing.T) {
	t.Chdir(t.TempDir())
	t.Setenv("NAS_STORE", "")
	storeWithRun(t, defaultStorePath, store.RunRunning)
	_, stdout, stderr := runCommand(t, "runs")
	if !strings.Contains(stdout, "`nas search --resume r1`") {
		t.Errorf("runs on the default store does not print the plain resume command:\n%s%s", stdout, stderr)
	}

	// With NAS_STORE set, the default store is that file.
	t.Setenv("NAS_STORE", "other.db")
	storeWithRun(t, "other.db", store.RunRunning)
	_, stdout, _ = runCommand(t, "runs")
	if !strings.Contains(stdout, "`nas search --resume r1`") {
		t.Errorf("runs on $NAS_STORE does not print the plain resume command:\n%s", stdout)
	}
	_, stdout, _ = runCommand(t, "runs", "--store", defaultStorePath)
	if !strings.Contains(stdout, "`nas search --resume r1 --store nas.db`") {
		t.Errorf("runs --store nas.db with NAS_STORE=other.db does not name --store nas.db:\n%s", stdout)
	}
}

func TestShellQuote(t *testing.T) {
	cases := map[string]string{
		"runs/k.db":  "runs/k.db",
		"my runs.db": "'my runs.db'",
		"it's.db":    `'it'\''s.db'`,
		"$HOME/x.db": "'$HOME/x.db'",
		"":           "''",
		"a-b_c+d.db": "a-b_c+d.db",
	}
	for in, want := range cases {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
