package controller

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
)

func newTestController(t testing.TB, choices []int, cfg Config, seed uint64) *Controller {
	t.Helper()
	c, err := New(choices, cfg, seed)
	if err != nil {
		t.Fatalf("New(%v): %v", choices, err)
	}
	return c
}

func TestSampleDeterministic(t *testing.T) {
	choices := []int{3, 4, 3, 4, 2}
	a := newTestController(t, choices, Config{Hidden: 16}, 7)
	b := newTestController(t, choices, Config{Hidden: 16}, 7)
	ra := rand.New(rand.NewPCG(1, 2))
	rb := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 20; i++ {
		sa, sb := a.Sample(ra), b.Sample(rb)
		if !slices.Equal(sa.Tokens, sb.Tokens) || sa.LogProb != sb.LogProb || sa.Entropy != sb.Entropy {
			t.Fatalf("sample %d differs: %+v vs %+v", i, sa, sb)
		}
	}
}

func TestSampleTokensInRange(t *testing.T) {
	choices := []int{1, 2, 5, 3}
	c := newTestController(t, choices, Config{Hidden: 8}, 1)
	r := rand.New(rand.NewPCG(3, 4))
	seen := make([]map[int]bool, len(choices))
	for d := range seen {
		seen[d] = map[int]bool{}
	}
	for i := 0; i < 500; i++ {
		s := c.Sample(r)
		if err := c.checkTokens(s.Tokens); err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		for d, tok := range s.Tokens {
			seen[d][tok] = true
		}
	}
	// A near-uniform initial policy must reach every choice in 500 draws.
	for d, n := range choices {
		if len(seen[d]) != n {
			t.Errorf("decision %d: saw %d of %d choices", d, len(seen[d]), n)
		}
	}
}

func TestSampleMatchesLogProb(t *testing.T) {
	c := newTestController(t, []int{3, 4, 3}, Config{Hidden: 8, InitScale: 0.5}, 2)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 10; i++ {
		s := c.Sample(r)
		logp, entropy, err := c.LogProb(s.Tokens)
		if err != nil {
			t.Fatal(err)
		}
		if logp != s.LogProb {
			t.Errorf("LogProb(%v) = %v, Sample reported %v", s.Tokens, logp, s.LogProb)
		}
		if entropy != s.Entropy {
			t.Errorf("entropy of %v = %v, Sample reported %v", s.Tokens, entropy, s.Entropy)
		}
	}
}

func TestLogProbSumsToOne(t *testing.T) {
	choices := []int{2, 3, 2}
	for _, clip := range []float64{-1, 2.5} {
		c := newTestController(t, choices, Config{Hidden: 8, InitScale: 1, TanhClip: clip}, 3)
		total := 0.0
		for a := 0; a < 2; a++ {
			for b := 0; b < 3; b++ {
				for d := 0; d < 2; d++ {
					logp, _, err := c.LogProb([]int{a, b, d})
					if err != nil {
						t.Fatal(err)
					}
					total += math.Exp(logp)
				}
			}
		}
		if math.Abs(total-1) > 1e-12 {
			t.Errorf("clip %v: probabilities of all 12 sequences sum to %v, want 1", clip, total)
		}
	}
}

func TestTanhClipBoundsProbability(t *testing.T) {
	// With InitScale 5 the raw logits are large; clipping at C = 1 bounds
	// the ratio of any two choices' probabilities by e^(2C).
	c := newTestController(t, []int{3}, Config{Hidden: 8, InitScale: 5, TanhClip: 1}, 4)
	maxP := math.Exp(1) / (math.Exp(1) + 2*math.Exp(-1))
	for tok := 0; tok < 3; tok++ {
		logp, _, err := c.LogProb([]int{tok})
		if err != nil {
			t.Fatal(err)
		}
		if p := math.Exp(logp); p > maxP+1e-12 {
			t.Errorf("token %d has probability %v, above the clip bound %v", tok, p, maxP)
		}
	}
}

