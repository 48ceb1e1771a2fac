package searchspace

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// checkGolden compares got with testdata/name, or rewrites it with -update.
// On a mismatch it writes got next to the golden file as name.got.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		_ = os.WriteFile(path+".got", got, 0o644)
		t.Errorf("output differs from %s; see %s.got, or run go test -update if the change is intended", path, path)
	}
}

func readReferenceChild(t *testing.T) Arch {
	t.Helper()
	data, err := os.ReadFile("testdata/reference_child.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseArch(data)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestCanonicalGolden pins the canonical encodings and ids: run stores and
// reports key trials by ID, so a change here orphans every stored result.
func TestCanonicalGolden(t *testing.T) {
	var out strings.Builder
	add := func(name string, a Arch) {
		fmt.Fprintf(&out, "%s %s %s\n", name, a.ID(), a.Canonical())
	}
	add("reference_child", readReferenceChild(t))
	for _, name := range PresetNames() {
		a, err := Preset(name, 1, 224, 1000)
		if err != nil {
			t.Fatal(err)
		}
		add(name, a)
	}
	s, err := BuiltinSpace(SpaceDefault, Shape{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.Decode(make([]int, len(s.Decisions())))
	if err != nil {
		t.Fatal(err)
	}
	add("default_first", first)
	checkGolden(t, "canonical.golden", []byte(out.String()))
}

func TestIDSameChild(t *testing.T) {
	a := readReferenceChild(t)
	b := readReferenceChild(t)
	b.Comment = "another comment"
	if a.ID() != b.ID() {
		t.Errorf("comment changed the id: %s vs %s", a.ID(), b.ID())
	}

	// Fields that the op ignores do not change the id.
	c := validArch()
	d := validArch()
	d.Blocks[1] = Block{Op: OpSkip, Kernel: 5, Expansion: 6, Out: 16, Stride: 1}
	d.Blocks[2].Expansion = 6
	if c.ID() != d.ID() {
		t.Errorf("ignored fields changed the id:\n%s\n%s", c.Canonical(), d.Canonical())
	}

	// A real difference does.
	d.Blocks[2].Kernel = 3
	if c.ID() == d.ID() {
		t.Error("kernel change kept the id")
	}
}

func TestParseArchDefaults(t *testing.T) {
	a, err := ParseArch([]byte(`{"input":{"height":28,"width":28,"channels":1},"classes":10,
		"stem":{"out":8,"kernel":3,"stride":1},"blocks":[],"head":{"out":0}}`))
	if err != nil {
		t.Fatal(err)
	}
	if a.Resolution != 28 || a.Alpha != 1 {
		t.Errorf("resolution %d, alpha %g; want the defaults 28 and 1", a.Resolution, a.Alpha)
	}
}

func TestParseArchRejects(t *testing.T) {
	for name, data := range map[string]string{
		"unknown field": `{"input":{"height":28,"width":28,"channels":1},"depth":3}`,
		"trailing":      `{"classes":10} {"classes":3}`,
		"wrong type":    `{"classes":"ten"}`,
		"not JSON":      `input: 28`,
	} {
		if _, err := ParseArch([]byte(data)); err == nil {
			t.Errorf("%s: ParseArch accepted %s", name, data)
		}
	}
}
