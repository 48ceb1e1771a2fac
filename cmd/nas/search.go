package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"nas/dataset"
	"nas/kernels"
	"nas/latency"
	"nas/rl"
	"nas/runs"
	"nas/searchspace"
	"nas/store"
)

func init() { registerCommand(newSearchCmd) }

// searchOptions are the flags of `nas search`. The fields with JSON names
// are stored with the run, so that --resume rebuilds the same search.
type searchOptions struct {
	Data     string `json:"data"`
	Space    string `json:"space"`
	Budget   string `json:"budget"`
	Workers  int    `json:"workers"`
	Reward   string `json:"reward"`
	Strategy string `json:"strategy"`
	Seed     uint64 `json:"seed"`
	// LatencyTarget is the target latency T of the mnas rewards, in ms.
	LatencyTarget float64 `json:"latency_target_ms"`
	// Latency is the latency the reward uses: predicted (from the store's
	// latency table for the space, profiled first if there is none) or
	// measured (each child timed end to end).
	Latency          string  `json:"latency"`
	ValSize          int     `json:"val_size"`
	TrainImages      int     `json:"train_images"`
	SupernetSteps    int     `json:"supernet_steps"`
	ChildrenPerBatch int     `json:"children_per_batch"`
	BatchSize        int     `json:"batch_size"`
	LearningRate     float64 `json:"learning_rate"`
	RecalImages      int     `json:"recalibration_images"`
	// LearningRateChanges lists the changes of LearningRate made by
	// --resume --lr, oldest first.
	LearningRateChanges []learningRateChange `json:"learning_rate_changes,omitempty"`

	store  string
	resume string
	asJSON bool
}

// Reward and strategy names accepted by `nas search`.
const (
	rewardAccuracy = "accuracy"
	rewardMnasSoft = "mnas-soft"
	rewardMnasHard = "mnas-hard"

	latencyMeasured  = runs.LatencyMeasured
	latencyPredicted = runs.LatencyPredicted
)

