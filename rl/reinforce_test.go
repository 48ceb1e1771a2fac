package rl

import (
	"errors"
	"math"
	"slices"
	"testing"

	"nas/controller"
)

func newTestReinforce(t *testing.T, choices []int, cfg ReinforceConfig, seed uint64) *Reinforce {
	t.Helper()
	s, err := NewReinforce(choices, cfg, seed)
	if err != nil {
		t.Fatalf("NewReinforce: %v", err)
	}
	return s
}

func TestReinforceDeterministic(t *testing.T) {
	task := newSyntheticTask(1)
	a := newTestReinforce(t, task.choices, ReinforceConfig{Controller: controller.Config{Hidden: 16}}, 5)
	b := newTestReinforce(t, task.choices, ReinforceConfig{Controller: controller.Config{Hidden: 16}}, 5)
	for step := 0; step < 3; step++ {
		pa, pb := proposeN(t, a, 6), proposeN(t, b, 6)
		checkSameProposals(t, pa, pb)
		statsA, errA := a.Update(rewardAll(task, pa))
		statsB, errB := b.Update(rewardAll(task, pb))
		if errA != nil || errB != nil {
			t.Fatalf("Update: %v, %v", errA, errB)
		}
		if statsA != statsB {
			t.Fatalf("step %d: stats %+v vs %+v", step, statsA, statsB)
		}
	}
}

func TestReinforceRoundTrip(t *testing.T) {
	task := newSyntheticTask(2)
	cfg := ReinforceConfig{Controller: controller.Config{Hidden: 16}, EntropyWeight: 0.01, NormalizeAdvantage: true}
	original := newTestReinforce(t, task.choices, cfg, 7)
	restored := newTestReinforce(t, task.choices, ReinforceConfig{}, 8)
	checkRoundTrip(t, original, restored, task)

	// The weights must match too, not only what they produced.
	pa, pb := original.Controller().Params(), restored.Controller().Params()
	for i := range pa {
		if !slices.Equal(pa[i].Value, pb[i].Value) {
			t.Fatalf("parameter %s differs after restore and 3 updates", pa[i].Name)
		}
	}
}

func TestReinforceUnmarshalRejects(t *testing.T) {
	s := newTestReinforce(t, []int{3, 3}, ReinforceConfig{Controller: controller.Config{Hidden: 4}}, 1)
	other := newTestReinforce(t, []int{3, 4}, ReinforceConfig{Controller: controller.Config{Hidden: 4}}, 1)
	data, err := other.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.UnmarshalBinary(data); err == nil {
		t.Error("UnmarshalBinary of a state for other choices returned no error")
	}
	if err := s.UnmarshalBinary([]byte{1, 2, 3}); err == nil {
		t.Error("UnmarshalBinary of garbage returned no error")
	}
}

