package main

import (
	"encoding/json"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nas/searchspace"
	"nas/store"
)

func TestUserMessage(t *testing.T) {
	cases := []struct{ in, want string }{
		{"store: create run: disk full", "create run: disk full"},
		{"bad.json: searchspace: classes = 1: use 2", "bad.json: classes = 1: use 2"},
		{"runs: run r1: step 3: childnet: training diverged", "run r1: step 3: training diverged"},
		{"runs: childnet: twice", "twice"},
		{"panic in worker 0: boom\nkernels: shape", "panic in worker 0: boom\nshape"},
		{"restore: latency: 3 ms", "restore: 3 ms"},
		{"datastore: x", "datastore: x"},
		{"store:x", "store:x"},
		{"restore strategy: rl:", "restore strategy: rl:"},
		{"open store: no such file", "open store: no such file"},
		{"", ""},
	}
	for _, tc := range cases {
		if got := userMessage(tc.in); got != tc.want {
			t.Errorf("userMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestOwnPackagesComplete checks that ownPackages names every package of
// the module but main, so that no package's prefix reaches a user.
func TestOwnPackagesComplete(t *testing.T) {
	root := filepath.Join("..", "..")
	seen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != root {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.PackageClauseOnly)
		if err != nil {
			return err
		}
		seen[f.Name.Name] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for name := range seen {
		if name != "main" && !slices.Contains(ownPackages, name) {
			t.Errorf("package %s is missing from ownPackages", name)
		}
	}
	for _, name := range ownPackages {
		if !seen[name] {
			t.Errorf("ownPackages lists %s, which is not a package of the module", name)
		}
	}
}

// writeResumableRun stores run r1 in a new store with the settings of a
// small search on data, as if a search had stored trials trials and then
// lost its checkpoint, and returns the store's path.
func writeResumableRun(t *testing.T, data string, trials int) string {
	t.Helper()
	db := tempStore(t)
	s, err := store.Open(db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	settings := searchOptions{
		Data: data, Space: searchspace.SpaceDefault, Budget: "4", Workers: 1, Reward: rewardAccuracy,
		Strategy: "reinforce", Seed: 1, Latency: latencyMeasured, ValSize: 40, SupernetSteps: 1,
		ChildrenPerBatch: 1, BatchSize: 16, LearningRate: 0.05, RecalImages: 16,
	}
	space, err := searchspace.BuiltinSpace(searchspace.SpaceDefault, searchspace.Shape{Height: 28, Width: 28, Channels: 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(settings)
	spaceJSON, _ := json.Marshal(space)
	run, err := s.CreateRun(store.Run{Config: config, SpaceName: space.Name, Space: spaceJSON, Seed: 1, Dataset: data})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateRun(run.ID, func(r *store.Run) { r.Trials = trials }); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestErrorsWithoutPackageNames(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	dir := t.TempDir()
	badArch := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badArch, []byte(`{"input": {"height": 8, "width": 8, "channels": 1}, "classes": 1}`), 0o644); err != nil {
		t.Fatal(err)
	}
	resumable := writeResumableRun(t, data, 2)
	badSpace := filepath.Join(dir, "s.yaml")
	if err := os.WriteFile(badSpace, []byte("stem: {out: 8, kernel: 3, stride: 2}\nblocks: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"preset alpha", []string{"arch", "--preset", "mobilenet-v1", "--alpha", "-1"}, "nas: preset mobilenet-v1: width multiplier -1"},
		{"bench arch file", []string{"bench", "--arch", badArch}, "nas: " + badArch + ": classes = 1"},
		{"space file", []string{"space", "--space", badSpace}, "nas: space file " + badSpace + ": width_multipliers = []"},
		{"search data folder", []string{"search", "--data", dir, "--store", filepath.Join(dir, "nas.db")}, "nas: --data " + dir + ": data not found"},
		{"resume without checkpoint", []string{"search", "--resume", "r1", "--store", resumable}, "nas: run r1 has 2 trials but no checkpoint to resume from: corrupt store: read its trials with `nas best --run r1 --store " + resumable + "`"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code == exitOK {
				t.Fatalf("exit 0, want an error; stderr:\n%s", stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr does not contain %q:\n%s", tc.want, stderr)
			}
			// A package name starts the message or a wrapped error.
			for _, name := range ownPackages {
				if strings.Contains(stderr, "nas: "+name+": ") || strings.Contains(stderr, ": "+name+": ") {
					t.Errorf("stderr contains the package name %q:\n%s", name+": ", stderr)
				}
			}
		})
	}
}
