package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"nas/latency"
	"nas/searchspace"
)

func init() { registerCommand(newLatencyCmd) }

// latencyOptions are the flags of the latency subcommands. Each
// subcommand registers and reads only some of them.
type latencyOptions struct {
	space     spaceOptions
	storePath string
	threads   int
	runs      int
	clock     string
	samples   int
	seed      uint64
	calibrate int
	machine   string // machine id of the table, or empty for the one saved last
	asJSON    bool
}

func newLatencyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "latency",
		Short: "Build, check, export and import latency lookup tables",
		Long: `latency measures the inference latency at batch 1 of every layer
configuration a search space can produce, on this machine, and keeps the
table in the store. A child's predicted latency is the calibrated sum of
its entries; "validate" compares predictions with end-to-end measurements,
and "export" and "import" move a table measured on a target device to the
machine that runs the search.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newLatencyProfileCmd(a), newLatencyValidateCmd(a), newLatencyExportCmd(a), newLatencyImportCmd(a))
	return cmd
}

func addMeasureFlags(cmd *cobra.Command, opts *latencyOptions) {
	f := cmd.Flags()
	f.IntVar(&opts.runs, "runs", latency.DefaultRuns, "timed runs per measurement, after 3 warm-up runs")
	f.Uint64Var(&opts.seed, "seed", 1, "seed of the weights, the inputs and the sampled children")
	f.BoolVar(&opts.asJSON, "json", false, "print as JSON")
}

// latencyProfileReport is the output of `nas latency profile --json`.
type latencyProfileReport struct {
	Store              string  `json:"store"`
	Space              string  `json:"space"`
	SpaceHash          string  `json:"space_hash"`
	MachineID          string  `json:"machine_id"`
	Machine            string  `json:"machine"`
	Clock              string  `json:"clock"`
	Entries            int     `json:"entries"`
	Noisy              int     `json:"noisy"`
	OverheadMs         float64 `json:"overhead_ms"`
	Scale              float64 `json:"scale"`
	CalibrationSamples int     `json:"calibration_samples"`
	Seconds            float64 `json:"seconds"`
}

func newLatencyProfileCmd(a *app) *cobra.Command {
	opts := latencyOptions{threads: latency.DefaultThreads}
	cmd := &cobra.Command{
		Use:   "profile [--space NAME|FILE] [--store PATH] [--threads N] [--json]",
		Short: "Measure every layer configuration of a space and store the table",
		Long: `profile times, at batch 1, every layer configuration (stem, block,
head conv, classifier) that the space can produce at each width and
resolution multiplier, each alone with the kernels of the eval-mode
forward pass. A child's predicted latency is the sum of its entries; with
--calibrate N, profile also measures N sampled children end to end and
fits overhead + scale × sum to them. The table is stored per space and
machine, and searches and "validate" on the same space use the table
stored last. A measurement whose coefficient of variation stays above 0.1
after 3 attempts is kept and counted as noisy.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLatencyProfile(cmd.Context(), a, opts)
		},
	}
	addSpaceFlags(cmd, &opts.space)
	addStoreFlag(cmd, &opts.storePath)
	cmd.Flags().IntVar(&opts.threads, "threads", opts.threads, "kernel threads during the measurement")
	cmd.Flags().IntVar(&opts.calibrate, "calibrate", 0, "children to measure end to end and fit overhead + scale × sum to (0: predict the plain sum)")
	cmd.Flags().StringVar(&opts.clock, "clock", "", "clock: thread-cpu (CPU time of the measuring thread, needs 1 thread, Linux only) or wall (default: thread-cpu at 1 thread on Linux, else wall)")
	addMeasureFlags(cmd, &opts)
	return cmd
}

// maxLatencyCount bounds --runs, --samples and --calibrate, which each
// allocate per count: 10,000 timings of one layer, or 10,000 children
// measured end to end, are far more than a stable median or a fit needs.
const maxLatencyCount = 10_000

