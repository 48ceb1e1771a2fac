package runs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"time"

	"nas/rl"
	"nas/searchspace"
	"nas/store"
)

// ErrRunComplete is returned by Search.Run for a run that already finished
// its budget.
var ErrRunComplete = errors.New("run is already complete")

// ErrDiverged is wrapped by the error of Search.Run when a supernet step
// had a non-finite loss, or when a backend's Save found a non-finite
// weight. Either usually means that the learning rate is
// too high. The run is then marked failed, and its last checkpoint is the
// last one stored before.
var ErrDiverged = errors.New("supernet training diverged")

// Search is one search run: the coordinator that owns the store and the
// strategy, and hands children to the backend's workers.
type Search struct {
	Store    *store.Store
	Strategy rl.Strategy
	Backend  Backend
	Decoder  Decoder
	Reward   RewardFunc
	Config   Config
	// Logger receives one info line per batch and one debug line per child.
	// Nil discards them.
	Logger *slog.Logger
	// OnBatch, when set, is called after each batch is committed.
	OnBatch func(BatchStats)
	// Predict, when set, predicts a child's latency in ms, for example
	// from a latency table. Every scored child then gets a prediction.
	Predict func(ctx context.Context, arch searchspace.Arch) (float64, error)
	// Measure selects measured latency (Backend.Latency) for the reward.
	// When false, the reward uses Predict, which must then be set.
	Measure bool
}

// Latency sources of a trial, stored in store.Trial.LatencySource.
const (
	LatencyPredicted = "predicted"
	LatencyMeasured  = "measured"
)

// BatchStats summarises one committed batch.
type BatchStats struct {
	// Batch counts completed batches, from 1.
	Batch int
	// Scored is the number of children scored in this batch, Failed the
	// number of those that failed, and Trials the run's total so far.
	Scored, Failed, Trials int
	// BestReward and MeanReward are over this batch's successful children;
	// both are NaN when every child failed.
	BestReward, MeanReward float64
	// TrainLoss is the mean loss of this batch's supernet steps.
	TrainLoss float64
	// Elapsed is the run's total search time, including earlier processes
	// of a resumed run.
	Elapsed time.Duration
	// Took is the time this batch took.
	Took time.Duration
}

// Result summarises a finished Run call.
type Result struct {
	Run    string
	Trials int
	// Batches is the number of completed batches.
	Batches int
	// Best is the successful trial with the highest reward, or nil.
	Best *store.Trial
	// Elapsed is the run's total search time, including earlier processes
	// of a resumed run.
	Elapsed time.Duration
}

// loopState is the search's own part of a checkpoint.
type loopState struct {
	// Steps is the number of supernet steps taken; step i of the run trains
	// on mini-batch i.
	Steps int64 `json:"steps"`
	// ElapsedNS is the search time spent before this checkpoint.
	ElapsedNS int64 `json:"elapsed_ns"`
	// Trained marks a checkpoint taken between the supernet training and
	// the scoring of batch Batch+1, and TrainLoss is that training's mean
	// loss. A resumed run then goes straight to scoring.
	Trained   bool    `json:"trained,omitempty"`
	TrainLoss float64 `json:"train_loss,omitempty"`
}

