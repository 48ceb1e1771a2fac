package dataset

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestLoad_CIFARDir(t *testing.T) {
	dir := writeCIFARDir(t, 3)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != FormatCIFAR10 || d.Dir != dir {
		t.Errorf("format %s from %s, want cifar-10 from %s", d.Format, d.Dir, dir)
	}
	if d.Train.Len() != 15 || d.Test.Len() != 3 {
		t.Fatalf("Len = %d and %d, want 15 and 3", d.Train.Len(), d.Test.Len())
	}
	s := d.Train
	if s.Height != 32 || s.Width != 32 || s.Channels != 3 || s.Classes != 10 {
		t.Errorf("shape %d×%d×%d with %d classes, want 32×32×3 with 10", s.Height, s.Width, s.Channels, s.Classes)
	}
	if !s.HorizontalFlip || s.ClassName(0) != "airplane" || s.ClassName(9) != "truck" {
		t.Errorf("flip %v, class names %v; want flip and the CIFAR-10 names", s.HorizontalFlip, s.ClassNames)
	}
	wantLabels := []byte{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2}
	if !slices.Equal(s.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", s.Labels, wantLabels)
	}

	// cifarRecord stores byte(c*64 + p) for channel c at pixel p; in HWC
	// that value sits at index p*3 + c of every image.
	for _, i := range []int{0, 7, 14} {
		img := s.Image(i)
		for _, p := range []int{0, 1, 31, 32, 500, 1023} {
			for c := range 3 {
				if got, want := img[p*3+c], byte(c*64+p); got != want {
					t.Fatalf("image %d pixel %d channel %d = %d, want %d", i, p, c, got, want)
				}
			}
		}
	}
}

func TestLoad_CIFARSubfolderAndMeta(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "cifar-10-batches-bin")
	if err := os.Rename(writeCIFARDir(t, 1), dir); err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "batches.meta.txt", []byte("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n"))
	d, err := Load(parent)
	if err != nil {
		t.Fatal(err)
	}
	if d.Dir != dir || d.Name != "cifar-10" {
		t.Errorf("dataset %s from %s, want cifar-10 from %s", d.Name, d.Dir, dir)
	}
	if d.Train.ClassName(9) != "j" {
		t.Errorf("class names %v, want a … j from batches.meta.txt", d.Train.ClassNames)
	}
}

func TestLoad_CIFARCorrupt(t *testing.T) {
	tests := []struct {
		name   string
		file   string
		data   []byte
		want   error
		offset int64
	}{
		{"size not a multiple", "data_batch_3.bin", append(cifarRecord(1), 0, 0), ErrRecordSize, -1},
		{"empty file", "test_batch.bin", nil, ErrRecordSize, -1},
		{"label out of range", "data_batch_2.bin", append(cifarRecord(1), cifarRecord(10)...), ErrLabelRange, cifarRecordSize},
		{"gzip-compressed", "data_batch_1.bin", gzipped(t, cifarRecord(1)), ErrBadMagic, 0},
		{"wrong class names", "batches.meta.txt", []byte("cat\ndog\n"), ErrCountMismatch, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeCIFARDir(t, 2)
			writeFile(t, dir, tt.file, tt.data)
			_, err := Load(dir)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err is %T, want *FormatError", err)
			}
			if filepath.Base(fe.File) != tt.file || fe.Offset != tt.offset {
				t.Errorf("error names %s at byte %d, want %s at byte %d", fe.File, fe.Offset, tt.file, tt.offset)
			}
		})
	}
}

func TestLoad_CIFARMissingBatch(t *testing.T) {
	dir := writeCIFARDir(t, 1)
	if err := os.Remove(filepath.Join(dir, "data_batch_4.bin")); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound", err)
	}
}
