package dataset

import (
	"errors"
	"testing"
)

// Seed corpora live in testdata/fuzz/FuzzParseIDX and
// testdata/fuzz/FuzzParseCIFAR. Run a target with, for example,
// go test -fuzz=FuzzParseIDX -fuzztime=30s ./dataset.

func FuzzParseIDX(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte, labels bool) {
		wantDims := idxImageDims
		if labels {
			wantDims = idxLabelDims
		}
		dims, data, err := parseIDX("fuzz", file, wantDims)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is %T, want *FormatError", err, err)
			}
			return
		}
		if len(dims) != wantDims {
			t.Fatalf("%d dimensions, want %d", len(dims), wantDims)
		}
		total := 1
		for _, d := range dims {
			total *= d
		}
		if len(data) != total {
			t.Fatalf("dimensions %v promise %d bytes, got %d", dims, total, len(data))
		}
		if !isGzip(file) && string(file[len(file)-total:]) != string(data) {
			t.Fatal("raw payload differs from the file's tail")
		}
	})
}

func FuzzParseCIFAR(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte) {
		n, err := countCIFAR("fuzz", len(file))
		if err != nil {
			if !errors.Is(err, ErrRecordSize) {
				t.Fatalf("err = %v, want ErrRecordSize", err)
			}
			return
		}
		images := make([]byte, n*cifarPixels)
		labels := make([]byte, n)
		if err := parseCIFAR("fuzz", file, images, labels); err != nil {
			if !errors.Is(err, ErrLabelRange) {
				t.Fatalf("err = %v, want ErrLabelRange", err)
			}
			return
		}
		for i := range n {
			record := file[i*cifarRecordSize:]
			if labels[i] != record[0] || labels[i] >= cifarClasses {
				t.Fatalf("record %d: label %d, file has %d", i, labels[i], record[0])
			}
			// The last pixel of each plane lands at the image's end.
			last := images[(i+1)*cifarPixels-3 : (i+1)*cifarPixels]
			for c := range 3 {
				if last[c] != record[(c+1)*1024] {
					t.Fatalf("record %d channel %d: last pixel %d, file has %d", i, c, last[c], record[(c+1)*1024])
				}
			}
		}
	})
}
