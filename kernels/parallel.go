package kernels

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// threadCap is the cap set by SetThreads; 0 means runtime.GOMAXPROCS(0).
var threadCap atomic.Int32

// SetThreads caps the number of goroutines a kernel call uses. A value below 1
// restores the default, runtime.GOMAXPROCS(0). Results are bit-identical run
// to run for a fixed cap, but may differ in the last bits between caps.
func SetThreads(n int) {
	if n < 1 {
		n = 0
	}
	threadCap.Store(int32(n))
}

// Threads returns the current cap on goroutines per kernel call.
func Threads() int {
	if n := int(threadCap.Load()); n > 0 {
		return n
	}
	return runtime.GOMAXPROCS(0)
}

// job is one static part of a parallelFor call, run by a pool worker.
type job struct {
	body         func(part, lo, hi int)
	part, lo, hi int
	wg           *sync.WaitGroup
}

var (
	poolOnce sync.Once
	jobs     chan job
)

// startPool starts long-lived workers so that a kernel call does not spawn
// goroutines. Extra workers beyond the cap stay idle.
func startPool() {
	jobs = make(chan job, 64)
	workers := max(runtime.NumCPU(), runtime.GOMAXPROCS(0), 2)
	for range workers {
		go func() {
			for j := range jobs {
				j.body(j.part, j.lo, j.hi)
				j.wg.Done()
			}
		}()
	}
}

// partCount returns how many parts parallelFor splits n items into: at most
// Threads(), and at most n/minItems so that each part has minItems or more.
func partCount(n, minItems int) int {
	parts := Threads()
	if minItems < 1 {
		minItems = 1
	}
	parts = min(parts, n/minItems)
	return max(parts, 1)
}

// parallelFor splits [0, n) into parts contiguous ranges of near-equal size
// and calls body(part, lo, hi) once per range on the pool's workers, and
// returns when all have returned. The split depends only on n and parts,
// never on scheduling. A body must not call parallelFor: with every worker
// waiting on a nested call, none would be left to run its parts.
func parallelFor(n, parts int, body func(part, lo, hi int)) {
	if n <= 0 {
		return
	}
	parts = max(min(parts, n), 1)
	if parts == 1 {
		body(0, 0, n)
		return
	}
	poolOnce.Do(startPool)

	// Every part runs on a pool worker while the caller waits. When the
	// caller ran part 0 itself, a 3×3 depthwise forward pass at batch 64
	// took 275 µs with two parts instead of 193 µs, and a training step
	// was 15% slower (docs/benchmarks.md). The likely cause is that the
	// woken worker waited in the caller's run queue until the other
	// processor woke up and stole it.
	var wg sync.WaitGroup
	wg.Add(parts)
	for p := range parts {
		lo, hi := p*n/parts, (p+1)*n/parts
		jobs <- job{body: body, part: p, lo: lo, hi: hi, wg: &wg}
	}
	wg.Wait()
}
