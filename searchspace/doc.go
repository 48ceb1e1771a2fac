// Package searchspace defines what the search explores and how much each
// candidate costs.
//
// Core types:
//
//   - Space is a macro skeleton (stem, block slots, head) with choice lists:
//     per slot the op, depthwise kernel size k and expansion ratio t, and
//     globally the width multiplier α and resolution multiplier ρ. Channel
//     counts in a Space are base counts, before α.
//   - Decision is one choice a controller makes; Space.Decisions lists them
//     in token order, and Space.Decode and Space.Encode convert between
//     tokens and architectures.
//   - Arch is one concrete network with final channel counts. Arch.ID is a
//     stable id derived from its canonical JSON.
//   - CostReport, from Cost, lists each layer's shapes, parameters and
//     multiply-accumulates (MACs) and the peak activation memory at batch 1.
//
// Layout and units:
//
//   - Shapes are height × width × channels, which is NHWC without the batch.
//   - Every convolution pads by k/2, so an output side is ceil(in/stride).
//   - Parameter and MAC counts are exact integers, and memory is in bytes of
//     float32 values.
//
// Built-in spaces are "default", a MobileNetV2-style space for 28×28 and
// 32×32 images, and the fixed presets "mobilenet-v1" and "mobilenet-v2"; see
// BuiltinSpace and Preset. Space files in JSON or YAML are read by LoadSpace
// and described in docs/space-format.md.
//
// Caveats: Decode and Decisions do not validate; call Space.Validate once
// after building or loading a space, and Arch.Validate on an architecture
// read from a file. Alpha is part of an architecture's canonical encoding,
// so two width multipliers that round to the same channels give different
// ids for the same network.
package searchspace
