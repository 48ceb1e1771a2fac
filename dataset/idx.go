package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
)

// IDX is the format of the MNIST and Fashion-MNIST files: a 4-byte magic
// number (two zero bytes, an element type, the number of dimensions), one
// big-endian uint32 per dimension, then the elements in row-major order.
// Only unsigned-byte elements (type 0x08) are supported.
const (
	idxTypeUint8  = 0x08
	idxImageDims  = 3 // count, rows, columns
	idxLabelDims  = 1 // count
	idxMaxPayload = 1 << 40
)

// maxDeflateRatio bounds how many bytes one compressed byte can expand to:
// deflate's maximum compression ratio is 1032:1 (zlib technical details,
// zlib.net/zlib_tech.html). A header that claims more data than the gzip
// file could hold is rejected before anything is allocated.
const maxDeflateRatio = 1032

// initialExpansion bounds the first buffer for a gzip payload, as a multiple
// of the compressed size. The MNIST and Fashion-MNIST training images expand
// 4.7 and 1.8 times, so they are read without regrowing the buffer.
const initialExpansion = 64

var idxTypeNames = map[byte]string{
	0x08: "unsigned byte", 0x09: "signed byte", 0x0B: "int16",
	0x0C: "int32", 0x0D: "float32", 0x0E: "float64",
}

// isGzip reports whether data starts with the gzip magic number 1f 8b.
func isGzip(data []byte) bool {
	return len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b
}

// parseIDX parses an IDX file of unsigned bytes, raw or gzip-compressed
// (recognised by content), whose whole content is file. It returns the
// dimensions from the header and the elements. For a raw file the elements
// alias file. The number of dimensions must be wantDims.
//
// Memory is bounded by the file's real size, not by the header: a raw file
// must hold exactly the bytes its header promises, and a gzip file is
// decompressed into a buffer of at most initialExpansion times its size
// that grows only as data actually arrives.
func parseIDX(name string, file []byte, wantDims int) (dims []int, data []byte, err error) {
	compressed := isGzip(file)
	var r io.Reader = bytes.NewReader(file)
	if compressed {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, formatErrorf(name, -1, ErrBadGzip, "%v; download the file again", err)
		}
		r = zr
	}

	// Header: magic number, then one uint32 per dimension.
	var magic [4]byte
	if err := readHeader(name, r, magic[:], 0, compressed); err != nil {
		return nil, nil, err
	}
	if magic[0] != 0 || magic[1] != 0 {
		return nil, nil, formatErrorf(name, 0, ErrBadMagic,
			"first bytes are % x, expected 00 00 (an IDX file of MNIST-style images or labels)", magic[:])
	}
	if magic[2] != idxTypeUint8 {
		typeName, ok := idxTypeNames[magic[2]]
		if !ok {
			typeName = "unknown"
		}
		return nil, nil, formatErrorf(name, 2, ErrBadMagic,
			"element type 0x%02x (%s), only unsigned bytes (0x08) are supported", magic[2], typeName)
	}
	if int(magic[3]) != wantDims {
		return nil, nil, formatErrorf(name, 3, ErrDims,
			"%d dimensions, expected %d (%s)", magic[3], wantDims, idxDimsMeaning(wantDims))
	}
	rawDims := make([]byte, 4*wantDims)
	if err := readHeader(name, r, rawDims, 4, compressed); err != nil {
		return nil, nil, err
	}
	headerLen := int64(4 + len(rawDims))
	dims = make([]int, wantDims)
	total := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(rawDims[4*i:])
		if d == 0 {
			return nil, nil, formatErrorf(name, int64(4+4*i), ErrDims, "dimension %d is 0", i)
		}
		dims[i] = int(d)
		if int64(d) > idxMaxPayload/total { // checked before multiplying, so total cannot overflow
			return nil, nil, formatErrorf(name, int64(4+4*i), ErrDims,
				"dimensions %v promise more than %d bytes", dims[:i+1], int64(idxMaxPayload))
		}
		total *= int64(d)
	}

	// Payload: a raw file is sliced in place, a gzip file decompressed.
	if !compressed {
		have := int64(len(file)) - headerLen
		switch {
		case have < total:
			return nil, nil, formatErrorf(name, int64(len(file)), ErrTruncated,
				"header %v promises %d data bytes, the file holds %d; download the file again", dims, total, have)
		case have > total:
			return nil, nil, formatErrorf(name, headerLen+total, ErrTrailingData,
				"header %v promises %d data bytes, the file holds %d", dims, total, have)
		}
		return dims, file[headerLen:], nil
	}
	if limit := maxDeflateRatio * int64(len(file)); total > limit {
		return nil, nil, formatErrorf(name, headerLen, ErrTruncated,
			"header %v promises %d data bytes, more than a %d-byte gzip file can hold", dims, total, len(file))
	}
	data, err = readPayload(r, total, min(total, initialExpansion*int64(len(file))))
	if err != nil {
		return nil, nil, gzipReadError(name, headerLen+int64(len(data)), err,
			fmt.Sprintf("header %v promises %d data bytes, the stream ended after %d", dims, total, len(data)))
	}
	var extra [1]byte
	n, err := r.Read(extra[:])
	if n > 0 {
		return nil, nil, formatErrorf(name, headerLen+total, ErrTrailingData,
			"header %v promises %d data bytes, the stream holds more", dims, total)
	}
	if err != nil && err != io.EOF {
		return nil, nil, gzipReadError(name, headerLen+total, err, "")
	}
	return dims, data, nil
}

