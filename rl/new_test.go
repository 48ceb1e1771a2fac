package rl

import (
	"testing"
)

func TestNewStrategyNames(t *testing.T) {
	choices := []int{3, 4}
	for _, name := range StrategyNames {
		s, err := NewStrategy(name, choices, Config{Reinforce: ReinforceConfig{}}, 1)
		if err != nil {
			t.Errorf("NewStrategy(%q): %v", name, err)
			continue
		}
		if _, err := s.Propose(); err != nil {
			t.Errorf("%s: Propose: %v", name, err)
		}
	}
	if _, err := NewStrategy("annealing", choices, Config{}, 1); err == nil {
		t.Error(`NewStrategy("annealing") returned no error`)
	}
}

func TestUnmarshalRejectsOtherKind(t *testing.T) {
	choices := []int{3, 4}
	states := map[string][]byte{}
	for _, name := range StrategyNames {
		s, err := NewStrategy(name, choices, Config{}, 1)
		if err != nil {
			t.Fatal(err)
		}
		data, err := s.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		states[name] = data
	}
	for _, into := range StrategyNames {
		for _, from := range StrategyNames {
			s, err := NewStrategy(into, choices, Config{}, 2)
			if err != nil {
				t.Fatal(err)
			}
			err = s.UnmarshalBinary(states[from])
			if from == into && err != nil {
				t.Errorf("%s state into %s: %v", from, into, err)
			}
			if from != into && err == nil {
				t.Errorf("%s state into %s returned no error", from, into)
			}
		}
	}
}
