package searchspace

import (
	"math"
	"os"
	"testing"
)

// paperRow is one published row of MACs and parameter counts, in millions
// as printed. Each source prints a fixed number of decimals, so a value
// within half a unit of its last digit also matches, or within one unit
// above it when the source truncates.
type paperRow struct {
	preset     string
	alpha      float64
	resolution int
	macsM      float64 // published MACs, millions
	paramsM    float64 // published parameters, millions; 0 when not published
	paramsStep float64 // the unit of the last printed digit of paramsM
	// macsTruncated is set when the source truncates MACs to whole
	// millions instead of rounding them.
	macsTruncated bool
}

func withinPublished(got, want, relTol, step float64) bool {
	return math.Abs(got-want) <= max(relTol*want, step/2)
}

// TestPresetV1PaperTable checks MobileNetV1. MACs come from Howard et al.
// 2017, "MobileNets: Efficient Convolutional Neural Networks for Mobile
// Vision Applications": 569, 325, 149 and 41 million mult-adds for α = 1,
// 0.75, 0.5, 0.25 at 224 px (its width multiplier table, also reproduced in
// the Keras MobileNet docs), and 418, 290, 186 for α = 1 at 192, 160, 128 px
// (its resolution table). The paper prints parameters to one decimal (4.2,
// 2.6, 1.3, 0.5), so the parameters here come from the table of pretrained
// models in tensorflow/models research/slim/nets/mobilenet_v1.md (4.24,
// 2.59, 1.34, 0.47), which has 1001 classes.
//
// NOTE: that TF-slim table lists 317M MACs for α = 0.75 at 224 px, against
// 325M in the paper and 325.4M counted here; its other rows agree with the
// paper within 1M. The cause is not known, so the paper's value is used.
func TestPresetV1PaperTable(t *testing.T) {
	rows := []paperRow{
		{PresetV1, 1.0, 224, 569, 4.24, 0.01, false},
		{PresetV1, 0.75, 224, 325, 2.59, 0.01, false},
		{PresetV1, 0.5, 224, 149, 1.34, 0.01, false},
		{PresetV1, 0.25, 224, 41, 0.47, 0.01, false},
		{PresetV1, 1.0, 192, 418, 4.24, 0.01, false},
		{PresetV1, 1.0, 160, 290, 4.24, 0.01, false},
		{PresetV1, 1.0, 128, 186, 4.24, 0.01, false},
	}
	checkPaperRows(t, rows)
}

// TestPresetV2PaperTable checks MobileNetV2 against the table of pretrained
// models in tensorflow/models research/slim/nets/mobilenet/README.md, the
// reference implementation (MACs and parameters in millions; 1000 classes
// here, 1001 there).
//
// The table truncates MACs to whole millions: 32.58M is listed as 32 and
// 11.93M as 11, so the MACs here must truncate to the listed value, which is
// stricter than the 1.5% tolerance used for the paper's rounded values.
//
// That table counts conv and classifier weights but not batch-norm γ and β:
// subtracting them gives its 3.47M, 6.06M, 5.34M, 2.61M, 1.95M and 1.66M to
// the printed digit, checked in TestPresetV2ParamsWithoutBN. Our totals
// include them and run about 1% higher.
func TestPresetV2PaperTable(t *testing.T) {
	rows := []paperRow{
		{PresetV2, 1.0, 224, 300, 3.47, 0.01, true},
		{PresetV2, 1.4, 224, 582, 6.06, 0.01, true},
		{PresetV2, 1.3, 224, 509, 5.34, 0.01, true},
		{PresetV2, 0.75, 224, 209, 2.61, 0.01, true},
		{PresetV2, 0.5, 224, 97, 1.95, 0.01, true},
		{PresetV2, 0.35, 224, 59, 1.66, 0.01, true},
		{PresetV2, 1.0, 192, 221, 3.47, 0.01, true},
		{PresetV2, 1.0, 160, 154, 3.47, 0.01, true},
		{PresetV2, 1.0, 128, 99, 3.47, 0.01, true},
		{PresetV2, 1.0, 96, 56, 3.47, 0.01, true},
		{PresetV2, 0.75, 192, 153, 2.61, 0.01, true},
		{PresetV2, 0.5, 128, 32, 1.95, 0.01, true},
		{PresetV2, 0.35, 96, 11, 1.66, 0.01, true},
	}
	checkPaperRows(t, rows)
}

