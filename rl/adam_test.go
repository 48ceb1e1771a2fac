package rl

import (
	"math"
	"testing"

	"nas/controller"
)

func TestAdamStepMatchesFormula(t *testing.T) {
	p := &controller.Param{Name: "w", Shape: []int{3}, Value: []float64{1, 2, 3}, Grad: []float64{0.5, -2, 0}}
	params := []*controller.Param{p}
	a := newAdam(params, 0.1, 0.9, 0.999, 1e-8)

	// The first bias-corrected step is lr·g/(|g|+ε), about lr·sign(g).
	a.step(params)
	want := []float64{1 - 0.1*0.5/(0.5+1e-8), 2 + 0.1*2/(2+1e-8), 3}
	for i := range want {
		if math.Abs(p.Value[i]-want[i]) > 1e-12 {
			t.Errorf("after step 1, value[%d] = %v, want %v", i, p.Value[i], want[i])
		}
	}

	// Second step with gradient g2: m = 0.9·0.1·g1 + 0.1·g2, v likewise,
	// corrected by 1−0.9² and 1−0.999².
	p.Grad = []float64{1, 1, 1}
	before := append([]float64(nil), p.Value...)
	a.step(params)
	g1 := []float64{0.5, -2, 0}
	for i := range g1 {
		m := (0.9*0.1*g1[i] + 0.1*1) / (1 - 0.81)
		v := (0.999*0.001*g1[i]*g1[i] + 0.001*1) / (1 - 0.999*0.999)
		w := before[i] - 0.1*m/(math.Sqrt(v)+1e-8)
		if math.Abs(p.Value[i]-w) > 1e-12 {
			t.Errorf("after step 2, value[%d] = %v, want %v", i, p.Value[i], w)
		}
	}
}

func TestClipGradientsScalesToMaxNorm(t *testing.T) {
	a := &controller.Param{Grad: []float64{3, 0}}
	b := &controller.Param{Grad: []float64{0, 4}}
	params := []*controller.Param{a, b}

	norm := clipGradients(params, 10)
	if norm != 5 || a.Grad[0] != 3 || b.Grad[1] != 4 {
		t.Errorf("norm 5 under max 10: got norm %v, grads %v %v; want 5 and no change", norm, a.Grad, b.Grad)
	}
	norm = clipGradients(params, 1)
	if norm != 5 {
		t.Errorf("norm before clipping = %v, want 5", norm)
	}
	if math.Abs(a.Grad[0]-0.6) > 1e-15 || math.Abs(b.Grad[1]-0.8) > 1e-15 {
		t.Errorf("clipped to norm 1: grads %v %v, want [0.6 0] [0 0.8]", a.Grad, b.Grad)
	}
	a.Grad[0], b.Grad[1] = 30, 40
	if norm := clipGradients(params, -1); norm != 50 || a.Grad[0] != 30 {
		t.Errorf("negative max norm: norm %v, grad %v; want 50 and no clipping", norm, a.Grad[0])
	}
}
