// Package gop wraps the kernels of package kernels as gorgonia Ops
// (gorgonia.org/gorgonia v0.9.18), so a child network can also be built as a
// gorgonia expression graph and differentiated with gorgonia.Grad.
//
// Every constructor takes graph nodes with known shapes, NHWC for images, and
// fixes the sizes of its op when the node is built. Weights use the compact
// layouts of package kernels: depthwise [K][K][C], full convolution
// [K][K][Cin][Cout], pointwise and linear [Cin][Cout].
//
// Each op implements gorgonia.SDOp: its SymDiff applies one gradient op per
// differentiable input, and each gradient op calls the matching kernels
// backward function. All values are float32.
//
// # Caveats
//
// Graph execution allocates a new tensor for every op output on every run.
// The depthwise, convolution and batch norm gradient ops each run the whole
// backward kernel to keep one of its outputs. Calling package kernels
// directly is therefore faster, and bench_test.go measures by how much.
// BatchNorm normalises with batch statistics and does not update running
// statistics.
package gop