func TestBackwardMatchesLogProb(t *testing.T) {
	c := newTestController(t, []int{3, 4, 1, 3, 2}, Config{Hidden: 8, InitScale: 0.5}, 5)
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 5; i++ {
		s := c.Sample(r)
		logp, entropy, err := c.Backward(s.Tokens, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(logp-s.LogProb) > 1e-12 {
			t.Errorf("Backward log-prob %v, Sample %v", logp, s.LogProb)
		}
		if math.Abs(entropy-s.Entropy) > 1e-12 {
			t.Errorf("Backward entropy %v, Sample %v", entropy, s.Entropy)
		}
	}
}

// TestBackwardFiniteDifference checks the graph's gradient of
// a·log π + b·H against central differences of the hand-written forward
// pass, for every parameter entry of small controllers. The cases include
// a single decision, whose recurrent weights are unused, and decisions
// with a single choice.
func TestBackwardFiniteDifference(t *testing.T) {
	cases := []struct {
		name    string
		choices []int
		clip    float64
	}{
		{"no clip", []int{3, 2, 4}, -1},
		{"clip", []int{3, 2, 4}, 2.5},
		{"one decision", []int{3}, 2.5},
		{"one-choice decisions", []int{2, 1, 2}, 2.5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestController(t, tc.choices, Config{Hidden: 4, InitScale: 0.8, TanhClip: tc.clip, Temperature: 1.5}, 6)
			tokens := make([]int, len(tc.choices))
			for d, n := range tc.choices {
				tokens[d] = n - 1
			}
			const wLogProb, wEntropy = 0.7, -0.3
			if _, _, err := c.Backward(tokens, wLogProb, wEntropy); err != nil {
				t.Fatal(err)
			}
			objective := func() float64 {
				logp, entropy, err := c.LogProb(tokens)
				if err != nil {
					t.Fatal(err)
				}
				return wLogProb*logp + wEntropy*entropy
			}

			const eps = 1e-6
			maxDiff := 0.0
			worst := ""
			for _, p := range c.Params() {
				for i := range p.Value {
					saved := p.Value[i]
					p.Value[i] = saved + eps
					plus := objective()
					p.Value[i] = saved - eps
					minus := objective()
					p.Value[i] = saved
					numeric := (plus - minus) / (2 * eps)
					if diff := math.Abs(numeric - p.Grad[i]); diff > maxDiff {
						maxDiff = diff
						worst = p.Name
					}
				}
			}
			if maxDiff > 1e-7 {
				t.Errorf("max |analytic − numeric| = %.3g at %s, want ≤ 1e-7", maxDiff, worst)
			}
		})
	}
}

func TestBackwardAccumulates(t *testing.T) {
	c := newTestController(t, []int{3, 3}, Config{Hidden: 4}, 8)
	tokens := []int{1, 2}
	if _, _, err := c.Backward(tokens, 1, 0); err != nil {
		t.Fatal(err)
	}
	once := slices.Clone(c.Params()[0].Grad)
	if _, _, err := c.Backward(tokens, 1, 0); err != nil {
		t.Fatal(err)
	}
	for i, g := range c.Params()[0].Grad {
		if math.Abs(g-2*once[i]) > 1e-15 {
			t.Fatalf("after two calls grad[%d] = %v, want 2×%v", i, g, once[i])
		}
	}
	c.ZeroGrad()
	for _, p := range c.Params() {
		for i, g := range p.Grad {
			if g != 0 {
				t.Fatalf("after ZeroGrad %s.Grad[%d] = %v", p.Name, i, g)
			}
		}
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	cases := []struct {
		name    string
		choices []int
		cfg     Config
	}{
		{"no decisions", nil, Config{}},
		{"zero choices", []int{3, 0}, Config{}},
		{"negative hidden", []int{3}, Config{Hidden: -1}},
		{"hidden of 1", []int{3}, Config{Hidden: 1}},
		{"negative temperature", []int{3}, Config{Temperature: -1}},
		{"NaN clip", []int{3}, Config{TanhClip: math.NaN()}},
		{"infinite init", []int{3}, Config{InitScale: math.Inf(1)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := New(tc.choices, tc.cfg, 1); err == nil {
				t.Errorf("New(%v, %+v) returned no error", tc.choices, tc.cfg)
			}
		})
	}
}

func TestLogProbRejectsBadTokens(t *testing.T) {
	c := newTestController(t, []int{3, 2}, Config{Hidden: 4}, 9)
	for _, tokens := range [][]int{{0}, {0, 2}, {-1, 0}, {0, 1, 0}} {
		if _, _, err := c.LogProb(tokens); err == nil {
			t.Errorf("LogProb(%v) returned no error", tokens)
		}
		if _, _, err := c.Backward(tokens, 1, 0); err == nil {
			t.Errorf("Backward(%v) returned no error", tokens)
		}
	}
}

func TestMarshalRoundTrip(t *testing.T) {
	choices := []int{3, 4, 2}
	a := newTestController(t, choices, Config{Hidden: 8, TanhClip: -1}, 10)
	data, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}

	// Into a controller of another layout, which must adopt a's layout.
	b := newTestController(t, []int{2}, Config{Hidden: 4}, 11)
	if err := b.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	if b.Config() != a.Config() {
		t.Errorf("config after round trip = %+v, want %+v", b.Config(), a.Config())
	}
	if !slices.Equal(b.Choices(), choices) {
		t.Errorf("choices after round trip = %v, want %v", b.Choices(), choices)
	}
	ra := rand.New(rand.NewPCG(1, 1))
	rb := rand.New(rand.NewPCG(1, 1))
	for i := 0; i < 10; i++ {
		sa, sb := a.Sample(ra), b.Sample(rb)
		if !slices.Equal(sa.Tokens, sb.Tokens) || sa.LogProb != sb.LogProb {
			t.Fatalf("sample %d after round trip: %+v, want %+v", i, sb, sa)
		}
	}

	// Into a controller whose graph is already built, which must keep the
	// graph reading the restored weights.
	c := newTestController(t, choices, Config{Hidden: 8, TanhClip: -1}, 12)
	tokens := []int{2, 3, 1}
	if _, _, err := c.Backward(tokens, 1, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.UnmarshalBinary(data); err != nil {
		t.Fatal(err)
	}
	want, _, _ := a.LogProb(tokens)
	got, _, err := c.Backward(tokens, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-want) > 1e-12 {
		t.Errorf("Backward log-prob after restore = %v, want %v", got, want)
	}
}

func TestUnmarshalRejectsGarbage(t *testing.T) {
	c := newTestController(t, []int{3}, Config{Hidden: 4}, 13)
	before, _, _ := c.LogProb([]int{1})
	if err := c.UnmarshalBinary([]byte("not a controller")); err == nil {
		t.Error("UnmarshalBinary of garbage returned no error")
	}
	after, _, _ := c.LogProb([]int{1})
	if after != before {
		t.Errorf("failed UnmarshalBinary changed the weights: log-prob %v, was %v", after, before)
	}
}

// TestBackwardConcurrentControllers builds and runs graphs of separate
// controllers from several goroutines; run it with -race to check the
// build lock.
func TestBackwardConcurrentControllers(t *testing.T) {
	choices := []int{3, 4, 3}
	tokens := []int{1, 2, 0}
	reference := newTestController(t, choices, Config{Hidden: 8}, 14)
	if _, _, err := reference.Backward(tokens, 1, 0.1); err != nil {
		t.Fatal(err)
	}
	want := reference.Params()[1].Grad

	const workers = 4
	grads := make([][]float64, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := New(choices, Config{Hidden: 8}, 14)
			if err != nil {
				errs[w] = err
				return
			}
			_, _, errs[w] = c.Backward(tokens, 1, 0.1)
			grads[w] = c.Params()[1].Grad
		}()
	}
	wg.Wait()
	for w := 0; w < workers; w++ {
		if errs[w] != nil {
			t.Fatalf("worker %d: %v", w, errs[w])
		}
		if !slices.Equal(grads[w], want) {
			t.Errorf("worker %d: gradient differs from the serial run", w)
		}
	}
}

