package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"nas/runs"
	"nas/searchspace"
	"nas/store"
)

// resumeFlags are the flags --resume allows; every other search flag comes
// from the stored run.
var resumeFlags = map[string]bool{"resume": true, "store": true, "workers": true, "lr": true, "json": true, "log-level": true}

// resumeOptions are the flags of `nas search --resume RUN`. A zero workers
// or learningRate keeps the run's stored setting.
type resumeOptions struct {
	store string
	run   string
	// workers applies to this process only and is not stored.
	workers int
	// learningRate replaces the run's stored learning rate from the next
	// supernet step on, and is stored with the run for later resumes.
	learningRate float64
	asJSON       bool
}

// learningRateChange is one change of a run's learning rate by
// `nas search --resume RUN --lr LR`, stored in the run's settings.
type learningRateChange struct {
	From float64 `json:"from"`
	To   float64 `json:"to"`
	// Trials is the number of trials the run had when it was resumed with
	// the new rate, which applies from the next supernet step.
	Trials int       `json:"trials"`
	Time   time.Time `json:"time"`
}

// newResumeOptions checks the flags given with --resume and returns them.
// An invalid --workers or --lr gets the message a new search gives.
func newResumeOptions(cmd *cobra.Command, opts searchOptions) (resumeOptions, error) {
	var fixed []string
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if !resumeFlags[f.Name] {
			fixed = append(fixed, "--"+f.Name)
		}
	})
	if len(fixed) > 0 {
		return resumeOptions{}, usageErrorf("%s cannot change a resumed run: --resume takes the run's stored settings, and only --workers, --lr, --store and --json", strings.Join(fixed, ", "))
	}

	r := resumeOptions{store: storePath(opts.store), run: store.NormalizeRunID(opts.resume), asJSON: opts.asJSON}
	if cmd.Flags().Changed("workers") {
		if opts.Workers < 1 {
			return resumeOptions{}, usageErrorf("invalid --workers %d: use a positive number", opts.Workers)
		}
		r.workers = opts.Workers
	}
	if cmd.Flags().Changed("lr") {
		if err := checkLearningRate(opts.LearningRate, runs.DefaultLearningRate); err != nil {
			return resumeOptions{}, err
		}
		r.learningRate = opts.LearningRate
	}
	return r, nil
}

// resumeSearch continues run r.run from its last checkpoint with its stored
// settings, changed only by r. A new learning rate is stored with the run
// once the search is built, just before it continues.
func resumeSearch(ctx context.Context, a *app, r resumeOptions) error {
	s, err := openStoreForWrite(r.store)
	if err != nil {
		return err
	}
	defer s.Close()
	runID := r.run
	run, err := s.Run(runID)
	if err != nil {
		return lookupError(err)
	}
	if run.Status == store.RunDone {
		return inputErrorf("run %s is already complete with %d trials: see `nas best --run %s%s`", runID, run.Trials, runID, storeArg(r.store))
	}

	var stored searchOptions
	if err := json.Unmarshal(run.Config, &stored); err != nil {
		return fmt.Errorf("run %s: decode stored settings: %w", runID, err)
	}
	var space searchspace.Space
	if err := json.Unmarshal(run.Space, &space); err != nil {
		return fmt.Errorf("run %s: decode stored space: %w", runID, err)
	}

	// A run stored before --lr had its maximum can hold a higher rate,
	// which only a new --lr replaces.
	if r.learningRate == 0 && stored.LearningRate > maxLearningRate {
		return usageErrorf("run %s has the learning rate %g, above the maximum of %d: resume it with a lower --lr, such as `nas search --resume %s --lr %g%s`",
			runID, stored.LearningRate, maxLearningRate, runID, runs.DefaultLearningRate, storeArg(r.store))
	}

	// Apply the new learning rate to the stored settings, and --workers
	// and --json to this process only.
	var change *learningRateChange
	if r.learningRate > 0 && r.learningRate != stored.LearningRate {
		change = &learningRateChange{From: stored.LearningRate, To: r.learningRate, Trials: run.Trials, Time: time.Now().UTC()}
		stored.LearningRate = r.learningRate
		stored.LearningRateChanges = append(slices.Clone(stored.LearningRateChanges), *change)
	}
	o := stored
	if r.workers > 0 {
		o.Workers = r.workers
	}
	o.asJSON = r.asJSON

	// Build the search, so that every failure comes before the store
	// changes.
	if _, err := o.check(); err != nil {
		return err
	}
	setup, err := loadSearchData(o, &space)
	if err != nil {
		return err
	}
	if err := checkSearchMemory(setup.space, o.BatchSize, o.Workers); err != nil {
		return err
	}
	if err := useLatencyTable(ctx, a, s, o, &setup); err != nil {
		return err
	}
	search, err := buildSearch(a, s, o, setup)
	if err != nil {
		return err
	}
	if change != nil {
		config, err := json.Marshal(stored)
		if err != nil {
			return fmt.Errorf("run %s: encode settings: %w", runID, err)
		}
		if _, err := s.UpdateRun(runID, func(r *store.Run) { r.Config = config }); err != nil {
			return fmt.Errorf("run %s: store the new learning rate %g: %w", runID, change.To, err)
		}
		a.logger.Info("learning rate changed", "run", runID, "from", change.From, "to", change.To, "trials", change.Trials)
	}

	a.logger.Info("resume search", "run", runID, "store", s.Path(), "trials", run.Trials, "status", run.Status, "lr", o.LearningRate)
	err = runSearch(ctx, a, search, runID, o)
	if errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%w: read its trials with `nas best --run %s%s`, or start a new run with `nas search%s`", err, runID, storeArg(r.store), storeArg(r.store))
	}
	return err
}
