package latency

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"runtime"
	"strings"

	"nas/kernels"
)

// Machine describes where a table was measured: what decides the speed of
// the kernels.
type Machine struct {
	// CPU is the model name from /proc/cpuinfo, or GOARCH where that file
	// is missing.
	CPU string `json:"cpu"`
	// Cores is runtime.NumCPU of the measuring process.
	Cores int    `json:"cores"`
	OS    string `json:"os"`
	Arch  string `json:"arch"`
	// KernelPath is kernels.Path: "plain-go" or "simd-avx512".
	KernelPath string `json:"kernel_path"`
	// Threads is the kernels' thread cap during the measurement.
	Threads int `json:"threads"`
	// GoVersion is runtime.Version of the measuring binary. It is recorded
	// but is not part of ID.
	GoVersion string `json:"go_version"`
}

// ThisMachine describes the running machine for a measurement with the
// given thread cap.
func ThisMachine(threads int) Machine {
	return Machine{
		CPU:        cpuModel(),
		Cores:      runtime.NumCPU(),
		OS:         runtime.GOOS,
		Arch:       runtime.GOARCH,
		KernelPath: kernels.Path(),
		Threads:    threads,
		GoVersion:  runtime.Version(),
	}
}

// ID returns a short stable id of m: the first 12 hex digits of the SHA-256
// of its CPU, cores, OS, architecture, kernel path and threads.
func (m Machine) ID() string {
	text := fmt.Sprintf("%s|%d|%s|%s|%s|%d", m.CPU, m.Cores, m.OS, m.Arch, m.KernelPath, m.Threads)
	sum := sha256.Sum256([]byte(text))
	return hex.EncodeToString(sum[:6])
}

// String returns a one-line description of m for people.
func (m Machine) String() string {
	return fmt.Sprintf("%s, %d cores, %s/%s, %s kernels, %d threads", m.CPU, m.Cores, m.OS, m.Arch, m.KernelPath, m.Threads)
}

// cpuModel returns the first "model name" of /proc/cpuinfo, or GOARCH when
// there is none.
func cpuModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		name, value, ok := strings.Cut(scanner.Text(), ":")
		if ok && strings.TrimSpace(name) == "model name" {
			return strings.Join(strings.Fields(value), " ")
		}
	}
	return runtime.GOARCH
}
