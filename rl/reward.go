package rl

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidMeasurement is wrapped by the errors reward functions return
// when an accuracy or cost cannot be turned into a reward: an accuracy
// outside [0, 1] or a cost that is not positive, or either one NaN or
// infinite. A child with such a measurement has failed and gets no reward.
var ErrInvalidMeasurement = errors.New("invalid measurement")

// AccuracyReward returns accuracy, a fraction in [0, 1], as the reward.
func AccuracyReward(accuracy float64) (float64, error) {
	if err := checkAccuracy(accuracy); err != nil {
		return 0, err
	}
	return accuracy, nil
}

// TargetReward is MnasNet's multi-objective reward (Tan et al., 2019)
//
//	reward = ACC · (COST/Target)^w,  w = Alpha if COST ≤ Target, else Beta
//
// where COST is latency, params or MACs, in the unit of Target. With
// negative exponents a cheaper child earns more at the same accuracy.
type TargetReward struct {
	// Target is the cost the search aims at, such as 25 (ms) or 3e5
	// (MACs). It must be positive and finite.
	Target float64
	// Alpha and Beta are the exponents below or at, and above, Target.
	// They must be finite.
	Alpha, Beta float64
}

// SoftTarget returns MnasNet's soft constraint α = β = −0.07, which trades
// accuracy against cost on both sides of target.
func SoftTarget(target float64) TargetReward {
	return TargetReward{Target: target, Alpha: -0.07, Beta: -0.07}
}

// HardTarget returns MnasNet's hard constraint α = 0, β = −1: accuracy alone
// up to target and a steep penalty beyond it.
func HardTarget(target float64) TargetReward {
	return TargetReward{Target: target, Alpha: 0, Beta: -1}
}

// Validate returns an error if the target is not positive and finite or an
// exponent is not finite.
func (r TargetReward) Validate() error {
	if !(r.Target > 0) || math.IsInf(r.Target, 0) {
		return fmt.Errorf("rl: invalid reward target %v: use a positive finite cost in the unit of the measured cost", r.Target)
	}
	if math.IsNaN(r.Alpha) || math.IsInf(r.Alpha, 0) || math.IsNaN(r.Beta) || math.IsInf(r.Beta, 0) {
		return fmt.Errorf("rl: invalid reward exponents α = %v, β = %v: use finite values such as −0.07 (soft) or 0 and −1 (hard)", r.Alpha, r.Beta)
	}
	return nil
}

// Reward returns accuracy·(cost/Target)^w. It returns an error wrapping
// ErrInvalidMeasurement for an accuracy outside [0, 1] or a cost that is
// not positive, and an error from Validate for a bad TargetReward.
// Accuracy 0 is valid and gives reward 0.
func (r TargetReward) Reward(accuracy, cost float64) (float64, error) {
	if err := r.Validate(); err != nil {
		return 0, err
	}
	if err := checkAccuracy(accuracy); err != nil {
		return 0, err
	}
	if !(cost > 0) || math.IsInf(cost, 0) {
		return 0, fmt.Errorf("rl: %w: cost %v must be positive and finite", ErrInvalidMeasurement, cost)
	}

	exponent := r.Alpha
	if cost > r.Target {
		exponent = r.Beta
	}
	return accuracy * math.Pow(cost/r.Target, exponent), nil
}

func checkAccuracy(accuracy float64) error {
	if !(accuracy >= 0 && accuracy <= 1) {
		return fmt.Errorf("rl: %w: accuracy %v must be a fraction in [0, 1]", ErrInvalidMeasurement, accuracy)
	}
	return nil
}
