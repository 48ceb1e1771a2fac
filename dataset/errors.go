package dataset

import (
	"errors"
	"fmt"
)

// Sentinel errors carried by FormatError. Match them with errors.Is.
var (
	// ErrBadMagic is returned when an IDX file does not start with two
	// zero bytes or has an element type other than unsigned byte, and when
	// a CIFAR-10 file starts with the gzip magic number.
	ErrBadMagic = errors.New("wrong magic number")
	// ErrDims is returned when an IDX file has the wrong number of
	// dimensions (3 for images, 1 for labels) or a zero or oversized one.
	ErrDims = errors.New("wrong dimensions")
	// ErrTruncated is returned when a file ends before the data its header
	// or record size promises.
	ErrTruncated = errors.New("truncated file")
	// ErrTrailingData is returned when a file holds bytes after the data
	// its header promises.
	ErrTrailingData = errors.New("unexpected data after the last record")
	// ErrCountMismatch is returned when an image file and its label file
	// contain different numbers of examples, when the train and test files
	// disagree on the image shape, and when a CIFAR-10 batches.meta.txt
	// does not list ten class names.
	ErrCountMismatch = errors.New("image and label files disagree")
	// ErrLabelRange is returned when a label is not below the number of
	// classes.
	ErrLabelRange = errors.New("label out of range")
	// ErrBadGzip is returned when a file starts with the gzip magic number
	// but cannot be decompressed.
	ErrBadGzip = errors.New("invalid gzip data")
	// ErrRecordSize is returned when a CIFAR-10 file's size is zero or not
	// a multiple of the 3073-byte record.
	ErrRecordSize = errors.New("size is not a whole number of records")
	// ErrNotFound is returned by Load when the data folder or one of its
	// files does not exist. The message names what to install.
	ErrNotFound = errors.New("data not found")
)

// FormatError is a data file that failed to parse. Err is one of the
// sentinel errors above, and Detail states what was expected and found.
type FormatError struct {
	File   string // path of the file as opened
	Offset int64  // byte offset of the problem in the decompressed data, or -1
	Err    error
	Detail string
}

func (e *FormatError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("dataset: %s: %v at byte %d: %s", e.File, e.Err, e.Offset, e.Detail)
	}
	return fmt.Sprintf("dataset: %s: %v: %s", e.File, e.Err, e.Detail)
}

func (e *FormatError) Unwrap() error { return e.Err }

func formatErrorf(file string, offset int64, kind error, format string, args ...any) error {
	return &FormatError{File: file, Offset: offset, Err: kind, Detail: fmt.Sprintf(format, args...)}
}
