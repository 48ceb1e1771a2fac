package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"nas/childnet"
	"nas/dataset"
	"nas/latency"
	"nas/searchspace"
	"nas/store"
)

func init() { registerCommand(newReplayCmd) }

type replayOptions struct {
	store       string
	epochs      int
	out         string
	batchSize   int
	lr          float64
	seed        uint64
	trainImages int
	testImages  int
	asJSON      bool
}

func newReplayCmd(a *app) *cobra.Command {
	defaults := childnet.DefaultTrainConfig()
	opts := replayOptions{epochs: defaults.Epochs, batchSize: defaults.BatchSize, lr: defaults.LR}
	cmd := &cobra.Command{
		Use:   "replay TRIAL",
		Short: "Retrain one child from scratch and evaluate it on the test split",
		Long: `replay retrains the child of TRIAL from freshly initialised weights (not the
supernet's) on the full training split of the run's data, with a cosine
learning-rate schedule and light augmentation, and evaluates it on the test
split. It seeds the weights and the data order with the run's seed unless
--seed is given. The weights are written as safetensors to --out and the
architecture as JSON beside them (FILE with .arch.json in place of
.safetensors), then the result is stored with the trial. An existing --out,
and a store that another nas process writes or that cannot be written, are
rejected before training; without --out the first free name of
RUN-SEQ.safetensors, RUN-SEQ-2.safetensors, ... is used. If the store fails
after training all the same, the error names the files and the test
accuracy.

TRIAL is RUN/SEQ, such as r3/17 or 3/17, or SEQ alone for the newest run.`,
		Args: exactArgs("TRIAL"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			return replayTrial(cmd.Context(), a, opts, args[0], cmd.Flags().Changed("seed"))
		},
	}
	f := cmd.Flags()
	f.IntVar(&opts.epochs, "epochs", opts.epochs, "training epochs")
	f.StringVar(&opts.out, "out", "", "new weights file (default the first free RUN-SEQ[-N].safetensors in the current directory)")
	f.IntVar(&opts.batchSize, "batch-size", opts.batchSize, "training batch size")
	f.Float64Var(&opts.lr, "lr", opts.lr, fmt.Sprintf("peak learning rate of the cosine schedule, at most %d", maxLearningRate))
	f.Uint64Var(&opts.seed, "seed", 0, "seed of the weights, data order and augmentation (default the run's seed)")
	f.IntVar(&opts.trainImages, "train-images", 0, "train on the first N training images only, for a quick check (0: all)")
	f.IntVar(&opts.testImages, "test-images", 0, "evaluate on the first N test images only, for a quick check (0: all)")
	f.BoolVar(&opts.asJSON, "json", false, "print the result as JSON")
	addStoreFlag(cmd, &opts.store)
	return cmd
}

func (o replayOptions) check() error {
	if err := checkLearningRate(o.lr, childnet.DefaultTrainConfig().LR); err != nil {
		return err
	}
	switch {
	case o.epochs < 1:
		return usageErrorf("invalid --epochs %d: use 1 or more", o.epochs)
	case o.batchSize < 1:
		return usageErrorf("invalid --batch-size %d: use 1 or more", o.batchSize)
	case o.trainImages < 0 || o.testImages < 0:
		return usageErrorf("invalid --train-images %d or --test-images %d: use a positive number, or 0 for all", o.trainImages, o.testImages)
	case o.out != "" && !strings.HasSuffix(o.out, ".safetensors"):
		return usageErrorf("invalid --out %q: name the weights file FILE.safetensors", o.out)
	}
	return nil
}

// replayReport is the output of `nas replay --json`: the stored replay.
type replayReport = store.Replay