func newSearchCmd(a *app) *cobra.Command {
	opts := searchOptions{
		Data: dataset.SourceFashionMNIST, Space: searchspace.SpaceDefault, Budget: "100", Workers: 1,
		Reward: rewardAccuracy, Strategy: rl.NameReinforce, Latency: latencyPredicted, Seed: 1, ValSize: 1000,
		SupernetSteps: runs.DefaultSupernetSteps, ChildrenPerBatch: runs.DefaultChildrenPerBatch,
		BatchSize: runs.DefaultBatchSize, LearningRate: runs.DefaultLearningRate, RecalImages: runs.DefaultRecalibrationImages,
	}
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Search architectures on shared supernet weights",
		Long: `search alternates supernet training and scoring: it trains the supernet for
--supernet-steps steps, each through a child the strategy proposes, then
scores --children-per-batch children on a validation split held out from the
training data, turns accuracy and latency into rewards, and updates the
strategy. Every scored child is a trial in the store.

The budget is a number of children (--budget 100) or a wall time
(--budget 30m). A checkpoint is stored after the supernet training and after
the scoring of each batch. Ctrl-C stops at once, losing only the phase in
flight, and --resume RUN continues a stopped run from its last checkpoint.
A resumed run keeps its stored settings, except that --lr replaces its
learning rate, higher or lower, such as a lower one after training
diverged.

Rewards: accuracy; mnas-soft, ACC·(LAT/T)^-0.07; mnas-hard, ACC when
LAT ≤ T and ACC·(LAT/T)^-1 above it, with T = --latency-target in ms.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// An empty --resume, such as --resume "$RUN" with RUN unset,
			// must not start a new run.
			if cmd.Flags().Changed("resume") && strings.TrimSpace(opts.resume) == "" {
				return usageErrorf("invalid --resume %q: give the id of the run to continue, such as r1 (`nas runs%s` lists them)", opts.resume, storeArg(storePath(opts.store)))
			}
			if opts.resume != "" {
				resume, err := newResumeOptions(cmd, opts)
				if err != nil {
					return err
				}
				return resumeSearch(cmd.Context(), a, resume)
			}
			return startSearch(cmd.Context(), a, opts)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.Data, "data", opts.Data, "training data: fashion-mnist, mnist, or a folder of IDX or CIFAR-10 files")
	f.StringVar(&opts.Space, "space", opts.Space, "search space: a built-in name ("+strings.Join(searchspace.BuiltinNames(), ", ")+") or a .json/.yaml file")
	f.StringVar(&opts.Budget, "budget", opts.Budget, "stop after N scored children, or after a wall time such as 30m")
	f.IntVar(&opts.Workers, "workers", opts.Workers, "children trained or scored at once; only 1 gives a reproducible trial sequence")
	f.StringVar(&opts.Reward, "reward", opts.Reward, "reward: accuracy, mnas-soft or mnas-hard")
	f.Float64Var(&opts.LatencyTarget, "latency-target", 0, "target latency T in ms at batch 1 on one thread (required by the mnas rewards)")
	f.StringVar(&opts.Latency, "latency", opts.Latency, "latency in the reward: predicted (from the store's latency table for the space; profiled first when there is none) or measured (each child timed end to end, and predicted too when a table exists)")
	f.StringVar(&opts.Strategy, "strategy", opts.Strategy, "strategy: reinforce (LSTM controller), random or evolution")
	f.Uint64Var(&opts.Seed, "seed", opts.Seed, "seed of the controller, supernet weights, data split and batch order")
	f.IntVar(&opts.ValSize, "val-size", opts.ValSize, "validation images held out from the training split")
	f.IntVar(&opts.TrainImages, "train-images", 0, "training images to use after the validation split is held out (0: all)")
	f.IntVar(&opts.SupernetSteps, "supernet-steps", opts.SupernetSteps, "supernet training steps before each batch of children is scored")
	f.IntVar(&opts.ChildrenPerBatch, "children-per-batch", opts.ChildrenPerBatch, "children scored between two strategy updates")
	f.IntVar(&opts.BatchSize, "batch-size", opts.BatchSize, "mini-batch size of supernet training and evaluation")
	f.Float64Var(&opts.LearningRate, "lr", opts.LearningRate, fmt.Sprintf("supernet learning rate (SGD, Nesterov momentum 0.9), at most %d", maxLearningRate))
	f.IntVar(&opts.RecalImages, "recal-images", opts.RecalImages, "training images over which BN statistics are recomputed before a child is scored")
	f.StringVar(&opts.resume, "resume", "", "continue the stopped run RUN (such as r3) from its last checkpoint; only --lr, --workers, --json and --store may be given with it")
	f.BoolVar(&opts.asJSON, "json", false, "print a JSON summary of the run on stdout when it ends, also when it is interrupted or fails")
	addStoreFlag(cmd, &opts.store)
	return cmd
}

// check validates the options that need no data and returns the search
// configuration they give.
func (o searchOptions) check() (runs.Config, error) {
	cfg := runs.Config{
		Workers: o.Workers, ChildrenPerBatch: o.ChildrenPerBatch, SupernetSteps: o.SupernetSteps, Seed: o.Seed,
	}
	if n, err := strconv.Atoi(o.Budget); err == nil {
		if n < 1 {
			return cfg, usageErrorf("invalid --budget %d: use a positive number of children, or a duration such as 30m", n)
		}
		cfg.Children = n
	} else if d, err := time.ParseDuration(o.Budget); err == nil {
		if d <= 0 {
			return cfg, usageErrorf("invalid --budget %s: use a positive duration, or a number of children", o.Budget)
		}
		cfg.Duration = d
	} else {
		return cfg, usageErrorf("invalid --budget %q: use a number of children such as 100, or a duration such as 30m", o.Budget)
	}

	positive := []struct {
		name  string
		value int
	}{
		{"--workers", o.Workers}, {"--val-size", o.ValSize}, {"--supernet-steps", o.SupernetSteps},
		{"--children-per-batch", o.ChildrenPerBatch}, {"--batch-size", o.BatchSize}, {"--recal-images", o.RecalImages},
	}
	for _, p := range positive {
		if p.value < 1 {
			return cfg, usageErrorf("invalid %s %d: use a positive number", p.name, p.value)
		}
	}
	// The other counts are bounded by the data: loadSearchData rejects a
	// --val-size, --train-images or --batch-size larger than the split.
	bounded := []struct {
		name       string
		value, max int
		reason     string
	}{
		{"--workers", o.Workers, runs.MaxWorkers, "since workers beyond the core count only wait for a core"},
		{"--supernet-steps", o.SupernetSteps, runs.MaxSupernetSteps,
			"since that many steps at --batch-size 64 are over 100 passes over Fashion-MNIST's 60,000 training images before each batch of children is scored"},
		{"--children-per-batch", o.ChildrenPerBatch, runs.MaxChildrenPerBatch, "since the strategy learns only between batches"},
	}
	for _, b := range bounded {
		if b.value > b.max {
			return cfg, usageErrorf("invalid %s %d: use at most %d, %s", b.name, b.value, b.max, b.reason)
		}
	}
	if o.TrainImages < 0 {
		return cfg, usageErrorf("invalid --train-images %d: use a positive number, or 0 for all", o.TrainImages)
	}
	if err := checkLearningRate(o.LearningRate, runs.DefaultLearningRate); err != nil {
		return cfg, err
	}
	if _, err := o.rewardFunc(); err != nil {
		return cfg, err
	}
	if o.Latency != latencyMeasured && o.Latency != latencyPredicted {
		return cfg, usageErrorf("unknown --latency %q: use predicted or measured", o.Latency)
	}
	if !slices.Contains(rl.StrategyNames, o.Strategy) {
		return cfg, usageErrorf("unknown --strategy %q: use %s", o.Strategy, strings.Join(rl.StrategyNames, ", "))
	}
	return cfg, nil
}

// maxLearningRate bounds --lr of search and replay. It is 100 times the
// replay default of 0.1, and rejects typos such as 1e30.
const maxLearningRate = 10

// lowLearningRate is the rate below which the error of a diverged search
// suggests a new run rather than a lower rate.
//
// NOTE: this is a heuristic. At such a rate the checkpoint's weights seem
// a more likely cause of the divergence than the rate, but no test shows it.
const lowLearningRate = 1e-4

// checkLearningRate returns a usage error for an --lr that is not a
// positive number of at most maxLearningRate. example is the rate the
// message suggests.
func checkLearningRate(lr, example float64) error {
	if !(lr > 0) || lr > maxLearningRate {
		return usageErrorf("invalid --lr %v: use a positive learning rate of at most %d, such as %g", lr, maxLearningRate, example)
	}
	return nil
}

// divergedError returns the error of run runID, whose supernet training
// diverged (err) at the learning rate of o, with the next step. That is a
// resume with a 10 times lower rate, unless --resume already lowered the
// rate or the rate is below lowLearningRate. Then it is a new run.
func divergedError(err error, runID string, o searchOptions, storeFlag string) error {
	lower := o.LearningRate / 10
	lowered := slices.ContainsFunc(o.LearningRateChanges, func(c learningRateChange) bool { return c.To < c.From })
	switch {
	case lowered:
		return fmt.Errorf("%w: run %s diverged again after --resume lowered its learning rate to %g: "+
			"start a new run instead, such as `nas search --lr %.2g%s` with the run's other flags", err, runID, o.LearningRate, lower, storeFlag)
	case o.LearningRate < lowLearningRate:
		return fmt.Errorf("%w: the learning rate %g is already low, so a lower one is unlikely to help: "+
			"start a new run instead, such as `nas search --seed %d%s` with the run's other flags", err, o.LearningRate, o.Seed+1, storeFlag)
	}
	return fmt.Errorf("%w: lower the learning rate: `nas search --resume %s --lr %.2g%s` continues from the last checkpoint "+
		"stored before the divergence, or start a new run with a lower --lr", err, runID, lower, storeFlag)
}

// rewardFunc returns the reward selected by --reward and --latency-target.
func (o searchOptions) rewardFunc() (runs.RewardFunc, error) {
	target := o.LatencyTarget
	switch o.Reward {
	case rewardAccuracy:
		return func(acc, _ float64) (float64, error) { return rl.AccuracyReward(acc) }, nil
	case rewardMnasSoft, rewardMnasHard:
		if !(target > 0) || math.IsInf(target, 0) {
			return nil, usageErrorf("--reward %s needs --latency-target MS, a positive latency in milliseconds", o.Reward)
		}
		r := rl.SoftTarget(target)
		if o.Reward == rewardMnasHard {
			r = rl.HardTarget(target)
		}
		return r.Reward, nil
	default:
		return nil, usageErrorf("unknown --reward %q: use accuracy, mnas-soft or mnas-hard", o.Reward)
	}
}

// searchSetup holds the inputs of a search besides the store and flags: the
// data splits, the space and an optional latency predictor.
type searchSetup struct {
	space    searchspace.Space
	dataName string
	train    *dataset.Set
	val      *dataset.Set
	// predict is the latency table's prediction, nil when there is none.
	predict func(context.Context, searchspace.Arch) (float64, error)
}

// useLatencyTable sets setup.predict to the prediction of the latency
// table of the space in s: the table saved last, profiled here or imported
// with nas latency import. With --latency predicted and no table, it
// profiles this machine first and saves the table in s.
func useLatencyTable(ctx context.Context, a *app, s *store.Store, o searchOptions, setup *searchSetup) error {
	table, err := latency.Load(s, setup.space)
	switch {
	case err == nil:
		a.logger.Info("latency table", "space", setup.space.Name, "machine", table.Machine.String(), "entries", len(table.Entries))
	case !errors.Is(err, latency.ErrNoTable):
		return err
	case o.Latency == latencyMeasured:
		return nil
	default:
		a.logger.Info("no latency table for the space in the store; profiling this machine", "space", setup.space.Name)
		start := time.Now()
		table, err = latency.Profile(ctx, setup.space, latency.ProfileOptions{Seed: o.Seed})
		if errors.Is(err, context.Canceled) {
			return reportInterrupted(a, "search interrupted while profiling the latency table: nothing was stored", err)
		}
		if err != nil {
			return fmt.Errorf("profile latency table: %w", err)
		}
		if err := latency.Save(s, table); err != nil {
			return err
		}
		a.logger.Info("latency table saved", "entries", len(table.Entries), "s", time.Since(start).Round(100*time.Millisecond).Seconds())
	}
	setup.predict = table.Latency
	return nil
}

// loadSearchData loads the data and splits off the validation images, and
// resolves the space for the data's image shape and classes. space, when
// not nil, is a stored space used instead of --space.
func loadSearchData(o searchOptions, space *searchspace.Space) (searchSetup, error) {
	ds, err := dataset.Load(o.Data)
	if err != nil {
		return searchSetup{}, inputErrorf("--data %s: %w", o.Data, err)
	}
	if o.ValSize >= ds.Train.Len() {
		fix := ""
		if ds.Train.Len() > o.BatchSize {
			fix = fmt.Sprintf("; use a --val-size of at most %d, which leaves one batch of --batch-size %d for training", ds.Train.Len()-o.BatchSize, o.BatchSize)
		}
		return searchSetup{}, inputErrorf("invalid --val-size %d: the %s training split has only %d images%s", o.ValSize, ds.Name, ds.Train.Len(), fix)
	}
	train, val, err := dataset.Split(ds.Train, o.ValSize, o.Seed)
	if err != nil {
		return searchSetup{}, badInput(err)
	}
	remaining := train.Len()
	if o.TrainImages > remaining {
		return searchSetup{}, inputErrorf("invalid --train-images %d: holding out --val-size %d of the %d %s training images leaves %d; use at most %d, or 0 for all of them",
			o.TrainImages, o.ValSize, ds.Train.Len(), ds.Name, remaining, remaining)
	}
	if o.TrainImages > 0 && o.TrainImages < remaining {
		train = train.Subset(o.TrainImages)
	}
	if train.Len() < o.BatchSize {
		return searchSetup{}, batchTooLargeError(o, ds.Name, ds.Train.Len(), remaining)
	}

	setup := searchSetup{dataName: o.Data, train: train, val: val}
	shape := searchspace.Shape{Height: train.Height, Width: train.Width, Channels: train.Channels}
	if space != nil {
		setup.space = *space
	} else if setup.space, err = resolveSpace(spaceOptions{space: o.Space, input: formatShape(shape), classes: train.Classes}); err != nil {
		return searchSetup{}, err
	}
	if setup.space.Input != shape || setup.space.Classes != train.Classes {
		return searchSetup{}, inputErrorf("space %s is for %s images with %d classes, but --data %s has %s images with %d classes",
			setup.space.Name, formatShape(setup.space.Input), setup.space.Classes, o.Data, formatShape(shape), train.Classes)
	}
	return setup, nil
}

// batchTooLargeError returns the input error for a --batch-size of o
// larger than the training images: --train-images, or the remaining of
// the split of split images of data set name once --val-size is held out.
// It names the largest batch size that fits, and the largest --val-size
// that fits the batch when the whole split is larger than the batch.
func batchTooLargeError(o searchOptions, name string, split, remaining int) error {
	if o.TrainImages > 0 {
		return inputErrorf("invalid --batch-size %d: it is larger than --train-images %d; use a --batch-size of at most %d, or more --train-images",
			o.BatchSize, o.TrainImages, o.TrainImages)
	}
	if o.BatchSize >= split {
		return inputErrorf("invalid --batch-size %d: it is larger than the whole %s training split of %d images, and holding out --val-size %d leaves %d; use a --batch-size of at most %d",
			o.BatchSize, name, split, o.ValSize, remaining, remaining)
	}
	return inputErrorf("invalid --batch-size %d: holding out --val-size %d of the %d %s training images leaves %d, fewer than one batch; use a --batch-size of at most %d, or a --val-size of at most %d",
		o.BatchSize, o.ValSize, split, name, remaining, remaining, split-o.BatchSize)
}

// spaceChoiceCounts returns the number of choices of each decision of space, or
// an input error for a space with nothing to search.
func spaceChoiceCounts(space searchspace.Space) ([]int, error) {
	var choices []int
	for _, d := range space.Decisions() {
		choices = append(choices, len(d.Choices))
	}
	if len(choices) == 0 {
		return nil, unsearchableSpaceError(space.Name)
	}
	return choices, nil
}

// unsearchableSpaceError returns the input error for a space with no
// decisions, which contains one fixed architecture. The message points a
// preset to the commands that take it and a space file to its format.
func unsearchableSpaceError(name string) error {
	if slices.Contains(searchspace.PresetNames(), name) {
		return inputErrorf("--space %s is a fixed architecture with no decisions, so there is nothing to search: "+
			"search --space %s or a space file with choices (see `nas space`), or time this architecture's training with "+
			"`nas bench --arch FILE`, where FILE holds the \"arch\" object of `nas arch --preset %s --json`", name, searchspace.SpaceDefault, name)
	}
	return inputErrorf("space %s has no decisions: every choice list has one entry, so it is a fixed architecture and there is nothing to search: "+
		"give a block more than one op, kernel or expansion, or the space more than one width or resolution multiplier (docs/space-format.md), "+
		"or time the architecture with `nas bench --arch FILE`", name)
}

// newStrategy builds the strategy selected by --strategy.
func newStrategy(name string, space searchspace.Space, seed uint64) (rl.Strategy, error) {
	choices, err := spaceChoiceCounts(space)
	if err != nil {
		return nil, err
	}
	return rl.NewStrategy(name, choices, rl.Config{}, seed)
}

func startSearch(ctx context.Context, a *app, o searchOptions) error {
	if _, err := o.check(); err != nil {
		return err
	}
	// A preset is one architecture whatever the data, so reject it
	// before the data is loaded.
	if slices.Contains(searchspace.PresetNames(), o.Space) {
		return unsearchableSpaceError(o.Space)
	}
	setup, err := loadSearchData(o, nil)
	if err != nil {
		return err
	}
	if _, err := spaceChoiceCounts(setup.space); err != nil {
		return err
	}
	if err := checkSearchMemory(setup.space, o.BatchSize, o.Workers); err != nil {
		return err
	}

	// Open the store only once every flag and the data are known good.
	path := storePath(o.store)
	s, err := openStoreForWrite(path)
	if err != nil {
		return err
	}
	defer s.Close()
	if err := useLatencyTable(ctx, a, s, o, &setup); err != nil {
		return err
	}
	search, err := buildSearch(a, s, o, setup)
	if err != nil {
		return err
	}
	config, _ := json.Marshal(o)
	spaceJSON, _ := json.Marshal(setup.space)
	run, err := s.CreateRun(store.Run{
		Config: config, SpaceName: setup.space.Name, Space: spaceJSON, Seed: o.Seed,
		Dataset: setup.dataName, CodeVersion: codeVersion(),
	})
	if err != nil {
		return err
	}
	a.logger.Info("search", "run", run.ID, "store", s.Path(), "space", setup.space.Name, "data", setup.dataName,
		"train_images", setup.train.Len(), "val_images", setup.val.Len(), "strategy", o.Strategy, "reward", o.Reward,
		"budget", o.Budget, "seed", o.Seed)
	return runSearch(ctx, a, search, run.ID, o)
}

// buildSearch builds the strategy, the backend and the search loop, so that
// every failure of the setup comes before a run is created.
func buildSearch(a *app, s *store.Store, o searchOptions, setup searchSetup) (*runs.Search, error) {
	cfg, err := o.check()
	if err != nil {
		return nil, err
	}
	reward, _ := o.rewardFunc()
	if o.RecalImages > setup.train.Len() {
		// The local backend recalibrates on min(--recal-images, training
		// images), so log the smaller count instead of using it silently.
		a.logger.Warn("--recal-images exceeds the training images; recalibrating on all of them",
			"recal_images", o.RecalImages, "train_images", setup.train.Len())
	}
	strategy, err := newStrategy(o.Strategy, setup.space, o.Seed)
	if err != nil {
		return nil, err
	}

	// Split the cores between the workers, so that W workers do not run
	// W·GOMAXPROCS kernel goroutines.
	kernels.SetThreads(max(1, runtime.GOMAXPROCS(0)/o.Workers))
	localCfg := runs.LocalConfig{BatchSize: o.BatchSize, LearningRate: o.LearningRate, RecalibrationImages: o.RecalImages, Seed: o.Seed}
	backend, err := runs.NewLocal(setup.space, setup.train, setup.val, o.Workers, localCfg)
	if err != nil {
		return nil, err
	}
	return &runs.Search{
		Store: s, Strategy: strategy, Backend: wrapSearchBackend(backend), Decoder: setup.space, Reward: reward,
		Config: cfg, Logger: a.logger, Predict: setup.predict, Measure: o.Latency == latencyMeasured,
	}, nil
}

// wrapSearchBackend returns the backend a search uses in place of the local
// one. Tests replace it to make supernet training diverge.
var wrapSearchBackend = func(b runs.Backend) runs.Backend { return b }

// runSearch runs search on run runID and prints the result: where to look
// next, or with --json a summary of the run, which an interrupted or failed
// run gets too.
func runSearch(ctx context.Context, a *app, search *runs.Search, runID string, o searchOptions) error {
	cfg := search.Config
	if bar := newSearchBar(a, cfg); bar != nil {
		search.OnBatch = func(b runs.BatchStats) {
			if cfg.Children > 0 {
				bar.Set(b.Trials)
			} else {
				bar.Set(int(min(b.Elapsed, cfg.Duration).Seconds()))
			}
		}
		defer bar.Finish()
	}

	res, err := search.Run(ctx, runID)
	if o.asJSON && res.Run != "" {
		if jerr := printSearchJSON(a, search.Store, res, o); jerr != nil {
			if err == nil {
				return jerr
			}
			a.logger.Error("failed to print the JSON summary", "run", runID, "err", jerr)
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			fmt.Fprintf(a.stderr, "search interrupted: %d trials of run %s are stored. Continue with `nas search --resume %s%s`\n",
				res.Trials, runID, runID, storeArg(search.Store.Path()))
			return fmt.Errorf("%w: %w", errSilent, err)
		}
		if errors.Is(err, runs.ErrDiverged) {
			return divergedError(err, runID, o, storeArg(search.Store.Path()))
		}
		return err
	}
	if !o.asJSON {
		printSearchResult(a, search.Store.Path(), res)
	}
	if res.Best == nil && res.Trials > 0 {
		return noSuccessError(search.Store, res)
	}
	return nil
}

// noSuccessError returns the error of run res.Run, which spent its budget
// with every trial failed, naming the first failure.
func noSuccessError(s *store.Store, res runs.Result) error {
	trials, err := s.Trials(res.Run)
	if err != nil {
		return fmt.Errorf("run %s has no successful trial, and reading its trials failed: %w", res.Run, err)
	}
	first := "unknown"
	firstID := store.TrialID(res.Run, 1)
	for _, t := range trials {
		if t.Status != store.TrialOK {
			first, firstID = t.Error, t.ID()
			break
		}
	}
	return fmt.Errorf("run %s has no successful trial: all %s failed, the first (%s) with: %s; see `nas show %s%s`",
		res.Run, countNoun(res.Trials, "child", "children"), firstID, first, firstID, storeArg(s.Path()))
}

// newSearchBar returns a progress bar on stderr, or nil when stderr is not
// a terminal.
func newSearchBar(a *app, cfg runs.Config) *progressbar.ProgressBar {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	if cfg.Children > 0 {
		return progressbar.NewOptions(cfg.Children, progressbar.OptionSetWriter(a.stderr),
			progressbar.OptionSetDescription("children"), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())
	}
	return progressbar.NewOptions(int(cfg.Duration.Seconds()), progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription("seconds"), progressbar.OptionClearOnFinish())
}