// Run searches until the budget of Config is spent, then marks the run done.
//
// The run must exist in the store. If it has a checkpoint, Run restores the
// strategy and the supernet from it and continues where the checkpoint was
// taken. The trials stored with the checkpoint are kept and none is
// repeated. When ctx is cancelled, the phase in flight (supernet training or
// scoring) is dropped, the run is marked interrupted, and Run returns an
// error wrapping ctx.Err(). The last checkpoint is then the resume point.
func (s *Search) Run(ctx context.Context, runID string) (Result, error) {
	cfg, err := s.Config.WithDefaults()
	if err != nil {
		return Result{}, err
	}
	logger := s.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if !s.Measure && s.Predict == nil {
		return Result{}, errors.New("runs: no latency source: set Search.Measure or Search.Predict")
	}
	run, err := s.Store.Run(runID)
	if err != nil {
		return Result{}, err
	}
	if run.Status == store.RunDone {
		return Result{}, fmt.Errorf("runs: run %s: %w: its %d trials are in the store", runID, ErrRunComplete, run.Trials)
	}

	// Restore the last checkpoint, if any.
	l := &loop{Search: s, cfg: cfg, logger: logger, run: runID, latency: map[string]float64{}}
	if err := l.restore(run); err != nil {
		return Result{}, err
	}
	if err := s.Store.FinishRun(runID, store.RunRunning, ""); err != nil {
		return Result{}, err
	}
	if l.batch > 0 || l.state.Trained {
		logger.Info("resume", "run", runID, "batch", l.batch, "trials", l.trials, "steps", l.state.Steps)
	}

	// Run batches until the budget is spent, and at least one, so that a
	// short duration still gives a result.
	for l.batch == 0 || !l.budgetSpent() {
		if err := l.runBatch(ctx); err != nil {
			status := store.RunFailed
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				status = store.RunInterrupted
			}
			if ferr := s.Store.FinishRun(runID, status, errorText(status, err)); ferr != nil {
				logger.Error("failed to mark the run's status", "run", runID, "status", status, "err", ferr)
			}
			return l.result(), fmt.Errorf("runs: run %s: %w", runID, err)
		}
	}
	if err := s.Store.FinishRun(runID, store.RunDone, ""); err != nil {
		return l.result(), err
	}
	return l.result(), nil
}

func errorText(status string, err error) string {
	if status == store.RunInterrupted {
		return ""
	}
	return err.Error()
}

// loop is the state of one Run call.
type loop struct {
	*Search
	cfg    Config
	logger *slog.Logger
	run    string

	batch  int // completed batches
	trials int // stored trials
	state  loopState
	start  time.Time // when this process started searching
	best   *store.Trial
	// latency caches measured latencies by architecture id, because a
	// measurement costs more than a lookup and the value depends only on
	// the architecture.
	latency map[string]float64
}

func (l *loop) restore(run store.Run) error {
	l.start = time.Now()
	ckpt, err := l.Store.Checkpoint(l.run)
	switch {
	case errors.Is(err, store.ErrNotFound):
		if run.Trials != 0 {
			return fmt.Errorf("runs: run %s has %d trials but no checkpoint to resume from: %w", l.run, run.Trials, store.ErrCorrupt)
		}
		return nil
	case err != nil:
		return err
	}
	if ckpt.Trials != run.Trials {
		return fmt.Errorf("runs: run %s has %d trials but its checkpoint has %d: %w", l.run, run.Trials, ckpt.Trials, store.ErrCorrupt)
	}

	if err := l.Strategy.UnmarshalBinary(ckpt.Strategy); err != nil {
		return fmt.Errorf("runs: restore strategy of run %s: %w", l.run, err)
	}
	if ckpt.Supernet != nil {
		data, err := l.Store.ReadFile(*ckpt.Supernet)
		if err != nil {
			return err
		}
		if err := l.Backend.Load(data); err != nil {
			return fmt.Errorf("runs: restore supernet of run %s: %w", l.run, err)
		}
	}
	if len(ckpt.State) > 0 {
		if err := json.Unmarshal(ckpt.State, &l.state); err != nil {
			return fmt.Errorf("runs: decode checkpoint state of run %s: %w", l.run, err)
		}
	}
	l.batch = ckpt.Batch
	l.trials = ckpt.Trials

	trials, err := l.Store.Trials(l.run)
	if err != nil {
		return err
	}
	for i := range trials {
		l.noteBest(&trials[i])
	}
	return nil
}

func (l *loop) elapsed() time.Duration {
	return time.Duration(l.state.ElapsedNS) + time.Since(l.start)
}

func (l *loop) budgetSpent() bool {
	if l.cfg.Children > 0 && l.trials >= l.cfg.Children {
		return true
	}
	return l.cfg.Duration > 0 && l.elapsed() >= l.cfg.Duration
}

func (l *loop) noteBest(t *store.Trial) {
	if t.Status == store.TrialOK && (l.best == nil || t.Reward > l.best.Reward) {
		c := *t
		l.best = &c
	}
}

