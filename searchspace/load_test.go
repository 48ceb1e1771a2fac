package searchspace

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// docExample returns the first fenced block of the given language in
// docs/space-format.md.
func docExample(t *testing.T, lang string) []byte {
	t.Helper()
	doc, err := os.ReadFile("../docs/space-format.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```"+lang+"\n")
	if !ok {
		t.Fatalf("docs/space-format.md has no %s block", lang)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("docs/space-format.md: unterminated %s block", lang)
	}
	return []byte(block)
}

// TestDocExamplesMatchDefault keeps the documented example equal to the
// built-in default space in both formats.
func TestDocExamplesMatchDefault(t *testing.T) {
	want, err := BuiltinSpace(SpaceDefault, Shape{28, 28, 1}, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []Format{FormatYAML, FormatJSON} {
		s, err := ParseSpace(docExample(t, string(format)), format)
		if err != nil {
			t.Fatalf("%s example: %v", format, err)
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("%s example: %v", format, err)
		}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("%s example = %+v, want the default space %+v", format, s, want)
		}
	}
}

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadSpaceNamesFromFile(t *testing.T) {
	yaml := strings.Replace(string(docExample(t, "yaml")), "name: default\n", "", 1)
	s, err := LoadSpace(writeFile(t, "tiny.yml", yaml))
	if err != nil {
		t.Fatal(err)
	}
	if s.Name != "tiny" {
		t.Errorf("name = %q, want the file name tiny", s.Name)
	}
}

func TestLoadSpaceRejects(t *testing.T) {
	valid := string(docExample(t, "json"))
	cases := []struct {
		name, file, data string
		want             string
	}{
		{"unknown JSON field", "a.json", strings.Replace(valid, `"classes"`, `"depth": 3, "classes"`, 1), "depth"},
		{"unknown YAML field", "a.yaml", "name: x\nlayers: 3\n", "layers"},
		{"trailing JSON", "a.json", valid + "{}", "trailing data"},
		{"two YAML documents", "a.yaml", "name: x\n---\nname: y\n", "more than one"},
		{"empty YAML", "a.yaml", "", "empty"},
		{"wrong YAML type", "a.yaml", "classes: ten\n", "line 1"},
		{"unknown extension", "a.toml", valid, ".toml"},
		{"invalid space", "a.json", strings.Replace(valid, `"kernels": [3, 5, 7]`, `"kernels": [3, 4, 7]`, 1), "blocks[0].kernels[1]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeFile(t, c.file, c.data)
			_, err := LoadSpace(path)
			if err == nil {
				t.Fatal("LoadSpace returned no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not contain %q", err, c.want)
			}
			if c.file != "a.toml" && !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestLoadSpaceMissingFile(t *testing.T) {
	_, err := LoadSpace(filepath.Join(t.TempDir(), "none.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v, want os.ErrNotExist", err)
	}
}
