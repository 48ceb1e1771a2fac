package rl_test

import (
	"fmt"

	"nas/rl"
)

// Example shows the loop a search runs: propose a batch, train and score
// each child, and update the strategy. Here the score is the fraction of
// tokens equal to 1.
func Example() {
	choices := []int{3, 4, 3}
	strategy, err := rl.NewStrategy(rl.NameEvolution, choices, rl.Config{Evolution: rl.EvolutionConfig{PopulationSize: 4, SampleSize: 2}}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	for step := 0; step < 3; step++ {
		var batch []rl.Outcome
		for i := 0; i < 4; i++ {
			proposal, err := strategy.Propose()
			if err != nil {
				fmt.Println(err)
				return
			}
			ones := 0
			for _, token := range proposal.Tokens {
				if token == 1 {
					ones++
				}
			}
			batch = append(batch, rl.Outcome{Proposal: proposal, Reward: float64(ones) / 3})
		}
		stats, err := strategy.Update(batch)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("version %d: mean reward %.2f\n", stats.Version, stats.MeanReward)
	}
	// Output:
	// version 1: mean reward 0.33
	// version 2: mean reward 0.42
	// version 3: mean reward 0.50
}
