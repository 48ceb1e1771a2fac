// Package latency measures and predicts the inference latency of children
// at batch 1, so that a search can use latency as an objective.
//
// # Core types
//
//   - Measure times a child end to end: childnet's eval-mode forward pass
//     of a standalone model, from the input image to the logits. It makes
//     warm-up runs and takes the median of the timed runs. It re-measures
//     while the coefficient of variation (CV) of the runs is above a limit,
//     and flags a Result Noisy when every attempt stayed above it.
//   - Key names one layer configuration: the stem (input shape, resolution,
//     kernel, stride, channels), an mbconv or dsconv block (input side,
//     input and output channels, kernel size k, expansion ratio t, stride),
//     the head conv, or the classifier (pooling and linear layer). ArchKeys
//     lists a child's keys; SpaceKeys lists every key a space can produce.
//     Two children that contain one configuration share its key.
//   - Table is a lookup table of one space on one machine (Machine): per key
//     an Entry with the run count, median, mean and variance. Profile
//     builds one by timing each configuration alone, on buffers of its own
//     and with the same kernel calls as childnet's forward pass.
//     Table.Predict returns OverheadMs + Scale·Σ medians. OverheadMs is 0
//     and Scale 1 unless the profile was asked to fit them to children
//     measured end to end. Predict returns an error wrapping
//     ErrMissingEntry, never 0, for a configuration the table lacks.
//   - Validate compares predictions with end-to-end measurements of
//     uniformly sampled children: Spearman rank correlation and mean
//     relative error.
//
// # Units and clocks
//
// Times are milliseconds per image at batch 1, and variances are in ms².
// At one thread on Linux the default clock is the CPU time of the
// measuring thread (ClockThreadCPU), which leaves out time the thread
// waits while other processes run, so tables built on a busy machine stay
// close to those of an idle one. With more threads, or where that clock is
// missing, wall time is used (ClockWall). A table records its clock and
// thread count, and validation measures with the same ones.
//
// # Store layout
//
// Tables live in the store's latency bucket, one per space and machine:
// "table/<space>/<space hash>/<machine id>" holds the table as JSON (the
// export format), "current/<space>/<space hash>" the machine id of the
// table saved last for the space, and "index" the list of stored tables.
// SpaceHash hashes the whole space, so a space with another input shape or
// class count gets its own table. Machine.ID hashes the CPU model, core
// count, OS, architecture, kernel path and thread count.
//
// # Caveats
//
//   - Measure, Profile and Validate set the kernels' global thread cap
//     (kernels.SetThreads) while they run and restore it after, so nothing
//     else may run kernels meanwhile, or both the cap and the timings are
//     wrong.
//   - A skip block has no entry and costs nothing, because childnet runs no
//     layer for it.
//   - Entries are timed on standalone weight layouts. A child of a supernet
//     reads its weights from larger tensors with a wider row stride, which
//     can make it slightly slower than the deployed standalone model that
//     the table predicts.
package latency
