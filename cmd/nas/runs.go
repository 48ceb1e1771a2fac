package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"nas/store"
)

func init() { registerCommand(newRunsCmd) }

type runsOptions struct {
	store  string
	asJSON bool
}

// runStatusKilled is the status `nas runs` shows for a run stored as
// running while no process holds the store open for writing.
const runStatusKilled = "killed"

// runSummary is one row of `nas runs`.
type runSummary struct {
	ID string `json:"id"`
	// Status is "running" (a search holds the store and runs it), "done",
	// "failed", "interrupted" (stopped by SIGINT or SIGTERM) or "killed".
	// A killed run is stored as running while no process holds the store,
	// so its search died without recording its end.
	Status     string   `json:"status"`
	Trials     int      `json:"trials"`
	Failed     int      `json:"failed"`
	BestTrial  string   `json:"best_trial,omitempty"`
	BestReward *float64 `json:"best_reward,omitempty"`
	Space      string   `json:"space"`
	// Strategy, Reward (the reward function, shown as OBJECTIVE) and Budget
	// are the run's search settings, as given to nas search.
	Strategy string `json:"strategy,omitempty"`
	Reward   string `json:"objective,omitempty"`
	Budget   string `json:"budget,omitempty"`

	// LearningRate is the supernet learning rate the run uses now, and
	// LearningRateChanges lists its changes by nas search --resume --lr.
	LearningRate        float64              `json:"learning_rate,omitempty"`
	LearningRateChanges []learningRateChange `json:"learning_rate_changes,omitempty"`

	Dataset     string    `json:"dataset"`
	Seed        uint64    `json:"seed"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended,omitzero"`
	CodeVersion string    `json:"code_version"`
	Error       string    `json:"error,omitempty"`
}

func newRunsCmd(a *app) *cobra.Command {
	var opts runsOptions
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List the search runs in a store",
		Long: `List the search runs in a store with their status, trial counts and best trial.

A run's status is running, done, failed, interrupted (stopped by SIGINT or
SIGTERM), or killed: stored as running while no process holds the store
for writing, so its search died without recording its end. Continue an
interrupted or killed run with nas search --resume RUN.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return listRuns(a, opts)
		},
	}
	addStoreFlag(cmd, &opts.store)
	cmd.Flags().BoolVar(&opts.asJSON, "json", false, "print a JSON list")
	return cmd
}

func listRuns(a *app, opts runsOptions) error {
	s, err := openStoreForRead(storePath(opts.store))
	if err != nil {
		return err
	}
	defer s.Close()

	runs, err := s.Runs()
	if err != nil {
		return err
	}
	writerActive := s.WriterActive()
	rows := make([]runSummary, 0, len(runs))
	for _, r := range runs {
		row, err := summarizeRun(s, r)
		if err != nil {
			return err
		}
		if row.Status == store.RunRunning && !writerActive {
			row.Status = runStatusKilled
		}
		rows = append(rows, row)
	}

	if opts.asJSON {
		return writeJSON(a.stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintf(a.stdout, "no runs in %s: start one with `nas search%s`\n", s.Path(), storeArg(s.Path()))
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN\tSTATUS\tTRIALS\tFAILED\tBEST\tREWARD\tSTRATEGY\tOBJECTIVE\tSPACE\tDATA\tSEED\tSTARTED\tTOOK")
	var killed []string
	for _, r := range rows {
		if r.Status == runStatusKilled {
			killed = append(killed, r.ID)
		}
		reward := "-"
		if r.BestReward != nil {
			reward = fmt.Sprintf("%.4f", *r.BestReward)
		}
		took := "-"
		if !r.Ended.IsZero() {
			took = r.Ended.Sub(r.Started).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n",
			r.ID, r.Status, r.Trials, r.Failed, orDash(r.BestTrial), reward, orDash(r.Strategy), orDash(r.Reward),
			r.Space, r.Dataset, r.Seed,
			r.Started.Local().Format("2006-01-02 15:04"), took)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, id := range killed {
		fmt.Fprintf(a.stdout, "\nrun %s is stored as running, but no process holds the store: continue it with `nas search --resume %s%s`\n", id, id, storeArg(s.Path()))
	}
	printRunNotes(a, rows)
	return nil
}

// printRunNotes prints, below the table, why each failed run failed and
// each change of a run's learning rate.
func printRunNotes(a *app, rows []runSummary) {
	for _, r := range rows {
		if r.Status == store.RunFailed && r.Error != "" {
			fmt.Fprintf(a.stdout, "\nrun %s failed: %s\n", r.ID, userMessage(r.Error))
		}
		for _, c := range r.LearningRateChanges {
			trials := "trials"
			if c.Trials == 1 {
				trials = "trial"
			}
			fmt.Fprintf(a.stdout, "\nrun %s: learning rate changed from %g to %g after %d %s, on %s\n",
				r.ID, c.From, c.To, c.Trials, trials, c.Time.Local().Format("2006-01-02 15:04"))
		}
	}
}

func summarizeRun(s *store.Store, r store.Run) (runSummary, error) {
	row := runSummary{
		ID: r.ID, Status: r.Status, Trials: r.Trials, Space: r.SpaceName, Dataset: r.Dataset,
		Seed: r.Seed, Started: r.Started, Ended: r.Ended, CodeVersion: r.CodeVersion, Error: r.Error,
	}
	// The settings are a searchOptions in JSON; a run whose settings do
	// not decode is still listed, without them.
	var settings searchOptions
	if json.Unmarshal(r.Config, &settings) == nil {
		row.Strategy, row.Reward, row.Budget = settings.Strategy, settings.Reward, settings.Budget
		row.LearningRate, row.LearningRateChanges = settings.LearningRate, settings.LearningRateChanges
	}
	trials, err := s.Trials(r.ID)
	if err != nil {
		return row, err
	}
	for _, t := range trials {
		if t.Status != store.TrialOK {
			row.Failed++
			continue
		}
		if row.BestReward == nil || t.Reward > *row.BestReward {
			reward := t.Reward
			row.BestReward = &reward
			row.BestTrial = t.ID()
		}
	}
	return row, nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
