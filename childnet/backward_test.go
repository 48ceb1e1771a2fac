package childnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// randomBatch returns n random images for arch-sized input and labels in
// [0, classes), from a PCG seeded with seed.
func randomBatch(seed uint64, n, h, w, c, classes int) ([]float32, []int32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := make([]float32, n*h*w*c)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(rng.IntN(classes))
	}
	return x, y
}

// tinyChild builds tinySpace's supernet and binds tinyArch, with BN γ and β
// moved off their initial 1 and 0 so that their gradients matter.
func tinyChild(t *testing.T, seed uint64) (*Supernet, *Child) {
	t.Helper()
	net, err := NewSupernet(tinySpace(), seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	for _, name := range net.names {
		p := net.params[name]
		switch p.kind {
		case kindGamma:
			for i := range p.data {
				p.data[i] = float32(0.5 + rng.Float64())
			}
		case kindBeta, kindBias:
			for i := range p.data {
				p.data[i] = float32(0.3 * rng.NormFloat64())
			}
		}
	}
	c, err := net.Bind(tinyArch())
	if err != nil {
		t.Fatal(err)
	}
	return net, c
}

func TestForwardMatchesFloat64Reference(t *testing.T) {
	net, c := tinyChild(t, 1)
	const n = 4
	x, y := randomBatch(3, n, 8, 8, 2, 3)
	w := net.NewWorker(n)
	if err := w.checkBatch(c, x, y, n); err != nil {
		t.Fatal(err)
	}
	loss, _ := w.computeGradients(c, x, n)

	refL, refLogits := refLoss(c, newRefParams(net), x, y, n)
	if d := math.Abs(loss - refL); d > 1e-5*math.Max(1, math.Abs(refL)) {
		t.Errorf("loss = %.7g, float64 reference %.7g (diff %.2g)", loss, refL, d)
	}
	maxDiff := 0.0
	for i, v := range refLogits {
		maxDiff = math.Max(maxDiff, math.Abs(float64(w.acts.logits[i])-v))
	}
	if maxDiff > 1e-4 {
		t.Errorf("logits differ from the float64 reference by up to %.3g", maxDiff)
	}
}

// TestBackwardFiniteDifferences checks the gradient of every tensor region
// the tiny child uses (stem, expand, depthwise, project, dsconv, head and
// classifier weights, BN γ and β) against central differences of the float64
// reference loss.
func TestBackwardFiniteDifferences(t *testing.T) {
	net, c := tinyChild(t, 5)
	const n = 4
	x, y := randomBatch(7, n, 8, 8, 2, 3)
	w := net.NewWorker(n)
	if err := w.checkBatch(c, x, y, n); err != nil {
		t.Fatal(err)
	}
	w.computeGradients(c, x, n)

	ref := newRefParams(net)
	rng := rand.New(rand.NewPCG(11, 0))
	const h = 1e-5
	checked := 0
	for _, r := range c.regions {
		// Up to 6 random elements of each region.
		var idx []int
		r.runs(func(start, length int) {
			for i := range length {
				idx = append(idx, start+i)
			}
		})
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		var worst float64
		var worstMsg string
		for _, i := range idx[:min(6, len(idx))] {
			v := ref[r.p.name]
			orig := v[i]
			v[i] = orig + h
			lp, _ := refLoss(c, ref, x, y, n)
			v[i] = orig - h
			lm, _ := refLoss(c, ref, x, y, n)
			v[i] = orig
			numeric := (lp - lm) / (2 * h)
			analytic := float64(w.grads[r.p.name][i])
			err := math.Abs(analytic-numeric) / (math.Abs(numeric) + 1e-3)
			if err > worst {
				worst = err
				worstMsg = fmt.Sprintf("element %d: analytic %.6g, numeric %.6g", i, analytic, numeric)
			}
			checked++
		}
		if worst > 2e-3 {
			t.Errorf("%s: gradient off by %.3g relative at %s", r.p.name, worst, worstMsg)
		}
	}
	if checked < 3*len(c.regions) {
		t.Fatalf("checked only %d elements over %d regions", checked, len(c.regions))
	}
}

// TestBackwardLeavesUnusedGradientsAlone checks that the backward pass writes
// only inside the regions of the child: a smaller kernel must not touch the
// outer taps, fewer channels not the other channels.
func TestBackwardLeavesUnusedGradientsAlone(t *testing.T) {
	net, c := tinyChild(t, 5)
	const n = 2
	x, y := randomBatch(7, n, 8, 8, 2, 3)
	w := net.NewWorker(n)
	const sentinel = 12345
	for _, g := range w.grads {
		for i := range g {
			g[i] = sentinel
		}
	}
	if err := w.checkBatch(c, x, y, n); err != nil {
		t.Fatal(err)
	}
	w.computeGradients(c, x, n)
	inside := map[string]map[int]bool{}
	for _, r := range c.regions {
		if inside[r.p.name] == nil {
			inside[r.p.name] = map[int]bool{}
		}
		r.runs(func(start, length int) {
			for i := range length {
				inside[r.p.name][start+i] = true
			}
		})
	}
	for name, g := range w.grads {
		for i, v := range g {
			if inside[name][i] && v == sentinel {
				t.Errorf("%s[%d]: used but gradient not written", name, i)
			}
			if !inside[name][i] && v != sentinel {
				t.Errorf("%s[%d]: unused but gradient written (%g)", name, i, v)
				break
			}
		}
	}
}