func idxDimsMeaning(dims int) string {
	if dims == idxImageDims {
		return "count, rows, columns for an image file"
	}
	return "count for a label file"
}

// readHeader fills buf from r, which starts at byte offset of the
// decompressed data.
func readHeader(name string, r io.Reader, buf []byte, offset int64, compressed bool) error {
	n, err := io.ReadFull(r, buf)
	if err == nil {
		return nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return formatErrorf(name, offset+int64(n), ErrTruncated, "file ends inside the IDX header")
	}
	if compressed {
		return gzipReadError(name, offset+int64(n), err, "")
	}
	return fmt.Errorf("dataset: reading %s: %w", name, err)
}

// gzipReadError classifies an error from a gzip stream: a stream that stops
// early is truncated, anything else is corrupt.
func gzipReadError(name string, offset int64, err error, truncatedDetail string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		if truncatedDetail == "" {
			truncatedDetail = "the gzip stream ends early"
		}
		return formatErrorf(name, offset, ErrTruncated, "%s; download the file again", truncatedDetail)
	}
	return formatErrorf(name, offset, ErrBadGzip, "%v; download the file again", err)
}

// readPayload reads total bytes from r into a buffer that starts with
// capacity hint and grows only as data arrives. On a short stream it
// returns what it read and io.ErrUnexpectedEOF.
func readPayload(r io.Reader, total, hint int64) ([]byte, error) {
	buf := make([]byte, 0, hint)
	for int64(len(buf)) < total {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, int(min(total-int64(len(buf)), int64(len(buf))+1<<20)))
		}
		end := min(int64(cap(buf)), total)
		n, err := r.Read(buf[len(buf):end])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) < total {
				return buf, io.ErrUnexpectedEOF
			}
			break
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// readIDXImages reads an IDX image file and returns the image count, height,
// width and the pixels, one byte per pixel in row-major order.
func readIDXImages(path string) (n, height, width int, pixels []byte, err error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, 0, nil, fmt.Errorf("dataset: %w", err)
	}
	dims, pixels, err := parseIDX(path, file, idxImageDims)
	if err != nil {
		return 0, 0, 0, nil, err
	}
	return dims[0], dims[1], dims[2], pixels, nil
}

// readIDXLabels reads an IDX label file and checks that every label is
// below classes.
func readIDXLabels(path string, classes int) ([]byte, error) {
	file, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	_, labels, err := parseIDX(path, file, idxLabelDims)
	if err != nil {
		return nil, err
	}
	if i := firstLabelAtOrAbove(labels, classes); i >= 0 {
		return nil, formatErrorf(path, int64(4+4*idxLabelDims+i), ErrLabelRange,
			"label %d of example %d is not below the %d classes", labels[i], i, classes)
	}
	return labels, nil
}

// firstLabelAtOrAbove returns the index of the first label ≥ classes, or -1.
func firstLabelAtOrAbove(labels []byte, classes int) int {
	for i, l := range labels {
		if int(l) >= classes {
			return i
		}
	}
	return -1
}