func replayTrial(ctx context.Context, a *app, opts replayOptions, id string, seedSet bool) error {
	// Read the trial and its run, then release the store while training.
	path := storePath(opts.store)
	s, err := openStoreForRead(path)
	if err != nil {
		return err
	}
	t, arch, err := loadTrial(s, id)
	if err != nil {
		s.Close()
		return err
	}
	run, err := s.Run(t.Run)
	s.Close()
	if err != nil {
		return lookupError(err)
	}
	if arch == nil {
		return inputErrorf("trial %s has no architecture because its tokens did not decode (%s): pick another with `nas best --run %s%s`", t.ID(), t.Error, t.Run, storeArg(path))
	}
	if err := checkReplayMemory(*arch, t.ID(), opts.batchSize); err != nil {
		return err
	}
	seed := run.Seed
	if seedSet {
		seed = opts.seed
	}

	// Decide the output files before training, so that a bad --out fails
	// in a second rather than after the training.
	weights, archFile, err := replayOutputs(opts.out, t.ID())
	if err != nil {
		return err
	}

	// Check that the result can be recorded before training, so that a
	// store that another process writes, or that cannot be written, fails
	// in a second rather than after the training.
	if err := checkStoreWritable(path); err != nil {
		return err
	}

	// Load the run's data.
	ds, err := dataset.Load(run.Dataset)
	if err != nil {
		return inputErrorf("data %s of run %s: %w", run.Dataset, run.ID, err)
	}
	train, test := ds.Train, ds.Test
	if opts.trainImages > 0 && opts.trainImages < train.Len() {
		train = train.Subset(opts.trainImages)
	}
	if opts.testImages > 0 && opts.testImages < test.Len() {
		test = test.Subset(opts.testImages)
	}
	// Training drops each epoch's last partial batch, so it needs at least
	// one whole batch.
	if train.Len() < opts.batchSize {
		source := "data " + run.Dataset
		if train.Len() < ds.Train.Len() {
			source = fmt.Sprintf("--train-images %d", train.Len())
		}
		return inputErrorf("invalid --batch-size %d: it is larger than the %d training images of %s, and training drops each epoch's last partial batch; use a --batch-size of at most %d",
			opts.batchSize, train.Len(), source, train.Len())
	}

	// Train and evaluate.
	cfg := childnet.TrainConfig{Epochs: opts.epochs, BatchSize: opts.batchSize, LR: opts.lr, Seed: seed}
	a.logger.Info("replay", "trial", t.ID(), "arch", t.ArchID, "epochs", opts.epochs, "train_images", train.Len(), "test_images", test.Len(), "seed", seed)
	res, err := trainChild(ctx, *arch, train, test, cfg, a.logger, nil)
	if errors.Is(err, childnet.ErrDiverged) && ctx.Err() == nil {
		return fmt.Errorf("replay of %s: %w, so nothing was stored or written: replay again with a lower --lr, such as %g",
			t.ID(), err, opts.lr/10)
	}
	if err != nil && ctx.Err() == nil {
		return fmt.Errorf("replay of %s at --lr %g: %w", t.ID(), opts.lr, err)
	}
	if err != nil {
		return err
	}
	if err := checkReplayFinite(res, t.ID(), opts.lr); err != nil {
		return err
	}
	measured, err := latency.Measure(ctx, *arch, latency.MeasureOptions{Seed: seed})
	if err != nil {
		return err
	}
	latencyMS := measured.MedianMs
	cost, err := searchspace.Cost(*arch)
	if err != nil {
		return err
	}

	// Write the weights and the architecture, then record the result with
	// the trial. A store that fails now loses neither the files nor the
	// accuracy, since the error names them.
	r := store.Replay{
		Trial: t.ID(), Epochs: opts.epochs, Seed: seed,
		TrainImages: train.Len(), TestImages: test.Len(), TrainSplitImages: ds.Train.Len(), TestSplitImages: ds.Test.Len(),
		TestAccuracy: res.TestAccuracy, TestLoss: res.TestLoss,
		Params: cost.Params, MACs: cost.MACs, LatencyMS: latencyMS, WallSeconds: res.Wall.Seconds(),
		Weights: weights, ArchFile: archFile, CodeVersion: codeVersion(), Time: time.Now().UTC(),
	}
	cfgJSON, _ := json.Marshal(cfg)
	meta := map[string]string{"trial": t.ID(), "train_config": string(cfgJSON), "dataset": run.Dataset}
	if err := writeReplayFiles(&r, *arch, func(f *os.File) error { return res.Child.SaveWeights(f, meta) }); err != nil {
		return replayFileError(err, r, path, recordReplay(path, r))
	}
	if err := recordReplay(path, r); err != nil {
		return fmt.Errorf("record the replay of %s in the store: %w; the replay itself succeeded: test accuracy %.4f on %d images, weights in %s, architecture in %s",
			t.ID(), err, r.TestAccuracy, r.TestImages, r.Weights, r.ArchFile)
	}

	if opts.asJSON {
		return writeJSON(a.stdout, replayReport(r))
	}
	fmt.Fprintf(a.stdout, "trial %s (arch %s) retrained for %d epochs on %d images in %s\n",
		t.ID(), t.ArchID, opts.epochs, train.Len(), res.Wall.Round(time.Second))
	fmt.Fprintf(a.stdout, "test accuracy  %.4f on %d images (loss %.4f)\n", res.TestAccuracy, test.Len(), res.TestLoss)
	fmt.Fprintf(a.stdout, "params         %d\n", cost.Params)
	fmt.Fprintf(a.stdout, "MACs           %d\n", cost.MACs)
	fmt.Fprintf(a.stdout, "latency        %.3f ms (batch 1, one thread)\n", latencyMS)
	fmt.Fprintf(a.stdout, "weights        %s\narchitecture   %s\n", weights, archFile)
	return nil
}