func (l *loop) result() Result {
	return Result{Run: l.run, Trials: l.trials, Batches: l.batch, Best: l.best, Elapsed: l.elapsed()}
}

// runBatch trains the supernet and commits a checkpoint, then scores one
// batch of children, updates the strategy and commits the batch with a
// checkpoint. A batch whose training was restored from a checkpoint starts
// at the scoring.
func (l *loop) runBatch(ctx context.Context) error {
	began := time.Now()

	if !l.state.Trained {
		loss, err := l.trainSupernet(ctx)
		if err != nil {
			return err
		}
		l.state.Trained, l.state.TrainLoss = true, loss
		if err := l.commit(nil, l.batch); err != nil {
			return err
		}
	}
	trainLoss := l.state.TrainLoss

	n := l.cfg.ChildrenPerBatch
	if l.cfg.Children > 0 {
		n = min(n, l.cfg.Children-l.trials)
	}
	trials, outcomes, err := l.scoreChildren(ctx, n)
	if err != nil {
		return err
	}

	update, err := l.Strategy.Update(outcomes)
	if err != nil {
		return fmt.Errorf("update strategy after batch %d: %w", l.batch+1, err)
	}

	// Commit the trials with the checkpoint that follows them.
	l.state.Trained, l.state.TrainLoss = false, 0
	if err := l.commit(trials, l.batch+1); err != nil {
		return err
	}
	l.batch++
	l.trials += len(trials)

	// Report the batch.
	stats := BatchStats{Batch: l.batch, Scored: len(trials), Trials: l.trials, TrainLoss: trainLoss, Elapsed: l.elapsed(), Took: time.Since(began)}
	stats.BestReward, stats.MeanReward = math.NaN(), math.NaN()
	var sum float64
	ok := 0
	for i := range trials {
		t := &trials[i]
		if t.Status != store.TrialOK {
			stats.Failed++
			continue
		}
		sum += t.Reward
		ok++
		if ok == 1 || t.Reward > stats.BestReward {
			stats.BestReward = t.Reward
		}
		l.noteBest(t)
	}
	if ok > 0 {
		stats.MeanReward = sum / float64(ok)
	}
	l.logBatch(stats, update)
	if l.OnBatch != nil {
		l.OnBatch(stats)
	}
	return nil
}

// logBatch logs the info line of a committed batch. A batch in which every
// child failed has no rewards to report, so its line is a warning with an
// error attribute in place of them.
func (l *loop) logBatch(stats BatchStats, update rl.UpdateStats) {
	level := slog.LevelInfo
	attrs := []any{"run", l.run, "batch", stats.Batch, "children", stats.Scored, "failed", stats.Failed}
	if stats.Scored > 0 && stats.Failed == stats.Scored {
		level = slog.LevelWarn
		attrs = append(attrs, "error", "every child of the batch failed, so it has no reward; see the \"child failed\" lines")
	} else {
		attrs = append(attrs, "best_reward", round4(stats.BestReward), "mean_reward", round4(stats.MeanReward))
	}
	attrs = append(attrs, "train_loss", round4(stats.TrainLoss), "baseline", round4(update.Baseline), "entropy", round4(update.Entropy),
		"ms", stats.Took.Milliseconds())
	l.logger.Log(context.Background(), level, "batch", attrs...)
}

// commit stores trials with a checkpoint of the strategy, the supernet and
// the loop state, taken after batch completed batches.
func (l *loop) commit(trials []store.Trial, batch int) error {
	strategy, err := l.Strategy.MarshalBinary()
	if err != nil {
		return fmt.Errorf("save strategy: %w", err)
	}
	state := l.state
	state.ElapsedNS = int64(l.elapsed())
	stateJSON, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("save loop state: %w", err)
	}
	ckpt := store.Checkpoint{Batch: batch, Strategy: strategy, State: stateJSON}
	return l.Store.Commit(l.run, trials, ckpt, l.Backend.Save)
}

func round4(v float64) float64 { return math.Round(v*1e4) / 1e4 }

// proposeChunk is the number of supernet steps whose children are proposed
// before they train. Proposing in chunks bounds the memory of a phase
// and lets a cancelled context stop it within one chunk.
const proposeChunk = 256

