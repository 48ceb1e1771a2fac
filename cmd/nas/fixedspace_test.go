package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSearchRejectsFixedSpace(t *testing.T) {
	data := writeIDXFolder(t, 200, 20, 28, 28)
	fixed := filepath.Join(t.TempDir(), "fixed.yaml")
	spec := `stem: {out: 8, kernel: 3, stride: 2}
blocks:
  - {out: 8, stride: 1, ops: [mbconv], kernels: [3], expansions: [6]}
head: {out: 0}
width_multipliers: [1]
resolution_multipliers: [1]
`
	if err := os.WriteFile(fixed, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		space string
		want  []string
	}{
		{"preset v1", "mobilenet-v1", []string{"--space mobilenet-v1 is a fixed architecture", "--space default", "nas arch --preset mobilenet-v1 --json", "nas bench --arch"}},
		{"preset v2", "mobilenet-v2", []string{"--space mobilenet-v2 is a fixed architecture", "--space default", "nas arch --preset mobilenet-v2 --json", "nas bench --arch"}},
		{"file with one choice each", fixed, []string{"space fixed has no decisions", "fixed architecture", "more than one op", "nas bench --arch"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := tempStore(t)
			code, stdout, stderr := runCommand(t, "search", "--data", data, "--val-size", "40", "--batch-size", "16",
				"--budget", "1", "--space", tc.space, "--store", db)
			if code != exitBadInput {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, exitBadInput, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stderr, w) {
					t.Errorf("message does not contain %q:\n%s", w, stderr)
				}
			}
			if stdout != "" {
				t.Errorf("stdout is not empty:\n%s", stdout)
			}
			assertNoFile(t, db)
		})
	}
}
