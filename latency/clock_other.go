//go:build !linux

package latency

import "time"

// threadCPUSupported reports whether ClockThreadCPU works on this system.
const threadCPUSupported = false

func threadCPUTimer(run func()) time.Duration {
	panic("latency: the thread CPU clock is supported on Linux only")
}
