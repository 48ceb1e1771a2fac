package controller

import (
	"fmt"
	"slices"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// graphBuildMu serialises graph construction as a precaution: building
// reads package-level constant nodes of gorgonia v0.9.18, such as the 1.0
// that seeds Grad. NOTE: v0.9.18 numbers nodes per graph, and
// TestBackwardConcurrentControllers found no race under -race without
// this lock.
var graphBuildMu sync.Mutex

// graph is the teacher-forced computation of one sequence's objective
//
//	J = wLogProb·log π(tokens) + wEntropy·H(tokens)
//
// and its symbolic gradient with respect to every parameter. It is built
// once per controller and rerun with new inputs; the parameter nodes read
// the controller's own storage, so weight updates need no copy.
type graph struct {
	g       *G.ExprGraph
	machine G.VM

	inputs    *tensor.Dense // (D, rows): row d is the one-hot input token of step d
	targets   *tensor.Dense // (Σn): the one-hot tokens of all decisions
	wLogProb  *G.Node
	wEntropy  *G.Node
	logProb   *G.Node
	entropy   *G.Node
	gradients G.Nodes // one per parameter, in c.params order; nil for an unused one
}

// buildGraph builds c's gradient graph and its tape machine.
func (c *Controller) buildGraph() (*graph, error) {
	graphBuildMu.Lock()
	defer graphBuildMu.Unlock()

	hsize := c.cfg.Hidden
	steps := len(c.choices)
	rows := c.emb.Shape[0]
	g := G.NewGraph()
	gr := &graph{g: g}

	// Inputs and parameters. Parameter nodes wrap c's slices without
	// copying. Activations are vectors: a matrix row sliced out of a matrix
	// is a vector in gorgonia, and vector·matrix products differentiate only
	// when both sides of the outer product are vectors.
	gr.inputs = tensor.New(tensor.WithShape(steps, rows), tensor.WithBacking(make([]float64, steps*rows)))
	gr.targets = tensor.New(tensor.WithShape(c.totalChoice), tensor.WithBacking(make([]float64, c.totalChoice)))
	inputs := G.NewMatrix(g, tensor.Float64, G.WithShape(steps, rows), G.WithName("inputs"), G.WithValue(gr.inputs))
	targets := G.NewVector(g, tensor.Float64, G.WithShape(c.totalChoice), G.WithName("targets"), G.WithValue(gr.targets))
	gr.wLogProb = G.NewScalar(g, tensor.Float64, G.WithName("wLogProb"), G.WithValue(0.0))
	gr.wEntropy = G.NewScalar(g, tensor.Float64, G.WithName("wEntropy"), G.WithValue(0.0))
	nodes := make(map[*Param]*G.Node, len(c.params))
	for _, p := range c.params {
		value := tensor.New(tensor.WithShape(p.Shape...), tensor.WithBacking(p.Value))
		nodes[p] = G.NewTensor(g, tensor.Float64, len(p.Shape), G.WithShape(p.Shape...), G.WithName(p.Name), G.WithValue(value))
	}

	// With one decision the recurrent weights are never used, and gorgonia
	// rejects differentiating with respect to a node outside the graph's
	// path, so they get no gradient node.
	var wrt G.Nodes
	var wrtParams []*Param
	for _, p := range c.params {
		if p == c.wh && steps == 1 {
			continue
		}
		wrt = append(wrt, nodes[p])
		wrtParams = append(wrtParams, p)
	}

	// G.Must panics on a construction error. The panic is recovered below
	// and returned, so a gorgonia shape or differentiation error reaches the
	// caller as an error.
	var buildErr error
	func() {
		defer func() {
			if r := recover(); r != nil {
				buildErr = fmt.Errorf("controller: building the gradient graph failed: %v", r)
			}
		}()
		embedded := G.Must(G.Mul(inputs, nodes[c.emb])) // (D, H)
		invTemp := G.NewConstant(1 / c.cfg.Temperature)
		clip := G.NewConstant(c.cfg.TanhClip)

		var h, cell *G.Node
		logSoftmaxes := make(G.Nodes, steps)
		for d := 0; d < steps; d++ {
			// LSTM cell; h and c start at zero, so step 0 has no recurrent term.
			x := G.Must(G.Slice(embedded, G.S(d))) // (H)
			gates := G.Must(G.Add(G.Must(G.Mul(x, nodes[c.wx])), nodes[c.bias]))
			if h != nil {
				gates = G.Must(G.Add(gates, G.Must(G.Mul(h, nodes[c.wh]))))
			}
			gate := func(k int) *G.Node { return G.Must(G.Slice(gates, G.S(k*hsize, (k+1)*hsize))) }
			in := G.Must(G.Sigmoid(gate(0)))
			candidate := G.Must(G.Tanh(gate(2)))
			out := G.Must(G.Sigmoid(gate(3)))
			if cell == nil {
				cell = G.Must(G.HadamardProd(in, candidate))
			} else {
				forget := G.Must(G.Sigmoid(gate(1)))
				cell = G.Must(G.Add(G.Must(G.HadamardProd(forget, cell)), G.Must(G.HadamardProd(in, candidate))))
			}
			h = G.Must(G.HadamardProd(out, G.Must(G.Tanh(cell))))

			// Head d with temperature and tanh clipping.
			z := G.Must(G.Add(G.Must(G.Mul(h, nodes[c.headW[d]])), nodes[c.headB[d]]))
			z = G.Must(G.Mul(z, invTemp))
			if c.cfg.TanhClip > 0 {
				z = G.Must(G.Mul(G.Must(G.Tanh(z)), clip))
			}
			logSoftmaxes[d] = G.Must(G.LogSoftMax(z))
		}

		// Objective over all decisions at once.
		all := logSoftmaxes[0]
		if steps > 1 {
			all = G.Must(G.Concat(0, logSoftmaxes...)) // (Σn)
		}
		gr.logProb = G.Must(G.Sum(G.Must(G.HadamardProd(all, targets))))
		gr.entropy = G.Must(G.Neg(G.Must(G.Sum(G.Must(G.HadamardProd(G.Must(G.Exp(all)), all))))))
		objective := G.Must(G.Add(
			G.Must(G.Mul(gr.wLogProb, gr.logProb)),
			G.Must(G.Mul(gr.wEntropy, gr.entropy)),
		))
		gradients, err := G.Grad(objective, wrt...)
		if err != nil {
			panic(err)
		}
		gr.gradients = make(G.Nodes, len(c.params))
		for i, p := range wrtParams {
			gr.gradients[slices.Index(c.params, p)] = gradients[i]
		}
	}()
	if buildErr != nil {
		return nil, buildErr
	}

	gr.machine = G.NewTapeMachine(g)
	return gr, nil
}

// Backward adds to each parameter's Grad the gradient of
//
//	wLogProb·log π(tokens) + wEntropy·H(tokens)
//
// where H is the summed entropy along the sequence, and returns log π and
// H. Gradients accumulate across calls until ZeroGrad. It returns an error
// if tokens is not a valid sequence.
func (c *Controller) Backward(tokens []int, wLogProb, wEntropy float64) (logProb, entropy float64, err error) {
	if err := c.checkTokens(tokens); err != nil {
		return 0, 0, err
	}
	if c.graph == nil {
		gr, err := c.buildGraph()
		if err != nil {
			return 0, 0, err
		}
		c.graph = gr
	}
	gr := c.graph

	// Bind this sequence's one-hot inputs and targets and the weights.
	inputs := gr.inputs.Data().([]float64)
	targets := gr.targets.Data().([]float64)
	clear(inputs)
	clear(targets)
	rows := c.emb.Shape[0]
	row := 0
	for d, t := range tokens {
		inputs[d*rows+row] = 1
		targets[c.headOffsets[d]+t] = 1
		row = c.offsets[d] + t
	}
	if err := G.Let(gr.wLogProb, wLogProb); err != nil {
		return 0, 0, fmt.Errorf("controller: binding wLogProb: %w", err)
	}
	if err := G.Let(gr.wEntropy, wEntropy); err != nil {
		return 0, 0, fmt.Errorf("controller: binding wEntropy: %w", err)
	}

	// Run, then read results before Reset releases the machine's buffers.
	defer gr.machine.Reset()
	if err := gr.machine.RunAll(); err != nil {
		return 0, 0, fmt.Errorf("controller: running the gradient graph: %w", err)
	}
	for i, p := range c.params {
		if gr.gradients[i] == nil {
			continue
		}
		grad := gr.gradients[i].Value().Data().([]float64)
		for j, v := range grad {
			p.Grad[j] += v
		}
	}
	logProb = gr.logProb.Value().Data().(float64)
	entropy = gr.entropy.Value().Data().(float64)
	return logProb, entropy, nil
}
