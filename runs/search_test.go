package runs

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"nas/rl"
	"nas/searchspace"
	"nas/store"
)

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "nas.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newRun(t *testing.T, st *store.Store) string {
	t.Helper()
	r, err := st.CreateRun(store.Run{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return r.ID
}

// newSearch builds a search with fresh fakes, as a new process would.
func newSearch(st *store.Store, cfg Config) (*Search, *fakeBackend) {
	b := &fakeBackend{}
	return &Search{
		Store:    st,
		Strategy: newFakeStrategy(cfg.Seed, 3, 3, 3, 3),
		Backend:  b,
		Decoder:  fakeDecoder{},
		Reward:   accuracyReward,
		Config:   cfg,
		Measure:  true,
	}, b
}

var smallConfig = Config{Children: 25, ChildrenPerBatch: 10, SupernetSteps: 7, Seed: 42}

// sequence returns the fields of a run's trials that must be reproducible.
func sequence(t *testing.T, st *store.Store, run string) []string {
	t.Helper()
	trials, err := st.Trials(run)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, tr := range trials {
		out = append(out, strings.Join([]string{
			tr.ID()[len(run):], tr.ArchID, tr.Status,
			formatFloat(tr.Accuracy), formatFloat(tr.Reward), formatFloat(float64(tr.TrainSteps)), formatFloat(float64(tr.PolicyVersion)),
		}, " "))
	}
	return out
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

func checkContiguous(t *testing.T, st *store.Store, run string, want int) {
	t.Helper()
	trials, err := st.Trials(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != want {
		t.Errorf("run %s has %d trials, want %d", run, len(trials), want)
	}
	for i, tr := range trials {
		if tr.Seq != i+1 {
			t.Fatalf("trial %d of run %s has seq %d", i, run, tr.Seq)
		}
	}
}

func TestRun_Budget(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, _ := newSearch(st, smallConfig)
	var batches []BatchStats
	s.OnBatch = func(b BatchStats) { batches = append(batches, b) }

	res, err := s.Run(context.Background(), run)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if res.Trials != 25 || res.Batches != 3 {
		t.Errorf("result = %d trials in %d batches, want 25 in 3", res.Trials, res.Batches)
	}
	checkContiguous(t, st, run, 25)
	if got := []int{batches[0].Scored, batches[1].Scored, batches[2].Scored}; !slices.Equal(got, []int{10, 10, 5}) {
		t.Errorf("children per batch = %v, want [10 10 5]", got)
	}
	r, _ := st.Run(run)
	if r.Status != store.RunDone || r.Ended.IsZero() {
		t.Errorf("run status %q ended %v, want done with an end time", r.Status, r.Ended)
	}
	if res.Best == nil {
		t.Fatal("no best trial")
	}
	for _, tr := range mustTrials(t, st, run) {
		if tr.Reward > res.Best.Reward {
			t.Errorf("trial %s has reward %v above the best %v", tr.ID(), tr.Reward, res.Best.Reward)
		}
		if tr.LatencyMS <= 0 || tr.TrainSteps == 0 || tr.Arch == nil {
			t.Errorf("trial %s lacks latency, steps or arch: %+v", tr.ID(), tr)
		}
	}
	if strat := s.Strategy.(*fakeStrategy); len(strat.updates) != 3 || len(strat.updates[2]) != 5 {
		t.Errorf("strategy got %d updates", len(strat.updates))
	}
}

func mustTrials(t *testing.T, st *store.Store, run string) []store.Trial {
	t.Helper()
	trials, err := st.Trials(run)
	if err != nil {
		t.Fatal(err)
	}
	return trials
}

func TestRun_ResumeMatchesUninterrupted(t *testing.T) {
	cfg := smallConfig
	cfg.Children = 40

	st := openStore(t)
	whole := newRun(t, st)
	s, _ := newSearch(st, cfg)
	if _, err := s.Run(context.Background(), whole); err != nil {
		t.Fatal(err)
	}
	want := sequence(t, st, whole)

	// Stop after a committed batch, during supernet training and during
	// scoring, each time continuing with fresh fakes as a new process would.
	resumed := newRun(t, st)
	ctx, cancel := context.WithCancel(context.Background())
	s, _ = newSearch(st, cfg)
	s.OnBatch = func(b BatchStats) {
		if b.Batch == 1 {
			cancel()
		}
	}
	_, err := s.Run(ctx, resumed)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("first Run: err = %v, want context.Canceled", err)
	}
	if r, _ := st.Run(resumed); r.Status != store.RunInterrupted || r.Trials != 10 {
		t.Errorf("after the first stop: status %q with %d trials, want interrupted with 10", r.Status, r.Trials)
	}

	// Stop during the supernet training of batch 2 (steps 7 to 13).
	ctx, cancel = context.WithCancel(context.Background())
	s, b := newSearch(st, cfg)
	b.trainHook = func(step int64) {
		if step == 10 {
			cancel()
		}
	}
	if _, err := s.Run(ctx, resumed); !errors.Is(err, context.Canceled) {
		t.Fatalf("Run stopped in training: err = %v, want context.Canceled", err)
	}
	if r, _ := st.Run(resumed); r.Trials != 10 {
		t.Errorf("after a stop in training: %d trials, want 10", r.Trials)
	}

	ctx, cancel = context.WithCancel(context.Background())
	s, b = newSearch(st, cfg)
	scored := 0
	b.scoreHook = func(searchspace.Arch) error {
		if scored++; scored == 14 {
			cancel() // the 4th child of batch 3
		}
		return nil
	}
	if _, err := s.Run(ctx, resumed); !errors.Is(err, context.Canceled) {
		t.Fatalf("second Run: err = %v, want context.Canceled", err)
	}
	if r, _ := st.Run(resumed); r.Trials != 20 {
		t.Errorf("after a stop inside batch 3: %d trials, want 20", r.Trials)
	}

	s, _ = newSearch(st, cfg)
	if _, err := s.Run(context.Background(), resumed); err != nil {
		t.Fatalf("last Run: %v", err)
	}
	checkContiguous(t, st, resumed, 40)
	got := sequence(t, st, resumed)
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("trial %d differs after resume:\n got %v\nwant %v", i+1, got[i], want[i])
		}
	}
}

