package gop

import (
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// tinyNet is a small child built from every differentiable op of the
// package: stem, batch norm, ReLU6, depthwise, pointwise, pooling, linear
// and the loss.
type tinyNet struct {
	g      *gorgonia.ExprGraph
	params gorgonia.Nodes
	loss   *gorgonia.Node
}

func randomTensor(r *rand.Rand, scale float32, shape ...int) *tensor.Dense {
	size := 1
	for _, s := range shape {
		size *= s
	}
	data := make([]float32, size)
	for i := range data {
		data[i] = scale * (2*r.Float32() - 1)
	}
	return tensor.New(tensor.WithShape(shape...), tensor.WithBacking(data))
}

func buildTinyNet(t testing.TB, r *rand.Rand, n, side, cin, width, classes int) *tinyNet {
	t.Helper()
	g := gorgonia.NewGraph()
	param := func(name string, value *tensor.Dense) *gorgonia.Node {
		return gorgonia.NewTensor(g, tensor.Float32, value.Dims(), gorgonia.WithShape(value.Shape()...),
			gorgonia.WithName(name), gorgonia.WithValue(value))
	}
	x := param("x", randomTensor(r, 1, n, side, side, cin))
	stem := param("stem", randomTensor(r, 0.5, 3, 3, cin, width))
	gamma := param("gamma", randomTensor(r, 1, width))
	beta := param("beta", randomTensor(r, 1, width))
	dw := param("dw", randomTensor(r, 0.5, 5, 5, width))
	pw := param("pw", randomTensor(r, 0.5, width, width+3))
	fc := param("fc", randomTensor(r, 0.5, width+3, classes))
	bias := param("bias", randomTensor(r, 0.1, classes))
	labels := make([]int, n)
	for i := range labels {
		labels[i] = r.IntN(classes)
	}

	must := func(node *gorgonia.Node, err error) *gorgonia.Node {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return node
	}
	h := must(Conv2D(x, stem, 1))
	h = must(BatchNorm(h, gamma, beta))
	h = must(ReLU6(h))
	h = must(Depthwise(h, dw, 2))
	h = must(Pointwise(h, pw))
	h = must(GlobalAvgPool(h))
	h = must(Linear(h, fc, bias))
	loss := must(SoftmaxCrossEntropy(h, labels))
	return &tinyNet{g: g, params: gorgonia.Nodes{x, stem, gamma, beta, dw, pw, fc, bias}, loss: loss}
}

func TestGraphGradientFiniteDifferences(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	net := buildTinyNet(t, r, 3, 7, 3, 6, 5)
	if _, err := gorgonia.Grad(net.loss, net.params...); err != nil {
		t.Fatalf("Grad: %v", err)
	}
	m := gorgonia.NewTapeMachine(net.g)
	defer m.Close()
	run := func() float64 {
		m.Reset()
		if err := m.RunAll(); err != nil {
			t.Fatalf("RunAll: %v", err)
		}
		return float64(*net.loss.Value().(*gorgonia.F32))
	}
	run()

	// Copy the gradients before the finite-difference runs overwrite them.
	grads := make([][]float32, len(net.params))
	for i, p := range net.params {
		gv, err := p.Grad()
		if err != nil {
			t.Fatalf("%s: no gradient: %v", p.Name(), err)
		}
		grads[i] = append([]float32(nil), gv.Data().([]float32)...)
	}

	// Central differences in float32 with step 1e-2; the loss is smooth
	// except at ReLU6 kinks, so the tolerance is loose.
	const step = 1e-2
	for i, p := range net.params {
		data := p.Value().Data().([]float32)
		worst, at := 0.0, -1
		var want float64
		for j := range data {
			old := data[j]
			data[j] = old + step
			up := run()
			data[j] = old - step
			down := run()
			data[j] = old
			numeric := (up - down) / (2 * step)
			d := math.Abs(float64(grads[i][j])-numeric) / math.Max(0.1, math.Abs(numeric))
			if d > worst {
				worst, at, want = d, j, numeric
			}
		}
		if worst > 0.05 {
			t.Errorf("%s: gradient[%d] = %v, finite differences give %v (relative difference %.3g)",
				p.Name(), at, grads[i][at], want, worst)
		}
	}
}

func TestResizeBilinearHasNoGradient(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 2, 4, 1), gorgonia.WithName("x"),
		gorgonia.WithValue(tensor.New(tensor.WithShape(1, 2, 4, 1), tensor.WithBacking([]float32{0, 1, 2, 3, 4, 5, 6, 7}))))
	y, err := ResizeBilinear(x, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	m := gorgonia.NewTapeMachine(g)
	defer m.Close()
	if err := m.RunAll(); err != nil {
		t.Fatal(err)
	}
	got := y.Value().Data().([]float32)
	if len(got) != 15 || got[7] != 3.5 {
		t.Fatalf("resized values %v, want 15 values with centre 3.5", got)
	}
	if diff := y.Op().(*kernelOp).DiffWRT(1); diff[0] {
		t.Fatal("ResizeBilinear reports a gradient")
	}
}

func TestDepthwiseRejectsEvenKernel(t *testing.T) {
	g := gorgonia.NewGraph()
	x := gorgonia.NewTensor(g, tensor.Float32, 4, gorgonia.WithShape(1, 4, 4, 2), gorgonia.WithName("x"))
	w := gorgonia.NewTensor(g, tensor.Float32, 3, gorgonia.WithShape(2, 2, 2), gorgonia.WithName("w"))
	if _, err := Depthwise(x, w, 1); err == nil {
		t.Fatal("Depthwise accepted a 2×2 filter")
	}
}
