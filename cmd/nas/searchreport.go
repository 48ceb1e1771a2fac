package main

import (
	"fmt"

	"nas/runs"
	"nas/store"
)

// searchReport is the output of `nas search --json`, printed when the run
// ends, is interrupted or fails.
type searchReport struct {
	Run      string `json:"run"`
	Strategy string `json:"strategy"`
	// Status is the run's stored status: done, interrupted or failed.
	Status string `json:"status"`
	// Error is the failure of a failed run.
	Error string `json:"error,omitempty"`
	// Trials is the number of scored children stored for the run, and
	// Failed the number of those that failed.
	Trials  int `json:"trials"`
	Failed  int `json:"failed"`
	Batches int `json:"batches"`
	// Budget is --budget as given: a number of children or a duration.
	Budget string `json:"budget"`
	// ElapsedSeconds is the run's search time, including earlier processes
	// of a resumed run.
	ElapsedSeconds float64 `json:"elapsed_s"`
	// Best is the successful trial with the highest reward, or null.
	Best  *searchBest `json:"best"`
	Store string      `json:"store"`
}

// searchBest is the best child of a search, with the fields and names of
// `nas best --json`. Accuracy is the validation accuracy.
type searchBest struct {
	Trial     string  `json:"trial"`
	ArchID    string  `json:"arch_id"`
	Reward    float64 `json:"reward"`
	Accuracy  float64 `json:"accuracy"`
	LatencyMS float64 `json:"latency_ms"`
	Params    int64   `json:"params"`
	MACs      int64   `json:"macs"`
}

// printSearchJSON prints the searchReport of res, a run of the search that
// o configured, reading its status and failed trials from s.
func printSearchJSON(a *app, s *store.Store, res runs.Result, o searchOptions) error {
	run, err := s.Run(res.Run)
	if err != nil {
		return err
	}
	trials, err := s.Trials(res.Run)
	if err != nil {
		return err
	}
	report := searchReport{
		Run: res.Run, Strategy: o.Strategy, Status: run.Status, Error: run.Error,
		Trials: run.Trials, Batches: res.Batches, Budget: o.Budget,
		ElapsedSeconds: res.Elapsed.Seconds(), Store: s.Path(),
	}
	for _, t := range trials {
		if t.Status != store.TrialOK {
			report.Failed++
		}
	}
	if b := res.Best; b != nil {
		report.Best = &searchBest{Trial: b.ID(), ArchID: b.ArchID, Reward: b.Reward, Accuracy: b.Accuracy,
			LatencyMS: b.LatencyMS, Params: b.Params, MACs: b.MACs}
	}
	return writeJSON(a.stdout, report)
}

func printSearchResult(a *app, path string, res runs.Result) {
	w := a.stdout
	fmt.Fprintf(w, "run %s: %s in %s, stored in %s\n", res.Run, countNoun(res.Trials, "trial", "trials"), countNoun(res.Batches, "batch", "batches"), path)
	if res.Best != nil {
		b := res.Best
		fmt.Fprintf(w, "best: trial %s, arch %s, reward %.4f, validation accuracy %.4f, latency %.3f ms, %d params, %.2fM MACs\n",
			b.ID(), b.ArchID, b.Reward, b.Accuracy, b.LatencyMS, b.Params, float64(b.MACs)/1e6)
	}
	storeFlag := storeArg(path)
	fmt.Fprintf(w, "\nnext:\n  nas best --run %s%s\n", res.Run, storeFlag)
	if res.Best != nil {
		fmt.Fprintf(w, "  nas show %s%s\n  nas replay %s%s\n", res.Best.ID(), storeFlag, res.Best.ID(), storeFlag)
	}
}

// countNoun returns n and a noun, singular when n is 1 and plural
// otherwise: "1 trial", "2 trials".
func countNoun(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return fmt.Sprintf("%d %s", n, plural)
}
