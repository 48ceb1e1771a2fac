package dataset

import "fmt"

// Dataset is a loaded dataset: its training and test splits and where they
// came from.
type Dataset struct {
	// Name is "fashion-mnist", "mnist", or the base name of a data folder.
	Name string
	// Dir is the folder the files were read from.
	Dir string
	// Format is FormatIDX or FormatCIFAR10.
	Format string
	// Train is the training split. Validation examples for a search come
	// from it (see Split); the test split is for final evaluation only.
	Train *Set
	Test  *Set
}

// File formats that Load reads.
const (
	FormatIDX     = "idx"      // MNIST-style IDX files, raw or gzip-compressed
	FormatCIFAR10 = "cifar-10" // CIFAR-10 binary batches
)

// Set is a split of a dataset held compactly in memory: Len() images as uint8
// NHWC in Images and one uint8 label per image in Labels.
type Set struct {
	// Name is the dataset's name and Split the split's: "train", "val" or
	// "test".
	Name  string
	Split string

	Height, Width, Channels int
	// Classes is the number of classes; every label is below it.
	Classes int
	// ClassNames holds one name per label, or is nil when the names are
	// unknown.
	ClassNames []string
	// HorizontalFlip reports whether a mirrored image keeps its label. It
	// is true for Fashion-MNIST and CIFAR-10, false for MNIST (digits such
	// as 2 and 5 do not survive mirroring) and for unknown IDX folders.
	HorizontalFlip bool

	// Images holds the pixels, image i at Images[i*ImageSize():], each
	// image row-major with channels interleaved (HWC).
	Images []uint8
	Labels []uint8
}

// Len returns the number of examples.
func (s *Set) Len() int { return len(s.Labels) }

// ImageSize returns the number of bytes per image, Height·Width·Channels.
func (s *Set) ImageSize() int { return s.Height * s.Width * s.Channels }

// Image returns the pixels of example i, aliasing s.Images.
func (s *Set) Image(i int) []uint8 {
	size := s.ImageSize()
	return s.Images[i*size : (i+1)*size : (i+1)*size]
}

// ClassCounts returns the number of examples of each class.
func (s *Set) ClassCounts() []int {
	counts := make([]int, s.Classes)
	for _, l := range s.Labels {
		counts[l]++
	}
	return counts
}

// ClassName returns the name of label, or its number when names are
// unknown.
func (s *Set) ClassName(label int) string {
	if label < len(s.ClassNames) {
		return s.ClassNames[label]
	}
	return fmt.Sprint(label)
}

// Subset returns the first n examples, sharing memory with s. It panics if
// n is negative or above Len. The first n examples are not stratified by
// class; use Split for a balanced sample.
func (s *Set) Subset(n int) *Set {
	if n < 0 || n > s.Len() {
		panic(fmt.Sprintf("dataset: Subset(%d) of a set with %d examples", n, s.Len()))
	}
	sub := s.withoutData()
	sub.Images = s.Images[: n*s.ImageSize() : n*s.ImageSize()]
	sub.Labels = s.Labels[:n:n]
	return sub
}

// Select returns a copy of the examples at indices, in that order. It
// panics if an index is out of range.
func (s *Set) Select(indices []int) *Set {
	size := s.ImageSize()
	sel := s.withoutData()
	sel.Images = make([]uint8, len(indices)*size)
	sel.Labels = make([]uint8, len(indices))
	for j, i := range indices {
		copy(sel.Images[j*size:(j+1)*size], s.Image(i))
		sel.Labels[j] = s.Labels[i]
	}
	return sel
}

// withoutData returns a copy of s's metadata with no examples.
func (s *Set) withoutData() *Set {
	c := *s
	c.Images, c.Labels = nil, nil
	return &c
}
