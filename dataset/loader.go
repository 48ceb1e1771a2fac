package dataset

import (
	"errors"
	"fmt"
	"math/rand/v2"
)

// LoaderConfig configures a Loader. The zero value plus a BatchSize reads
// the set in order, keeps the final partial batch and does not augment,
// which suits evaluation.
type LoaderConfig struct {
	// BatchSize is the number of examples per batch; it must be at least 1.
	BatchSize int
	// Shuffle draws a new order of the examples at the start of each epoch.
	Shuffle bool
	// DropLast skips the final batch of an epoch when it has fewer than
	// BatchSize examples. Rejected when the set is smaller than BatchSize.
	DropLast bool
	// Augment applies a random crop with zero padding of Pad pixels to each
	// image and, when the set's HorizontalFlip is true, mirrors it with
	// probability 1/2. Zero padding means byte value 0, normalised like any
	// other pixel.
	Augment bool
	// Pad is the crop padding in pixels when Augment is on; 0 selects
	// DefaultPad for the set. Rejected when negative or not below the
	// image's height and width.
	Pad int
}

// DefaultPad returns the crop padding used for an image of the given
// height: 2 pixels below 32 (for 28×28 images) and 4 from 32 up (for 32×32).
func DefaultPad(height int) int {
	if height < 32 {
		return 2
	}
	return 4
}

// Loader produces mini-batches of a Set as normalised float32 NHWC tensors.
// It fills buffers owned by the caller and allocates nothing per batch.
//
// Next returns the batches of one epoch and then 0 once. The call after
// that starts the next epoch, in a new order when Shuffle is set. All
// randomness comes from the *rand.Rand given to NewLoader, so the same
// seed, set and configuration give the same batches. A Loader is not safe
// for concurrent use.
//
// NOTE: the position inside an epoch is not saved anywhere; a run that
// restores a checkpoint restarts at an epoch boundary.
type Loader struct {
	set    *Set
	cfg    LoaderConfig
	rng    *rand.Rand
	tables [][256]float32 // normalised value of each byte, per channel
	order  []int          // example indices of the current epoch
	pos    int            // next index into order; -1 before an epoch starts
	epochs int            // completed epochs
}

// NewLoader returns a Loader over set that normalises with stats. rng is
// required when cfg.Shuffle or cfg.Augment is set and unused otherwise.
func NewLoader(set *Set, stats Stats, cfg LoaderConfig, rng *rand.Rand) (*Loader, error) {
	switch {
	case cfg.BatchSize < 1:
		return nil, fmt.Errorf("dataset: batch size %d: use 1 or more", cfg.BatchSize)
	case set.Len() == 0:
		return nil, fmt.Errorf("dataset: the %s %s split has no examples", set.Name, set.Split)
	case cfg.DropLast && set.Len() < cfg.BatchSize:
		return nil, fmt.Errorf("dataset: batch size %d with DropLast leaves no batch of the %d examples in the %s %s split; "+
			"use a smaller batch size or keep the last batch", cfg.BatchSize, set.Len(), set.Name, set.Split)
	case (cfg.Shuffle || cfg.Augment) && rng == nil:
		return nil, errors.New("dataset: a Loader that shuffles or augments needs a seeded *rand.Rand")
	}
	if err := stats.validate(set.Channels); err != nil {
		return nil, err
	}
	if cfg.Augment {
		if cfg.Pad == 0 {
			cfg.Pad = DefaultPad(set.Height)
		}
		if cfg.Pad < 0 || cfg.Pad >= set.Height || cfg.Pad >= set.Width {
			return nil, fmt.Errorf("dataset: crop padding %d for %d×%d images: use 0 to %d",
				cfg.Pad, set.Height, set.Width, min(set.Height, set.Width)-1)
		}
	}

	order := make([]int, set.Len())
	for i := range order {
		order[i] = i
	}
	return &Loader{set: set, cfg: cfg, rng: rng, tables: stats.lookupTables(), order: order, pos: -1}, nil
}

