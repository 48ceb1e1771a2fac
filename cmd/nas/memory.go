package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"nas/childnet"
	"nas/searchspace"
)

// machineMemoryBytes returns MemTotal from /proc/meminfo, or 0 where it
// cannot be read, such as on systems other than Linux.
func machineMemoryBytes() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		fields := strings.Fields(scanner.Text())
		if len(fields) == 3 && fields[0] == "MemTotal:" && fields[2] == "kB" {
			kib, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kib * 1024
		}
	}
	return 0
}

// formatBytes formats a byte count for messages, in MiB below 1 GiB and in
// GiB from there on.
func formatBytes[T int64 | uint64](bytes T) string {
	if bytes < 1<<30 {
		return fmt.Sprintf("%.1f MiB", float64(bytes)/(1<<20))
	}
	return fmt.Sprintf("%.1f GiB", float64(bytes)/(1<<30))
}

// inputBatchBytes returns the bytes of one batch of batch images of shape
// in as float32, the batch a caller fills before each training step.
func inputBatchBytes(in searchspace.Shape, batch int) int64 {
	return 4 * int64(batch) * int64(in.Height) * int64(in.Width) * int64(in.Channels)
}

// checkModelMemory returns an input error when training arch as a
// standalone model at batch size batch, with one input batch, is estimated
// to need more than the machine's memory. A command then fails before it
// allocates instead of dying in the Go runtime. subject names arch in the
// message, and fix is the change the message suggests.
func checkModelMemory(arch searchspace.Arch, batch int, subject, fix string) error {
	total := machineMemoryBytes()
	if total == 0 {
		return nil
	}
	est, err := childnet.ModelTrainingMemory(arch, batch, childnet.DefaultOptimizerConfig())
	if err != nil {
		return inputErrorf("%s: %w", subject, err)
	}
	need := est.Total(1) + inputBatchBytes(arch.Input, batch)
	if need > int64(total) {
		return inputErrorf("%s: training at resolution %d and batch size %d needs an estimated %s, more than this machine's %s of memory: %s",
			subject, arch.Resolution, batch, formatBytes(need), formatBytes(total), fix)
	}
	return nil
}

// checkSearchMemory returns an input error when a search of space with
// workers workers at batch size batch is estimated to need more than the
// machine's memory. The estimate counts the supernet and its optimizer
// state once. Per worker it counts the gradients, the workspace of the
// widest child and one input batch. The data set is not counted.
func checkSearchMemory(space searchspace.Space, batch, workers int) error {
	total := machineMemoryBytes()
	if total == 0 {
		return nil
	}
	est, err := childnet.SupernetTrainingMemory(space, batch, childnet.DefaultOptimizerConfig())
	if err != nil {
		return badInput(err)
	}
	perWorker := est.Gradients + est.Workspace + inputBatchBytes(space.Input, batch)
	need := est.Weights + est.Optimizer + int64(workers)*perWorker
	if need > int64(total) {
		return inputErrorf("a search of space %s with --workers %d at --batch-size %d needs an estimated %s (%s for the supernet, %s per worker), more than this machine's %s of memory: use a smaller --batch-size or fewer --workers",
			space.Name, workers, batch, formatBytes(need), formatBytes(est.Weights+est.Optimizer), formatBytes(perWorker), formatBytes(total))
	}
	return nil
}