// TestBackwardBatchMatchesSingle checks that a batch larger than one graph
// run gives the sum of the single-sequence gradients and each sequence's
// own log-probability and entropy.
func TestBackwardBatchMatchesSingle(t *testing.T) {
	for _, hidden := range []int{2, 8} {
		choices := []int{3, 4, 1, 2}
		batched := newTestController(t, choices, Config{Hidden: hidden, InitScale: 0.5}, 15)
		single := newTestController(t, choices, Config{Hidden: hidden, InitScale: 0.5}, 15)
		r := rand.New(rand.NewPCG(9, 10))
		const n = maxGraphRows + 5
		batch := make([][]int, n)
		wLogProb := make([]float64, n)
		wEntropy := make([]float64, n)
		for i := range batch {
			batch[i] = batched.Sample(r).Tokens
			wLogProb[i] = r.Float64() - 0.5
			wEntropy[i] = 0.1 * r.Float64()
		}

		logProbs, entropies, err := batched.BackwardBatch(batch, wLogProb, wEntropy)
		if err != nil {
			t.Fatalf("hidden %d: %v", hidden, err)
		}
		for i, tokens := range batch {
			logp, entropy, err := single.Backward(tokens, wLogProb[i], wEntropy[i])
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(logProbs[i]-logp) > 1e-12 || math.Abs(entropies[i]-entropy) > 1e-12 {
				t.Errorf("hidden %d, sequence %d: batch gave (%v, %v), single (%v, %v)", hidden, i, logProbs[i], entropies[i], logp, entropy)
			}
		}
		for k, p := range batched.Params() {
			for j, g := range p.Grad {
				if want := single.Params()[k].Grad[j]; math.Abs(g-want) > 1e-12 {
					t.Fatalf("hidden %d: %s.Grad[%d] = %v from the batch, %v summed from single runs", hidden, p.Name, j, g, want)
				}
			}
		}
	}
}