// errReplayDiverged is wrapped by the error of a replay whose training
// ended with a NaN or infinite loss or weight.
var errReplayDiverged = errors.New("training diverged")

// checkReplayFinite returns an error wrapping errReplayDiverged when the
// replay of trial at learning rate lr ended with a non-finite loss or
// weight, which usually means that the rate is too high.
func checkReplayFinite(res childnet.TrainResult, trial string, lr float64) error {
	var found string
	switch {
	case !isFinite(res.TrainLoss):
		found = fmt.Sprintf("the training loss of the last epoch is %v", res.TrainLoss)
	case !isFinite(res.TestLoss):
		found = fmt.Sprintf("the test loss is %v", res.TestLoss)
	case res.Model != nil && res.Model.FirstNonFinite() != "":
		found = fmt.Sprintf("tensor %s holds a NaN or infinite value", res.Model.FirstNonFinite())
	default:
		return nil
	}
	return fmt.Errorf("replay of %s: %w at --lr %g: %s, so nothing was stored or written: replay again with a lower --lr, such as %g",
		trial, errReplayDiverged, lr, found, lr/10)
}

// isFinite reports whether v is neither NaN nor infinite.
func isFinite(v float64) bool {
	return !math.IsNaN(v) && !math.IsInf(v, 0)
}

// checkStoreWritable returns the error of opening the store at path for
// writing, and nil when that works. It releases the store at once.
func checkStoreWritable(path string) error {
	s, err := openStoreForWrite(path)
	if err != nil {
		return err
	}
	return s.Close()
}

