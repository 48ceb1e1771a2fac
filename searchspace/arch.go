package searchspace

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Op is the operation of one block.
type Op string

// Block operations.
const (
	// OpDSConv is the MobileNetV1 depthwise-separable block:
	// k×k depthwise → BN → ReLU6 → 1×1 → BN → ReLU6.
	OpDSConv Op = "dsconv"
	// OpMBConv is the MobileNetV2 inverted residual with a linear bottleneck:
	// 1×1 expand → BN → ReLU6 → k×k depthwise → BN → ReLU6 → 1×1 project → BN.
	// An expansion ratio of 1 drops the expand conv. A residual add joins input
	// and output when the stride is 1 and the channels are equal.
	OpMBConv Op = "mbconv"
	// OpSkip is the identity. It lets the depth of a network vary and is valid
	// only where the stride is 1 and the channels do not change.
	OpSkip Op = "skip"
)

// Shape is the height, width and channels of an input image.
type Shape struct {
	Height   int `json:"height" yaml:"height"`
	Width    int `json:"width" yaml:"width"`
	Channels int `json:"channels" yaml:"channels"`
}

// Stem is the first, standard convolution: k×k conv → BN → ReLU6.
type Stem struct {
	Out    int `json:"out" yaml:"out"`       // output channels
	Kernel int `json:"kernel" yaml:"kernel"` // kernel size k
	Stride int `json:"stride" yaml:"stride"`
}

// Block is one block of an architecture. Padding is always kernel/2.
type Block struct {
	Op Op `json:"op"`
	// Kernel is the depthwise kernel size k (odd). Zero for skip.
	Kernel int `json:"kernel,omitempty"`
	// Expansion is the expansion ratio t of an mbconv block. Zero for other ops.
	Expansion int `json:"expansion,omitempty"`
	// Out is the number of output channels. Zero for skip.
	Out int `json:"out,omitempty"`
	// Stride is 1 or 2. Zero for skip.
	Stride int `json:"stride,omitempty"`
}

// Head is the last 1×1 conv → BN → ReLU6 before global average pooling and
// the linear classifier. Out is 0 when there is no head conv (MobileNetV1).
type Head struct {
	Out int `json:"out" yaml:"out"`
}

// Arch is one concrete network: what a controller's decisions decode to, and
// what childnet builds. All channel counts are final, after the width
// multiplier has been applied; Alpha is kept as a record.
//
// The classifier is global average pooling followed by a linear layer with
// bias from the last feature map to Classes outputs.
type Arch struct {
	// Comment is free text for people. Canonical and ID ignore it.
	Comment string `json:"comment,omitempty"`
	Input   Shape  `json:"input"`
	Classes int    `json:"classes"`
	// Resolution is the side of the square image the network takes; inputs
	// are resized to Resolution×Resolution before the stem.
	Resolution int `json:"resolution"`
	// Alpha is the width multiplier the channels were derived with.
	Alpha  float64 `json:"alpha"`
	Stem   Stem    `json:"stem"`
	Blocks []Block `json:"blocks"`
	Head   Head    `json:"head"`
}

// ParseArch decodes an architecture from JSON. Unknown fields are rejected.
// A missing resolution defaults to the input height and a missing alpha to 1.
// ParseArch does not validate; call Validate.
func ParseArch(data []byte) (Arch, error) {
	var a Arch
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		return Arch{}, fmt.Errorf("searchspace: decode architecture: %w", err)
	}
	if dec.More() {
		return Arch{}, fmt.Errorf("searchspace: decode architecture: trailing data after the JSON object")
	}
	if a.Resolution == 0 {
		a.Resolution = a.Input.Height
	}
	if a.Alpha == 0 {
		a.Alpha = 1
	}
	return a, nil
}

// Canonical returns the canonical JSON encoding of a: fixed field order, no
// white space, no comment, skip blocks with no fields but their op, and
// dsconv blocks without an expansion ratio. Two architectures
// that build the same network have the same canonical encoding.
func (a Arch) Canonical() []byte {
	c := a
	c.Comment = ""
	c.Blocks = make([]Block, len(a.Blocks))
	for i, b := range a.Blocks {
		switch b.Op {
		case OpSkip:
			b = Block{Op: OpSkip}
		case OpDSConv:
			b.Expansion = 0
		}
		c.Blocks[i] = b
	}
	data, err := json.Marshal(c)
	if err != nil {
		// Marshal fails only on a NaN or infinite Alpha. JSON cannot carry
		// one and Validate rejects one, so only unchecked code reaches here.
		panic(fmt.Sprintf("searchspace: encode architecture: %v", err))
	}
	return data
}

// ID returns a stable short id of a: the first 12 hex digits of the SHA-256
// of its canonical encoding.
func (a Arch) ID() string {
	sum := sha256.Sum256(a.Canonical())
	return hex.EncodeToString(sum[:6])
}
