package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyLatencySpace is a space file whose table profiles in well under a
// second: 34 layer configurations.
const tinyLatencySpace = `{
  "name": "tiny",
  "input": {"height": 8, "width": 8, "channels": 1},
  "classes": 3,
  "stem": {"out": 4, "kernel": 3, "stride": 1},
  "blocks": [
    {"out": 4, "stride": 1, "ops": ["mbconv", "skip"], "kernels": [3, 5], "expansions": [1, 2]},
    {"out": 8, "stride": 2, "ops": ["dsconv", "mbconv"], "kernels": [3], "expansions": [2]}
  ],
  "head": {"out": 8},
  "width_multipliers": [0.5, 1],
  "resolution_multipliers": [0.75, 1],
  "channel_divisor": 1
}`

// latencyFixture writes the tiny space file and returns its path and a
// store path in a temporary folder.
func latencyFixture(t *testing.T) (space, db string) {
	t.Helper()
	dir := t.TempDir()
	space = filepath.Join(dir, "tiny.json")
	if err := os.WriteFile(space, []byte(tinyLatencySpace), 0o644); err != nil {
		t.Fatal(err)
	}
	return space, filepath.Join(dir, "nas.db")
}

func profileTinyStore(t *testing.T, space, db string) {
	t.Helper()
	code, stdout, stderr := runCommand(t, "latency", "profile", "--space", space, "--store", db, "--runs", "3")
	if code != exitOK {
		t.Fatalf("profile: exit %d, stderr: %s", code, stderr)
	}
	if want := "`nas latency validate --space " + space + " --store " + db + "`"; !strings.Contains(stdout, want) {
		t.Errorf("profile output does not suggest %s:\n%s", want, stdout)
	}
}