func TestRun_CompleteRunRejected(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, _ := newSearch(st, smallConfig)
	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	s, _ = newSearch(st, smallConfig)
	if _, err := s.Run(context.Background(), run); !errors.Is(err, ErrRunComplete) {
		t.Errorf("Run of a done run: err = %v, want ErrRunComplete", err)
	}
	checkContiguous(t, st, run, 25)
}

func TestRun_FailedChildren(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, smallConfig)

	// Panic on every child whose first block has kernel 7, and return NaN
	// for one other architecture.
	b.scoreHook = func(a searchspace.Arch) error {
		if a.Blocks[0].Kernel == 7 {
			panic("boom")
		}
		return nil
	}
	arch, _ := fakeDecoder{}.Decode([]int{0, 0, 0, 0})
	b.nanFor = arch.ID()

	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkContiguous(t, st, run, 25)
	failed := 0
	for _, tr := range mustTrials(t, st, run) {
		k7 := strings.Contains(string(tr.Arch), `"blocks":[{"op":"mbconv","kernel":7`)
		switch {
		case k7 && (tr.Status != store.TrialFailed || !strings.Contains(tr.Error, "panic")):
			t.Errorf("trial %s with kernel 7: status %q error %q, want failed with a panic", tr.ID(), tr.Status, tr.Error)
		case tr.Status == store.TrialFailed && tr.Reward != 0:
			t.Errorf("failed trial %s has reward %v", tr.ID(), tr.Reward)
		}
		if tr.Status == store.TrialFailed {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no trial failed")
	}
}

func TestRun_TrainingFailsRun(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, smallConfig)
	b.trainErr = errors.New("diverged")
	if _, err := s.Run(context.Background(), run); err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Fatalf("Run with failing training: err = %v", err)
	}
	r, _ := st.Run(run)
	if r.Status != store.RunFailed || !strings.Contains(r.Error, "diverged") {
		t.Errorf("run status %q error %q, want failed with the cause", r.Status, r.Error)
	}
}

