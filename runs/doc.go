// Package runs is the search loop. It proposes children with a Strategy and
// trains and scores them on a Backend's shared supernet. It turns their
// validation accuracy and latency into rewards, updates the strategy, and
// records every scored child as a trial in a store.
//
// # Loop
//
// A run alternates, ENAS-style, batch after batch:
//
//  1. Supernet training: Config.SupernetSteps steps, each training one child
//     proposed by the strategy on one mini-batch of the training split.
//     Step i of a run always uses mini-batch i. A checkpoint of the
//     strategy, the supernet and the step counter is committed after it.
//  2. Scoring: Config.ChildrenPerBatch children proposed by the strategy are
//     scored on the validation split after batch-norm recalibration. The
//     validation split is held out from the training data, and the test
//     split is never used. Their
//     latency at batch 1 on one thread is then measured one child at a
//     time, with no other work running, and the reward computed.
//  3. The strategy is updated with the batch's rewards, and the batch's
//     trials are committed to the store in one transaction together with a
//     checkpoint: the strategy's bytes, the supernet weights and the step
//     counter.
//
// The budget is a number of children (Config.Children), a wall time
// (Config.Duration) or both. The last batch is cut short to meet the number
// of children, and a wall time is checked between batches.
//
// # Workers
//
// The Search owns the store and the strategy. Training steps and scoring run
// on Config.Workers goroutines, each calling the Backend with its worker
// index; a Backend may run the work elsewhere, since it only receives
// architectures and step numbers and returns losses and scores. A child that
// fails (an error, a panic, a NaN accuracy or reward) is stored as a failed
// trial with reward 0 and the search goes on. A round in which every
// supernet step fails ends the run as failed.
//
// # Resume and determinism
//
// Cancelling the context drops the phase in flight (the supernet training or
// the scoring of a batch) and marks the run interrupted. A process killed
// outright loses the same work. Search.Run on
// a run with a checkpoint restores the strategy and the supernet and goes on
// with the next batch, so no trial is stored twice and sequence numbers stay
// contiguous. With one worker, a deterministic backend and an accuracy-only
// reward, a resumed run stores the same trial sequence as an uninterrupted
// one. With several workers, supernet updates land in an order that depends
// on timing; with a latency term in the reward, measured latencies vary from
// run to run and so do the rewards.
package runs
