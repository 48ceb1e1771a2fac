package rl

import (
	"math"

	"nas/controller"
)

// adam is the Adam optimizer (Kingma & Ba) over a controller's parameters.
// It is written here because gorgonia v0.9.18's AdamSolver keeps its step
// count and moments in unexported fields, so a checkpoint could not save
// them. The moments are kept in the controller's Params order, and the
// fields are exported only so that gob can encode them.
type adam struct {
	LearningRate, Beta1, Beta2, Epsilon float64
	Step                                int
	First, Second                       [][]float64 // m and v, one slice per parameter
}

func newAdam(params []*controller.Param, learningRate, beta1, beta2, epsilon float64) *adam {
	a := &adam{LearningRate: learningRate, Beta1: beta1, Beta2: beta2, Epsilon: epsilon}
	for _, p := range params {
		a.First = append(a.First, make([]float64, len(p.Value)))
		a.Second = append(a.Second, make([]float64, len(p.Value)))
	}
	return a
}

// step moves every parameter against its gradient:
//
//	m = β1·m + (1−β1)·g;  v = β2·v + (1−β2)·g²
//	θ −= lr · (m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + ε)
func (a *adam) step(params []*controller.Param) {
	a.Step++
	correction1 := 1 - math.Pow(a.Beta1, float64(a.Step))
	correction2 := 1 - math.Pow(a.Beta2, float64(a.Step))
	for i, p := range params {
		m, v := a.First[i], a.Second[i]
		for j, g := range p.Grad {
			m[j] = a.Beta1*m[j] + (1-a.Beta1)*g
			v[j] = a.Beta2*v[j] + (1-a.Beta2)*g*g
			p.Value[j] -= a.LearningRate * (m[j] / correction1) / (math.Sqrt(v[j]/correction2) + a.Epsilon)
		}
	}
}

// clipGradients scales all gradients down so that their global L2 norm is
// at most maxNorm (no clipping when maxNorm ≤ 0) and returns the norm before
// clipping.
func clipGradients(params []*controller.Param, maxNorm float64) float64 {
	sum := 0.0
	for _, p := range params {
		for _, g := range p.Grad {
			sum += g * g
		}
	}
	norm := math.Sqrt(sum)
	if maxNorm > 0 && norm > maxNorm {
		scale := maxNorm / norm
		for _, p := range params {
			for j := range p.Grad {
				p.Grad[j] *= scale
			}
		}
	}
	return norm
}
