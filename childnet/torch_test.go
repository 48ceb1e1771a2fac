package childnet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"nas/searchspace"
)

// torchPython is the interpreter with python3-torch (Debian's package); a
// pyenv python3 earlier on PATH may lack torch.
const torchPython = "/usr/bin/python3"

// needTorch skips the test when PyTorch is not importable.
func needTorch(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("skipped in -short mode: runs PyTorch")
	}
	if err := exec.Command(torchPython, "-c", "import torch").Run(); err != nil {
		t.Skipf("skipped: %s cannot import torch (%v); install python3-torch to compare with PyTorch", torchPython, err)
	}
}

func loadReferenceArch(t testing.TB) searchspace.Arch {
	t.Helper()
	data, err := os.ReadFile("testdata/reference_child.json")
	if err != nil {
		t.Fatal(err)
	}
	arch, err := searchspace.ParseArch(data)
	if err != nil {
		t.Fatal(err)
	}
	return arch
}

// TestGradientsMatchPyTorch runs the same child, weights and batch through
// childnet and through the PyTorch rebuild in scripts/torch_child.py
// (training-mode BN, mean cross-entropy) and compares the logits and every
// parameter gradient. Each tensor's max difference must be within 1e-4 of
// its max magnitude.
//
// PyTorch runs in float64. In float32, its early-layer gradients of the
// reference child differed from ours by up to 2% of the tensor's max, and
// central differences of the float64 loss with step 1e-7 sided with ours.
func TestGradientsMatchPyTorch(t *testing.T) {
	needTorch(t)
	tiny := tinyArch()
	tiny.Resolution = 6 // exercises the bilinear resize
	noHead := tinyArch()
	noHead.Head.Out = 0
	cases := []struct {
		name string
		arch searchspace.Arch
		n    int
	}{
		{"reference", loadReferenceArch(t), 8},
		{"tiny_resized", tiny, 4},
		{"tiny_no_head", noHead, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			net, err := NewModel(tc.arch, 21)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Bind(tc.arch)
			if err != nil {
				t.Fatal(err)
			}
			perturbBN(net, 22)
			in := tc.arch.Input
			x, y := randomBatch(23, tc.n, in.Height, in.Width, in.Channels, tc.arch.Classes)

			// Go side.
			w := net.NewWorker(tc.n)
			if err := w.checkBatch(c, x, y, tc.n); err != nil {
				t.Fatal(err)
			}
			loss, _ := w.computeGradients(c, x, tc.n)
			grads := c.exportTensors(func(p *param) []float32 { return w.grads[p.name] })
			logits := w.acts.logits[:tc.n*tc.arch.Classes]

			// PyTorch side.
			got := runTorchGrads(t, dir, c, x, y)

			compareTensor(t, "logits", logits, got["logits"].Data)
			compareTensor(t, "loss", []float32{float32(loss)}, got["loss"].Data)
			for name, g := range grads {
				ref, ok := got["grad."+name]
				if !ok {
					t.Errorf("PyTorch has no gradient for %s", name)
					continue
				}
				compareTensor(t, name, g.Data, ref.Data)
			}
			if len(got)-2 != len(grads) {
				t.Errorf("PyTorch has %d gradients, childnet %d", len(got)-2, len(grads))
			}
		})
	}
}

// runTorchGrads saves c's weights and the batch to dir, runs the grads mode
// of scripts/torch_child.py and returns its output tensors.
func runTorchGrads(t *testing.T, dir string, c *Child, x []float32, y []int32) map[string]Tensor {
	t.Helper()
	writeTorchInputs(t, dir, c, x, y)

	out := filepath.Join(dir, "grads.safetensors")
	cmd := exec.Command(torchPython, "../scripts/torch_child.py", "grads", filepath.Join(dir, "arch.json"),
		filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "x.f32"), filepath.Join(dir, "y.i32"), out, "--threads", "1", "--double")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch_child.py grads: %v\n%s", err, msg)
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _, err := ReadSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func float32Bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// compareTensor fails when the max difference between got and want exceeds
// 1e-4 of want's max magnitude (or 1e-6 for an all-zero want).
func compareTensor(t *testing.T, name string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, PyTorch %d", name, len(got), len(want))
		return
	}
	var maxDiff, scale float64
	for i := range got {
		maxDiff = math.Max(maxDiff, math.Abs(float64(got[i]-want[i])))
		scale = math.Max(scale, math.Abs(float64(want[i])))
	}
	if maxDiff > 1e-4*scale && maxDiff > 1e-6 {
		t.Errorf("%s: max difference %.3g from PyTorch, %.3g relative to its max %.3g", name, maxDiff, maxDiff/scale, scale)
	}
}

// perturbBN moves BN γ, β and the classifier bias off their initial values.
func perturbBN(net *Supernet, seed uint64) {
	x, _ := randomBatch(seed, 1, 1, 1, len(net.names), 2)
	for i, name := range net.names {
		p := net.params[name]
		switch p.kind {
		case kindGamma:
			for j := range p.data {
				p.data[j] = 1 + 0.3*x[i]*float32(j%3-1)
			}
		case kindBeta, kindBias:
			for j := range p.data {
				p.data[j] = 0.2 * x[i] * float32(j%5-2)
			}
		}
	}
}

