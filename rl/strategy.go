package rl

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Proposal is one architecture a strategy proposes, as one token per
// decision.
type Proposal struct {
	Tokens []int
	// Version is the strategy's version (its number of completed updates)
	// when it made the proposal.
	Version int
	// LogProb is log π(Tokens) in nats under the distribution the proposal
	// was drawn from: the controller's policy for REINFORCE, the uniform
	// distribution for random search. Evolution sets it to 0 because a
	// mutation has no policy to score. REINFORCE uses it to down-weight
	// stale outcomes, so pass it back unchanged.
	LogProb float64
}

// Outcome is a proposal with the reward its child earned.
type Outcome struct {
	Proposal
	Reward float64
}

// UpdateStats summarises one Update.
type UpdateStats struct {
	// Version is the strategy's version after the update.
	Version int
	// Used counts the outcomes that contributed; Stale counts those of
	// them proposed by an older version; Dropped counts the outcomes
	// ignored because they were too old.
	Used, Stale, Dropped int
	// MeanReward is the mean reward of the used outcomes.
	MeanReward float64
	// Baseline is REINFORCE's moving-average baseline after the update
	// (0 for other strategies).
	Baseline float64
	// Entropy is the mean summed entropy, in nats, of the used sequences
	// under the policy before the update (0 for other strategies).
	Entropy float64
	// GradNorm is the global L2 norm of the policy gradient before
	// clipping (0 for other strategies).
	GradNorm float64
}

// Strategy proposes architectures and learns from their rewards. The search
// loop calls Propose any number of times, trains the children, and passes
// their outcomes to Update in batches of any size. An outcome may arrive
// after later updates. MarshalBinary saves everything needed to resume
// exactly: a strategy restored with UnmarshalBinary makes the same
// proposals and updates as the original would have. Implementations are
// not safe for concurrent use.
type Strategy interface {
	Propose() (Proposal, error)
	Update(batch []Outcome) (UpdateStats, error)
	MarshalBinary() ([]byte, error)
	UnmarshalBinary(data []byte) error
}

// ErrEmptyBatch is returned by Update when the batch has no outcomes.
var ErrEmptyBatch = errors.New("rl: empty batch: pass at least one outcome to Update")

// checkChoices returns an error unless choices lists at least one decision
// and every decision has at least one choice.
func checkChoices(choices []int) error {
	if len(choices) == 0 {
		return errors.New("rl: no decisions: pass the number of choices of at least one decision")
	}
	for d, n := range choices {
		if n < 1 {
			return fmt.Errorf("rl: decision %d has %d choices: each decision needs at least 1", d, n)
		}
	}
	return nil
}

// checkBatch returns an error for an empty batch or for an outcome whose
// tokens do not fit choices, whose reward is not finite, or whose version
// is negative or newer than version.
func checkBatch(batch []Outcome, choices []int, version int) error {
	if len(batch) == 0 {
		return ErrEmptyBatch
	}
	for i, o := range batch {
		if len(o.Tokens) != len(choices) {
			return fmt.Errorf("rl: outcome %d has %d tokens for %d decisions", i, len(o.Tokens), len(choices))
		}
		for d, t := range o.Tokens {
			if t < 0 || t >= choices[d] {
				return fmt.Errorf("rl: outcome %d: token %d of decision %d is out of range [0, %d)", i, t, d, choices[d])
			}
		}
		if math.IsNaN(o.Reward) || math.IsInf(o.Reward, 0) {
			return fmt.Errorf("rl: outcome %d has reward %v: rewards must be finite", i, o.Reward)
		}
		if o.Version < 0 || o.Version > version {
			return fmt.Errorf("rl: outcome %d has version %d, outside [0, %d]: pass the Version from the strategy's own Proposal", i, o.Version, version)
		}
	}
	return nil
}

// checkStateHeader returns an error unless a decoded state's kind, format
// and choice counts are the ones a strategy of kind wantKind, reading format
// wantFormat, built for wantChoices can restore. what names the strategy in
// messages.
func checkStateHeader(kind string, format int, choices []int, wantKind string, wantFormat int, wantChoices []int, what string) error {
	switch {
	case kind != wantKind:
		return fmt.Errorf("rl: the state is for strategy %q, not %q: restore it into a strategy of the kind that saved it", kind, wantKind)
	case format != wantFormat:
		return fmt.Errorf("rl: unsupported %s state format %d: this build reads format %d", what, format, wantFormat)
	case !slices.Equal(choices, wantChoices):
		return fmt.Errorf("rl: %s state is for choices %v, not %v: restore it into a strategy built for the same search space", what, choices, wantChoices)
	}
	return nil
}