func TestRun_DivergedTraining(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, smallConfig)

	// The first batch trains; the second diverges at every step.
	b.trainHook = func(step int64) {
		if step == int64(smallConfig.SupernetSteps) {
			b.diverge = true
		}
	}
	_, err := s.Run(context.Background(), run)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("Run with diverging training: err = %v, want ErrDiverged", err)
	}
	if !strings.Contains(err.Error(), "batch 2") || !strings.Contains(err.Error(), "NaN") {
		t.Errorf("error %q does not name batch 2 and the NaN loss", err)
	}
	r, _ := st.Run(run)
	if r.Status != store.RunFailed || r.Trials != smallConfig.ChildrenPerBatch {
		t.Errorf("run status %q with %d trials, want failed with the first batch's %d", r.Status, r.Trials, smallConfig.ChildrenPerBatch)
	}
}

func TestRun_DivergesAtFirstNonFiniteStep(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, smallConfig)

	// One step of the second batch's training has a NaN loss; the others
	// succeed.
	b.trainHook = func(step int64) {
		b.diverge = step == int64(smallConfig.SupernetSteps)+1
	}
	_, err := s.Run(context.Background(), run)
	if !errors.Is(err, ErrDiverged) {
		t.Fatalf("Run with one NaN step: err = %v, want ErrDiverged", err)
	}
	if !strings.Contains(err.Error(), "1 of") {
		t.Errorf("error %q does not count the one non-finite step", err)
	}

	// The second batch's training phase was not committed: the checkpoint
	// is the one stored with the first batch's trials.
	ckpt, err := st.Checkpoint(run)
	if err != nil {
		t.Fatal(err)
	}
	if ckpt.Batch != 1 || ckpt.Trials != smallConfig.ChildrenPerBatch {
		t.Errorf("checkpoint after batch %d with %d trials, want batch 1 with %d", ckpt.Batch, ckpt.Trials, smallConfig.ChildrenPerBatch)
	}
	if strings.Contains(string(ckpt.State), `"trained":true`) {
		t.Errorf("checkpoint state %s is from after the diverged training phase", ckpt.State)
	}
}

func TestRun_FailingTrainingNotDiverged(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, smallConfig)
	b.trainErr = errors.New("bind failed")
	if _, err := s.Run(context.Background(), run); err == nil || errors.Is(err, ErrDiverged) {
		t.Errorf("Run with a finite-loss training error: err = %v, want an error other than ErrDiverged", err)
	}
}

func TestRun_TwoWorkers(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	cfg := smallConfig
	cfg.Workers = 2
	s, _ := newSearch(st, cfg)
	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	checkContiguous(t, st, run, 25)
	workers := map[int]bool{}
	for _, tr := range mustTrials(t, st, run) {
		workers[tr.Worker] = true
	}
	for w := range workers {
		if w < 0 || w > 1 {
			t.Errorf("trial scored by worker %d", w)
		}
	}
}

func TestRun_DurationBudget(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, _ := newSearch(st, Config{Duration: time.Nanosecond, ChildrenPerBatch: 3, SupernetSteps: 2})
	res, err := s.Run(context.Background(), run)
	if err != nil {
		t.Fatal(err)
	}
	if res.Batches != 1 || res.Trials != 3 {
		t.Errorf("a spent duration gave %d batches and %d trials, want 1 and 3", res.Batches, res.Trials)
	}
	if res.Elapsed <= 0 {
		t.Errorf("result elapsed %v, want the positive search time", res.Elapsed)
	}
}

func TestConfig_Invalid(t *testing.T) {
	for name, c := range map[string]Config{
		"no budget":        {},
		"negative budget":  {Children: -1},
		"negative workers": {Children: 1, Workers: -2},
		"negative batch":   {Children: 1, ChildrenPerBatch: -1},
		"negative steps":   {Children: 1, SupernetSteps: -1},
		"negative time":    {Duration: -time.Second},
	} {
		if _, err := c.WithDefaults(); err == nil {
			t.Errorf("%s: WithDefaults accepted %+v", name, c)
		}
	}
}