// trainSupernet takes Config.SupernetSteps supernet steps, each through a
// child proposed by the strategy, and returns their mean loss. Failed steps
// are logged and skipped; if every step fails, the supernet cannot train
// and the error of the first is returned. The first chunk of steps with a
// non-finite loss ends the phase with an error wrapping ErrDiverged.
func (l *loop) trainSupernet(ctx context.Context) (float64, error) {
	n := l.cfg.SupernetSteps
	first := l.state.Steps
	archs := make([]searchspace.Arch, min(n, proposeChunk))
	losses := make([]float64, len(archs))

	var sum float64
	var failed int
	var firstErr error
	for done := 0; done < n; {
		// Propose the chunk's children in step order on this goroutine,
		// since a strategy is not safe for concurrent use.
		chunk := min(n-done, proposeChunk)
		start := first + int64(done)
		for i := range chunk {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
			p, err := l.Strategy.Propose()
			if err != nil {
				return 0, fmt.Errorf("propose a child to train: %w", err)
			}
			if archs[i], err = l.Decoder.Decode(p.Tokens); err != nil {
				return 0, fmt.Errorf("decode tokens %v proposed for training: %w", p.Tokens, err)
			}
		}

		// Train them on the workers.
		errs := parallel(ctx, l.cfg.Workers, chunk, func(worker, i int) error {
			loss, err := l.Backend.TrainStep(ctx, worker, archs[i], start+int64(i))
			if err == nil && (math.IsNaN(loss) || math.IsInf(loss, 0)) {
				err = fmt.Errorf("training loss is not finite: %v", loss)
			}
			losses[i] = loss
			return err
		})
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		done += chunk

		nonFinite, firstNonFinite := 0, -1
		for i, err := range errs {
			if !finite(losses[i]) {
				nonFinite++
				if firstNonFinite < 0 {
					firstNonFinite = i
				}
			}
			if err != nil {
				failed++
				if firstErr == nil {
					firstErr = fmt.Errorf("supernet step %d through child %s: %w", start+int64(i), archs[i].ID(), err)
				}
				continue
			}
			sum += losses[i]
		}

		// A non-finite loss means an earlier update of this phase (or of
		// one before) overflowed the shared weights, and every child
		// trained or scored through them from here on is wrong. The phase
		// is not committed, so the last checkpoint is the one before it.
		if nonFinite > 0 {
			notRun := ""
			if done < n {
				notRun = fmt.Sprintf("; its last %d steps were not run", n-done)
			}
			return 0, fmt.Errorf("%w: %d of %d steps of batch %d had a non-finite loss, the first at step %d (loss %v)%s",
				ErrDiverged, nonFinite, done, l.batch+1, start+int64(firstNonFinite), losses[firstNonFinite], notRun)
		}
	}

	if failed > 0 {
		l.logger.Warn("supernet steps failed", "run", l.run, "failed", failed, "of", n, "first_err", firstErr)
	}
	if failed == n && n > 0 {
		return 0, firstErr
	}
	l.state.Steps += int64(n)
	mean := sum / float64(n-failed)
	l.logger.Debug("supernet trained", "run", l.run, "steps", n, "total_steps", l.state.Steps, "mean_loss", round4(mean))
	return mean, nil
}

