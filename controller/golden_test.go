package controller

import (
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSampleGolden pins the first samples of a seeded controller, so a
// change to initialisation, sampling or the random streams shows up as a
// diff. Log-probabilities are rounded to 1e-6, which leaves room for
// platforms that fuse multiply-adds.
func TestSampleGolden(t *testing.T) {
	c := newTestController(t, []int{3, 4, 3, 4, 2, 3}, Config{}, 42)
	r := rand.New(rand.NewPCG(42, 1))
	var got bytes.Buffer
	for i := 0; i < 8; i++ {
		s := c.Sample(r)
		fmt.Fprintf(&got, "%v logprob %.6f entropy %.6f\n", s.Tokens, s.LogProb, s.Entropy)
	}

	path := filepath.Join("testdata", "samples.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./controller -run SampleGolden -update to create it)", err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		gotPath := path + ".got"
		_ = os.WriteFile(gotPath, got.Bytes(), 0o644)
		t.Errorf("samples differ from %s; the new output is in %s", path, gotPath)
	}
}