func checkPaperRows(t *testing.T, rows []paperRow) {
	t.Helper()
	for _, row := range rows {
		a, err := Preset(row.preset, row.alpha, row.resolution, 1000)
		if err != nil {
			t.Fatalf("Preset(%s, %g, %d): %v", row.preset, row.alpha, row.resolution, err)
		}
		c, err := Cost(a)
		if err != nil {
			t.Fatalf("Cost(%s α=%g r=%d): %v", row.preset, row.alpha, row.resolution, err)
		}
		macsM := float64(c.MACs) / 1e6
		paramsM := float64(c.Params) / 1e6
		macsOK := withinPublished(macsM, row.macsM, 0.015, 1)
		if row.macsTruncated {
			macsOK = math.Floor(macsM) == row.macsM
		}
		if !macsOK {
			t.Errorf("%s α=%g r=%d: MACs = %.2fM, want %gM within 1.5%%", row.preset, row.alpha, row.resolution, macsM, row.macsM)
		}
		if !withinPublished(paramsM, row.paramsM, 0.03, row.paramsStep) {
			t.Errorf("%s α=%g r=%d: params = %.3fM, want %gM within 3%%", row.preset, row.alpha, row.resolution, paramsM, row.paramsM)
		}
	}
}

func TestPresetV2ParamsWithoutBN(t *testing.T) {
	for _, row := range []struct {
		alpha   float64
		paramsM float64
	}{{1.0, 3.47}, {1.4, 6.06}, {1.3, 5.34}, {0.75, 2.61}, {0.5, 1.95}, {0.35, 1.66}} {
		a, err := Preset(PresetV2, row.alpha, 224, 1000)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Cost(a)
		if err != nil {
			t.Fatal(err)
		}
		var bn int64
		for _, l := range c.Layers {
			switch l.Kind {
			case KindConv, KindDepthwise, KindPointwise:
				bn += 2 * int64(l.Output.Channels)
			}
		}
		got := float64(c.Params-bn) / 1e6
		if math.Abs(got-row.paramsM) > 0.005 {
			t.Errorf("α=%g: params without BN = %.4fM, want %.2fM to the printed digit", row.alpha, got, row.paramsM)
		}
	}
}

// TestCostExactPresets pins the exact totals, so that a change to the cost
// model shows up even when it stays inside the published rounding.
// MobileNetV2 at α = 1 matches torchvision's mobilenet_v2 (3,504,872
// parameters).
func TestCostExactPresets(t *testing.T) {
	for _, row := range []struct {
		preset       string
		alpha        float64
		macs, params int64
	}{
		{PresetV1, 1, 568740352, 4231976},
		{PresetV2, 1, 300774272, 3504872},
	} {
		a, err := Preset(row.preset, row.alpha, 224, 1000)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Cost(a)
		if err != nil {
			t.Fatal(err)
		}
		if c.MACs != row.macs {
			t.Errorf("%s: MACs = %d, want %d", row.preset, c.MACs, row.macs)
		}
		if c.Params != row.params {
			t.Errorf("%s: params = %d, want %d", row.preset, c.Params, row.params)
		}
	}
}

// TestCostReferenceChild compares with a PyTorch rebuild of the same
// network by torch_child.py, a script kept outside this repository. It
// builds the child from its JSON with an nn.Conv2d (no bias) and a
// BatchNorm2d per conv and an nn.Linear classifier. It sums numel over
// model.parameters() and counts conv and linear MACs with forward hooks on
// one input. Run as
// `/usr/bin/python3 torch_child.py cost reference_child.json` with Debian's
// python3-torch, it printed {"params": 106482, "macs": 7248520}.
func TestCostReferenceChild(t *testing.T) {
	data, err := os.ReadFile("testdata/reference_child.json")
	if err != nil {
		t.Fatal(err)
	}
	a, err := ParseArch(data)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Cost(a)
	if err != nil {
		t.Fatal(err)
	}
	if c.Params != 106482 {
		t.Errorf("params = %d, want 106482", c.Params)
	}
	if c.MACs != 7248520 {
		t.Errorf("MACs = %d, want 7248520", c.MACs)
	}
}

// tinyArch is small enough to count by hand: 4×4×1 input, a 3×3 stem to 2
// channels, one residual mbconv with t = 2, and 3 classes.
func tinyArch() Arch {
	return Arch{
		Input: Shape{Height: 4, Width: 4, Channels: 1}, Classes: 3, Resolution: 4, Alpha: 1,
		Stem:   Stem{Out: 2, Kernel: 3, Stride: 1},
		Blocks: []Block{{Op: OpMBConv, Kernel: 3, Expansion: 2, Out: 2, Stride: 1}},
	}
}

