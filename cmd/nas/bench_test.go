package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyBenchArch is a small architecture that benchmarks in milliseconds.
const tinyBenchArch = `{
  "input": {"height": 12, "width": 12, "channels": 1},
  "classes": 4,
  "stem": {"out": 4, "kernel": 3, "stride": 2},
  "blocks": [
    {"op": "mbconv", "expansion": 2, "kernel": 3, "out": 4, "stride": 1},
    {"op": "dsconv", "kernel": 3, "out": 8, "stride": 2}
  ],
  "head": {"out": 16}
}`

func writeBenchArch(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "arch.json")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBenchJSON(t *testing.T) {
	path := writeBenchArch(t, tinyBenchArch)
	code, stdout, stderr := runCommand(t, "bench", "--arch", path, "--batch", "8", "--threads", "1", "--steps", "2", "--json")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	for _, field := range []string{"train_images_per_s", "eval_images_per_s"} {
		v, ok := got[field].(float64)
		if !ok || v <= 0 {
			t.Errorf("%s = %v, want a positive number", field, got[field])
		}
	}
	if got["batch"] != 8.0 || got["threads"] != 1.0 || got["steps"] != 2.0 {
		t.Errorf("batch, threads, steps = %v, %v, %v; want 8, 1, 2", got["batch"], got["threads"], got["steps"])
	}
	if p, _ := got["kernel_path"].(string); p == "" {
		t.Errorf("kernel_path is empty")
	}
}

func TestBenchText(t *testing.T) {
	path := writeBenchArch(t, tinyBenchArch)
	code, stdout, stderr := runCommand(t, "bench", "--arch", path, "--batch", "4", "--steps", "1")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "train") || !strings.Contains(stdout, "images/s") {
		t.Errorf("stdout lacks the train line:\n%s", stdout)
	}
}

func TestBenchErrors(t *testing.T) {
	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing_arch", []string{"bench"}, exitUsage, "--arch"},
		{"zero_batch", []string{"bench", "--arch", "x.json", "--batch", "0"}, exitUsage, "--batch"},
		{"no_file", []string{"bench", "--arch", filepath.Join(t.TempDir(), "none.json")}, exitBadInput, "none.json"},
		{"bad_arch", []string{"bench", "--arch", writeBenchArch(t, `{"input": {"height": 8, "width": 8, "channels": 1}, "classes": 1}`)}, exitBadInput, "classes"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCommand(t, tc.args...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.code, stderr)
			}
			if !strings.Contains(stderr, tc.msg) {
				t.Errorf("stderr %q does not mention %q", stderr, tc.msg)
			}
		})
	}
}