// cancelingStrategy is a fakeStrategy that cancels a context at its
// proposal number cancelAt and counts its proposals.
type cancelingStrategy struct {
	*fakeStrategy
	cancelAt  int
	cancel    context.CancelFunc
	proposals int
}

func (c *cancelingStrategy) Propose() (rl.Proposal, error) {
	c.proposals++
	if c.proposals == c.cancelAt {
		c.cancel()
	}
	return c.fakeStrategy.Propose()
}

func TestRun_CancelWhileProposing(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	cfg := Config{Children: 10, ChildrenPerBatch: 10, SupernetSteps: MaxSupernetSteps, Seed: 1}
	s, b := newSearch(st, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	strategy := &cancelingStrategy{fakeStrategy: newFakeStrategy(1, 3, 3, 3, 3), cancelAt: 100, cancel: cancel}
	s.Strategy = strategy

	_, err := s.Run(ctx, run)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run cancelled while proposing: err = %v, want context.Canceled", err)
	}
	if strategy.proposals != strategy.cancelAt {
		t.Errorf("%d proposals, want %d: proposing went on after the cancellation", strategy.proposals, strategy.cancelAt)
	}
	if b.steps != 0 {
		t.Errorf("%d supernet steps trained after the cancellation, want 0", b.steps)
	}
	if r, err := st.Run(run); err != nil || r.Status != store.RunInterrupted {
		t.Errorf("run status %q (err %v), want %q", r.Status, err, store.RunInterrupted)
	}
}

// TestRun_StepsInChunks checks that a phase longer than one proposal chunk
// trains every step number once, in order with one worker.
func TestRun_StepsInChunks(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	steps := 2*proposeChunk + 5
	s, b := newSearch(st, Config{Children: 2, ChildrenPerBatch: 2, SupernetSteps: steps, Seed: 1})
	var trained []int64
	b.trainHook = func(step int64) { trained = append(trained, step) }

	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	if len(trained) != steps {
		t.Fatalf("%d steps trained, want %d", len(trained), steps)
	}
	for i, step := range trained {
		if step != int64(i) {
			t.Fatalf("training step %d has step number %d, want %d", i, step, i)
		}
	}
}

func TestConfig_AboveMax(t *testing.T) {
	for name, c := range map[string]Config{
		"workers":            {Children: 1, Workers: MaxWorkers + 1},
		"children per batch": {Children: 1, ChildrenPerBatch: MaxChildrenPerBatch + 1},
		"supernet steps":     {Children: 1, SupernetSteps: MaxSupernetSteps + 1},
	} {
		_, err := c.WithDefaults()
		if err == nil || !strings.Contains(err.Error(), "at most") {
			t.Errorf("%s: WithDefaults(%+v) = %v, want an error naming the maximum", name, c, err)
		}
	}
}

// TestRun_AllChildrenFailedLog checks that a batch whose every child failed
// is logged as a warning naming the failure, with no NaN reward.
func TestRun_AllChildrenFailedLog(t *testing.T) {
	st := openStore(t)
	run := newRun(t, st)
	s, b := newSearch(st, Config{Children: 4, ChildrenPerBatch: 2, SupernetSteps: 2, Seed: 1})
	b.scoreHook = func(searchspace.Arch) error { return errors.New("out of memory") }
	var logs strings.Builder
	s.Logger = slog.New(slog.NewTextHandler(&logs, nil))

	if _, err := s.Run(context.Background(), run); err != nil {
		t.Fatal(err)
	}
	var batchLines []string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "msg=batch") {
			batchLines = append(batchLines, line)
		}
	}
	if len(batchLines) != 2 {
		t.Fatalf("%d batch lines, want 2:\n%s", len(batchLines), logs.String())
	}
	for _, line := range batchLines {
		if strings.Contains(line, "NaN") {
			t.Errorf("batch line shows NaN: %s", line)
		}
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "every child of the batch failed") {
			t.Errorf("batch line is not a warning that every child failed: %s", line)
		}
	}
}
