package childnet

import (
	"bytes"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"nas/searchspace"
)

// TestBindDecodedChildren decodes random token sequences of every built-in
// space and requires each architecture to bind to the space's supernet. The
// first three also run a training step. This keeps the supernet's maximum
// sizes in step with the rules of Space.Decode (channel rounding, head
// width, resolution).
func TestBindDecodedChildren(t *testing.T) {
	for _, input := range []searchspace.Shape{{Height: 28, Width: 28, Channels: 1}, {Height: 32, Width: 32, Channels: 3}} {
		for _, name := range searchspace.BuiltinNames() {
			space, err := searchspace.BuiltinSpace(name, input, 10)
			if err != nil {
				t.Fatal(err)
			}
			net, err := NewSupernet(space, 1)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
				t.Fatal(err)
			}
			w := net.NewWorker(2)
			x, y := randomBatch(1, 2, input.Height, input.Width, input.Channels, 10)
			decisions := space.Decisions()
			rng := rand.New(rand.NewPCG(5, 0))
			for trial := range 20 {
				tokens := make([]int, len(decisions))
				for i, d := range decisions {
					tokens[i] = rng.IntN(len(d.Choices))
				}
				arch, err := space.Decode(tokens)
				if err != nil {
					t.Fatalf("%s: decode %v: %v", name, tokens, err)
				}
				c, err := net.Bind(arch)
				if err != nil {
					t.Fatalf("%s %dx%d trial %d: %v", name, input.Height, input.Width, trial, err)
				}
				if trial < 3 {
					if _, err := w.TrainStep(c, x, y, 2, 0.01); err != nil {
						t.Fatalf("%s trial %d: %v", name, trial, err)
					}
				}
			}
		}
	}
}

func TestBindRejects(t *testing.T) {
	net, err := NewSupernet(tinySpace(), 1)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(a *searchspace.Arch)
		msg    string
	}{
		{"classes", func(a *searchspace.Arch) { a.Classes = 4 }, "4 classes"},
		{"blocks", func(a *searchspace.Arch) { a.Blocks = a.Blocks[:3] }, "3 blocks"},
		{"stride", func(a *searchspace.Arch) { a.Blocks[1].Stride = 1 }, "block 1 has stride 1"},
		{"kernel", func(a *searchspace.Arch) { a.Blocks[3].Kernel = 5 }, "block 3 has kernel 5"},
		{"expansion", func(a *searchspace.Arch) { a.Blocks[1].Expansion = 4 }, "block 1 has expansion 4"},
		{"channels", func(a *searchspace.Arch) { a.Blocks[3].Out = 9 }, "block 3 maps"},
		{"op", func(a *searchspace.Arch) { a.Blocks[1] = searchspace.Block{Op: searchspace.OpSkip} }, "block 1 is skip"},
		{"head", func(a *searchspace.Arch) { a.Head.Out = 8 }, "head out 8"},
		{"input", func(a *searchspace.Arch) { a.Input.Channels = 3 }, "input"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := tinyArch()
			tc.change(&a)
			_, err := net.Bind(a)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

func TestFirstNonFiniteNamesTensor(t *testing.T) {
	net, err := NewSupernet(fashionSpace(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if name := net.FirstNonFinite(); name != "" {
		t.Fatalf("fresh supernet: FirstNonFinite = %q, want none", name)
	}
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		p := net.params["head.bn.weight"]
		old := p.data[3]
		p.data[3] = v
		if name := net.FirstNonFinite(); name != "head.bn.weight" {
			t.Errorf("with %v in head.bn.weight: FirstNonFinite = %q", v, name)
		}
		p.data[3] = old
	}
}

// skipFirstYAML is a space whose first slot offers only skip, so that slot
// has no kernel sizes, no expansion ratios and no weights.
const skipFirstYAML = `
name: skipfirst
input: {height: 8, width: 8, channels: 1}
classes: 3
stem: {out: 8, kernel: 3, stride: 1}
blocks:
  - {out: 8, stride: 1, ops: [skip]}
  - {out: 8, stride: 1, ops: [skip, mbconv], kernels: [3], expansions: [1]}
head: {out: 0}
width_multipliers: [1.0]
resolution_multipliers: [1.0]
`

func TestSupernetSkipOnlySlot(t *testing.T) {
	space, err := searchspace.ParseSpace([]byte(skipFirstYAML), searchspace.FormatYAML)
	if err != nil {
		t.Fatal(err)
	}
	if err := space.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	net, err := NewSupernet(space, 1)
	if err != nil {
		t.Fatalf("NewSupernet: %v", err)
	}
	for _, name := range net.names {
		if strings.HasPrefix(name, "blocks.0.") {
			t.Errorf("the skip-only slot has tensor %s", name)
		}
	}
	if _, err := SupernetTrainingMemory(space, 4, DefaultOptimizerConfig()); err != nil {
		t.Errorf("SupernetTrainingMemory: %v", err)
	}
	if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
		t.Fatal(err)
	}

	// Slot 1 is the only decision: skip or mbconv.
	decisions := space.Decisions()
	if len(decisions) != 1 || len(decisions[0].Choices) != 2 {
		t.Fatalf("decisions = %+v, want one with two choices", decisions)
	}
	w := net.NewWorker(4)
	x, y := randomBatch(3, 4, 8, 8, 1, 3)
	for token := range 2 {
		arch, err := space.Decode([]int{token})
		if err != nil {
			t.Fatal(err)
		}
		if arch.Blocks[0].Op != searchspace.OpSkip {
			t.Fatalf("token %d: block 0 is %s, want skip", token, arch.Blocks[0].Op)
		}
		c, err := net.Bind(arch)
		if err != nil {
			t.Fatalf("Bind(%s): %v", arch.ID(), err)
		}
		res, err := w.TrainStep(c, x, y, 4, 0.01)
		if err != nil {
			t.Fatalf("TrainStep(%s): %v", arch.ID(), err)
		}
		if math.IsNaN(res.Loss) || math.IsInf(res.Loss, 0) || res.Loss <= 0 {
			t.Errorf("TrainStep(%s): loss %v, want a finite positive cross-entropy", arch.ID(), res.Loss)
		}

		// The exported weights load as a standalone model with the same
		// logits, so the skip slot passes its input through in both.
		var file bytes.Buffer
		if err := c.SaveWeights(&file, nil); err != nil {
			t.Fatalf("SaveWeights(%s): %v", arch.ID(), err)
		}
		model, mc, _, err := LoadModel(&file)
		if err != nil {
			t.Fatalf("LoadModel(%s): %v", arch.ID(), err)
		}
		want, err := w.Logits(c, x, 4)
		if err != nil {
			t.Fatal(err)
		}
		got, err := model.NewWorker(4).Logits(mc, x, 4)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("%s: standalone logit %d = %v, supernet child %v", arch.ID(), i, got[i], want[i])
			}
		}
	}
}
