package dataset

import (
	"fmt"
	"os"
)

// The CIFAR-10 binary format stores each example as one record: a label
// byte, then 3072 pixel bytes as three 32×32 planes (red, green, blue), each
// in row-major order. A file is a bare sequence of records with no header.
const (
	cifarSide       = 32
	cifarChannels   = 3
	cifarPixels     = cifarSide * cifarSide * cifarChannels
	cifarRecordSize = 1 + cifarPixels
	cifarClasses    = 10
)

// cifarClassNames are the CIFAR-10 class names by label, as listed in the
// batches.meta.txt file that ships with the binary version.
var cifarClassNames = []string{
	"airplane", "automobile", "bird", "cat", "deer",
	"dog", "frog", "horse", "ship", "truck",
}

// parseCIFAR checks the records in file and writes their images, converted
// from CHW planes to HWC, into images and their labels into labels. Both
// must hold exactly len(file)/3073 examples; countCIFAR gives that number.
func parseCIFAR(name string, file []byte, images, labels []byte) error {
	n, err := countCIFAR(name, len(file))
	if err != nil {
		return err
	}
	if len(images) != n*cifarPixels || len(labels) != n {
		panic(fmt.Sprintf("dataset: parseCIFAR: buffers hold %d pixels and %d labels, want %d and %d",
			len(images), len(labels), n*cifarPixels, n))
	}

	const plane = cifarSide * cifarSide
	for i := range n {
		record := file[i*cifarRecordSize : (i+1)*cifarRecordSize]
		label := record[0]
		if label >= cifarClasses {
			return formatErrorf(name, int64(i*cifarRecordSize), ErrLabelRange,
				"label %d of record %d is not below the %d classes", label, i, cifarClasses)
		}
		labels[i] = label

		// Interleave the three planes: out[p*3+c] = plane c at pixel p.
		red, green, blue := record[1:1+plane], record[1+plane:1+2*plane], record[1+2*plane:1+3*plane]
		out := images[i*cifarPixels : (i+1)*cifarPixels]
		for p := range plane {
			out[3*p] = red[p]
			out[3*p+1] = green[p]
			out[3*p+2] = blue[p]
		}
	}
	return nil
}

// countCIFAR returns the number of records in a CIFAR-10 file of size bytes.
func countCIFAR(name string, size int) (int, error) {
	if size == 0 || size%cifarRecordSize != 0 {
		return 0, formatErrorf(name, -1, ErrRecordSize,
			"%d bytes is not a positive multiple of %d (1 label byte and 3072 pixel bytes per record); "+
				"use the binary version of CIFAR-10 and download the file again", size, cifarRecordSize)
	}
	return size / cifarRecordSize, nil
}

// readCIFARFiles reads CIFAR-10 binary files in order into one set of
// images (NHWC) and labels.
func readCIFARFiles(paths []string) (images, labels []byte, err error) {
	files := make([][]byte, len(paths))
	total := 0
	for i, path := range paths {
		files[i], err = os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("dataset: %w", err)
		}
		if isGzip(files[i]) {
			return nil, nil, formatErrorf(path, 0, ErrBadMagic,
				"the file is gzip-compressed; decompress it (gunzip) or extract the CIFAR-10 archive first")
		}
		n, err := countCIFAR(path, len(files[i]))
		if err != nil {
			return nil, nil, err
		}
		total += n
	}

	images = make([]byte, total*cifarPixels)
	labels = make([]byte, total)
	start := 0
	for i, path := range paths {
		n := len(files[i]) / cifarRecordSize
		err := parseCIFAR(path, files[i], images[start*cifarPixels:(start+n)*cifarPixels], labels[start:start+n])
		if err != nil {
			return nil, nil, err
		}
		start += n
	}
	return images, labels, nil
}
