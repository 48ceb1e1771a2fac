package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"nas/searchspace"
	"nas/store"
)

func init() { registerCommand(newShowCmd) }

type showOptions struct {
	store  string
	asJSON bool
}

// showResult is the output of `nas show --json`: the stored trial with its
// architecture decoded, and its replays.
type showResult struct {
	store.Trial
	// Batch is the search batch the child was scored in, counted from 1 as
	// in the search log and the text output. It replaces the stored
	// Trial.Batch, which counts from 0.
	Batch   int               `json:"batch"`
	ID      string            `json:"id"`
	Arch    *searchspace.Arch `json:"arch"`
	Replays []store.Replay    `json:"replays"`
}

func newShowCmd(a *app) *cobra.Command {
	var opts showOptions
	cmd := &cobra.Command{
		Use:   "show TRIAL",
		Short: "Show one child's architecture and metrics",
		Long: `show prints one trial: its metrics, its architecture block by block, and
the results of any replays. TRIAL is RUN/SEQ, such as r3/17 (the r may be
left out: 3/17), or SEQ alone for a trial of the newest run.

The batch of a trial, in the text and in the "batch" field of --json, is
the search batch it was scored in, counted from 1 as in the search log.`,
		Args: exactArgs("TRIAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return showTrial(a, opts, args[0])
		},
	}
	addStoreFlag(cmd, &opts.store)
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print as JSON")
	return cmd
}

// loadTrial resolves id in s and returns the trial and its
// decoded architecture (nil for a child whose tokens did not decode).
func loadTrial(s *store.Store, id string) (store.Trial, *searchspace.Arch, error) {
	runID, seq, err := resolveTrialID(s, id)
	if err != nil {
		return store.Trial{}, nil, err
	}
	t, err := s.Trial(runID, seq)
	if err != nil {
		return store.Trial{}, nil, lookupError(err)
	}
	if len(t.Arch) == 0 {
		return t, nil, nil
	}
	arch, err := searchspace.ParseArch(t.Arch)
	if err != nil {
		return t, nil, fmt.Errorf("trial %s: stored architecture: %w", t.ID(), err)
	}
	return t, &arch, nil
}

func showTrial(a *app, opts showOptions, id string) error {
	s, err := openStoreForRead(storePath(opts.store))
	if err != nil {
		return err
	}
	defer s.Close()

	t, arch, err := loadTrial(s, id)
	if err != nil {
		return err
	}
	replays, err := s.Replays(t.ID())
	if err != nil {
		return err
	}

	if opts.asJSON {
		res := showResult{Trial: t, Batch: t.Batch + 1, ID: t.ID(), Arch: arch, Replays: replays}
		if res.Replays == nil {
			res.Replays = []store.Replay{}
		}
		res.Trial.Arch = nil
		return writeJSON(a.stdout, res)
	}
	printTrial(a, t, arch, replays)
	return nil
}

func printTrial(a *app, t store.Trial, arch *searchspace.Arch, replays []store.Replay) {
	w := a.stdout
	// Trial.Batch counts from 0; the search log and this line count from 1.
	fmt.Fprintf(w, "trial     %s (batch %d, policy version %d, worker %d)\n", t.ID(), t.Batch+1, t.PolicyVersion, t.Worker)
	fmt.Fprintf(w, "arch      %s\n", orDash(t.ArchID))
	fmt.Fprintf(w, "status    %s\n", t.Status)
	if t.Error != "" {
		fmt.Fprintf(w, "error     %s\n", userMessage(t.Error))
	}
	fmt.Fprintf(w, "reward    %.4f\n", t.Reward)
	fmt.Fprintf(w, "val acc   %.4f (loss %.4f)\n", t.Accuracy, t.Loss)
	fmt.Fprintf(w, "latency   %.3f ms (batch 1, one thread%s)\n", t.LatencyMS, latencyNote(t))
	fmt.Fprintf(w, "params    %d\n", t.Params)
	fmt.Fprintf(w, "MACs      %d\n", t.MACs)
	fmt.Fprintf(w, "trained   after %d supernet steps, scored in %.0f ms\n", t.TrainSteps, t.WallMS)
	tokens, _ := json.Marshal(t.Tokens)
	fmt.Fprintf(w, "tokens    %s\n", tokens)

	if arch != nil {
		fmt.Fprintf(w, "\ninput %dx%dx%d resized to %dx%d, width multiplier %g, %d classes\n",
			arch.Input.Height, arch.Input.Width, arch.Input.Channels, arch.Resolution, arch.Resolution, arch.Alpha, arch.Classes)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "LAYER\tOP\tKERNEL\tEXPANSION\tOUT\tSTRIDE")
		fmt.Fprintf(tw, "stem\tconv\t%d\t-\t%d\t%d\n", arch.Stem.Kernel, arch.Stem.Out, arch.Stem.Stride)
		for i, b := range arch.Blocks {
			if b.Op == searchspace.OpSkip {
				fmt.Fprintf(tw, "block%d\tskip\t-\t-\t-\t-\n", i)
				continue
			}
			exp := "-"
			if b.Op == searchspace.OpMBConv {
				exp = fmt.Sprint(b.Expansion)
			}
			fmt.Fprintf(tw, "block%d\t%s\t%d\t%s\t%d\t%d\n", i, b.Op, b.Kernel, exp, b.Out, b.Stride)
		}
		if arch.Head.Out > 0 {
			fmt.Fprintf(tw, "head\tconv 1x1\t1\t-\t%d\t1\n", arch.Head.Out)
		}
		fmt.Fprintf(tw, "classifier\tpool+linear\t-\t-\t%d\t-\n", arch.Classes)
		tw.Flush()
	}

	if len(replays) > 0 {
		fmt.Fprintln(w, "\nreplays")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DATE\tEPOCHS\tTRAIN IMAGES\tTEST IMAGES\tSEED\tTEST ACC\tTEST LOSS\tLATENCY ms\tTOOK\tWEIGHTS")
		for _, r := range replays {
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%.4f\t%.4f\t%.3f\t%.0fs\t%s\n", r.Time.Local().Format("2006-01-02 15:04"),
				r.Epochs, imageCount(r.TrainImages, r.TrainSplitImages), imageCount(r.TestImages, r.TestSplitImages),
				r.Seed, r.TestAccuracy, r.TestLoss, r.LatencyMS, r.WallSeconds, orDash(r.Weights))
		}
		tw.Flush()
	}
}

// imageCount formats the images a replay used out of a split of size
// split: "all" for the whole split, "N/SPLIT" for part of it and "-" when
// the replay predates the counts.
func imageCount(n, split int) string {
	switch {
	case n == 0:
		return "-"
	case n >= split:
		return "all"
	default:
		return fmt.Sprintf("%d/%d", n, split)
	}
}

// latencyNote names where a trial's latency came from and gives the other
// value when both were stored.
func latencyNote(t store.Trial) string {
	switch {
	case t.LatencySource == "":
		return ""
	case t.MeasuredLatencyMS > 0 && t.PredictedLatencyMS > 0:
		return fmt.Sprintf(", %s; measured %.3f ms, predicted %.3f ms", t.LatencySource, t.MeasuredLatencyMS, t.PredictedLatencyMS)
	default:
		return ", " + t.LatencySource
	}
}
