package runs

import (
	"context"
	"fmt"
	"io"
	"runtime/debug"
	"sync"

	"nas/searchspace"
)

// Decoder turns a strategy's tokens into an architecture;
// searchspace.Space implements it.
type Decoder interface {
	Decode(tokens []int) (searchspace.Arch, error)
}

// RewardFunc computes a child's reward from its validation accuracy in
// [0, 1] and its latency in milliseconds. It returns an error for inputs
// that have no reward, such as a non-finite latency.
type RewardFunc func(accuracy, latencyMS float64) (float64, error)

// Score holds a backend's measurements of one child.
type Score struct {
	// Accuracy and Loss are measured on the validation split after batch
	// normalization statistics were recalibrated for the child.
	Accuracy float64
	Loss     float64
	Params   int64
	MACs     int64
}

// Backend trains and scores children on shared supernet weights. The search
// calls TrainStep and Score from Config.Workers goroutines at once, each
// with its own worker index in [0, Workers), and calls Latency, Save and
// Load only while no other call is running.
//
// The local backend runs in this process; a remote one may forward the
// calls to machines that hold their own copy of the data.
type Backend interface {
	// TrainStep trains the supernet for one step through the child arch on
	// mini-batch number step of the training split, and returns the loss.
	// The same step number selects the same mini-batch.
	TrainStep(ctx context.Context, worker int, arch searchspace.Arch, step int64) (loss float64, err error)
	// Score evaluates arch on the validation split with the current
	// supernet weights.
	Score(ctx context.Context, worker int, arch searchspace.Arch) (Score, error)
	// Latency measures the inference latency of arch at batch 1 on one
	// thread, in milliseconds.
	Latency(ctx context.Context, arch searchspace.Arch) (float64, error)
	// Save writes the supernet weights and optimizer state; Load restores
	// what Save wrote.
	Save(w io.Writer) error
	Load(data []byte) error
}

// parallel calls task(worker, i) for i in [0, n) on workers goroutines and
// returns each call's error, or nil, by index. A panic in a task becomes
// that task's error. Tasks not yet started when ctx is done are not run and
// get ctx.Err().
func parallel(ctx context.Context, workers, n int, task func(worker, i int) error) []error {
	errs := make([]error, n)
	var (
		mu   sync.Mutex
		next int
		wg   sync.WaitGroup
	)
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		i := next
		next++
		return i
	}
	for w := range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := take(); i < n; i = take() {
				if err := ctx.Err(); err != nil {
					errs[i] = err
					continue
				}
				errs[i] = runTask(task, w, i)
			}
		}()
	}
	wg.Wait()
	return errs
}

func runTask(task func(worker, i int) error, w, i int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic in worker %d: %v\n%s", w, r, debug.Stack())
		}
	}()
	return task(w, i)
}
