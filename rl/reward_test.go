package rl

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestTargetRewardValues(t *testing.T) {
	// Expected values from Python: 2**-0.07 = 0.9526379980439373, 2**-1 = 0.5.
	cases := []struct {
		name           string
		reward         TargetReward
		accuracy, cost float64
		want           float64
	}{
		{"soft at target", SoftTarget(20), 0.8, 20, 0.8},
		{"soft twice target", SoftTarget(20), 0.75, 40, 0.75 * 0.9526379980439373},
		{"soft half target", SoftTarget(20), 0.75, 10, 0.75 / 0.9526379980439373},
		{"hard below target", HardTarget(20), 0.9, 5, 0.9},
		{"hard twice target", HardTarget(20), 0.9, 40, 0.45},
		{"zero accuracy", SoftTarget(20), 0, 40, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.reward.Reward(tc.accuracy, tc.cost)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-tc.want) > 1e-12 {
				t.Errorf("Reward(%v, %v) = %v, want %v", tc.accuracy, tc.cost, got, tc.want)
			}
		})
	}
}

// TestTargetRewardSwitchAtTarget checks over random targets and exponents
// that the exponent is α up to and including T and β just above it.
func TestTargetRewardSwitchAtTarget(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		reward := TargetReward{Target: math.Exp(r.Float64()*20 - 5), Alpha: -r.Float64(), Beta: -1 - r.Float64()}
		accuracy := 0.05 + 0.95*r.Float64()

		atTarget, err := reward.Reward(accuracy, reward.Target)
		if err != nil {
			t.Fatal(err)
		}
		if atTarget != accuracy {
			t.Fatalf("%+v: reward at the target = %v, want the accuracy %v", reward, atTarget, accuracy)
		}

		below := math.Nextafter(reward.Target, 0)
		above := math.Nextafter(reward.Target, math.Inf(1))
		gotBelow, _ := reward.Reward(accuracy, below)
		gotAbove, _ := reward.Reward(accuracy, above)
		if want := accuracy * math.Pow(below/reward.Target, reward.Alpha); gotBelow != want {
			t.Fatalf("%+v: reward just below the target = %v, want α's %v", reward, gotBelow, want)
		}
		if want := accuracy * math.Pow(above/reward.Target, reward.Beta); gotAbove != want {
			t.Fatalf("%+v: reward just above the target = %v, want β's %v", reward, gotAbove, want)
		}
	}
}

// TestTargetRewardCostLowersReward checks over random inputs that at equal
// accuracy a higher cost never raises the reward, and lowers it strictly
// wherever the exponent in force is negative.
func TestTargetRewardCostLowersReward(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, reward := range []TargetReward{SoftTarget(10), HardTarget(10)} {
		for i := 0; i < 2000; i++ {
			accuracy := 0.01 + 0.99*r.Float64()
			cheap := 40 * r.Float64()
			costly := cheap * (1 + r.Float64())
			if cheap == 0 {
				continue
			}
			cheapReward, err := reward.Reward(accuracy, cheap)
			if err != nil {
				t.Fatal(err)
			}
			costlyReward, err := reward.Reward(accuracy, costly)
			if err != nil {
				t.Fatal(err)
			}
			if costlyReward > cheapReward {
				t.Fatalf("%+v, accuracy %v: cost %v earns %v, more than cost %v's %v", reward, accuracy, costly, costlyReward, cheap, cheapReward)
			}
			strict := reward.Alpha < 0 || costly > reward.Target
			if strict && costlyReward >= cheapReward {
				t.Fatalf("%+v, accuracy %v: cost %v earns %v, not less than cost %v's %v", reward, accuracy, costly, costlyReward, cheap, cheapReward)
			}
		}
	}
}

func TestRewardRejectsBadMeasurements(t *testing.T) {
	reward := SoftTarget(10)
	cases := []struct {
		name           string
		accuracy, cost float64
	}{
		{"NaN accuracy", math.NaN(), 5},
		{"negative accuracy", -0.1, 5},
		{"accuracy above 1", 1.5, 5},
		{"infinite accuracy", math.Inf(1), 5},
		{"zero cost", 0.5, 0},
		{"negative cost", 0.5, -3},
		{"NaN cost", 0.5, math.NaN()},
		{"infinite cost", 0.5, math.Inf(1)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := reward.Reward(tc.accuracy, tc.cost)
			if !errors.Is(err, ErrInvalidMeasurement) {
				t.Errorf("Reward(%v, %v) = %v, %v; want ErrInvalidMeasurement", tc.accuracy, tc.cost, got, err)
			}
		})
	}
	for _, accuracy := range []float64{math.NaN(), -1, 2} {
		if _, err := AccuracyReward(accuracy); !errors.Is(err, ErrInvalidMeasurement) {
			t.Errorf("AccuracyReward(%v) error = %v, want ErrInvalidMeasurement", accuracy, err)
		}
	}
	if got, err := AccuracyReward(0); err != nil || got != 0 {
		t.Errorf("AccuracyReward(0) = %v, %v; want 0, nil", got, err)
	}
}

func TestTargetRewardRejectsBadConfig(t *testing.T) {
	for _, reward := range []TargetReward{
		{Target: 0, Alpha: -0.07, Beta: -0.07},
		{Target: -5},
		{Target: math.NaN()},
		{Target: math.Inf(1)},
		{Target: 10, Alpha: math.NaN()},
		{Target: 10, Beta: math.Inf(-1)},
	} {
		if _, err := reward.Reward(0.5, 5); err == nil {
			t.Errorf("%+v: Reward returned no error", reward)
		}
	}
}