// recordReplay adds r to the store at path.
func recordReplay(path string, r store.Replay) error {
	s, err := openStoreForWrite(path)
	if err != nil {
		return err
	}
	err = s.AddReplay(r)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeReplayFiles writes the weights file r.Weights through saveWeights,
// then the architecture file r.ArchFile. It clears the name of each file
// it did not write, so that r records only files that exist.
func writeReplayFiles(r *store.Replay, arch searchspace.Arch, saveWeights func(*os.File) error) error {
	if err := writeReplayFile(r.Weights, saveWeights); err != nil {
		r.Weights, r.ArchFile = "", ""
		return err
	}
	archJSON, _ := json.MarshalIndent(arch, "", "  ")
	if err := writeReplayFile(r.ArchFile, func(f *os.File) error {
		_, err := f.Write(append(archJSON, '\n'))
		return err
	}); err != nil {
		r.ArchFile = ""
		return err
	}
	return nil
}

// replayFileError returns the error of a replay whose output file failed
// to write (writeErr), after r, which names only the files written, was
// recorded in the store at path with the error recordErr.
func replayFileError(writeErr error, r store.Replay, path string, recordErr error) error {
	kept := fmt.Sprintf("test accuracy %.4f on %d images", r.TestAccuracy, r.TestImages)
	if r.Weights != "" {
		kept += ", weights in " + r.Weights
	}
	if recordErr != nil {
		return fmt.Errorf("%w, and recording the replay of %s in the store failed too: %w; the replay's %s", writeErr, r.Trial, recordErr, kept)
	}
	return fmt.Errorf("%w; the replay result is stored (%s), see `nas show %s%s`", writeErr, kept, r.Trial, storeArg(path))
}

// checkReplayMemory rejects a replay of arch, the architecture of trial,
// whose training is estimated not to fit in memory. childnet.Train sizes
// its worker for the larger of the training and the evaluation batch.
func checkReplayMemory(arch searchspace.Arch, trial string, batchSize int) error {
	evalBatch := childnet.DefaultTrainConfig().EvalBatch
	fix := "use a smaller --batch-size"
	if batchSize <= evalBatch {
		fix = fmt.Sprintf("the test evaluation alone runs at batch size %d, so replay a smaller architecture", evalBatch)
	}
	return checkModelMemory(arch, max(batchSize, evalBatch), "trial "+trial, fix)
}

// replayOutputs returns the weights and architecture files of a replay of
// trial. An explicit out must be in a writable folder and neither file may
// exist yet. Without out, the first free name of RUN-SEQ, RUN-SEQ-2, ... in
// the current directory is used.
func replayOutputs(out, trial string) (weights, archFile string, err error) {
	if out != "" {
		weights, archFile = out, archFileFor(out)
		if err := checkWritableDir(filepath.Dir(weights), "--out "+weights); err != nil {
			return "", "", err
		}
		for _, path := range []string{weights, archFile} {
			if _, err := os.Lstat(path); err == nil {
				return "", "", inputErrorf("invalid --out %s: %s already exists; pass another path or remove the file", weights, path)
			} else if !errors.Is(err, fs.ErrNotExist) {
				return "", "", inputErrorf("invalid --out %s: %w", weights, err)
			}
		}
		return weights, archFile, nil
	}

	if err := checkWritableDir(".", "the current directory (set --out to write elsewhere)"); err != nil {
		return "", "", err
	}
	base := strings.ReplaceAll(trial, "/", "-")
	for n := 1; ; n++ {
		name := base
		if n > 1 {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		weights, archFile = name+".safetensors", name+".arch.json"
		if !pathExists(weights) && !pathExists(archFile) {
			return weights, archFile, nil
		}
	}
}

// archFileFor returns the architecture file beside a weights file.
func archFileFor(weights string) string {
	return strings.TrimSuffix(weights, ".safetensors") + ".arch.json"
}

// pathExists reports whether anything, even a dangling link, is at path.
func pathExists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// checkWritableDir checks that dir is a folder a new file can be created
// in, by creating and removing a temporary file. The errors name dir as
// subject, such as "--out FILE".
func checkWritableDir(dir, subject string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return inputErrorf("invalid %s: folder %s: %w; create the folder or pass another path", subject, dir, err)
	}
	if !st.IsDir() {
		return inputErrorf("invalid %s: %s is not a folder; pass a path in an existing folder", subject, dir)
	}
	f, err := os.CreateTemp(dir, ".nas-write-check-*")
	if err != nil {
		return inputErrorf("invalid %s: folder %s is not writable (%w); pass a path in a writable folder", subject, dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// trainChild trains the child of a replay. Tests replace it to make the
// training diverge.
var trainChild = childnet.Train

// writeReplayFile writes the replay's output files. Tests replace it to
// make a write fail after training.
var writeReplayFile = writeNewFile

// writeNewFile writes a file through write: to a temporary file in the same
// folder, made readable by all (0644) and then renamed, so that a failure
// leaves no partial file at path. It fails rather than replace a file that
// appeared at path since replayOutputs chose it.
func writeNewFile(path string, write func(*os.File) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// NOTE: the check and the rename are two steps, so a file created at
	// path between them is still replaced.
	if pathExists(path) {
		return fmt.Errorf("write %s: the file appeared during the replay; it was left as it is", path)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
