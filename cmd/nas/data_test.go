package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"nas/dataset"
)

// runData runs the nas command line args and returns its exit code,
// stdout and stderr.
func runData(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// writeCIFARFolder writes a CIFAR-10 binary folder with records per file.
// Record i of each file has label i mod 10 and every pixel set to i.
func writeCIFARFolder(t *testing.T, records int) string {
	t.Helper()
	dir := t.TempDir()
	var batch []byte
	for i := range records {
		batch = append(batch, byte(i%10))
		batch = append(batch, bytes.Repeat([]byte{byte(i)}, 3072)...)
	}
	for _, name := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		if err := os.WriteFile(filepath.Join(dir, name), batch, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestDataInspect_JSON(t *testing.T) {
	dir := writeCIFARFolder(t, 12)
	code, stdout, stderr := runData(t, "data", "inspect", "--data", dir, "--json")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	var report dataReport
	if err := json.Unmarshal([]byte(stdout), &report); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, stdout)
	}
	if report.Dir != dir || report.Format != dataset.FormatCIFAR10 || !report.HorizontalFlip {
		t.Errorf("dir %s, format %s, flip %v; want %s, cifar-10, true", report.Dir, report.Format, report.HorizontalFlip, dir)
	}
	if len(report.ClassNames) != 10 || report.ClassNames[3] != "cat" {
		t.Errorf("class names %v, want the ten CIFAR-10 names", report.ClassNames)
	}
	if len(report.Splits) != 2 {
		t.Fatalf("%d splits, want train and test", len(report.Splits))
	}
	train, test := report.Splits[0], report.Splits[1]
	if train.Split != "train" || train.Count != 60 || test.Split != "test" || test.Count != 12 {
		t.Errorf("splits %s %d and %s %d, want train 60 and test 12", train.Split, train.Count, test.Split, test.Count)
	}
	if train.Shape != [3]int{32, 32, 3} {
		t.Errorf("shape %v, want 32×32×3", train.Shape)
	}
	if want := []int{10, 10, 5, 5, 5, 5, 5, 5, 5, 5}; !slices.Equal(train.ClassCounts, want) {
		t.Errorf("train class counts %v, want %v", train.ClassCounts, want)
	}

	// Pixels 0..11, each over whole images: mean 5.5/255 in every channel.
	if len(report.TrainStats.Mean) != 3 {
		t.Fatalf("%d channel means, want 3", len(report.TrainStats.Mean))
	}
	for c, m := range report.TrainStats.Mean {
		if diff := float64(m) - 5.5/255; diff > 1e-6 || diff < -1e-6 {
			t.Errorf("channel %d mean %v, want %v", c, m, 5.5/255)
		}
	}
}

func TestDataInspect_FashionMNISTText(t *testing.T) {
	if _, err := os.Stat(dataset.FashionMNISTDir); err != nil {
		t.Skipf("skipping: Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): %v", err)
	}
	code, stdout, stderr := runData(t, "data", "inspect", "--data", "fashion-mnist")
	if code != exitOK {
		t.Fatalf("exit code %d, stderr %q", code, stderr)
	}
	for _, want := range []string{
		"folder:           " + dataset.FashionMNISTDir,
		"train mean:       0.2860",
		"train std:        0.3530",
		"train  60000  28×28×1",
		"test   10000  28×28×1",
		"9      Ankle boot   6000   1000",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}

func TestDataInspect_BadData(t *testing.T) {
	corrupt := writeCIFARFolder(t, 2)
	if err := os.WriteFile(filepath.Join(corrupt, "test_batch.bin"), []byte("short"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data, hint string
	}{
		{"missing folder", filepath.Join(t.TempDir(), "nope"), "use fashion-mnist, mnist, or a folder"},
		{"empty folder", t.TempDir(), "train-images-idx3-ubyte"},
		{"corrupt file", corrupt, "test_batch.bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runData(t, "data", "inspect", "--data", tt.data)
			if code != exitBadInput {
				t.Errorf("exit code %d, want %d", code, exitBadInput)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			if !strings.Contains(stderr, tt.hint) {
				t.Errorf("stderr %q does not mention %q", stderr, tt.hint)
			}
		})
	}
}

func TestDataInspect_Usage(t *testing.T) {
	if code, _, _ := runData(t, "data", "inspect", "extra"); code != exitUsage {
		t.Errorf("extra argument: exit code %d, want %d", code, exitUsage)
	}
	if code, _, _ := runData(t, "data", "inspect", "--bogus"); code != exitUsage {
		t.Errorf("unknown flag: exit code %d, want %d", code, exitUsage)
	}
}
