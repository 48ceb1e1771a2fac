package main

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nas/store"
)

func init() { registerCommand(newBestCmd) }

type bestOptions struct {
	store  string
	run    string
	top    int
	pareto bool
	asJSON bool
}

// bestRow is one child listed by `nas best`.
type bestRow struct {
	Trial     string  `json:"trial"`
	ArchID    string  `json:"arch_id"`
	Reward    float64 `json:"reward"`
	Accuracy  float64 `json:"accuracy"`
	Loss      float64 `json:"loss"`
	LatencyMS float64 `json:"latency_ms"`
	Params    int64   `json:"params"`
	MACs      int64   `json:"macs"`
	// TestAccuracy is the test accuracy of the latest replay evaluated on
	// the full test split, else of the latest replay, if any. TestImages is
	// the number of test images it was measured on (0 if not recorded) and
	// TestPartial is true when that is fewer than the full test split.
	TestAccuracy *float64 `json:"test_accuracy,omitempty"`
	TestImages   int      `json:"test_images,omitempty"`
	TestPartial  bool     `json:"test_partial,omitempty"`
}

func newBestCmd(a *app) *cobra.Command {
	var opts bestOptions
	cmd := &cobra.Command{
		Use:   "best",
		Short: "List a run's best children, or its accuracy/latency Pareto front",
		Long: `best lists the successful children of a run with the highest reward, or
with --pareto the children no other child beats on both validation accuracy
and latency, ordered by latency. The run defaults to the newest one.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.top < 1 {
				return usageErrorf("invalid --top %d: use a positive number of children", opts.top)
			}
			if opts.pareto && !cmd.Flags().Changed("top") {
				opts.top = math.MaxInt // the whole front
			}
			return listBest(a, opts)
		},
	}
	addStoreFlag(cmd, &opts.store)
	cmd.Flags().StringVar(&opts.run, "run", "", "run id, such as r3 (default the newest run)")
	cmd.Flags().IntVar(&opts.top, "top", 10, "number of children to list (with --pareto: the whole front unless set)")
	cmd.Flags().BoolVar(&opts.pareto, "pareto", false, "list the accuracy/latency Pareto front instead of the top rewards")
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print a JSON list")
	return cmd
}

func listBest(a *app, opts bestOptions) error {
	s, err := openStoreForRead(storePath(opts.store))
	if err != nil {
		return err
	}
	defer s.Close()

	runID := store.NormalizeRunID(opts.run)
	if runID == "" {
		if runID, err = latestRun(s); err != nil {
			return err
		}
	}
	trials, err := s.Trials(runID)
	if err != nil {
		return lookupError(err)
	}
	ok := slices.DeleteFunc(trials, func(t store.Trial) bool { return t.Status != store.TrialOK })

	var picked []store.Trial
	if opts.pareto {
		picked = paretoFront(ok)
	} else {
		picked = topByReward(ok)
	}
	if len(picked) > opts.top {
		picked = picked[:opts.top]
	}

	rows := make([]bestRow, 0, len(picked))
	for _, t := range picked {
		row := bestRow{Trial: t.ID(), ArchID: t.ArchID, Reward: t.Reward, Accuracy: t.Accuracy, Loss: t.Loss,
			LatencyMS: t.LatencyMS, Params: t.Params, MACs: t.MACs}
		replays, err := s.Replays(t.ID())
		if err != nil {
			return err
		}
		if r, ok := shownReplay(replays); ok {
			acc := r.TestAccuracy
			row.TestAccuracy, row.TestImages, row.TestPartial = &acc, r.TestImages, r.PartialTest()
		}
		rows = append(rows, row)
	}

	if opts.asJSON {
		return writeJSON(a.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(a.stdout, "run %s has no successful trials yet\n", runID)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "TRIAL\tARCH\tREWARD\tVAL ACC\tLATENCY ms\tPARAMS\tMMACS\tTEST ACC\t")
	partial := false
	for _, r := range rows {
		test := "-"
		if r.TestAccuracy != nil {
			test = fmt.Sprintf("%.4f", *r.TestAccuracy)
		}
		if r.TestPartial {
			test += "*"
			partial = true
		}
		fmt.Fprintf(tw, "%s\t%s\t%.4f\t%.4f\t%.3f\t%d\t%.2f\t%s\t\n",
			r.Trial, r.ArchID, r.Reward, r.Accuracy, r.LatencyMS, r.Params, float64(r.MACs)/1e6, test)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if partial {
		fmt.Fprintf(a.stdout, "\n* measured on part of the test split (replay --test-images); replay without it for the full split\n")
	}
	fmt.Fprintf(a.stdout, "\nshow one with `nas show TRIAL%s`, retrain it with `nas replay TRIAL%s`\n", storeArg(s.Path()), storeArg(s.Path()))
	return nil
}

// shownReplay picks the replay whose test accuracy `best` lists: the
// latest one not marked partial, else the latest one.
func shownReplay(replays []store.Replay) (store.Replay, bool) {
	for i := len(replays) - 1; i >= 0; i-- {
		if !replays[i].PartialTest() {
			return replays[i], true
		}
	}
	if len(replays) == 0 {
		return store.Replay{}, false
	}
	return replays[len(replays)-1], true
}

// topByReward sorts trials by reward, highest first, with ties in sequence
// order.
func topByReward(trials []store.Trial) []store.Trial {
	out := slices.Clone(trials)
	slices.SortStableFunc(out, func(a, b store.Trial) int { return cmp.Compare(b.Reward, a.Reward) })
	return out
}

// paretoFront returns the trials that no other trial beats on both
// accuracy (higher) and latency (lower), ordered by latency. Of trials
// with the same latency and accuracy, the first in sequence is kept.
func paretoFront(trials []store.Trial) []store.Trial {
	sorted := slices.Clone(trials)
	slices.SortStableFunc(sorted, func(a, b store.Trial) int {
		if c := cmp.Compare(a.LatencyMS, b.LatencyMS); c != 0 {
			return c
		}
		return cmp.Compare(b.Accuracy, a.Accuracy)
	})
	var front []store.Trial
	for _, t := range sorted {
		if len(front) == 0 || t.Accuracy > front[len(front)-1].Accuracy {
			front = append(front, t)
		}
	}
	return front
}
