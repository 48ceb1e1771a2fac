package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// idxFile returns an IDX file of unsigned bytes with the given dimensions
// followed by data.
func idxFile(dims []int, data []byte) []byte {
	out := []byte{0, 0, idxTypeUint8, byte(len(dims))}
	for _, d := range dims {
		out = binary.BigEndian.AppendUint32(out, uint32(d))
	}
	return append(out, data...)
}

// gzipped returns data compressed as one gzip member.
func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sequence returns n bytes counting up from start, wrapping at 256.
func sequence(n int, start byte) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = start + byte(i)
	}
	return out
}

// labelsCycling returns n labels 0, 1, …, classes−1, 0, 1, ….
func labelsCycling(n, classes int) []byte {
	out := make([]byte, n)
	for i := range out {
		out[i] = byte(i % classes)
	}
	return out
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// writeIDXDir writes a small IDX dataset of 4×3 images: trainN training and
// testN test examples, the training images gzip-compressed and the rest raw.
func writeIDXDir(t testing.TB, trainN, testN int) string {
	t.Helper()
	dir := t.TempDir()
	writeFile(t, dir, "train-images-idx3-ubyte.gz", gzipped(t, idxFile([]int{trainN, 4, 3}, sequence(trainN*12, 0))))
	writeFile(t, dir, "train-labels-idx1-ubyte", idxFile([]int{trainN}, labelsCycling(trainN, 10)))
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxFile([]int{testN, 4, 3}, sequence(testN*12, 100)))
	writeFile(t, dir, "t10k-labels-idx1-ubyte", idxFile([]int{testN}, labelsCycling(testN, 10)))
	return dir
}

// cifarRecord returns one CIFAR-10 record whose pixel of channel c at
// position p is byte(c*64 + p).
func cifarRecord(label byte) []byte {
	rec := []byte{label}
	for c := range cifarChannels {
		for p := range cifarSide * cifarSide {
			rec = append(rec, byte(c*64+p))
		}
	}
	return rec
}

// writeCIFARDir writes a CIFAR-10 folder with perBatch records in each of
// the six files; record i of a file has label i mod 10.
func writeCIFARDir(t testing.TB, perBatch int) string {
	t.Helper()
	dir := t.TempDir()
	var batch []byte
	for i := range perBatch {
		batch = append(batch, cifarRecord(byte(i%10))...)
	}
	for _, name := range []string{"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"} {
		writeFile(t, dir, name, batch)
	}
	return dir
}

// loaded caches the built-in sources across tests, which only read them.
var loaded sync.Map // spec → *Dataset

// requireSource loads a built-in source, or skips the test when it is not
// installed. CI installs both, so there the test always runs.
func requireSource(t *testing.T, spec string) *Dataset {
	t.Helper()
	if d, ok := loaded.Load(spec); ok {
		return d.(*Dataset)
	}
	d, err := Load(spec)
	if errors.Is(err, ErrNotFound) {
		t.Skipf("skipping: %s is not installed here (%v)", spec, err)
	}
	if err != nil {
		t.Fatalf("Load(%q): %v", spec, err)
	}
	loaded.Store(spec, d)
	return d
}
