package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"

	"nas/searchspace"
)

// estimateTrainBytes estimates the memory of a training step of arch at
// the given batch size. From the layer shapes of searchspace.Cost it sizes
// the workspace the way childnet carves it: two buffers per layer output,
// three gradient buffers of the largest map, and the resized input. It adds
// the synthetic batch and three copies of the weights (values, gradients
// and momentum). Allocator overhead and kernel scratch are not counted.
func estimateTrainBytes(arch searchspace.Arch, batch int) (float64, error) {
	cost, err := searchspace.Cost(arch)
	if err != nil {
		return 0, err
	}
	elements := func(s searchspace.Shape) float64 {
		return float64(s.Height) * float64(s.Width) * float64(s.Channels)
	}
	var outputs, largest float64
	for _, l := range cost.Layers {
		outputs += elements(l.Output)
		largest = max(largest, elements(l.Input), elements(l.Output))
	}
	perImage := 2*outputs + 3*largest + elements(arch.Input)
	return 4 * (float64(batch)*perImage + 3*float64(cost.Params)), nil
}

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

// checkBenchMemory returns an input error when a training step of arch at
// batch is estimated to need more than the machine's memory, so that bench
// fails before it allocates instead of dying in the Go runtime.
func checkBenchMemory(arch searchspace.Arch, batch int, file string) error {
	total := machineMemoryBytes()
	if total == 0 {
		return nil
	}
	need, err := estimateTrainBytes(arch, batch)
	if err != nil {
		return inputErrorf("%s: %w", file, err)
	}
	if need > float64(total) {
		return inputErrorf("%s: a training step at resolution %d and --batch %d needs an estimated %.1f GiB, more than this machine's %.1f GiB: use a smaller resolution, width or --batch",
			file, arch.Resolution, batch, need/(1<<30), float64(total)/(1<<30))
	}
	return nil
}