// TestLogitsMatchPyTorch saves a recalibrated child and has PyTorch load the
// file and compute inference-mode logits (the logits mode of
// scripts/torch_child.py), so it checks both that PyTorch reads our weight
// files and that the inference paths agree.
func TestLogitsMatchPyTorch(t *testing.T) {
	needTorch(t)
	arch := loadReferenceArch(t)
	net, err := NewModel(arch, 31)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Bind(arch)
	if err != nil {
		t.Fatal(err)
	}
	perturbBN(net, 32)
	const n = 6
	x, _ := randomBatch(33, n, 28, 28, 1, 10)
	w := net.NewWorker(n)
	if err := w.RecalibrateBN(c, []Batch{{X: x, N: n}}); err != nil {
		t.Fatal(err)
	}
	want, err := w.Logits(c, x, n)
	if err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	archJSON, err := json.Marshal(arch)
	if err != nil {
		t.Fatal(err)
	}
	var weights bytes.Buffer
	if err := c.SaveWeights(&weights, nil); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"arch.json": archJSON, "w.safetensors": weights.Bytes(), "x.f32": float32Bytes(x)} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "logits.f32")
	cmd := exec.Command(torchPython, "../scripts/torch_child.py", "logits", filepath.Join(dir, "arch.json"),
		filepath.Join(dir, "w.safetensors"), filepath.Join(dir, "x.f32"), out, "--threads", "1")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("torch_child.py logits: %v\n%s", err, msg)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, len(raw)/4)
	for i := range got {
		got[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	compareTensor(t, "logits", want, got)
}

// TestOptimizersMatchPyTorch trains a child for a few steps on one batch
// with each optimizer and compares every weight and running statistic with
// the steps mode of scripts/torch_child.py, which uses torch.optim with
// weight decay on conv and fc weights only.
func TestOptimizersMatchPyTorch(t *testing.T) {
	needTorch(t)
	cases := []struct {
		name string
		cfg  OptimizerConfig
		args []string
	}{
		{"sgd_nesterov", OptimizerConfig{Kind: SGD, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-3},
			[]string{"--opt", "sgd", "--momentum", "0.9", "--nesterov", "--wd", "1e-3"}},
		// Some gradients are float noise around an exact zero (the BN
		// bias before a residual add and another conv and BN), which Adam
		// with ε = 1e-8 would turn into full steps. A larger ε keeps
		// the comparison meaningful.
		{"adam_clipped", OptimizerConfig{Kind: Adam, Epsilon: 1e-3, WeightDecay: 1e-3, ClipNorm: 0.5},
			[]string{"--opt", "adam", "--eps", "1e-3", "--wd", "1e-3", "--clip", "0.5"}},
	}
	const lr, steps, n = 0.01, 3, 4
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			arch := tinyArch()
			net, err := NewModel(arch, 41)
			if err != nil {
				t.Fatal(err)
			}
			c, err := net.Bind(arch)
			if err != nil {
				t.Fatal(err)
			}
			perturbBN(net, 42)
			dir := t.TempDir()
			x, y := randomBatch(43, n, 8, 8, 2, 3)
			writeTorchInputs(t, dir, c, x, y)

			// Go side.
			if err := net.SetOptimizer(tc.cfg); err != nil {
				t.Fatal(err)
			}
			w := net.NewWorker(n)
			for range steps {
				if _, err := w.TrainStep(c, x, y, n, lr); err != nil {
					t.Fatal(err)
				}
			}

			// PyTorch side.
			out := filepath.Join(dir, "after.safetensors")
			args := append([]string{"../scripts/torch_child.py", "steps", filepath.Join(dir, "arch.json"), filepath.Join(dir, "w.safetensors"),
				filepath.Join(dir, "x.f32"), filepath.Join(dir, "y.i32"), out, "--threads", "1", "--lr", "0.01", "--steps", "3"}, tc.args...)
			if msg, err := exec.Command(torchPython, args...).CombinedOutput(); err != nil {
				t.Fatalf("torch_child.py steps: %v\n%s", err, msg)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			want, _, err := ReadSafetensors(f)
			if err != nil {
				t.Fatal(err)
			}
			got := c.StateDict()
			for name, g := range got {
				compareTensor(t, name, g.Data, want[name].Data)
			}
			if len(got) != len(want) {
				t.Errorf("PyTorch state_dict has %d tensors, childnet %d", len(want), len(got))
			}
		})
	}
}

// writeTorchInputs writes the architecture, the weights of c and a batch to
// dir as arch.json, w.safetensors, x.f32 and y.i32.
func writeTorchInputs(t *testing.T, dir string, c *Child, x []float32, y []int32) {
	t.Helper()
	archJSON, err := json.Marshal(c.Arch())
	if err != nil {
		t.Fatal(err)
	}
	var weights bytes.Buffer
	if err := c.SaveWeights(&weights, nil); err != nil {
		t.Fatal(err)
	}

	labels := make([]byte, 0, 4*len(y))
	for _, v := range y {
		labels = binary.LittleEndian.AppendUint32(labels, uint32(v))
	}
	files := map[string][]byte{"arch.json": archJSON, "w.safetensors": weights.Bytes(), "x.f32": float32Bytes(x), "y.i32": labels}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