func TestCostTinyByHand(t *testing.T) {
	c, err := Cost(tinyArch())
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		name          string
		params, macs  int64
		activationEls int64 // float32 elements alive
	}{
		{"stem", 9*2 + 4, 9 * 2 * 16, 16 + 32},                  // 4×4×1 in, 4×4×2 out
		{"block0.expand", 2*4 + 8, 2 * 4 * 16, 32 + 64},         // the block input is the layer input
		{"block0.depthwise", 9*4 + 8, 9 * 4 * 16, 64 + 64 + 32}, // plus the saved block input
		{"block0.project", 4*2 + 4, 4 * 2 * 16, 64 + 32 + 32},
		{"block0.add", 0, 0, 32 + 32 + 32},
		{"pool", 0, 0, 32 + 2},
		{"classifier", 2*3 + 3, 2 * 3, 2 + 3},
	}
	if len(c.Layers) != len(want) {
		t.Fatalf("got %d layers, want %d: %+v", len(c.Layers), len(want), c.Layers)
	}
	var params, macs, peak int64
	for i, w := range want {
		l := c.Layers[i]
		if l.Name != w.name {
			t.Errorf("layer %d name = %q, want %q", i, l.Name, w.name)
		}
		if l.Params != w.params {
			t.Errorf("%s params = %d, want %d", w.name, l.Params, w.params)
		}
		if l.MACs != w.macs {
			t.Errorf("%s MACs = %d, want %d", w.name, l.MACs, w.macs)
		}
		if l.ActivationBytes != 4*w.activationEls {
			t.Errorf("%s activation bytes = %d, want %d", w.name, l.ActivationBytes, 4*w.activationEls)
		}
		params += w.params
		macs += w.macs
		peak = max(peak, 4*w.activationEls)
	}
	if c.Params != params || c.MACs != macs {
		t.Errorf("totals = %d params, %d MACs; want %d, %d", c.Params, c.MACs, params, macs)
	}
	if c.PeakActivationBytes != peak || c.PeakLayer != "block0.depthwise" {
		t.Errorf("peak = %d bytes at %s, want %d at block0.depthwise", c.PeakActivationBytes, c.PeakLayer, peak)
	}
}

func TestCostResizeRow(t *testing.T) {
	a := tinyArch()
	a.Input = Shape{Height: 6, Width: 6, Channels: 1}
	c, err := Cost(a)
	if err != nil {
		t.Fatal(err)
	}
	first := c.Layers[0]
	if first.Name != "resize" || first.Kind != KindResize {
		t.Fatalf("first layer = %s (%s), want resize", first.Name, first.Kind)
	}
	if first.MACs != 0 {
		t.Errorf("resize MACs = %d, want 0", first.MACs)
	}
	if want := (Shape{Height: 4, Width: 4, Channels: 1}); first.Output != want {
		t.Errorf("resize output = %+v, want %+v", first.Output, want)
	}
	if c.Layers[1].Input != first.Output {
		t.Errorf("stem input = %+v, want the resize output %+v", c.Layers[1].Input, first.Output)
	}
}

func TestCostSkipAndDSConv(t *testing.T) {
	a := tinyArch()
	a.Blocks = []Block{{Op: OpSkip}, {Op: OpDSConv, Kernel: 3, Out: 5, Stride: 2}}
	c, err := Cost(a)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"stem", "block0.skip", "block1.depthwise", "block1.pointwise", "pool", "classifier"}
	if len(c.Layers) != len(names) {
		t.Fatalf("got %d layers, want %v", len(c.Layers), names)
	}
	for i, n := range names {
		if c.Layers[i].Name != n {
			t.Errorf("layer %d = %s, want %s", i, c.Layers[i].Name, n)
		}
	}
	skip := c.Layers[1]
	if skip.Params != 0 || skip.MACs != 0 || skip.Input != skip.Output {
		t.Errorf("skip row = %+v, want identity with no cost", skip)
	}
	dw := c.Layers[2]
	if want := (Shape{Height: 2, Width: 2, Channels: 2}); dw.Output != want {
		t.Errorf("depthwise output = %+v, want %+v", dw.Output, want)
	}
	if dw.MACs != 9*2*4 {
		t.Errorf("depthwise MACs = %d, want %d", dw.MACs, 9*2*4)
	}
}

func TestCostInvalidArch(t *testing.T) {
	a := tinyArch()
	a.Classes = 1
	if _, err := Cost(a); err == nil {
		t.Fatal("Cost accepted an architecture with 1 class")
	}
}

// TestCostMatchesTorch covers dsconv, skip and the extremes of the default
// space. Each want was printed by `torch_child.py cost FILE` on the file in
// testdata/torch (see TestCostReferenceChild for that script). It builds the
// network at the input size and ignores resolution, so every file has a
// resolution equal to its input height.
func TestCostMatchesTorch(t *testing.T) {
	for _, c := range []struct {
		file         string
		params, macs int64
	}{
		{"dsconv_skip.json", 3922, 54912},
		{"default_largest.json", 248506, 17248320},
		{"default_smallest_24px.json", 15298, 260068},
	} {
		data, err := os.ReadFile("testdata/torch/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ParseArch(data)
		if err != nil {
			t.Fatal(err)
		}
		if a.Resolution != a.Input.Height {
			t.Fatalf("%s: resolution %d differs from input height %d, which torch_child.py would not see", c.file, a.Resolution, a.Input.Height)
		}
		got, err := Cost(a)
		if err != nil {
			t.Fatal(err)
		}
		if got.Params != c.params || got.MACs != c.macs {
			t.Errorf("%s: %d params, %d MACs; torch_child.py printed %d, %d", c.file, got.Params, got.MACs, c.params, c.macs)
		}
	}
}
