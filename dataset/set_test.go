package dataset

import (
	"slices"
	"testing"
)

func TestSet_SubsetSharesPrefix(t *testing.T) {
	set := splitTestSet(10, 3, func(i int) int { return i % 3 })
	sub := set.Subset(4)
	if sub.Len() != 4 || !slices.Equal(imageIDs(sub), []int{0, 1, 2, 3}) {
		t.Fatalf("Subset(4) holds %v, want 0 1 2 3", imageIDs(sub))
	}
	if sub.Name != set.Name || sub.Height != set.Height || sub.Classes != set.Classes {
		t.Error("Subset lost the set's metadata")
	}
	set.Images[0] = 200
	if sub.Image(0)[0] != 200 {
		t.Error("Subset copied the images, want shared memory")
	}
	// Appending to the subset must not overwrite the parent's next example.
	_ = append(sub.Labels, 9)
	if set.Labels[4] != 1 {
		t.Errorf("append to Subset labels changed the parent's label 4 to %d", set.Labels[4])
	}
}

func TestSet_SubsetOutOfRange(t *testing.T) {
	set := splitTestSet(3, 3, func(i int) int { return i })
	defer func() {
		if recover() == nil {
			t.Error("Subset(4) of 3 examples did not panic")
		}
	}()
	set.Subset(4)
}

func TestSet_SelectCopies(t *testing.T) {
	set := splitTestSet(10, 3, func(i int) int { return i % 3 })
	sel := set.Select([]int{7, 2, 7})
	if !slices.Equal(imageIDs(sel), []int{7, 2, 7}) || !slices.Equal(sel.Labels, []uint8{1, 2, 1}) {
		t.Fatalf("Select holds images %v labels %v, want 7 2 7 and 1 2 1", imageIDs(sel), sel.Labels)
	}
	set.Images[7*4] = 0
	if sel.Image(0)[0] != 7 {
		t.Error("Select shares memory with the set, want a copy")
	}
}

func TestSet_ClassName(t *testing.T) {
	set := &Set{Classes: 3, ClassNames: []string{"a", "b", "c"}}
	if set.ClassName(1) != "b" {
		t.Errorf("ClassName(1) = %q, want b", set.ClassName(1))
	}
	set.ClassNames = nil
	if set.ClassName(2) != "2" {
		t.Errorf("ClassName(2) without names = %q, want 2", set.ClassName(2))
	}
}

// Compression is recognised by content: a gzip file without .gz and a raw
// file with .gz both load, and so does the dotted Kaggle spelling.
func TestLoad_IDXNamesAndContent(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "train-images.idx3-ubyte", gzipped(t, idxFile([]int{3, 2, 2}, sequence(12, 0))))
	writeFile(t, dir, "train-labels-idx1-ubyte.gz", idxFile([]int{3}, []byte{0, 1, 2}))
	writeFile(t, dir, "t10k-images-idx3-ubyte.gz", idxFile([]int{1, 2, 2}, sequence(4, 50)))
	writeFile(t, dir, "t10k-labels.idx1-ubyte.gz", gzipped(t, idxFile([]int{1}, []byte{7})))
	d, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Train.Images, sequence(12, 0)) || !slices.Equal(d.Train.Labels, []byte{0, 1, 2}) {
		t.Errorf("train images %v labels %v, want 0..11 and 0 1 2", d.Train.Images, d.Train.Labels)
	}
	if !slices.Equal(d.Test.Images, sequence(4, 50)) || !slices.Equal(d.Test.Labels, []byte{7}) {
		t.Errorf("test images %v labels %v, want 50..53 and 7", d.Test.Images, d.Test.Labels)
	}
}