func measureOptions(opts latencyOptions) (latency.MeasureOptions, error) {
	if opts.threads < 1 {
		return latency.MeasureOptions{}, usageErrorf("invalid --threads %d: use 1 or more", opts.threads)
	}
	if opts.runs < 1 || opts.runs > maxLatencyCount {
		return latency.MeasureOptions{}, usageErrorf("invalid --runs %d: use 1 to %d", opts.runs, maxLatencyCount)
	}
	switch opts.clock {
	case "", latency.ClockWall, latency.ClockThreadCPU:
	default:
		return latency.MeasureOptions{}, usageErrorf("invalid --clock %q: use %s or %s", opts.clock, latency.ClockThreadCPU, latency.ClockWall)
	}
	if opts.clock == latency.ClockThreadCPU && opts.threads != 1 {
		return latency.MeasureOptions{}, usageErrorf("--clock %s needs --threads 1, because it does not count work on other threads; use --clock %s", latency.ClockThreadCPU, latency.ClockWall)
	}
	return latency.MeasureOptions{Threads: opts.threads, Runs: opts.runs, Clock: opts.clock, Seed: opts.seed}, nil
}

func runLatencyProfile(ctx context.Context, a *app, opts latencyOptions) error {
	measure, err := measureOptions(opts)
	if err != nil {
		return err
	}
	if opts.calibrate != 0 && (opts.calibrate < 3 || opts.calibrate > maxLatencyCount) {
		return usageErrorf("invalid --calibrate %d: use 0 for none, or 3 to %d children for a fit of overhead and scale", opts.calibrate, maxLatencyCount)
	}
	space, err := resolveSpace(opts.space)
	if err != nil {
		return err
	}
	st, err := openStoreForWrite(storePath(opts.storePath))
	if err != nil {
		return err
	}
	defer st.Close()

	keys, err := latency.SpaceKeys(space)
	if err != nil {
		return err
	}
	bar := newLatencyBar(a, len(keys)+opts.calibrate, "entries")
	a.logger.Info("profiling latency", "space", space.Name, "entries", len(keys), "threads", opts.threads)
	start := time.Now()
	table, err := latency.Profile(ctx, space, latency.ProfileOptions{Measure: measure, CalibrationSamples: opts.calibrate,
		Seed: opts.seed, Logger: a.logger, Progress: bar.set})
	bar.finish()
	if errors.Is(err, context.Canceled) {
		return reportInterrupted(a, "latency profile interrupted: nothing was stored", err)
	}
	if err != nil {
		return err
	}
	if err := latency.Save(st, table); err != nil {
		return err
	}

	noisy := 0
	for _, e := range table.Entries {
		if e.Noisy {
			noisy++
		}
	}
	report := latencyProfileReport{
		Store: st.Path(), Space: table.Space, SpaceHash: table.SpaceHash,
		MachineID: table.Machine.ID(), Machine: table.Machine.String(), Clock: table.Clock,
		Entries: len(table.Entries), Noisy: noisy,
		OverheadMs: table.OverheadMs, Scale: table.Scale, CalibrationSamples: table.CalibrationSamples,
		Seconds: time.Since(start).Seconds(),
	}
	if opts.asJSON {
		return writeJSON(a.stdout, report)
	}
	w := a.stdout
	fmt.Fprintf(w, "profiled %d entries of space %s (%s) in %.1f s; %d noisy (CV above %.2f after every attempt)\n",
		report.Entries, report.Space, report.SpaceHash, report.Seconds, noisy, latency.DefaultMaxCV)
	if report.CalibrationSamples > 0 {
		fmt.Fprintf(w, "prediction: %.4f ms + %.3f × sum of entries, fitted on %d children measured end to end\n",
			report.OverheadMs, report.Scale, report.CalibrationSamples)
	} else {
		fmt.Fprintln(w, "prediction: sum of entries, uncalibrated")
	}
	fmt.Fprintf(w, "machine %s: %s, %s clock\n", report.MachineID, report.Machine, report.Clock)
	fmt.Fprintf(w, "stored in %s; check it with `nas latency validate%s%s`\n", report.Store, spaceArgs(opts.space), storeArg(report.Store))
	return nil
}

