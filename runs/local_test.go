package runs

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"nas/dataset"
	"nas/rl"
	"nas/searchspace"
	"nas/store"
)

// loadFashion returns a training subset and a validation split of
// Fashion-MNIST's training data, or skips the test when it is not installed.
func loadFashion(t *testing.T, trainN, valN int) (searchspace.Space, *dataset.Set, *dataset.Set) {
	t.Helper()
	ds, err := dataset.Load(dataset.SourceFashionMNIST)
	if errors.Is(err, dataset.ErrNotFound) {
		t.Skipf("Fashion-MNIST is not installed (apt-get install -y dataset-fashion-mnist): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	train, val, err := dataset.Split(ds.Train.Subset(trainN+valN), valN, 1)
	if err != nil {
		t.Fatal(err)
	}
	space, err := searchspace.BuiltinSpace(searchspace.SpaceDefault,
		searchspace.Shape{Height: train.Height, Width: train.Width, Channels: train.Channels}, train.Classes)
	if err != nil {
		t.Fatal(err)
	}
	return space, train, val
}

func randomArch(t *testing.T, space searchspace.Space, rng *rand.Rand) searchspace.Arch {
	t.Helper()
	var tokens []int
	for _, d := range space.Decisions() {
		tokens = append(tokens, rng.IntN(len(d.Choices)))
	}
	arch, err := space.Decode(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return arch
}

func TestLocal_TrainScoreSaveLoad(t *testing.T) {
	space, train, val := loadFashion(t, 640, 128)
	cfg := LocalConfig{BatchSize: 32, RecalibrationImages: 128, Seed: 3}
	local, err := NewLocal(space, train, val, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()

	// Train one small child for two epochs of 20 batches.
	arch := smallestArch(t, space)
	start := time.Now()
	var firstLoss, lastLoss float64
	for step := range 40 {
		loss, err := local.TrainStep(ctx, 0, arch, int64(step))
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		if step < 5 {
			firstLoss += loss / 5
		}
		if step >= 35 {
			lastLoss += loss / 5
		}
	}
	t.Logf("40 steps of batch 32 in %v; mean loss of the first 5 steps %.3f, of the last 5 %.3f", time.Since(start), firstLoss, lastLoss)
	if lastLoss >= firstLoss {
		t.Errorf("training loss did not fall: first steps %.3f, last steps %.3f", firstLoss, lastLoss)
	}

	score, err := local.Score(ctx, 0, arch)
	if err != nil {
		t.Fatal(err)
	}
	if score.Accuracy < 0 || score.Accuracy > 1 || score.Params <= 0 || score.MACs <= 0 {
		t.Errorf("score = %+v, want an accuracy in [0, 1] and a positive cost", score)
	}
	t.Logf("validation accuracy %.3f, loss %.3f", score.Accuracy, score.Loss)
	ms, err := local.Latency(ctx, randomArch(t, space, rng))
	if err != nil || ms <= 0 {
		t.Errorf("Latency = %v, %v", ms, err)
	}

	// A fresh backend loaded from the checkpoint scores the child the same.
	var buf bytes.Buffer
	if err := local.Save(&buf); err != nil {
		t.Fatal(err)
	}
	other, err := NewLocal(space, train, val, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Load(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	again, err := other.Score(ctx, 0, arch)
	if err != nil {
		t.Fatal(err)
	}
	if again != score {
		t.Errorf("score after Load = %+v, before Save = %+v", again, score)
	}
}

func TestLocal_SameStepSameBatch(t *testing.T) {
	space, train, val := loadFashion(t, 512, 64)
	arch := randomArch(t, space, rand.New(rand.NewPCG(5, 5)))
	losses := make([]float64, 2)
	for i := range losses {
		local, err := NewLocal(space, train, val, 1, LocalConfig{BatchSize: 32, RecalibrationImages: 64, Seed: 9})
		if err != nil {
			t.Fatal(err)
		}
		// Step 37 lies in the third epoch of 16 batches.
		if losses[i], err = local.TrainStep(context.Background(), 0, arch, 37); err != nil {
			t.Fatal(err)
		}
	}
	if losses[0] != losses[1] {
		t.Errorf("step 37 gave losses %v and %v on two fresh backends", losses[0], losses[1])
	}
}

// TestSearch_RealPackages runs a short search on the real supernet with the
// REINFORCE controller, and checks a resumed run against an uninterrupted one.
func TestSearch_RealPackages(t *testing.T) {
	space, train, val := loadFashion(t, 256, 64)
	choices := choiceCounts(space)
	st := openStore(t)
	cfg := Config{Children: 4, ChildrenPerBatch: 2, SupernetSteps: 3, Seed: 11}

	// A latency function replaces the measurement, as a latency table's
	// Latency method does.
	predict := func(_ context.Context, a searchspace.Arch) (float64, error) { return float64(len(a.ID())) / 4, nil }
	newSearch := func() *Search {
		local, err := NewLocal(space, train, val, 1, LocalConfig{BatchSize: 32, RecalibrationImages: 64, Seed: cfg.Seed, Latency: predict})
		if err != nil {
			t.Fatal(err)
		}
		strategy, err := rl.NewReinforce(choices, rl.ReinforceConfig{}, cfg.Seed)
		if err != nil {
			t.Fatal(err)
		}
		return &Search{Store: st, Strategy: strategy, Backend: local, Decoder: space, Reward: accuracyReward, Config: cfg, Measure: true}
	}

	whole := newRun(t, st)
	if _, err := newSearch().Run(context.Background(), whole); err != nil {
		t.Fatal(err)
	}
	want := sequence(t, st, whole)

	resumed := newRun(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	s := newSearch()
	s.OnBatch = func(BatchStats) { cancel() }
	if _, err := s.Run(ctx, resumed); !errors.Is(err, context.Canceled) {
		t.Fatalf("first Run: err = %v, want context.Canceled", err)
	}
	if _, err := newSearch().Run(context.Background(), resumed); err != nil {
		t.Fatal(err)
	}
	got := sequence(t, st, resumed)
	if len(got) != len(want) {
		t.Fatalf("resumed run has %d trials, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("trial %d differs after resume:\n got %s\nwant %s", i+1, got[i], want[i])
		}
	}
	for _, tr := range mustTrials(t, st, resumed) {
		if tr.LatencyMS != 3 {
			t.Errorf("trial %s latency %v ms, want the 3 ms of the latency function", tr.ID(), tr.LatencyMS)
		}
	}
	r, _ := st.Run(resumed)
	if r.Status != store.RunDone {
		t.Errorf("resumed run status %q, want done", r.Status)
	}
}

// smallestArch returns the child of space with the first choice of every
// decision: the smallest kernel, expansion and width multiplier.
func smallestArch(t *testing.T, space searchspace.Space) searchspace.Arch {
	t.Helper()
	arch, err := space.Decode(make([]int, len(space.Decisions())))
	if err != nil {
		t.Fatal(err)
	}
	return arch
}

func choiceCounts(space searchspace.Space) []int {
	var out []int
	for _, d := range space.Decisions() {
		out = append(out, len(d.Choices))
	}
	return out
}

func TestSearch_RealTwoWorkers(t *testing.T) {
	space, train, val := loadFashion(t, 256, 64)
	st := openStore(t)
	cfg := Config{Children: 4, ChildrenPerBatch: 4, SupernetSteps: 4, Workers: 2, Seed: 2}
	local, err := NewLocal(space, train, val, 2, LocalConfig{BatchSize: 32, RecalibrationImages: 64, Seed: cfg.Seed,
		Latency: func(context.Context, searchspace.Arch) (float64, error) { return 1, nil }})
	if err != nil {
		t.Fatal(err)
	}
	strategy, err := rl.NewRandom(choiceCounts(space), cfg.Seed)
	if err != nil {
		t.Fatal(err)
	}
	s := &Search{Store: st, Strategy: strategy, Backend: local, Decoder: space, Reward: accuracyReward, Config: cfg, Measure: true}
	run := newRun(t, st)
	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, st, run, 4)
	for _, tr := range mustTrials(t, st, run) {
		if tr.Status != store.TrialOK || tr.Accuracy < 0 || tr.Accuracy > 1 {
			t.Errorf("trial %s: status %q accuracy %v error %q", tr.ID(), tr.Status, tr.Accuracy, tr.Error)
		}
	}
}

func TestLocal_SaveRejectsDivergedSupernet(t *testing.T) {
	space, train, val := loadFashion(t, 256, 64)
	cfg := LocalConfig{BatchSize: 32, RecalibrationImages: 64, Seed: 5, LearningRate: 1e39}
	local, err := NewLocal(space, train, val, 1, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if err := local.Save(&before); err != nil {
		t.Fatalf("Save of a fresh supernet: %v", err)
	}

	// A learning rate of 1e39 is infinite in float32, so the first update
	// leaves infinite and NaN weights.
	arch := smallestArch(t, space)
	ctx := context.Background()
	for step := range 5 {
		local.TrainStep(ctx, 0, arch, int64(step)) // later steps fail once the weights overflow
	}
	var after bytes.Buffer
	err = local.Save(&after)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("Save after divergence: err = %v, want ErrDiverged", err)
	}
	if after.Len() != 0 {
		t.Errorf("Save wrote %d bytes of a diverged supernet", after.Len())
	}
}
