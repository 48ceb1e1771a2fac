package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSpaceDefaultTable(t *testing.T) {
	code, stdout, stderr := runCommand(t, "space")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	checkGolden(t, "space_default.golden", []byte(stdout))
}

func TestSpaceJSONFields(t *testing.T) {
	code, stdout, stderr := runCommand(t, "space", "--input", "32x32x3", "--classes", "100", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got struct {
		Name      string `json:"name"`
		Input     struct{ Height, Width, Channels int }
		Classes   int `json:"classes"`
		Decisions []struct {
			Name    string   `json:"name"`
			Choices []string `json:"choices"`
		} `json:"decisions"`
		Size      *int64   `json:"size"`
		SizeLog10 *float64 `json:"size_log10"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Name != "default" || got.Classes != 100 || got.Input.Height != 32 || got.Input.Channels != 3 {
		t.Errorf("name %q, classes %d, input %+v; want default, 100, 32x32x3", got.Name, got.Classes, got.Input)
	}
	if len(got.Decisions) != 19 || got.Decisions[0].Name != "block0.kernel" || len(got.Decisions[0].Choices) != 3 {
		t.Errorf("decisions = %+v, want 19 starting with block0.kernel [3 5 7]", got.Decisions)
	}
	if got.Size == nil || *got.Size != 39366000 {
		t.Errorf("size = %v, want 39366000", got.Size)
	}
	if got.SizeLog10 == nil {
		t.Error("size_log10 missing")
	}
}

func TestSpacePresetName(t *testing.T) {
	code, stdout, stderr := runCommand(t, "space", "--space", "mobilenet-v2")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	want := "space mobilenet-v2: input 224x224x3, 1000 classes, 0 decisions, 1 architecture"
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout = %q, want prefix %q", stdout, want)
	}
}

func TestSpaceFileFillsInput(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tiny.yaml")
	spec := `stem: {out: 8, kernel: 3, stride: 2}
blocks:
  - {out: 8, stride: 1, ops: [mbconv, skip], kernels: [3, 5], expansions: [1, 6]}
head: {out: 0}
width_multipliers: [1]
resolution_multipliers: [1]
`
	if err := os.WriteFile(path, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCommand(t, "space", "--space", path)
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	want := "space tiny: input 28x28x1, 10 classes, 3 decisions, 5 architectures"
	if !strings.HasPrefix(stdout, want) {
		t.Errorf("stdout = %q, want prefix %q", stdout, want)
	}
}

func TestSpaceExitCodes(t *testing.T) {
	dir := t.TempDir()
	badKernel := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(badKernel, []byte(`{"stem":{"out":8,"kernel":4,"stride":1},"blocks":[],"head":{"out":0},"width_multipliers":[1],"resolution_multipliers":[1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	unknownField := filepath.Join(dir, "unknown.yaml")
	if err := os.WriteFile(unknownField, []byte("depth: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string // a fragment the error must contain
	}{
		{"unknown flag", []string{"space", "--spaces", "default"}, exitUsage, "unknown flag"},
		{"extra argument", []string{"space", "default"}, exitUsage, "unknown command"},
		{"malformed input", []string{"space", "--input", "28x28"}, exitUsage, "--input"},
		{"unknown name", []string{"space", "--space", "mobilenet-v3"}, exitBadInput, "default, mobilenet-v1, mobilenet-v2"},
		{"missing file", []string{"space", "--space", filepath.Join(dir, "none.yaml")}, exitBadInput, "none.yaml"},
		{"invalid file", []string{"space", "--space", badKernel}, exitBadInput, "stem.kernel"},
		{"unknown field", []string{"space", "--space", unknownField}, exitBadInput, "depth"},
		{"one class", []string{"space", "--classes", "1"}, exitBadInput, "classes"},
		{"input too small", []string{"space", "--input", "2x2x1"}, exitBadInput, "2x2x1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCommand(t, c.args...)
			if code != c.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, c.code, stderr)
			}
			if !strings.Contains(stderr, c.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr, c.stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing on error", stdout)
			}
		})
	}
}
