package runs

import (
	"fmt"
	"time"
)

// Config sets the shape and budget of a search. The zero value of a field
// selects its default, except that a search needs a budget: Children,
// Duration or both.
type Config struct {
	// Children is the number of scored children (trials) after which the
	// search stops. 0 means no limit, which requires a Duration.
	Children int `json:"children"`
	// Duration is the wall time after which the search stops at the end of
	// the current batch. 0 means no limit, which requires Children.
	Duration time.Duration `json:"duration"`
	// Workers is the number of children trained or scored at once.
	// Default 1, the only setting whose trial sequence is reproducible;
	// at most MaxWorkers.
	Workers int `json:"workers"`
	// ChildrenPerBatch is the number of children scored between two
	// strategy updates. Default 10, at most MaxChildrenPerBatch.
	ChildrenPerBatch int `json:"children_per_batch"`
	// SupernetSteps is the number of supernet training steps before each
	// batch is scored; each step trains one child sampled from the
	// strategy on one mini-batch. Default 50, at most MaxSupernetSteps.
	SupernetSteps int `json:"supernet_steps"`
	// Seed seeds every random stream of the search that the strategy and
	// the backend do not own.
	Seed uint64 `json:"seed"`
}

// Default values of Config's fields.
const (
	DefaultWorkers          = 1
	DefaultChildrenPerBatch = 10
	DefaultSupernetSteps    = 50
)

// Upper limits of Config's fields. Each is far above any useful setting,
// so that a mistyped value fails at once instead of running for days or
// running out of memory.
const (
	// MaxWorkers bounds Workers. Each worker holds its own gradients and
	// activation workspace, and workers beyond the core count only wait for
	// a core. The bound also keeps workers × bytes per worker in an int64.
	MaxWorkers = 1024
	// MaxChildrenPerBatch bounds ChildrenPerBatch. A batch keeps every
	// child's proposal and trial in memory until it commits, and the
	// strategy learns only between batches. At a second or more per child
	// on a CPU, 10,000 children are hours of scoring per strategy update.
	MaxChildrenPerBatch = 10_000
	// MaxSupernetSteps bounds SupernetSteps. At batch size 64, 100,000
	// steps are over 100 passes over the 60,000 Fashion-MNIST training
	// images before one batch of children is scored: hours on a CPU.
	MaxSupernetSteps = 100_000
)

// WithDefaults returns c with zero fields replaced by their defaults, or an
// error naming the first invalid field.
func (c Config) WithDefaults() (Config, error) {
	switch {
	case c.Children < 0:
		return c, fmt.Errorf("runs: invalid budget of %d children: use a positive number", c.Children)
	case c.Duration < 0:
		return c, fmt.Errorf("runs: invalid budget duration %v: use a positive duration", c.Duration)
	case c.Children == 0 && c.Duration == 0:
		return c, fmt.Errorf("runs: no budget: set a number of children, a duration, or both")
	case c.Workers < 0:
		return c, fmt.Errorf("runs: invalid number of workers %d: use a positive number or 0 for %d", c.Workers, DefaultWorkers)
	case c.ChildrenPerBatch < 0:
		return c, fmt.Errorf("runs: invalid children per batch %d: use a positive number or 0 for %d", c.ChildrenPerBatch, DefaultChildrenPerBatch)
	case c.SupernetSteps < 0:
		return c, fmt.Errorf("runs: invalid supernet steps %d: use a positive number or 0 for %d", c.SupernetSteps, DefaultSupernetSteps)
	case c.Workers > MaxWorkers:
		return c, fmt.Errorf("runs: invalid number of workers %d: use at most %d", c.Workers, MaxWorkers)
	case c.ChildrenPerBatch > MaxChildrenPerBatch:
		return c, fmt.Errorf("runs: invalid children per batch %d: use at most %d", c.ChildrenPerBatch, MaxChildrenPerBatch)
	case c.SupernetSteps > MaxSupernetSteps:
		return c, fmt.Errorf("runs: invalid supernet steps %d: use at most %d", c.SupernetSteps, MaxSupernetSteps)
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.ChildrenPerBatch == 0 {
		c.ChildrenPerBatch = DefaultChildrenPerBatch
	}
	if c.SupernetSteps == 0 {
		c.SupernetSteps = DefaultSupernetSteps
	}
	return c, nil
}
