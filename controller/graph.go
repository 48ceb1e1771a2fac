package controller

import (
	"fmt"
	"slices"
	"sync"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// maxGraphRows is the most sequences one run of a gradient graph scores;
// larger batches run in chunks.
const maxGraphRows = 16

// graphRowsFor returns the row count of the graph that scores a chunk of n
// sequences. It is at least 2, with padding rows of zero weight, because
// gorgonia v0.9.18 turns a one-row slice of a matrix into a vector, whose
// products with matrices it cannot differentiate.
func graphRowsFor(n int) int { return max(2, min(n, maxGraphRows)) }

// graphBuildMu serialises graph construction as a precaution: building
// reads package-level constant nodes of gorgonia v0.9.18, such as the 1.0
// that seeds Grad. NOTE: v0.9.18 numbers nodes per graph, and
// TestBackwardConcurrentControllers found no race under -race without
// this lock.
var graphBuildMu sync.Mutex

// graph is the teacher-forced computation, for a batch of B sequences, of
// the objective
//
//	J = Σ_b wLogProb_b·log π(tokens_b) + wEntropy_b·H(tokens_b)
//
// and its symbolic gradient with respect to every parameter. A controller
// builds one graph per batch size it meets and reruns it with new inputs.
// The parameter nodes read the controller's own storage, so weight updates
// need no copy.
type graph struct {
	g       *G.ExprGraph
	machine G.VM
	rows    int // B

	inputs    *tensor.Dense // (D·B, rows): row d·B+b is the one-hot input token of sequence b at step d
	targets   *tensor.Dense // (B, Σn): row b holds the one-hot tokens of all decisions of sequence b
	wLogProb  *tensor.Dense // (B)
	wEntropy  *tensor.Dense // (B)
	logProbs  *G.Node       // (B)
	entropies *G.Node       // (B)
	gradients G.Nodes       // one per parameter, in c.params order; nil for an unused one
}

// buildGraph builds a gradient graph for batches of the given number of
// sequences, and its tape machine.
func (c *Controller) buildGraph(batch int) (*graph, error) {
	graphBuildMu.Lock()
	defer graphBuildMu.Unlock()

	hsize := c.cfg.Hidden
	steps := len(c.choices)
	rows := c.emb.Shape[0]
	g := G.NewGraph()
	gr := &graph{g: g, rows: batch}

	// Inputs, which Backward overwrites in place before each run.
	newInput := func(name string, shape ...int) (*tensor.Dense, *G.Node) {
		size := 1
		for _, s := range shape {
			size *= s
		}
		value := tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float64, size)))
		return value, G.NewTensor(g, tensor.Float64, len(shape), G.WithShape(shape...), G.WithName(name), G.WithValue(value))
	}
	var inputs, targets, wLogProb, wEntropy *G.Node
	gr.inputs, inputs = newInput("inputs", steps*batch, rows)
	gr.targets, targets = newInput("targets", batch, c.totalChoice)
	gr.wLogProb, wLogProb = newInput("wLogProb", batch)
	gr.wEntropy, wEntropy = newInput("wEntropy", batch)
	ones := G.NewConstant(tensor.New(tensor.WithShape(batch, 1), tensor.WithBacking(slices.Repeat([]float64{1}, batch))), G.WithName("ones"))

	// Parameters wrap c's slices without copying.
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

		// Every step's input projection in one product: inputs·Emb·Wx.
		inputGates := G.Must(G.Mul(G.Must(G.Mul(inputs, nodes[c.emb])), nodes[c.wx])) // (D·B, 4H)
		lstmBias := G.Must(G.Mul(ones, nodes[c.bias]))                                // (B, 4H)
		invTemp := G.NewConstant(1 / c.cfg.Temperature)
		clip := G.NewConstant(c.cfg.TanhClip)

		var h, cell *G.Node
		logSoftmaxes := make(G.Nodes, steps)
		for d := 0; d < steps; d++ {
			// LSTM cell; h and c start at zero, so step 0 has no recurrent term.
			gates := G.Must(G.Add(G.Must(G.Slice(inputGates, G.S(d*batch, (d+1)*batch))), lstmBias))
			if h != nil {
				gates = G.Must(G.Add(gates, G.Must(G.Mul(h, nodes[c.wh]))))
			}
			gate := func(k int) *G.Node { return G.Must(G.Slice(gates, nil, G.S(k*hsize, (k+1)*hsize))) }
			in := G.Must(G.Sigmoid(gate(0)))
			candidate := G.Must(G.Tanh(gate(2)))
			out := G.Must(G.Sigmoid(gate(3)))
			if cell == nil {
				cell = G.Must(G.HadamardProd(in, candidate))
			} else {
				forget := G.Must(G.Sigmoid(gate(1)))
				cell = G.Must(G.Add(G.Must(G.HadamardProd(forget, cell)), G.Must(G.HadamardProd(in, candidate))))
			}
			h = G.Must(G.HadamardProd(out, G.Must(G.Tanh(cell)))) // (B, H)

			// Head d with temperature and tanh clipping.
			z := G.Must(G.Add(G.Must(G.Mul(h, nodes[c.headW[d]])), G.Must(G.Mul(ones, nodes[c.headB[d]]))))
			z = G.Must(G.Mul(z, invTemp))
			if c.cfg.TanhClip > 0 {
				z = G.Must(G.Mul(G.Must(G.Tanh(z)), clip))
			}
			// The axis is explicit because gorgonia v0.9.18 normalises a
			// (B, 1) matrix along axis 0, across the batch.
			logSoftmaxes[d] = G.Must(G.LogSoftMax(z, 1)) // (B, n_d)
		}

		// Per-sequence log-probability and entropy over all decisions.
		all := logSoftmaxes[0]
		if steps > 1 {
			all = G.Must(G.Concat(1, logSoftmaxes...)) // (B, Σn)
		}
		gr.logProbs = G.Must(G.Sum(G.Must(G.HadamardProd(all, targets)), 1))
		gr.entropies = G.Must(G.Neg(G.Must(G.Sum(G.Must(G.HadamardProd(G.Must(G.Exp(all)), all)), 1))))
		objective := G.Must(G.Add(
			G.Must(G.Sum(G.Must(G.HadamardProd(wLogProb, gr.logProbs)))),
			G.Must(G.Sum(G.Must(G.HadamardProd(wEntropy, gr.entropies)))),
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
	logProbs, entropies, err := c.BackwardBatch([][]int{tokens}, []float64{wLogProb}, []float64{wEntropy})
	if err != nil {
		return 0, 0, err
	}
	return logProbs[0], entropies[0], nil
}

// BackwardBatch adds to each parameter's Grad the gradient of
//
//	Σ_b wLogProb[b]·log π(batch[b]) + wEntropy[b]·H(batch[b])
//
// and returns each sequence's log π and summed entropy H. It runs one graph
// per 16 sequences, building a graph the first time it meets a batch size.
// Gradients accumulate across calls until ZeroGrad. It returns an error,
// adding nothing, if a sequence is invalid, and panics if the three slices
// differ in length.
func (c *Controller) BackwardBatch(batch [][]int, wLogProb, wEntropy []float64) (logProbs, entropies []float64, err error) {
	if len(wLogProb) != len(batch) || len(wEntropy) != len(batch) {
		panic(fmt.Sprintf("controller: BackwardBatch got %d sequences, %d log-prob weights and %d entropy weights", len(batch), len(wLogProb), len(wEntropy)))
	}
	for _, tokens := range batch {
		if err := c.checkTokens(tokens); err != nil {
			return nil, nil, err
		}
	}

	logProbs = make([]float64, 0, len(batch))
	entropies = make([]float64, 0, len(batch))
	for start := 0; start < len(batch); start += maxGraphRows {
		end := min(start+maxGraphRows, len(batch))
		rows := graphRowsFor(end - start)
		gr := c.graphs[rows]
		if gr == nil {
			var err error
			if gr, err = c.buildGraph(rows); err != nil {
				return nil, nil, err
			}
			if c.graphs == nil {
				c.graphs = make(map[int]*graph)
			}
			c.graphs[rows] = gr
		}

		if err := c.runChunk(gr, batch[start:end], wLogProb[start:end], wEntropy[start:end]); err != nil {
			return nil, nil, err
		}
		logProbs = append(logProbs, gr.logProbs.Value().Data().([]float64)[:end-start]...)
		entropies = append(entropies, gr.entropies.Value().Data().([]float64)[:end-start]...)
		gr.machine.Reset()
	}
	return logProbs, entropies, nil
}

// runChunk runs gr on at most gr.rows sequences and adds the gradients
// into Params. Padding rows score token 0 of every decision with zero
// weights, so they add nothing. The caller reads the outputs and then
// resets the machine, which releases its buffers.
func (c *Controller) runChunk(gr *graph, batch [][]int, wLogProb, wEntropy []float64) error {
	// Bind the one-hot inputs and targets and the weights.
	inputs := gr.inputs.Data().([]float64)
	targets := gr.targets.Data().([]float64)
	weightsLogProb := gr.wLogProb.Data().([]float64)
	weightsEntropy := gr.wEntropy.Data().([]float64)
	clear(inputs)
	clear(targets)
	clear(weightsLogProb)
	clear(weightsEntropy)
	copy(weightsLogProb, wLogProb)
	copy(weightsEntropy, wEntropy)
	rows := c.emb.Shape[0]
	padding := make([]int, len(c.choices))
	for b := 0; b < gr.rows; b++ {
		tokens := padding
		if b < len(batch) {
			tokens = batch[b]
		}
		row := 0
		for d, t := range tokens {
			inputs[(d*gr.rows+b)*rows+row] = 1
			targets[b*c.totalChoice+c.headOffsets[d]+t] = 1
			row = c.offsets[d] + t
		}
	}

	if err := gr.machine.RunAll(); err != nil {
		gr.machine.Reset()
		return fmt.Errorf("controller: running the gradient graph failed: %w", err)
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
	return nil
}
