package searchspace

// Space is a search space: a fixed macro skeleton (stem, a list of block
// slots, head) and, for each decision, the list of choices a controller picks
// from. Channel counts here are base counts, before the width multiplier.
type Space struct {
	// Name identifies the space in runs and listings.
	Name    string `json:"name" yaml:"name"`
	Input   Shape  `json:"input" yaml:"input"`
	Classes int    `json:"classes" yaml:"classes"`
	Stem    Stem   `json:"stem" yaml:"stem"`
	// Blocks are the block slots in order. A slot whose Ops include skip
	// must have stride 1 and the same channels in and out.
	Blocks []BlockChoice `json:"blocks" yaml:"blocks"`
	Head   Head          `json:"head" yaml:"head"`
	// WidthMultipliers are the choices of the global width multiplier α.
	WidthMultipliers []float64 `json:"width_multipliers" yaml:"width_multipliers"`
	// ResolutionMultipliers are the choices of the resolution multiplier ρ;
	// the network takes round(ρ·Input.Height) pixels a side.
	ResolutionMultipliers []float64 `json:"resolution_multipliers" yaml:"resolution_multipliers"`
	// ChannelDivisor selects how base channels are scaled by α: 0 or 1
	// truncates c·α (MobileNetV1), 8 rounds c·α to the nearest multiple of 8,
	// never below 90% of c·α (MobileNetV2). Other values round the same way
	// to their own multiple.
	ChannelDivisor int `json:"channel_divisor,omitempty" yaml:"channel_divisor,omitempty"`
}

// BlockChoice is one block slot of a space and the choices made for it.
type BlockChoice struct {
	Out    int `json:"out" yaml:"out"` // base output channels, before α
	Stride int `json:"stride" yaml:"stride"`
	// Ops, Kernels and Expansions are the choices of the op, the depthwise
	// kernel size k and the expansion ratio t. A list of one is fixed and
	// costs the controller no decision.
	Ops        []Op  `json:"ops" yaml:"ops"`
	Kernels    []int `json:"kernels" yaml:"kernels"`
	Expansions []int `json:"expansions" yaml:"expansions"`
}
