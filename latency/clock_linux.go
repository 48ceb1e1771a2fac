package latency

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUSupported reports whether ClockThreadCPU works on this system.
const threadCPUSupported = true

// threadCPUTimer times run by the CPU time of the calling OS thread
// (CLOCK_THREAD_CPUTIME_ID), which leaves out the time the thread waits
// while other processes run. The caller must hold runtime.LockOSThread, or
// the two clock readings may come from different threads.
func threadCPUTimer(run func()) time.Duration {
	var start, end unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &start); err != nil {
		panic("latency: read the thread CPU clock: " + err.Error())
	}
	run()
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &end); err != nil {
		panic("latency: read the thread CPU clock: " + err.Error())
	}
	return time.Duration(end.Nano() - start.Nano())
}
