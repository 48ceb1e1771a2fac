package dataset

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// splitStream is the PCG stream for Split, so that a split and a loader
// seeded with the same number still draw different sequences.
const splitStream = 0x73706c6974 // "split"

// Split divides set into a training part and a validation part of valCount
// examples, stratified by class: each class gives the validation part its
// share of valCount, rounded by largest remainder. The two parts are
// disjoint copies that together hold every example of set, each in the
// original order. The same seed always gives the same split.
//
// Search takes its validation examples from the training split this way;
// the test split is never used for search.
func Split(set *Set, valCount int, seed uint64) (train, val *Set, err error) {
	if valCount < 0 || valCount > set.Len() {
		return nil, nil, fmt.Errorf("dataset: validation size %d is outside 0..%d, the size of the %s %s split",
			valCount, set.Len(), set.Name, set.Split)
	}

	// Group example indices by class and shuffle each group.
	rng := rand.New(rand.NewPCG(seed, splitStream))
	byClass := make([][]int, set.Classes)
	for i, l := range set.Labels {
		byClass[l] = append(byClass[l], i)
	}
	for _, group := range byClass {
		shuffle(rng, group)
	}

	// Take each class's quota from the front of its shuffled group.
	quotas := stratifiedQuotas(set.ClassCounts(), valCount)
	valIndices := make([]int, 0, valCount)
	trainIndices := make([]int, 0, set.Len()-valCount)
	for c, group := range byClass {
		valIndices = append(valIndices, group[:quotas[c]]...)
		trainIndices = append(trainIndices, group[quotas[c]:]...)
	}
	slices.Sort(valIndices)
	slices.Sort(trainIndices)

	train = set.Select(trainIndices)
	train.Split = "train"
	val = set.Select(valIndices)
	val.Split = "val"
	return train, val, nil
}

// stratifiedQuotas shares total among classes in proportion to counts:
// each class gets the floor of its exact share, and the remaining units go
// to the classes with the largest fractional parts, lower class first on
// ties. No quota exceeds its class count.
func stratifiedQuotas(counts []int, total int) []int {
	n := 0
	for _, c := range counts {
		n += c
	}
	quotas := make([]int, len(counts))
	if n == 0 {
		return quotas
	}
	remainders := make([]int, len(counts)) // share·n modulo n, so exact in integers
	assigned := 0
	for c, count := range counts {
		quotas[c] = count * total / n
		remainders[c] = count * total % n
		assigned += quotas[c]
	}
	order := make([]int, len(counts))
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(a, b int) int { return remainders[b] - remainders[a] })
	for _, c := range order[:total-assigned] {
		quotas[c]++
	}
	return quotas
}

// shuffle permutes s in place with the Fisher–Yates algorithm, one
// rng.IntN call per element, without allocating.
func shuffle(rng *rand.Rand, s []int) {
	for i := len(s) - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		s[i], s[j] = s[j], s[i]
	}
}
