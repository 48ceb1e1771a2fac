// Package kernels implements the forward and backward passes that train
// MobileNet-style children on a CPU. The ops are full k×k convolution (the
// stem), depthwise convolution, pointwise (1×1) convolution as a GEMM, batch
// norm (also fused with ReLU6), ReLU6, residual add, global average pooling,
// a linear layer, softmax cross-entropy and bilinear resizing.
//
// # Layout
//
// Every activation tensor is float32 in NHWC order, packed: element
// (n, y, x, ch) of an [N, H, W, C] tensor is at ((n*H+y)*W+x)*C+ch. Sizes use
// one legend: N batch, H and W height and width, C channels, K kernel size,
// S stride. Convolutions pad by K/2 ("same"), so an output side is
// OH = (H + 2*(K/2) - K)/S + 1.
//
// Arguments come in a fixed order: outputs, then inputs and weights, then
// sizes. Gradients carry a d prefix. Backward functions accumulate (+=) into
// weight gradients and overwrite input gradients; each doc comment states
// which of its arguments follow which rule.
//
// # Weight sharing
//
// A supernet holds one tensor per layer that is large enough for every child,
// and a child uses a corner of it without copying:
//
//   - DepthwiseFilter views the centre K×K taps and the first C channels of a
//     [KMax][KMax][CMax] tensor.
//   - ConvFilter does the same for an HWIO [KMax][KMax][CinMax][CoutMax] stem.
//   - Pointwise and linear weights are [CinMax][CoutMax] row-major matrices;
//     a child uses the top-left [cin][cout] block, passed with its leading
//     dimension ldw = CoutMax.
//   - Batch norm vectors are sliced to their first C entries.
//
// Weight gradients are written into tensors of the same supernet layout, so
// an optimizer updates the supernet tensor in place.
//
// # Fused inference
//
// In inference mode batch norm is a per-channel scale and shift
// (BatchNormAffine). Conv2DForwardAffine, DepthwiseForwardAffine and
// PointwiseForwardAffine apply it, with ReLU6 or a residual add, to each
// output row or block of rows while it is still in cache, so an eval pass
// never writes a convolution's raw output.
//
// # Threads and determinism
//
// Kernels split work statically over batch, rows or channels into at most
// Threads() parts (SetThreads sets the cap). For a fixed thread count every
// kernel returns bit-identical results run to run: no sum depends on
// goroutine scheduling. Results may differ in the last bits between thread
// counts, because reductions over the batch add per-thread partial sums.
//
// # Memory
//
// Packing buffers and per-goroutine partial sums come from a free list that
// the garbage collector does not empty, so a steady training loop allocates
// no scratch memory. What remains per call is a few small closures and
// slice headers for the goroutine split, 2.4 KB in 38 allocations for a
// whole training step in kernels/gop's BenchmarkStepDirect.
//
// # Compute paths
//
// The default build is plain Go. Built with GOEXPERIMENT=simd on amd64, the
// package also compiles AVX-512 kernels (package simd/archsimd) and uses them
// when the CPU supports AVX-512; Path reports which path a binary runs. The
// AVX-512 code sits in *_simd.go files behind hooks in the plain-Go row
// functions, which stay as the fallback. The tests check both paths against
// float64 references (depthwiseRef, conv2dRef and others in the _test files),
// gemmNaive and central finite differences.
//
// # Panics
//
// The kernels panic when slice lengths do not match the sizes passed: that
// is programmer misuse, not bad input data.
package kernels
