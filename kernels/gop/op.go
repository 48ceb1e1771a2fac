package gop

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// kernelOp is a gorgonia Op whose sizes are fixed when it is built. forward
// computes the output from the inputs' float32 data. grads[i], when not nil,
// builds the op that computes the gradient of input i from the inputs
// followed by the output gradient.
type kernelOp struct {
	name     string // includes every size, because gorgonia merges ops with equal hashes
	inShapes []tensor.Shape
	outShape tensor.Shape
	forward  func(out []float32, in [][]float32)
	grads    []func() *kernelOp
}

func (op *kernelOp) Arity() int { return len(op.inShapes) }

func (op *kernelOp) Type() hm.Type {
	types := make([]hm.Type, 0, len(op.inShapes)+1)
	for _, s := range op.inShapes {
		types = append(types, typeOf(s))
	}
	types = append(types, typeOf(op.outShape))
	return hm.NewFnType(types...)
}

// typeOf returns the gorgonia type of a float32 value of shape s.
func typeOf(s tensor.Shape) hm.Type {
	if s.IsScalar() {
		return gorgonia.Float32
	}
	return gorgonia.TensorType{Dims: s.Dims(), Of: gorgonia.Float32}
}

func (op *kernelOp) InferShape(...gorgonia.DimSizer) (tensor.Shape, error) {
	return op.outShape.Clone(), nil
}

func (op *kernelOp) Do(values ...gorgonia.Value) (gorgonia.Value, error) {
	if len(values) != len(op.inShapes) {
		return nil, fmt.Errorf("gop: %s: got %d inputs, want %d", op.name, len(values), len(op.inShapes))
	}
	in := make([][]float32, len(values))
	for i, v := range values {
		data, err := float32Data(v)
		if err != nil {
			return nil, fmt.Errorf("gop: %s: input %d: %w", op.name, i, err)
		}
		if len(data) != op.inShapes[i].TotalSize() {
			return nil, fmt.Errorf("gop: %s: input %d has %d values, want shape %v", op.name, i, len(data), op.inShapes[i])
		}
		in[i] = data
	}

	out := make([]float32, max(op.outShape.TotalSize(), 1))
	op.forward(out, in)
	if op.outShape.IsScalar() {
		return gorgonia.NewF32(out[0]), nil
	}
	return tensor.New(tensor.WithShape(op.outShape.Clone()...), tensor.WithBacking(out)), nil
}

// float32Data returns the backing data of a float32 tensor or scalar.
func float32Data(v gorgonia.Value) ([]float32, error) {
	switch t := v.(type) {
	case *gorgonia.F32:
		return []float32{float32(*t)}, nil
	case tensor.Tensor:
		data, ok := t.Data().([]float32)
		if !ok {
			if s, isScalar := t.Data().(float32); isScalar {
				return []float32{s}, nil
			}
			return nil, fmt.Errorf("dtype %v is not float32", t.Dtype())
		}
		return data, nil
	}
	return nil, fmt.Errorf("value of type %T is not a float32 tensor", v)
}

func (op *kernelOp) ReturnsPtr() bool      { return false }
func (op *kernelOp) CallsExtern() bool     { return false }
func (op *kernelOp) OverwritesInput() int  { return -1 }
func (op *kernelOp) WriteHash(h hash.Hash) { fmt.Fprint(h, op.name) }
func (op *kernelOp) String() string        { return op.name }

func (op *kernelOp) Hashcode() uint32 {
	h := fnv.New32a()
	op.WriteHash(h)
	return h.Sum32()
}

// DiffWRT reports which inputs have a gradient op.
func (op *kernelOp) DiffWRT(inputs int) []bool {
	diff := make([]bool, inputs)
	for i := range min(inputs, len(op.grads)) {
		diff[i] = op.grads[i] != nil
	}
	return diff
}

// SymDiff applies the gradient op of every differentiable input to the
// inputs and the output gradient.
func (op *kernelOp) SymDiff(inputs gorgonia.Nodes, _, grad *gorgonia.Node) (gorgonia.Nodes, error) {
	grads := make(gorgonia.Nodes, len(inputs))
	args := append(append(gorgonia.Nodes{}, inputs...), grad)
	for i := range inputs {
		if i >= len(op.grads) || op.grads[i] == nil {
			continue
		}
		g, err := gorgonia.ApplyOp(op.grads[i](), args...)
		if err != nil {
			return nil, fmt.Errorf("gop: gradient of %s for input %d: %w", op.name, i, err)
		}
		grads[i] = g
	}
	return grads, nil
}

// gradOp returns an op computing the gradient of input `of` of op from the
// op's inputs followed by the output gradient.
func gradOp(op *kernelOp, of int, name string, compute func(dIn []float32, in [][]float32, dOut []float32)) func() *kernelOp {
	return func() *kernelOp {
		return &kernelOp{
			name:     fmt.Sprintf("%s/d%s", op.name, name),
			inShapes: append(append([]tensor.Shape{}, op.inShapes...), op.outShape),
			outShape: op.inShapes[of],
			forward: func(out []float32, in [][]float32) {
				compute(out, in[:len(in)-1], in[len(in)-1])
			},
		}
	}
}

// apply builds op's node and returns it.
func apply(op *kernelOp, inputs ...*gorgonia.Node) (*gorgonia.Node, error) {
	n, err := gorgonia.ApplyOp(op, inputs...)
	if err != nil {
		return nil, fmt.Errorf("gop: %s: %w", op.name, err)
	}
	return n, nil
}

// checkShape returns an error unless node n has the given number of dims.
func checkShape(opName, input string, n *gorgonia.Node, dims int) (tensor.Shape, error) {
	s := n.Shape()
	if s.Dims() != dims {
		return nil, fmt.Errorf("gop: %s: %s has shape %v, want %d dimensions", opName, input, s, dims)
	}
	return s.Clone(), nil
}
