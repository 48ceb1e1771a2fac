// Package childnet trains and evaluates MobileNet-style children on shared
// supernet weights, trains standalone models for replay, and reads and
// writes weights as safetensors.
//
// # Core types
//
//   - Supernet: one set of weights for every child of a search space
//     (NewSupernet), or a standalone model of one architecture (NewModel),
//     with one optimizer (SetOptimizer).
//   - Child: an architecture bound to a supernet (Supernet.Bind); block i
//     uses slot i. Binding only plans the layers, so it is cheap.
//   - Worker: the activation workspace and gradient buffers of one
//     goroutine; TrainStep, Evaluate, RecalibrateBN and Logits run a child
//     on plain batches (x []float32 NHWC at the input size, y []int32).
//   - Train: standalone training with a cosine schedule and augmentation,
//     then a test-split evaluation.
//
// # Weight sharing
//
// Each block slot of a supernet holds its largest variant: the largest
// depthwise kernel, the largest expansion ratio, and channels at the widest
// width multiplier. A child uses the centre k×k taps of each depthwise
// kernel and the first channels of each layer (Once-for-All style). BN γ, β
// and running statistics are shared the same way, and so are the stem, the
// head conv and the classifier (first rows). A slot that offers both dsconv
// and mbconv has separate weights for each op. Supernet tensors are
// row-major: conv weights HWIO [K][K][Cin][Cout] for the stem,
// [Cin][Cout] for 1×1 convs, [K][K][C] for depthwise convs, and the
// classifier [Cin][Classes]. Weights start from He (fan-in) initialisation
// drawn from a PCG generator seeded explicitly.
//
// # Training
//
// There is no autograd graph. The forward pass calls the kernels package
// layer by layer and keeps each conv output and BN/ReLU6 output in the
// worker's workspace. A hand-written backward pass walks the layers in
// reverse for the fixed block structure (stem, dsconv, mbconv with and
// without expand conv and residual, head, pooling, linear). Weight
// gradients go into supernet-shaped buffers of the worker; the optimizer
// (SGD with momentum or Nesterov momentum, or Adam, with L2 weight decay
// on conv and linear weights and optional clipping by global norm) then
// updates only the regions the child used. Its state lives in
// supernet-shaped tensors keyed by parameter name, so children with
// different parameter sets share it; Adam's bias correction counts steps
// per tensor, not per element.
//
// A worker's workspace is sized for the widest child when the worker is
// created and grows only for a larger batch, so steps reuse it.
//
// # Concurrency
//
// Several workers may train different children of one supernet at once.
// Each computes its gradients under the supernet's read lock, then applies
// its update (optimizer step and running BN statistics) under the write
// lock, so updates never interleave with another worker's forward or
// backward pass and the race detector stays quiet. Reads and updates of
// shared weights are therefore serialised per step, not Hogwild. With one
// worker, the same seed and the same sequence of children and batches,
// training is bit-identical run to run, provided the kernel thread count
// is the same (kernels.SetThreads).
//
// # BN statistics
//
// Training normalises with batch statistics and updates the supernet's
// running statistics with momentum BNMomentum (PyTorch's convention).
// Running statistics of a supernet mix every child trained so far, so they
// are wrong for any single child: call Worker.RecalibrateBN on a fixed set
// of training batches before scoring a child. It computes exact averages
// into the Child, leaving the supernet alone.
//
// # Weight files
//
// Child.SaveWeights writes a child's weights in the safetensors format
// with the names and layouts of the PyTorch state_dict of
// scripts/torch_child.py (conv weights [out, in/groups, kh, kw], BN
// weight, bias, running_mean and running_var, fc weight [out, in] and
// bias; skip blocks are absent there, so block indices count only the
// others), and the architecture JSON in the metadata. LoadModel reads one
// back and rejects missing, extra, wrong-shaped, non-F32 and truncated
// tensors by name. Supernet.SaveCheckpoint and LoadCheckpoint store a
// whole supernet with its optimizer state, for resuming a search.
//
// # Caveats
//
//   - Inputs must be square; a child resizes them bilinearly to its
//     resolution (no gradient flows to the input).
//   - A child's BN statistics from RecalibrateBN belong to the Child value;
//     bind the architecture again to drop them.
//   - Worker is not safe for concurrent use; one Child may be shared by
//     several workers, except while RecalibrateBN runs on it.
package childnet
