// Package controller implements the LSTM policy that proposes
// architectures, in the manner of NAS (Zoph & Le, 2017) and ENAS (Pham et
// al., 2018).
//
// A Controller is given a search space only as a list of decisions and the
// number of choices of each, which searchspace.Space.Decisions returns. At
// step d it embeds the previous decision's token (a learned start token at
// d = 0), runs one LSTM cell, and a head for decision d maps the hidden
// state to that decision's logits:
//
//	[i f g o] = x·Wx + h·Wh + b
//	c = σ(f)⊙c + σ(i)⊙tanh(g);  h = σ(o)⊙tanh(c)
//	z = C·tanh((h·W_d + b_d)/T);  π_d = softmax(z)
//
// with temperature T and tanh clip C from Config (a negative C turns the
// clipping off). Each decision has its own embedding rows, so the same token
// index of two decisions has two embeddings. The embedding size equals the
// hidden size.
//
// # Core types
//
//   - Controller: weights, Sample, LogProb and Backward.
//   - Sample: tokens with their summed log-probability and entropy (nats).
//   - Param: one weight tensor, row-major, with its gradient; optimizers
//     (package rl) update Params in place.
//
// # Two forward passes
//
// Sample and LogProb run a hand-written float64 forward pass that needs no
// graph. Backward and BackwardBatch run a gorgonia (v0.9.18) graph of the
// same computation, teacher-forced on the given tokens for a batch of up to
// 16 sequences at once, and differentiate it symbolically. A controller
// builds one graph per batch size it meets and reruns it with new inputs.
// The parameter nodes wrap the controller's own slices, so weight updates
// need no copy. Tests check that both passes agree to 1e-12, that the
// graph's gradients match central differences of the hand-written pass,
// and that a batch gives the sum of its sequences' gradients.
//
// Sampling is not an op inside the graph: an update in package rl scores
// sequences that an older policy proposed, so it needs the teacher-forced
// graph anyway, and the search loop samples far more often than it updates.
//
// Two gorgonia v0.9.18 behaviours shape the graph. A one-row slice of a
// matrix becomes a vector, whose products with matrices do not
// differentiate, so graphs have at least 2 rows (padded with zero weights)
// and Hidden must be at least 2. LogSoftMax of a (B, 1) matrix normalises
// along axis 0 unless the axis is given, so the graph gives axis 1.
//
// # Caveats
//
// A Controller is not safe for concurrent use, but separate controllers
// may run in separate goroutines: graph construction holds a package-level
// lock, and a -race test runs four at once. Backward adds into Param.Grad,
// so call ZeroGrad after each optimizer step. MarshalBinary saves the
// configuration and weights but not gradients or any random source: Sample
// takes its *rand.Rand from the caller, which owns and saves that state.
package controller