func newLatencyValidateCmd(a *app) *cobra.Command {
	opts := latencyOptions{samples: 30}
	cmd := &cobra.Command{
		Use:   "validate [--space NAME|FILE] [--samples N] [--seed S] [--json]",
		Short: "Compare a table's predictions with end-to-end measurements",
		Long: `validate samples children of the space uniformly, predicts their latency
with the stored table, measures each end to end on this machine with the
table's thread count and clock, and prints the Spearman rank correlation
and the mean relative error |predicted − measured| / measured. A table
measured on another machine is compared with this one's timings, and a
warning says so.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLatencyValidate(cmd.Context(), a, opts)
		},
	}
	addSpaceFlags(cmd, &opts.space)
	addStoreFlag(cmd, &opts.storePath)
	cmd.Flags().IntVar(&opts.samples, "samples", opts.samples, "number of children to sample and measure")
	cmd.Flags().StringVar(&opts.machine, "machine", "", "machine id of the table (default: the table stored last for the space)")
	addMeasureFlags(cmd, &opts)
	return cmd
}

func runLatencyValidate(ctx context.Context, a *app, opts latencyOptions) error {
	if opts.samples < 2 || opts.samples > maxLatencyCount {
		return usageErrorf("invalid --samples %d: use 2 to %d, since a rank correlation needs two points", opts.samples, maxLatencyCount)
	}
	space, err := resolveSpace(opts.space)
	if err != nil {
		return err
	}
	table, err := loadLatencyTable(opts, space)
	if err != nil {
		return err
	}
	opts.threads, opts.clock = table.Machine.Threads, table.Clock
	measure, err := measureOptions(opts)
	if err != nil {
		return err
	}
	if here := latency.ThisMachine(table.Machine.Threads); here.ID() != table.Machine.ID() {
		a.logger.Warn("the table was measured on another machine; comparing it with this one's timings",
			"table_machine", table.Machine.ID(), "table_machine_description", table.Machine.String(), "this_machine", here.ID())
	}

	bar := newLatencyBar(a, opts.samples, "children")
	rng := rand.New(rand.NewPCG(opts.seed, 0))
	v, err := latency.Validate(ctx, table, space, opts.samples, rng, measure, bar.set)
	bar.finish()
	if errors.Is(err, context.Canceled) {
		return reportInterrupted(a, "latency validation interrupted: nothing was stored", err)
	}
	if err != nil {
		return err
	}
	if opts.asJSON {
		return writeJSON(a.stdout, v)
	}
	fmt.Fprintf(a.stdout, "%d children of space %s, table of machine %s (%s clock, %d threads)\n",
		v.Samples, space.Name, table.Machine.ID(), table.Clock, table.Machine.Threads)
	fmt.Fprintf(a.stdout, "spearman %.4f, mean relative error %.2f%% (uncalibrated sum %.2f%%), %d noisy measurements\n",
		v.Spearman, 100*v.MeanRelError, 100*v.MeanRelErrorUncalibrated, v.Noisy)
	return nil
}

// loadLatencyTable opens the store read-only and loads the table of space:
// the one stored last, or the one of --machine.
func loadLatencyTable(opts latencyOptions, space searchspace.Space) (*latency.Table, error) {
	st, err := openStoreForRead(storePath(opts.storePath))
	if err != nil {
		return nil, err
	}
	defer st.Close()
	var table *latency.Table
	if opts.machine == "" {
		table, err = latency.Load(st, space)
	} else {
		table, err = latency.LoadFor(st, space, opts.machine)
	}
	if errors.Is(err, latency.ErrNoTable) || errors.Is(err, latency.ErrMissingEntry) || errors.Is(err, latency.ErrSpaceMismatch) {
		return nil, badInput(err)
	}
	return table, err
}

func newLatencyExportCmd(a *app) *cobra.Command {
	var opts latencyOptions
	cmd := &cobra.Command{
		Use:   "export FILE [--space NAME|FILE] [--store PATH] [--machine ID]",
		Short: "Write a stored latency table as JSON",
		Long: `export writes the latency table of the space as JSON to FILE, or to stdout
when FILE is -. The JSON holds the machine description, the space name and
hash, the date, the calibration and every entry with its run count, median,
mean and variance in milliseconds.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			space, err := resolveSpace(opts.space)
			if err != nil {
				return err
			}
			table, err := loadLatencyTable(opts, space)
			if err != nil {
				return err
			}
			data, err := table.Encode()
			if err != nil {
				return err
			}
			if args[0] == "-" {
				_, err = a.stdout.Write(data)
				return err
			}
			if err := os.WriteFile(args[0], data, 0o644); err != nil {
				return fmt.Errorf("write latency table: %w", err)
			}
			fmt.Fprintf(a.stderr, "wrote the table of space %s, machine %s (%d entries) to %s\n", table.Space, table.Machine.ID(), len(table.Entries), args[0])
			return nil
		},
	}
	addSpaceFlags(cmd, &opts.space)
	addStoreFlag(cmd, &opts.storePath)
	cmd.Flags().StringVar(&opts.machine, "machine", "", "machine id of the table (default: the table stored last for the space)")
	return cmd
}

