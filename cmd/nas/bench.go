package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime"
	"time"

	"github.com/spf13/cobra"

	"nas/childnet"
	"nas/kernels"
	"nas/searchspace"
)

func init() { registerCommand(newBenchCmd) }

type benchOptions struct {
	archFile string
	batch    int
	threads  int
	steps    int
	seed     uint64
	asJSON   bool
}

// benchReport is the output of `nas bench --json`.
type benchReport struct {
	ArchID     string `json:"arch_id"`
	Batch      int    `json:"batch"`
	Threads    int    `json:"threads"`
	Steps      int    `json:"steps"`
	KernelPath string `json:"kernel_path"`
	// TrainStepMS is the mean wall time of one training step (forward,
	// backward and Nesterov SGD update), in milliseconds.
	TrainStepMS      float64 `json:"train_step_ms"`
	TrainImagesPerS  float64 `json:"train_images_per_s"`
	EvalImagesPerS   float64 `json:"eval_images_per_s"`
	HeapInUseBytes   uint64  `json:"heap_inuse_bytes"`
	Resolution       int     `json:"resolution"`
	TrainableWeights int     `json:"trainable_weights"`
}

// benchWarmupSteps are run before timing, to size the workspace and warm
// the caches.
const benchWarmupSteps = 3

func newBenchCmd(a *app) *cobra.Command {
	opts := benchOptions{batch: 64, steps: 20, seed: 1}
	cmd := &cobra.Command{
		Use:   "bench --arch FILE [--batch N] [--threads N] [--steps N] [--json]",
		Short: "Measure training and inference speed of an architecture on synthetic data",
		Long: `bench builds a standalone model of the architecture in FILE with fresh
weights, trains it on one batch of random images for --steps timed steps
(after 3 warm-up steps), then times as many inference passes, and reports
images per second for both. Nothing is read but the architecture file.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// The default of --threads depends on the machine, so it is
			// resolved here rather than shown as a number in the help.
			if !cmd.Flags().Changed("threads") {
				opts.threads = runtime.GOMAXPROCS(0)
			}
			if err := checkBenchFlags(opts); err != nil {
				return err
			}
			report, err := runBench(opts)
			if err != nil {
				return err
			}
			return printBench(a, opts, report)
		},
	}
	f := cmd.Flags()
	f.StringVar(&opts.archFile, "arch", "", "architecture JSON file (required)")
	f.IntVar(&opts.batch, "batch", opts.batch, "images per step")
	f.IntVar(&opts.threads, "threads", 0, "threads per kernel call (default GOMAXPROCS, the number of CPUs Go uses)")
	f.IntVar(&opts.steps, "steps", opts.steps, "timed training steps and inference passes")
	f.Uint64Var(&opts.seed, "seed", opts.seed, "seed of the weights and the synthetic batch")
	f.BoolVar(&opts.asJSON, "json", false, "print as JSON")
	return cmd
}

func checkBenchFlags(opts benchOptions) error {
	switch {
	case opts.archFile == "":
		return usageErrorf("give --arch FILE, an architecture JSON file (see 'nas bench --help')")
	case opts.batch < 1:
		return usageErrorf("invalid --batch %d: use 1 or more images", opts.batch)
	case opts.threads < 1:
		return usageErrorf("invalid --threads %d: use 1 or more", opts.threads)
	case opts.steps < 1:
		return usageErrorf("invalid --steps %d: use 1 or more", opts.steps)
	}
	return nil
}

func runBench(opts benchOptions) (benchReport, error) {
	data, err := os.ReadFile(opts.archFile)
	if err != nil {
		return benchReport{}, inputErrorf("read architecture: %w", err)
	}
	arch, err := searchspace.ParseArch(data)
	if err != nil {
		return benchReport{}, inputErrorf("%s: %w", opts.archFile, err)
	}
	if err := arch.Validate(); err != nil {
		return benchReport{}, inputErrorf("%s: %w", opts.archFile, err)
	}
	if err := checkModelMemory(arch, opts.batch, opts.archFile, "use a smaller resolution, width or --batch"); err != nil {
		return benchReport{}, err
	}
	model, err := childnet.NewModel(arch, opts.seed)
	if err != nil {
		return benchReport{}, inputErrorf("%s: %w", opts.archFile, err)
	}
	child, err := model.Bind(arch)
	if err != nil {
		return benchReport{}, inputErrorf("%s: %w", opts.archFile, err)
	}
	if err := model.SetOptimizer(childnet.DefaultOptimizerConfig()); err != nil {
		return benchReport{}, err
	}

	// A synthetic batch: standard normal pixels, uniform labels.
	rng := rand.New(rand.NewPCG(opts.seed, 0))
	in := arch.Input
	x := make([]float32, opts.batch*in.Height*in.Width*in.Channels)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, opts.batch)
	for i := range y {
		y[i] = int32(rng.IntN(arch.Classes))
	}

	previous := kernels.Threads()
	kernels.SetThreads(opts.threads)
	defer kernels.SetThreads(previous)
	worker := model.NewWorker(opts.batch)

	// Training steps.
	for range benchWarmupSteps {
		if _, err := worker.TrainStep(child, x, y, opts.batch, 0.01); err != nil {
			return benchReport{}, err
		}
	}
	start := time.Now()
	for range opts.steps {
		if _, err := worker.TrainStep(child, x, y, opts.batch, 0.01); err != nil {
			return benchReport{}, err
		}
	}
	train := time.Since(start)

	// Inference passes.
	batch := []childnet.Batch{{X: x, Y: y, N: opts.batch}}
	for range benchWarmupSteps {
		if _, err := worker.Evaluate(child, batch); err != nil {
			return benchReport{}, err
		}
	}
	start = time.Now()
	for range opts.steps {
		if _, err := worker.Evaluate(child, batch); err != nil {
			return benchReport{}, err
		}
	}
	eval := time.Since(start)

	var mem runtime.MemStats
	runtime.ReadMemStats(&mem)
	images := float64(opts.batch * opts.steps)
	return benchReport{
		ArchID:           arch.ID(),
		Batch:            opts.batch,
		Threads:          opts.threads,
		Steps:            opts.steps,
		KernelPath:       kernels.Path(),
		TrainStepMS:      train.Seconds() * 1e3 / float64(opts.steps),
		TrainImagesPerS:  images / train.Seconds(),
		EvalImagesPerS:   images / eval.Seconds(),
		HeapInUseBytes:   mem.HeapInuse,
		Resolution:       arch.Resolution,
		TrainableWeights: model.NumParams(),
	}, nil
}

func printBench(a *app, opts benchOptions, r benchReport) error {
	if opts.asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(a.stdout, "arch %s  batch %d  threads %d  steps %d  kernels %s\n", r.ArchID, r.Batch, r.Threads, r.Steps, r.KernelPath)
	fmt.Fprintf(a.stdout, "train  %8.1f images/s  (%.2f ms/step)\n", r.TrainImagesPerS, r.TrainStepMS)
	fmt.Fprintf(a.stdout, "eval   %8.1f images/s\n", r.EvalImagesPerS)
	return nil
}
