package dataset

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// identity normalises byte v to v/255, so a test can read bytes back.
var identity = Stats{Mean: []float32{0}, Std: []float32{1}}

func toByte(v float32) int { return int(math.Round(float64(v) * 255)) }

// epochIDs runs one epoch and returns the example ids (first pixel) of
// each batch.
func epochIDs(t *testing.T, l *Loader) [][]int {
	t.Helper()
	x := make([]float32, l.BatchLen())
	y := make([]int32, l.cfg.BatchSize)
	var batches [][]int
	for n := l.Next(x, y); n > 0; n = l.Next(x, y) {
		ids := make([]int, n)
		for b := range n {
			ids[b] = toByte(x[b*l.set.ImageSize()])
			if int(y[b]) != ids[b]%3 {
				t.Fatalf("example %d has label %d, want %d", ids[b], y[b], ids[b]%3)
			}
		}
		batches = append(batches, ids)
		if len(batches) > 1000 {
			t.Fatal("epoch does not end")
		}
	}
	return batches
}

func TestLoader_EpochCoversAll(t *testing.T) {
	set := splitTestSet(30, 3, func(i int) int { return i % 3 })
	l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 7, Shuffle: true}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	for epoch := range 2 {
		batches := epochIDs(t, l)
		var sizes, all []int
		for _, b := range batches {
			sizes = append(sizes, len(b))
			all = append(all, b...)
		}
		if !slices.Equal(sizes, []int{7, 7, 7, 7, 2}) {
			t.Errorf("epoch %d: batch sizes %v, want 7 7 7 7 2", epoch, sizes)
		}
		if slices.IsSorted(all) {
			t.Errorf("epoch %d: order %v is not shuffled", epoch, all)
		}
		slices.Sort(all)
		if !slices.Equal(all, sequenceInts(30)) {
			t.Errorf("epoch %d: examples %v, want 0..29 once each", epoch, all)
		}
		if l.Epochs() != epoch+1 {
			t.Errorf("Epochs = %d after epoch %d, want %d", l.Epochs(), epoch, epoch+1)
		}
	}
	if l.BatchesPerEpoch() != 5 {
		t.Errorf("BatchesPerEpoch = %d, want 5", l.BatchesPerEpoch())
	}
}

func sequenceInts(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestLoader_DropLast(t *testing.T) {
	set := splitTestSet(30, 3, func(i int) int { return i % 3 })
	l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 7, Shuffle: true, DropLast: true}, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	batches := epochIDs(t, l)
	if len(batches) != 4 || l.BatchesPerEpoch() != 4 {
		t.Errorf("%d batches, BatchesPerEpoch %d; want 4 full batches of 7", len(batches), l.BatchesPerEpoch())
	}
	for _, b := range batches {
		if len(b) != 7 {
			t.Errorf("batch of %d, want 7", len(b))
		}
	}
}

func TestLoader_InOrder(t *testing.T) {
	set := splitTestSet(10, 3, func(i int) int { return i % 3 })
	l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}
	for epoch := range 2 {
		if got := epochIDs(t, l); !slices.EqualFunc(got, want, slices.Equal) {
			t.Errorf("epoch %d: batches %v, want %v", epoch, got, want)
		}
	}
}

func TestLoader_Seeds(t *testing.T) {
	set := splitTestSet(50, 3, func(i int) int { return i % 3 })
	run := func(seed uint64) [][]int {
		l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 8, Shuffle: true}, rand.New(rand.NewPCG(seed, 0)))
		if err != nil {
			t.Fatal(err)
		}
		return append(epochIDs(t, l), epochIDs(t, l)...)
	}
	a, b, c := run(5), run(5), run(6)
	if !slices.EqualFunc(a, b, slices.Equal) {
		t.Error("same seed gave different batches")
	}
	if slices.EqualFunc(a, c, slices.Equal) {
		t.Error("seeds 5 and 6 gave the same batches")
	}
	if slices.EqualFunc(a[:7], a[7:], slices.Equal) {
		t.Error("two epochs came in the same order")
	}
}