// scoreChildren proposes n children, scores them on the backend's workers,
// measures the latency of each successful one, and returns their trials and
// the strategy outcomes. A child that fails gets a failed trial and reward 0.
func (l *loop) scoreChildren(ctx context.Context, n int) ([]store.Trial, []rl.Outcome, error) {
	proposals := make([]rl.Proposal, n)
	trials := make([]store.Trial, n)
	archs := make([]searchspace.Arch, n)
	decodeErrs := make([]error, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		p, err := l.Strategy.Propose()
		if err != nil {
			return nil, nil, fmt.Errorf("propose a child to score: %w", err)
		}
		proposals[i] = p
		archs[i], decodeErrs[i] = l.Decoder.Decode(p.Tokens)
		trials[i] = store.Trial{
			Run:           l.run,
			Seq:           l.trials + i + 1,
			Batch:         l.batch,
			Tokens:        p.Tokens,
			PolicyVersion: p.Version,
			TrainSteps:    l.state.Steps,
			Status:        store.TrialOK,
		}
		if decodeErrs[i] == nil {
			trials[i].Arch = json.RawMessage(archs[i].Canonical())
			trials[i].ArchID = archs[i].ID()
		}
	}

	// Score the children in parallel.
	scores := make([]Score, n)
	took := make([]time.Duration, n)
	errs := parallel(ctx, l.cfg.Workers, n, func(worker, i int) error {
		trials[i].Worker = worker
		if decodeErrs[i] != nil {
			return fmt.Errorf("decode tokens %v: %w", proposals[i].Tokens, decodeErrs[i])
		}
		began := time.Now()
		sc, err := l.Backend.Score(ctx, worker, archs[i])
		took[i] = time.Since(began)
		if err == nil && !finite(sc.Accuracy, sc.Loss) {
			err = fmt.Errorf("validation accuracy %v or loss %v is not finite", sc.Accuracy, sc.Loss)
		}
		scores[i] = sc
		return err
	})
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}

	// Measure latencies one at a time, so that no other work disturbs them,
	// and compute the rewards.
	outcomes := make([]rl.Outcome, n)
	for i := range trials {
		t := &trials[i]
		t.Time = time.Now().UTC()
		t.WallMS = float64(took[i].Microseconds()) / 1000
		err := errs[i]
		if err == nil {
			t.Accuracy, t.Loss = scores[i].Accuracy, scores[i].Loss
			t.Params, t.MACs = scores[i].Params, scores[i].MACs
			err = l.childLatency(ctx, archs[i], t)
		}
		if err == nil {
			t.Reward, err = l.Reward(t.Accuracy, t.LatencyMS)
			if err == nil && !finite(t.Reward) {
				err = fmt.Errorf("reward is not finite: %v", t.Reward)
			}
		}
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		if err != nil {
			t.Status, t.Error, t.Reward = store.TrialFailed, err.Error(), 0
			l.logger.Warn("child failed", "trial", t.ID(), "arch", t.ArchID, "err", err)
		} else {
			l.logger.Debug("child", "trial", t.ID(), "arch", t.ArchID, "reward", round4(t.Reward),
				"accuracy", round4(t.Accuracy), "latency_ms", round4(t.LatencyMS), "ms", took[i].Milliseconds())
		}
		outcomes[i] = rl.Outcome{Proposal: proposals[i], Reward: t.Reward}
	}
	return trials, outcomes, nil
}

// childLatency fills in t's latencies: the prediction when a predictor is
// set, the measurement when Search.Measure is, and LatencyMS from the one
// the reward uses.
func (l *loop) childLatency(ctx context.Context, arch searchspace.Arch, t *store.Trial) error {
	if l.Predict != nil {
		ms, err := l.Predict(ctx, arch)
		if err == nil && (!finite(ms) || ms <= 0) {
			err = fmt.Errorf("invalid predicted latency %v ms", ms)
		}
		if err != nil {
			return fmt.Errorf("predict latency: %w", err)
		}
		t.PredictedLatencyMS = ms
		t.LatencyMS, t.LatencySource = ms, LatencyPredicted
	}
	if l.Measure {
		ms, err := l.measureLatency(ctx, arch)
		if err != nil {
			return err
		}
		t.MeasuredLatencyMS = ms
		t.LatencyMS, t.LatencySource = ms, LatencyMeasured
	}
	return nil
}

func (l *loop) measureLatency(ctx context.Context, arch searchspace.Arch) (ms float64, err error) {
	id := arch.ID()
	if v, ok := l.latency[id]; ok {
		return v, nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while measuring latency: %v", r)
		}
	}()
	ms, err = l.Backend.Latency(ctx, arch)
	if err == nil && (!finite(ms) || ms <= 0) {
		err = fmt.Errorf("invalid measured latency %v ms", ms)
	}
	if err != nil {
		return 0, fmt.Errorf("measure latency: %w", err)
	}
	l.latency[id] = ms
	return ms, nil
}

// finite reports whether no value is NaN or infinite.
func finite(values ...float64) bool {
	for _, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}
