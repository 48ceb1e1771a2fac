package runs

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"sync"

	"nas/rl"
	"nas/searchspace"
)

// fakeStrategy proposes uniformly random tokens from a seeded PCG and counts
// its updates as the policy version. Its whole state marshals.
type fakeStrategy struct {
	choices []int
	pcg     *rand.PCG
	rng     *rand.Rand
	version int
	updates [][]rl.Outcome
}

func newFakeStrategy(seed uint64, choices ...int) *fakeStrategy {
	pcg := rand.NewPCG(seed, 1)
	return &fakeStrategy{choices: choices, pcg: pcg, rng: rand.New(pcg)}
}

func (f *fakeStrategy) Propose() (rl.Proposal, error) {
	tokens := make([]int, len(f.choices))
	for i, n := range f.choices {
		tokens[i] = f.rng.IntN(n)
	}
	return rl.Proposal{Tokens: tokens, Version: f.version}, nil
}

func (f *fakeStrategy) Update(batch []rl.Outcome) (rl.UpdateStats, error) {
	f.updates = append(f.updates, batch)
	f.version++
	return rl.UpdateStats{Version: f.version, Used: len(batch)}, nil
}

type fakeStrategyState struct {
	PCG     []byte `json:"pcg"`
	Version int    `json:"version"`
}

func (f *fakeStrategy) MarshalBinary() ([]byte, error) {
	pcg, err := f.pcg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	return json.Marshal(fakeStrategyState{PCG: pcg, Version: f.version})
}

func (f *fakeStrategy) UnmarshalBinary(data []byte) error {
	var st fakeStrategyState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	f.version = st.Version
	return f.pcg.UnmarshalBinary(st.PCG)
}

// fakeDecoder turns token i into the kernel size 3+2·token of block i.
type fakeDecoder struct{}

func (fakeDecoder) Decode(tokens []int) (searchspace.Arch, error) {
	a := searchspace.Arch{Classes: 10, Resolution: 28, Alpha: 1}
	for _, tok := range tokens {
		if tok < 0 || tok > 2 {
			return a, fmt.Errorf("token %d out of range [0, 3)", tok)
		}
		a.Blocks = append(a.Blocks, searchspace.Block{Op: searchspace.OpMBConv, Kernel: 3 + 2*tok, Expansion: 3, Out: 16, Stride: 1})
	}
	return a, nil
}

// fakeBackend keeps a one-number supernet that every training step moves by
// an amount derived from the child and the step, so scores depend on the
// whole training history, as they would with real weights.
type fakeBackend struct {
	mu     sync.Mutex
	weight float64
	steps  int64

	// scoreHook, when set, runs at the start of Score and may return an
	// error, panic or cancel a context.
	scoreHook func(arch searchspace.Arch) error
	// trainErr, when set, is returned by every TrainStep.
	trainErr error
	// diverge makes every TrainStep return a NaN loss with an error, as
	// childnet does when training diverges.
	diverge bool
	// trainHook, when set, runs at the start of TrainStep.
	trainHook func(step int64)
	// nanFor makes Score return a NaN accuracy for this architecture id.
	nanFor string
}

func hashOf(parts ...any) float64 {
	h := fnv.New64a()
	fmt.Fprint(h, parts...)
	return float64(h.Sum64()%1_000_000) / 1_000_000
}

func (b *fakeBackend) TrainStep(ctx context.Context, worker int, arch searchspace.Arch, step int64) (float64, error) {
	if b.trainHook != nil {
		b.trainHook(step)
	}
	if b.trainErr != nil {
		return 0, b.trainErr
	}
	if b.diverge {
		return math.NaN(), errors.New("training diverged: loss is NaN")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.weight = b.weight*0.99 + 0.01*hashOf(arch.ID(), step)
	b.steps++
	return 1 / float64(b.steps), nil
}

func (b *fakeBackend) Score(ctx context.Context, worker int, arch searchspace.Arch) (Score, error) {
	if b.scoreHook != nil {
		if err := b.scoreHook(arch); err != nil {
			return Score{}, err
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	acc := math.Mod(hashOf(arch.ID())+b.weight, 1)
	if arch.ID() == b.nanFor {
		acc = math.NaN()
	}
	return Score{Accuracy: acc, Loss: 1 - acc, Params: int64(len(arch.Blocks)) * 100, MACs: 1000}, nil
}

func (b *fakeBackend) Latency(ctx context.Context, arch searchspace.Arch) (float64, error) {
	ms := 1.0
	for _, blk := range arch.Blocks {
		ms += float64(blk.Kernel) / 10
	}
	return ms, nil
}

func (b *fakeBackend) Save(w io.Writer) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var buf [16]byte
	binary.LittleEndian.PutUint64(buf[:8], math.Float64bits(b.weight))
	binary.LittleEndian.PutUint64(buf[8:], uint64(b.steps))
	_, err := w.Write(buf[:])
	return err
}

func (b *fakeBackend) Load(data []byte) error {
	if len(data) != 16 {
		return errors.New("fake supernet: want 16 bytes")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.weight = math.Float64frombits(binary.LittleEndian.Uint64(data[:8]))
	b.steps = int64(binary.LittleEndian.Uint64(data[8:]))
	return nil
}

// accuracyReward is the accuracy-only reward.
func accuracyReward(acc, _ float64) (float64, error) { return acc, nil }