// updateOnce warms s's baseline up with one batch of reward 0.5, then
// updates on tokens with the given reward and returns log π(tokens) before
// and after that second update.
func updateOnce(t *testing.T, s *Reinforce, tokens []int, reward float64) (before, after float64) {
	t.Helper()
	warm := proposeN(t, s, 4)
	batch := make([]Outcome, len(warm))
	for i, p := range warm {
		batch[i] = Outcome{Proposal: p, Reward: 0.5}
	}
	if _, err := s.Update(batch); err != nil {
		t.Fatal(err)
	}
	if b, _ := s.Baseline(); b != 0.5 {
		t.Fatalf("baseline after a batch of 0.5 rewards = %v, want 0.5", b)
	}

	before, _, err := s.Controller().LogProb(tokens)
	if err != nil {
		t.Fatal(err)
	}
	p := Proposal{Tokens: tokens, Version: s.Version(), LogProb: before}
	if _, err := s.Update([]Outcome{{Proposal: p, Reward: reward}}); err != nil {
		t.Fatal(err)
	}
	after, _, err = s.Controller().LogProb(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return before, after
}

func TestReinforceAboveBaselineRaises(t *testing.T) {
	tokens := []int{2, 0, 1, 3}
	s := newTestReinforce(t, []int{3, 3, 4, 4}, ReinforceConfig{Controller: controller.Config{Hidden: 8}}, 3)
	before, after := updateOnce(t, s, tokens, 0.9)
	if after <= before {
		t.Errorf("log π after an update with reward 0.9 > baseline 0.5: %v, was %v", after, before)
	}
}

func TestReinforceBelowBaselineLowers(t *testing.T) {
	tokens := []int{2, 0, 1, 3}
	s := newTestReinforce(t, []int{3, 3, 4, 4}, ReinforceConfig{Controller: controller.Config{Hidden: 8}}, 3)
	before, after := updateOnce(t, s, tokens, 0.1)
	if after >= before {
		t.Errorf("log π after an update with reward 0.1 < baseline 0.5: %v, was %v", after, before)
	}
}

// meanEntropy returns the mean of the summed entropy along each sequence.
func meanEntropy(t *testing.T, c *controller.Controller, sequences [][]int) float64 {
	t.Helper()
	sum := 0.0
	for _, tokens := range sequences {
		_, entropy, err := c.LogProb(tokens)
		if err != nil {
			t.Fatal(err)
		}
		sum += entropy
	}
	return sum / float64(len(sequences))
}

func TestReinforceEntropyBonusRaisesEntropy(t *testing.T) {
	// Equal rewards give zero advantages on the first batch, so the
	// entropy bonus is the only term. InitScale 1 starts the policy far
	// from uniform, so its entropy has room to rise.
	cfg := ReinforceConfig{
		Controller:    controller.Config{Hidden: 8, InitScale: 1, TanhClip: -1},
		EntropyWeight: 1,
		LearningRate:  0.01,
	}
	s := newTestReinforce(t, []int{3, 4, 3, 4}, cfg, 4)
	proposals := proposeN(t, s, 8)
	sequences := make([][]int, len(proposals))
	batch := make([]Outcome, len(proposals))
	for i, p := range proposals {
		sequences[i] = p.Tokens
		batch[i] = Outcome{Proposal: p, Reward: 0.3}
	}

	before := meanEntropy(t, s.Controller(), sequences)
	if _, err := s.Update(batch); err != nil {
		t.Fatal(err)
	}
	after := meanEntropy(t, s.Controller(), sequences)
	if after <= before {
		t.Errorf("mean entropy after an entropy-only update = %v, was %v", after, before)
	}
}

func TestReinforceStaleOutcomeWeighted(t *testing.T) {
	task := newSyntheticTask(3)
	cfg := ReinforceConfig{Controller: controller.Config{Hidden: 8}, MaxStaleness: 2}
	fresh := newTestReinforce(t, task.choices, cfg, 9)
	stale := newTestReinforce(t, task.choices, cfg, 9)

	// Bring both to version 2 with the same batches.
	var proposal Proposal
	for step := 0; step < 2; step++ {
		for _, s := range []*Reinforce{fresh, stale} {
			proposals := proposeN(t, s, 4)
			if _, err := s.Update(rewardAll(task, proposals)); err != nil {
				t.Fatal(err)
			}
		}
	}
	proposal = proposeN(t, fresh, 1)[0]
	if proposal.Version != 2 {
		t.Fatalf("proposal version = %d, want 2", proposal.Version)
	}

	// The same tokens as if proposed one version ago by a policy that gave
	// them 4 times the probability: the importance weight is 1/4, and the
	// gradient norm scales with it.
	old := proposal
	old.Version = 1
	old.LogProb = proposal.LogProb + math.Log(4)
	freshStats, err := fresh.Update([]Outcome{{Proposal: proposal, Reward: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	staleStats, err := stale.Update([]Outcome{{Proposal: old, Reward: 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	if staleStats.Stale != 1 || staleStats.Used != 1 || staleStats.Dropped != 0 {
		t.Errorf("stale outcome stats: Used %d, Stale %d, Dropped %d; want 1, 1, 0", staleStats.Used, staleStats.Stale, staleStats.Dropped)
	}
	if freshStats.GradNorm == 0 {
		t.Fatal("fresh outcome gave a zero gradient")
	}
	if ratio := staleStats.GradNorm / freshStats.GradNorm; math.Abs(ratio-0.25) > 1e-9 {
		t.Errorf("stale/fresh gradient norm = %v, want the importance weight 0.25", ratio)
	}
}

func TestReinforceTooStaleDropped(t *testing.T) {
	task := newSyntheticTask(4)
	s := newTestReinforce(t, task.choices, ReinforceConfig{Controller: controller.Config{Hidden: 8}, MaxStaleness: 1}, 10)
	first := proposeN(t, s, 1)[0]
	for step := 0; step < 2; step++ {
		if _, err := s.Update(rewardAll(task, proposeN(t, s, 4))); err != nil {
			t.Fatal(err)
		}
	}
	before := slices.Clone(s.Controller().Params()[0].Value)
	stats, err := s.Update([]Outcome{{Proposal: first, Reward: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if stats.Dropped != 1 || stats.Used != 0 {
		t.Errorf("outcome 2 versions old with MaxStaleness 1: Used %d, Dropped %d; want 0, 1", stats.Used, stats.Dropped)
	}
	if stats.Version != 3 {
		t.Errorf("version after an all-dropped batch = %d, want 3", stats.Version)
	}
	if !slices.Equal(before, s.Controller().Params()[0].Value) {
		t.Error("an all-dropped batch changed the weights")
	}
}

func TestReinforceUpdateRejectsBadBatch(t *testing.T) {
	s := newTestReinforce(t, []int{3, 2}, ReinforceConfig{Controller: controller.Config{Hidden: 4}}, 1)
	good := Proposal{Tokens: []int{2, 1}}
	cases := []struct {
		name  string
		batch []Outcome
	}{
		{"token out of range", []Outcome{{Proposal: Proposal{Tokens: []int{3, 0}}, Reward: 1}}},
		{"wrong length", []Outcome{{Proposal: Proposal{Tokens: []int{0}}, Reward: 1}}},
		{"NaN reward", []Outcome{{Proposal: good, Reward: math.NaN()}}},
		{"infinite reward", []Outcome{{Proposal: good, Reward: math.Inf(1)}}},
		{"future version", []Outcome{{Proposal: Proposal{Tokens: []int{0, 0}, Version: 1}, Reward: 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.Update(tc.batch); err == nil {
				t.Error("Update returned no error")
			}
		})
	}
	if _, err := s.Update(nil); !errors.Is(err, ErrEmptyBatch) {
		t.Errorf("Update(nil) error = %v, want ErrEmptyBatch", err)
	}
	if s.Version() != 0 {
		t.Errorf("version after rejected batches = %d, want 0", s.Version())
	}
}

func TestNewReinforceRejectsBadConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  ReinforceConfig
	}{
		{"negative learning rate", ReinforceConfig{LearningRate: -1}},
		{"beta1 of 1", ReinforceConfig{Beta1: 1}},
		{"baseline decay above 1", ReinforceConfig{BaselineDecay: 1.5}},
		{"negative entropy weight", ReinforceConfig{EntropyWeight: -0.1}},
		{"NaN grad norm", ReinforceConfig{MaxGradNorm: math.NaN()}},
		{"bad controller", ReinforceConfig{Controller: controller.Config{Hidden: -3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewReinforce([]int{3}, tc.cfg, 1); err == nil {
				t.Errorf("NewReinforce(%+v) returned no error", tc.cfg)
			}
		})
	}
}

// TestReinforceLearnsSynthetic runs REINFORCE with its default
// configuration on 20 decisions of 3–4 choices, rewarded by the fraction
// of tokens equal to a hidden target. Random tokens score about 0.3. On
// seeds 1–5 the mean of the last 50 rewards passed 0.9 after 240–320
// samples.
func TestReinforceLearnsSynthetic(t *testing.T) {
	const batchSize, maxSamples, window = 10, 3000, 50
	task := newSyntheticTask(99)
	s := newTestReinforce(t, task.choices, ReinforceConfig{}, 1)
	learned := func(tr *searchTrace) bool {
		return len(tr.rewards) >= window && tr.meanOfLast(window) > 0.9
	}
	trace := runSearch(t, s, task, batchSize, maxSamples, learned)
	samples := len(trace.rewards)
	mean := trace.meanOfLast(window)
	if mean <= 0.9 {
		t.Fatalf("mean reward of the last %d samples after %d = %.3f, want > 0.9", window, samples, mean)
	}
	t.Logf("mean of last %d rewards passed 0.9 after %d samples", window, samples)

	random, err := NewRandom(task.choices, 1)
	if err != nil {
		t.Fatal(err)
	}
	randomTrace := runSearch(t, random, task, batchSize, samples, nil)
	if best := randomTrace.bestOfFirst(samples); best >= mean {
		t.Errorf("random search's best of %d samples = %.3f, not below REINFORCE's recent mean %.3f", samples, best, mean)
	}
}