// BatchLen returns the length x must have: BatchSize·Height·Width·Channels.
func (l *Loader) BatchLen() int { return l.cfg.BatchSize * l.set.ImageSize() }

// BatchesPerEpoch returns the number of batches Next returns per epoch.
func (l *Loader) BatchesPerEpoch() int {
	if l.cfg.DropLast {
		return l.set.Len() / l.cfg.BatchSize
	}
	return (l.set.Len() + l.cfg.BatchSize - 1) / l.cfg.BatchSize
}

// Epochs returns the number of epochs completed so far.
func (l *Loader) Epochs() int { return l.epochs }

// Next writes the next batch into x (NHWC, at least BatchLen values) and y
// (one label per example, at least BatchSize values) and returns the number
// of examples written. It returns 0 at the end of an epoch. It panics if x
// or y is too short.
func (l *Loader) Next(x []float32, y []int32) int {
	if len(x) < l.BatchLen() || len(y) < l.cfg.BatchSize {
		panic(fmt.Sprintf("dataset: Loader.Next buffers hold %d values and %d labels, need %d and %d",
			len(x), len(y), l.BatchLen(), l.cfg.BatchSize))
	}
	if l.pos < 0 {
		if l.cfg.Shuffle {
			shuffle(l.rng, l.order)
		}
		l.pos = 0
	}
	n := min(l.cfg.BatchSize, len(l.order)-l.pos)
	if n == 0 || (l.cfg.DropLast && n < l.cfg.BatchSize) {
		l.pos = -1
		l.epochs++
		return 0
	}

	size := l.set.ImageSize()
	for b, i := range l.order[l.pos : l.pos+n] {
		out := x[b*size : (b+1)*size]
		if l.cfg.Augment {
			l.writeAugmented(out, l.set.Image(i))
		} else {
			l.writeNormalised(out, l.set.Image(i))
		}
		y[b] = int32(l.set.Labels[i])
	}
	l.pos += n
	return n
}

// writeNormalised maps every byte of img through its channel's table.
func (l *Loader) writeNormalised(out []float32, img []uint8) {
	if channels := len(l.tables); channels == 1 {
		table := &l.tables[0]
		for p, v := range img {
			out[p] = table[v]
		}
	} else {
		for p, v := range img {
			out[p] = l.tables[p%channels][v]
		}
	}
}

// writeAugmented writes a random crop of img padded by Pad pixels on every
// side, mirrored with probability 1/2 when the set allows it:
//
//	out[h][w] = in[h+dy][w'+dx], w' = W−1−w if mirrored else w,
//
// with dy, dx uniform in [−Pad, Pad] and pixels outside in taken as byte 0.
func (l *Loader) writeAugmented(out []float32, img []uint8) {
	height, width, channels := l.set.Height, l.set.Width, l.set.Channels
	pad := l.cfg.Pad
	dy := l.rng.IntN(2*pad+1) - pad
	dx := l.rng.IntN(2*pad+1) - pad
	mirror := l.set.HorizontalFlip && l.rng.IntN(2) == 1

	// Output columns [lo, hi) read inside the image; the rest are padding.
	lo, hi := max(0, -dx), min(width, width-dx)
	if mirror {
		lo, hi = max(0, dx), min(width, width+dx)
	}
	rowLen := width * channels
	for h := range height {
		row := out[h*rowLen : (h+1)*rowLen]
		inH := h + dy
		if inH < 0 || inH >= height {
			l.writePadding(row)
			continue
		}
		l.writePadding(row[:lo*channels])
		l.writePadding(row[hi*channels:])
		in := img[inH*rowLen : (inH+1)*rowLen]
		for w := lo; w < hi; w++ {
			inW := w + dx
			if mirror {
				inW = width - 1 - w + dx
			}
			for c := range channels {
				row[w*channels+c] = l.tables[c][in[inW*channels+c]]
			}
		}
	}
}

// writePadding fills whole pixels of out with the normalised value of byte 0.
func (l *Loader) writePadding(out []float32) {
	channels := len(l.tables)
	for p := range out {
		out[p] = l.tables[p%channels][0]
	}
}
