package rl

import (
	"fmt"
	"strings"
)

// Strategy names, as NewStrategy accepts them and as each strategy's
// MarshalBinary records its kind.
const (
	NameReinforce = "reinforce"
	NameEvolution = "evolution"
	NameRandom    = "random"
)

// StrategyNames lists the names NewStrategy accepts.
var StrategyNames = []string{NameReinforce, NameEvolution, NameRandom}

// Config holds the configuration of every strategy. NewStrategy uses the
// field of the strategy it builds and ignores the other.
type Config struct {
	Reinforce ReinforceConfig
	Evolution EvolutionConfig
}

// NewStrategy returns the strategy called name ("reinforce", "evolution"
// or "random") over decisions with the given numbers of choices. It returns
// an error for an unknown name or an invalid configuration.
func NewStrategy(name string, choices []int, cfg Config, seed uint64) (Strategy, error) {
	switch name {
	case NameReinforce:
		return NewReinforce(choices, cfg.Reinforce, seed)
	case NameEvolution:
		return NewEvolution(choices, cfg.Evolution, seed)
	case NameRandom:
		return NewRandom(choices, seed)
	default:
		return nil, fmt.Errorf("rl: unknown strategy %q: use one of %s", name, strings.Join(StrategyNames, ", "))
	}
}