func newLatencyImportCmd(a *app) *cobra.Command {
	var opts latencyOptions
	cmd := &cobra.Command{
		Use:   "import FILE [--space NAME|FILE] [--store PATH]",
		Short: "Store a latency table from a JSON file",
		Long: `import reads a table that "export" wrote, possibly on another machine,
checks it against the space (the same space, input and classes, and an
entry for every layer configuration), stores it under its own machine, and
makes it the table that searches and "validate" use for the space.`,
		Args: exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := readInput(args[0])
			if err != nil {
				return inputErrorf("read latency table: %w", err)
			}
			table, err := latency.Decode(data)
			if err != nil {
				return inputErrorf("%s: %w", args[0], err)
			}
			space, err := resolveSpace(opts.space)
			if err != nil {
				return err
			}
			if err := table.CheckSpace(space); err != nil {
				return inputErrorf("%s: %w", args[0], err)
			}
			st, err := openStoreForWrite(storePath(opts.storePath))
			if err != nil {
				return err
			}
			defer st.Close()
			if err := latency.Save(st, table); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "imported %s: %s\n", args[0], table.Summary())
			fmt.Fprintf(a.stdout, "searches on space %s in %s now use it; check it with `nas latency validate%s%s`\n",
				space.Name, st.Path(), spaceArgs(opts.space), storeArg(st.Path()))
			return nil
		},
	}
	addSpaceFlags(cmd, &opts.space)
	addStoreFlag(cmd, &opts.storePath)
	return cmd
}

// readInput reads path, or stdin when path is -.
func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// latencyBar is a progress bar on stderr. Its bar is nil, and it prints
// nothing, when stderr is not a terminal.
type latencyBar struct{ bar *progressbar.ProgressBar }

func newLatencyBar(a *app, total int, what string) *latencyBar {
	f, ok := a.stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &latencyBar{}
	}
	return &latencyBar{bar: progressbar.NewOptions(total, progressbar.OptionSetWriter(a.stderr),
		progressbar.OptionSetDescription(what), progressbar.OptionShowCount(), progressbar.OptionClearOnFinish())}
}

func (b *latencyBar) set(done, total int) {
	if b.bar == nil {
		return
	}
	b.bar.ChangeMax(total)
	_ = b.bar.Set(done)
}

func (b *latencyBar) finish() {
	if b.bar != nil {
		_ = b.bar.Finish()
	}
}

// reportInterrupted prints message, one line saying what was interrupted
// and what was stored, in place of the error chain of a canceled context.
// The returned error exits with code 130 and is not printed again.
func reportInterrupted(a *app, message string, err error) error {
	fmt.Fprintln(a.stderr, message)
	return fmt.Errorf("%w: %w", errSilent, err)
}
