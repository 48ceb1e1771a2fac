package rl

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// syntheticTask is a reward with a known optimum: the fraction of
// decisions whose token equals a hidden target.
type syntheticTask struct {
	choices []int
	target  []int
}

// newSyntheticTask draws 20 decisions of 3 or 4 choices and a target token
// for each.
func newSyntheticTask(seed uint64) syntheticTask {
	r := rand.New(rand.NewPCG(seed, 0))
	task := syntheticTask{choices: make([]int, 20), target: make([]int, 20)}
	for d := range task.choices {
		task.choices[d] = 3 + r.IntN(2)
		task.target[d] = r.IntN(task.choices[d])
	}
	return task
}

func (task syntheticTask) reward(tokens []int) float64 {
	matches := 0
	for d, t := range tokens {
		if t == task.target[d] {
			matches++
		}
	}
	return float64(matches) / float64(len(tokens))
}

// searchTrace records every reward a strategy earned on a task.
type searchTrace struct {
	rewards []float64
}

func (tr *searchTrace) meanOfLast(n int) float64 {
	sum := 0.0
	for _, r := range tr.rewards[len(tr.rewards)-n:] {
		sum += r
	}
	return sum / float64(n)
}

func (tr *searchTrace) bestOfFirst(n int) float64 {
	return slices.Max(tr.rewards[:n])
}

// runSearch proposes batches of batchSize, rewards them with task and
// updates s, until stop returns true or maxSamples is reached.
func runSearch(t *testing.T, s Strategy, task syntheticTask, batchSize, maxSamples int, stop func(*searchTrace) bool) *searchTrace {
	t.Helper()
	tr := &searchTrace{}
	for len(tr.rewards) < maxSamples {
		batch := make([]Outcome, 0, batchSize)
		for i := 0; i < batchSize; i++ {
			p, err := s.Propose()
			if err != nil {
				t.Fatalf("Propose: %v", err)
			}
			reward := task.reward(p.Tokens)
			batch = append(batch, Outcome{Proposal: p, Reward: reward})
			tr.rewards = append(tr.rewards, reward)
		}
		if _, err := s.Update(batch); err != nil {
			t.Fatalf("Update: %v", err)
		}
		if stop != nil && stop(tr) {
			break
		}
	}
	return tr
}

// proposeN returns n proposals from s.
func proposeN(t *testing.T, s Strategy, n int) []Proposal {
	t.Helper()
	proposals := make([]Proposal, n)
	for i := range proposals {
		p, err := s.Propose()
		if err != nil {
			t.Fatalf("Propose: %v", err)
		}
		proposals[i] = p
	}
	return proposals
}

// rewardAll pairs proposals with a deterministic reward: the task's reward
// plus a small term in the proposal's index, so that ties are rare.
func rewardAll(task syntheticTask, proposals []Proposal) []Outcome {
	outcomes := make([]Outcome, len(proposals))
	for i, p := range proposals {
		outcomes[i] = Outcome{Proposal: p, Reward: task.reward(p.Tokens) + 1e-3*float64(i)}
	}
	return outcomes
}

// checkSameProposals fails unless a and b are equal proposal by proposal.
func checkSameProposals(t *testing.T, a, b []Proposal) {
	t.Helper()
	for i := range a {
		if !slices.Equal(a[i].Tokens, b[i].Tokens) || a[i].Version != b[i].Version || !sameFloat(a[i].LogProb, b[i].LogProb) {
			t.Fatalf("proposal %d differs: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func sameFloat(a, b float64) bool {
	return a == b || (math.IsNaN(a) && math.IsNaN(b))
}

// checkRoundTrip drives original through a few updates, saves it, restores
// the state into restored (built with another seed), and checks that both
// then make the same proposals and the same updates.
func checkRoundTrip(t *testing.T, original, restored Strategy, task syntheticTask) {
	t.Helper()
	for step := 0; step < 3; step++ {
		if _, err := original.Update(rewardAll(task, proposeN(t, original, 8))); err != nil {
			t.Fatalf("Update: %v", err)
		}
	}
	data, err := original.MarshalBinary()
	if err != nil {
		t.Fatalf("MarshalBinary: %v", err)
	}
	if err := restored.UnmarshalBinary(data); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}

	for step := 0; step < 3; step++ {
		a := proposeN(t, original, 8)
		b := proposeN(t, restored, 8)
		checkSameProposals(t, a, b)
		statsA, err := original.Update(rewardAll(task, a))
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		statsB, err := restored.Update(rewardAll(task, b))
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if statsA != statsB {
			t.Fatalf("step %d after restore: stats %+v, want %+v", step, statsB, statsA)
		}
	}
}
