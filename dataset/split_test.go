package dataset

import (
	"slices"
	"testing"
)

// splitTestSet returns a set of n 2×2 images, image i filled with byte i
// mod 256 and labelled with labels(i), so each example can be traced.
func splitTestSet(n, classes int, label func(i int) int) *Set {
	s := &Set{Name: "t", Split: "train", Height: 2, Width: 2, Channels: 1, Classes: classes}
	for i := range n {
		s.Images = append(s.Images, byte(i), byte(i), byte(i), byte(i))
		s.Labels = append(s.Labels, byte(label(i)))
	}
	return s
}

// imageIDs returns the first pixel of each image, which splitTestSet makes
// the example's index for sets under 256 examples.
func imageIDs(s *Set) []int {
	ids := make([]int, s.Len())
	for i := range ids {
		ids[i] = int(s.Image(i)[0])
	}
	return ids
}

func TestSplit_DisjointAndComplete(t *testing.T) {
	set := splitTestSet(200, 3, func(i int) int { return i % 3 })
	train, val, err := Split(set, 50, 1)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 150 || val.Len() != 50 {
		t.Fatalf("Len = %d and %d, want 150 and 50", train.Len(), val.Len())
	}
	if train.Split != "train" || val.Split != "val" {
		t.Errorf("splits named %q and %q, want train and val", train.Split, val.Split)
	}
	all := append(imageIDs(train), imageIDs(val)...)
	slices.Sort(all)
	for i, id := range all {
		if id != i {
			t.Fatalf("train and val together hold %v, want 0..199 once each", all)
		}
	}
	for _, part := range []*Set{train, val} {
		ids := imageIDs(part)
		if !slices.IsSorted(ids) {
			t.Errorf("%s part is not in the original order", part.Split)
		}
		for j, id := range ids {
			if int(part.Labels[j]) != id%3 {
				t.Fatalf("%s example %d has label %d, want %d", part.Split, id, part.Labels[j], id%3)
			}
		}
	}
}

func TestSplit_Seeds(t *testing.T) {
	set := splitTestSet(200, 4, func(i int) int { return i % 4 })
	_, a, _ := Split(set, 40, 7)
	_, b, _ := Split(set, 40, 7)
	_, c, _ := Split(set, 40, 8)
	if !slices.Equal(imageIDs(a), imageIDs(b)) {
		t.Error("same seed gave different validation parts")
	}
	if slices.Equal(imageIDs(a), imageIDs(c)) {
		t.Error("seeds 7 and 8 gave the same validation part")
	}
}

func TestSplit_Stratified(t *testing.T) {
	// Classes of 100, 60, 30 and 10 examples; a 10% split takes 10, 6, 3, 1.
	sizes := []int{100, 60, 30, 10}
	set := splitTestSet(200, 4, func(i int) int {
		for c, n := range sizes {
			if i < n {
				return c
			}
			i -= n
		}
		return 0
	})
	_, val, err := Split(set, 20, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := val.ClassCounts(), []int{10, 6, 3, 1}; !slices.Equal(got, want) {
		t.Errorf("validation class counts %v, want %v", got, want)
	}
}

func TestStratifiedQuotas(t *testing.T) {
	tests := []struct {
		counts []int
		total  int
		want   []int
	}{
		{[]int{5, 5, 5}, 4, []int{2, 1, 1}}, // shares 4/3 each: the tie goes to the lower class
		{[]int{1, 2, 7}, 5, []int{1, 1, 3}}, // shares 0.5, 1 and 3.5: the tie goes to class 0
		{[]int{2, 3, 5}, 3, []int{1, 1, 1}}, // shares 0.6, 0.9 and 1.5: 0.9 and 0.6 round up
		{[]int{3, 0, 3}, 6, []int{3, 0, 3}}, // everything
		{[]int{3, 0, 3}, 0, []int{0, 0, 0}}, // nothing
		{[]int{6000, 6000, 6000}, 5000, []int{1667, 1667, 1666}},
	}
	for _, tt := range tests {
		got := stratifiedQuotas(tt.counts, tt.total)
		if !slices.Equal(got, tt.want) {
			t.Errorf("stratifiedQuotas(%v, %d) = %v, want %v", tt.counts, tt.total, got, tt.want)
		}
	}
}

func TestSplit_InvalidSize(t *testing.T) {
	set := splitTestSet(10, 2, func(i int) int { return i % 2 })
	for _, n := range []int{-1, 11} {
		if _, _, err := Split(set, n, 1); err == nil {
			t.Errorf("Split with %d of 10 examples returned no error", n)
		}
	}
}

func TestSplit_FashionMNIST(t *testing.T) {
	d := requireSource(t, SourceFashionMNIST)
	train, val, err := Split(d.Train, 5000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if train.Len() != 55000 || val.Len() != 5000 {
		t.Errorf("Len = %d and %d, want 55000 and 5000", train.Len(), val.Len())
	}
	for c, n := range val.ClassCounts() {
		if n != 500 {
			t.Errorf("class %d has %d validation examples, want 500", c, n)
		}
	}
}
