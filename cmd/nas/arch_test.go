package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const referenceChild = "../../searchspace/testdata/reference_child.json"

func TestArchFileTable(t *testing.T) {
	code, stdout, stderr := runCommand(t, "arch", "--file", referenceChild)
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	checkGolden(t, "arch_reference_child.golden", []byte(stdout))
}

// TestArchPresetJSON checks the JSON fields and the totals that
// searchspace's tests derive from the published MobileNetV2 table.
func TestArchPresetJSON(t *testing.T) {
	code, stdout, stderr := runCommand(t, "arch", "--preset", "mobilenet-v2", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	for _, field := range []string{"id", "params", "macs", "peak_activation_bytes", "layers", "arch"} {
		if _, ok := got[field]; !ok {
			t.Errorf("field %q missing", field)
		}
	}
	var totals struct {
		ID     string `json:"id"`
		Params int64  `json:"params"`
		MACs   int64  `json:"macs"`
		Peak   int64  `json:"peak_activation_bytes"`
		Layers []struct {
			Name string `json:"name"`
		} `json:"layers"`
	}
	if err := json.Unmarshal([]byte(stdout), &totals); err != nil {
		t.Fatalf("params and macs must be integers: %v", err)
	}
	if totals.Params != 3504872 || totals.MACs != 300774272 {
		t.Errorf("params %d, macs %d; want 3504872, 300774272", totals.Params, totals.MACs)
	}
	if totals.ID != "77e5cd57db54" {
		t.Errorf("id = %s, want 77e5cd57db54", totals.ID)
	}
	if totals.Peak <= 0 || len(totals.Layers) == 0 {
		t.Errorf("peak %d bytes, %d layers; want both positive", totals.Peak, len(totals.Layers))
	}
}

func TestArchPresetFlags(t *testing.T) {
	code, stdout, stderr := runCommand(t, "arch", "--preset", "mobilenet-v1", "--alpha", "0.25", "--resolution", "128", "--classes", "10", "--json")
	if code != exitOK {
		t.Fatalf("exit %d, stderr: %s", code, stderr)
	}
	var got struct {
		Arch struct {
			Alpha      float64 `json:"alpha"`
			Resolution int     `json:"resolution"`
			Classes    int     `json:"classes"`
			Stem       struct {
				Out int `json:"out"`
			} `json:"stem"`
		} `json:"arch"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatal(err)
	}
	if got.Arch.Alpha != 0.25 || got.Arch.Resolution != 128 || got.Arch.Classes != 10 || got.Arch.Stem.Out != 8 {
		t.Errorf("arch = %+v, want α 0.25, 128 px, 10 classes, stem 8 channels", got.Arch)
	}
}

func TestArchExitCodes(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	notJSON := write("broken.json", "{")
	evenKernel := write("even.json", `{"input":{"height":8,"width":8,"channels":1},"classes":10,"stem":{"out":4,"kernel":2,"stride":1},"blocks":[],"head":{"out":0}}`)
	cases := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no source", []string{"arch"}, exitUsage, "--preset"},
		{"both sources", []string{"arch", "--preset", "mobilenet-v1", "--file", notJSON}, exitUsage, "not both"},
		{"alpha with file", []string{"arch", "--file", notJSON, "--alpha", "0.5"}, exitUsage, "--alpha"},
		{"bad alpha syntax", []string{"arch", "--preset", "mobilenet-v1", "--alpha", "half"}, exitUsage, "alpha"},
		{"unknown preset", []string{"arch", "--preset", "mobilenet-v3"}, exitBadInput, "mobilenet-v1, mobilenet-v2"},
		{"zero alpha", []string{"arch", "--preset", "mobilenet-v2", "--alpha", "0"}, exitBadInput, "width multiplier"},
		{"resolution too small", []string{"arch", "--preset", "mobilenet-v2", "--resolution", "8"}, exitBadInput, "stride"},
		{"missing file", []string{"arch", "--file", filepath.Join(dir, "none.json")}, exitBadInput, "none.json"},
		{"broken file", []string{"arch", "--file", notJSON}, exitBadInput, "broken.json"},
		{"invalid file", []string{"arch", "--file", evenKernel}, exitBadInput, "stem.kernel"},
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