func TestLatencyProfileJSON(t *testing.T) {
	space, db := latencyFixture(t)
	code, stdout, stderr := runCommand(t, "latency", "profile", "--space", space, "--store", db, "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got latencyProfileReport
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.Space != "tiny" || got.Entries != 34 || got.CalibrationSamples != 0 || got.Scale != 1 || got.Store != db {
		t.Errorf("report %+v, want space tiny, 34 entries, no calibration, store %s", got, db)
	}
	if got.MachineID == "" || got.Clock == "" {
		t.Errorf("report %+v lacks a machine id or clock", got)
	}

	code, stdout, stderr = runCommand(t, "latency", "profile", "--space", space, "--store", db, "--runs", "3", "--calibrate", "4", "--json")
	if code != exitOK {
		t.Fatalf("--calibrate 4: exit %d, stderr: %s", code, stderr)
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if got.CalibrationSamples != 4 {
		t.Errorf("--calibrate 4 fitted on %d children", got.CalibrationSamples)
	}
}

func TestLatencyValidateJSON(t *testing.T) {
	space, db := latencyFixture(t)
	profileTinyStore(t, space, db)
	code, stdout, stderr := runCommand(t, "latency", "validate", "--space", space, "--store", db, "--samples", "4", "--runs", "3", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for _, field := range []string{"spearman", "mean_rel_error", "children"} {
		if _, ok := got[field]; !ok {
			t.Errorf("validate --json lacks %q: %s", field, stdout)
		}
	}
	if children, _ := got["children"].([]any); len(children) != 4 {
		t.Errorf("%d children, want 4", len(children))
	}

	code, stdout, stderr = runCommand(t, "latency", "validate", "--space", space, "--store", db, "--samples", "4", "--runs", "3")
	if code != exitOK {
		t.Fatalf("text: exit %d, stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, "spearman") || !strings.Contains(stdout, "mean relative error") {
		t.Errorf("text output %q lacks the Spearman correlation or the mean relative error", stdout)
	}
}

func TestLatencyExportImport(t *testing.T) {
	space, db := latencyFixture(t)
	profileTinyStore(t, space, db)
	file := filepath.Join(t.TempDir(), "table.json")
	if code, _, stderr := runCommand(t, "latency", "export", file, "--space", space, "--store", db); code != exitOK {
		t.Fatalf("export: exit %d, stderr: %s", code, stderr)
	}
	code, stdout, stderr := runCommand(t, "latency", "export", "-", "--space", space, "--store", db)
	if code != exitOK {
		t.Fatalf("export to stdout: exit %d, stderr: %s", code, stderr)
	}
	written, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != stdout {
		t.Error("export to a file and to stdout differ")
	}

	other := filepath.Join(t.TempDir(), "other.db")
	code, stdout, stderr = runCommand(t, "latency", "import", file, "--space", space, "--store", other)
	if code != exitOK {
		t.Fatalf("import: exit %d, stderr: %s", code, stderr)
	}
	if !strings.Contains(stdout, "34 entries") {
		t.Errorf("import output %q does not report 34 entries", stdout)
	}
	if want := "`nas latency validate --space " + space + " --store " + other + "`"; !strings.Contains(stdout, want) {
		t.Errorf("import output does not suggest %s:\n%s", want, stdout)
	}
	code, stdout, stderr = runCommand(t, "latency", "export", "-", "--space", space, "--store", other)
	if code != exitOK {
		t.Fatalf("export of the imported table: exit %d, stderr: %s", code, stderr)
	}
	if stdout != string(written) {
		t.Error("the imported table exports differently from the original")
	}
}

func TestLatencyImportRejects(t *testing.T) {
	space, db := latencyFixture(t)
	profileTinyStore(t, space, db)
	dir := t.TempDir()
	good := filepath.Join(dir, "table.json")
	if code, _, stderr := runCommand(t, "latency", "export", good, "--space", space, "--store", db); code != exitOK {
		t.Fatalf("export: exit %d, stderr: %s", code, stderr)
	}
	malformed := filepath.Join(dir, "malformed.json")
	if err := os.WriteFile(malformed, []byte(`{"format": 1, "entries": [`), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"malformed", []string{"latency", "import", malformed, "--space", space}, "decode table"},
		{"other classes", []string{"latency", "import", good, "--space", space, "--classes", "5"}, "another search space"},
		{"other space", []string{"latency", "import", good}, "another search space"},
		{"missing file", []string{"latency", "import", filepath.Join(dir, "none.json"), "--space", space}, "read latency table"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := filepath.Join(t.TempDir(), "nas.db")
			code, _, stderr := runCommand(t, append(tc.args, "--store", target)...)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitBadInput, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
			if _, err := os.Stat(target); err == nil {
				t.Error("a rejected import created the store")
			}
		})
	}
}

func TestLatencyExitCodes(t *testing.T) {
	space, db := latencyFixture(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"zero threads", []string{"latency", "profile", "--space", space, "--store", db, "--threads", "0"}, exitUsage, "--threads 0"},
		{"bad clock", []string{"latency", "profile", "--space", space, "--store", db, "--clock", "tsc"}, exitUsage, `--clock "tsc"`},
		{"thread clock on 2 threads", []string{"latency", "profile", "--space", space, "--store", db, "--threads", "2", "--clock", "thread-cpu"}, exitUsage, "needs --threads 1"},
		{"calibrate 2", []string{"latency", "profile", "--space", space, "--store", db, "--calibrate", "2"}, exitUsage, "--calibrate 2"},
		{"one sample", []string{"latency", "validate", "--space", space, "--store", db, "--samples", "1"}, exitUsage, "--samples 1"},
		{"huge runs", []string{"latency", "profile", "--space", space, "--store", db, "--runs", "1000000000000"}, exitUsage, "use 1 to 10000"},
		{"huge calibrate", []string{"latency", "profile", "--space", space, "--store", db, "--calibrate", "1000000000000"}, exitUsage, "3 to 10000"},
		{"huge samples", []string{"latency", "validate", "--space", space, "--store", db, "--samples", "1000000000000"}, exitUsage, "use 2 to 10000"},
		{"no store", []string{"latency", "validate", "--space", space, "--store", filepath.Join(t.TempDir(), "none.db")}, exitBadInput, "not found"},
		{"export needs a file", []string{"latency", "export"}, exitUsage, "missing the FILE argument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not contain %q", stderr, tc.want)
			}
		})
	}
}

func TestLatencyValidateNoTable(t *testing.T) {
	space, db := latencyFixture(t)
	profileTinyStore(t, space, db)
	code, _, stderr := runCommand(t, "latency", "validate", "--space", space, "--store", db, "--classes", "5")
	if code != exitBadInput {
		t.Errorf("exit %d, want %d; stderr: %s", code, exitBadInput, stderr)
	}
	if !strings.Contains(stderr, "no latency table") || !strings.Contains(stderr, "nas latency profile") {
		t.Errorf("stderr %q does not say that there is no table and how to build one", stderr)
	}
}