func TestLoader_Normalises(t *testing.T) {
	// One 1×2 RGB image; each channel has its own mean and std.
	set := &Set{Height: 1, Width: 2, Channels: 3, Classes: 2,
		Images: []uint8{255, 0, 51, 0, 255, 102}, Labels: []uint8{1}}
	stats := Stats{Mean: []float32{0.5, 0, 0.2}, Std: []float32{0.5, 2, 0.1}}
	l, err := NewLoader(set, stats, LoaderConfig{BatchSize: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 6)
	y := make([]int32, 1)
	if n := l.Next(x, y); n != 1 || y[0] != 1 {
		t.Fatalf("Next = %d with label %d, want 1 example with label 1", n, y[0])
	}
	want := []float64{1, 0, 0, -1, 0.5, 2}
	for i := range want {
		if math.Abs(float64(x[i])-want[i]) > 1e-5 {
			t.Errorf("x = %v, want %v", x, want)
			break
		}
	}
}

// augmentReference builds the zero-padded image explicitly, crops it at
// (top, left) and mirrors it when asked: the defining operation that
// writeAugmented computes without the padded copy.
func augmentReference(img []uint8, height, width, channels, pad, top, left int, mirror bool) []uint8 {
	paddedW := width + 2*pad
	padded := make([]uint8, (height+2*pad)*paddedW*channels)
	for h := range height {
		for w := range width {
			for c := range channels {
				padded[((h+pad)*paddedW+w+pad)*channels+c] = img[(h*width+w)*channels+c]
			}
		}
	}
	out := make([]uint8, height*width*channels)
	for h := range height {
		for w := range width {
			srcW := left + w
			if mirror {
				srcW = left + width - 1 - w
			}
			for c := range channels {
				out[(h*width+w)*channels+c] = padded[((top+h)*paddedW+srcW)*channels+c]
			}
		}
	}
	return out
}

func TestLoader_Augment(t *testing.T) {
	const height, width, channels, pad = 5, 4, 2, 2
	img := sequence(height*width*channels, 1) // no pixel is 0, so padding shows
	for _, flip := range []bool{false, true} {
		set := &Set{Height: height, Width: width, Channels: channels, Classes: 1, HorizontalFlip: flip,
			Images: img, Labels: []uint8{0}}
		stats := Stats{Mean: []float32{0, 0}, Std: []float32{1, 1}}
		l, err := NewLoader(set, stats, LoaderConfig{BatchSize: 1, Augment: true, Pad: pad}, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}

		// Every output must be one of the reference crops; count which.
		type crop struct {
			top, left int
			mirror    bool
		}
		seen := map[crop]int{}
		x := make([]float32, len(img))
		y := make([]int32, 1)
		for range 2000 {
			if l.Next(x, y) == 0 {
				continue
			}
			got := make([]uint8, len(x))
			for i, v := range x {
				got[i] = uint8(toByte(v))
			}
			found := false
			for top := range 2*pad + 1 {
				for left := range 2*pad + 1 {
					for _, mirror := range []bool{false, true} {
						if slices.Equal(got, augmentReference(img, height, width, channels, pad, top, left, mirror)) {
							seen[crop{top, left, mirror}]++
							found = true
						}
					}
				}
			}
			if !found {
				t.Fatalf("flip %v: output %v is no padded crop of the image", flip, got)
			}
		}

		want := (2*pad + 1) * (2*pad + 1)
		if flip {
			want *= 2
		}
		if len(seen) != want {
			t.Errorf("flip %v: %d distinct crops, want %d", flip, len(seen), want)
		}
		for c := range seen {
			if c.mirror && !flip {
				t.Errorf("mirrored crop %+v on a set without HorizontalFlip", c)
			}
		}
	}
}

func TestLoader_NoAllocs(t *testing.T) {
	set := splitTestSet(100, 3, func(i int) int { return i % 3 })
	l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 16, Shuffle: true, Augment: true, Pad: 1}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, l.BatchLen())
	y := make([]int32, 16)
	if allocs := testing.AllocsPerRun(200, func() { l.Next(x, y) }); allocs != 0 {
		t.Errorf("Next allocates %v times per batch, want 0", allocs)
	}
}

func TestNewLoader_Invalid(t *testing.T) {
	set := splitTestSet(10, 3, func(i int) int { return i % 3 })
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		name  string
		stats Stats
		cfg   LoaderConfig
		rng   *rand.Rand
	}{
		{"zero batch", identity, LoaderConfig{}, rng},
		{"drop last on small set", identity, LoaderConfig{BatchSize: 11, DropLast: true}, rng},
		{"shuffle without rng", identity, LoaderConfig{BatchSize: 2, Shuffle: true}, nil},
		{"augment without rng", identity, LoaderConfig{BatchSize: 2, Augment: true}, nil},
		{"stats for 3 channels", Stats{Mean: []float32{0, 0, 0}, Std: []float32{1, 1, 1}}, LoaderConfig{BatchSize: 2}, nil},
		{"NaN mean", Stats{Mean: []float32{float32(math.NaN())}, Std: []float32{1}}, LoaderConfig{BatchSize: 2}, nil},
		{"pad as large as image", identity, LoaderConfig{BatchSize: 2, Augment: true, Pad: 2}, rng},
		{"negative pad", identity, LoaderConfig{BatchSize: 2, Augment: true, Pad: -1}, rng},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewLoader(set, tt.stats, tt.cfg, tt.rng); err == nil {
				t.Error("NewLoader returned no error")
			}
		})
	}
}

func TestLoader_ShortBufferPanics(t *testing.T) {
	set := splitTestSet(10, 3, func(i int) int { return i % 3 })
	l, err := NewLoader(set, identity, LoaderConfig{BatchSize: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("Next with a short x did not panic")
		}
	}()
	l.Next(make([]float32, l.BatchLen()-1), make([]int32, 4))
}

func TestDefaultPad(t *testing.T) {
	if DefaultPad(28) != 2 || DefaultPad(32) != 4 {
		t.Errorf("DefaultPad(28), DefaultPad(32) = %d, %d; want 2, 4", DefaultPad(28), DefaultPad(32))
	}
}

func BenchmarkLoader_FashionMNIST(b *testing.B) {
	d, err := Load(SourceFashionMNIST)
	if err != nil {
		b.Skipf("skipping: %v", err)
	}
	for _, augment := range []bool{false, true} {
		name := "plain"
		if augment {
			name = "augment"
		}
		b.Run(name, func(b *testing.B) {
			cfg := LoaderConfig{BatchSize: 128, Shuffle: true, Augment: augment}
			l, err := NewLoader(d.Train, ComputeStats(d.Train), cfg, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				b.Fatal(err)
			}
			x := make([]float32, l.BatchLen())
			y := make([]int32, 128)
			for b.Loop() {
				l.Next(x, y)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/128, "ns/image")
		})
	}
}
