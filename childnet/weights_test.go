package childnet

import (
	"bytes"
	"encoding/binary"
	"maps"
	"slices"
	"strings"
	"testing"
)

func TestSafetensorsRoundTrip(t *testing.T) {
	tensors := map[string]Tensor{
		"a":      {Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
		"b.bias": {Shape: []int{1}, Data: []float32{-0.5}},
		"scalar": {Shape: []int{}, Data: []float32{7}},
	}
	meta := map[string]string{"arch": `{"x":1}`, "note": "ü"}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(buf.Bytes()); n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	got, gotMeta, err := ReadSafetensors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(meta, gotMeta) {
		t.Errorf("metadata = %v, want %v", gotMeta, meta)
	}
	for name, want := range tensors {
		g := got[name]
		if !slices.Equal(g.Shape, want.Shape) || !slices.Equal(g.Data, want.Data) {
			t.Errorf("%s = %+v, want %+v", name, g, want)
		}
	}
	if len(got) != len(tensors) {
		t.Errorf("read %d tensors, wrote %d", len(got), len(tensors))
	}
}

// rawSafetensors builds a file from a literal header and data.
func rawSafetensors(header string, data []byte) []byte {
	var b []byte
	b = binary.LittleEndian.AppendUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, data...)
}

func TestReadSafetensorsRejects(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name string
		file []byte
		msg  string
	}{
		{"empty", nil, "header length"},
		{"huge_header", binary.LittleEndian.AppendUint64(nil, 1<<40), "limit"},
		{"short_header", rawSafetensors(`{"a":`, nil)[:10], "header"},
		{"bad_json", rawSafetensors(`{"a":[}`, nil), "decode"},
		{"f16", rawSafetensors(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}`, eight[:4]), "dtype F16"},
		{"shape_mismatch", rawSafetensors(`{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight), `"a"`},
		{"truncated", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, eight[:6]), "truncated"},
		{"trailing", rawSafetensors(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, eight), "after the last tensor"},
		{"overlap", rawSafetensors(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight), "overlapping"},
		{"bad_metadata", rawSafetensors(`{"__metadata__":{"k":1}}`, nil), "__metadata__"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := ReadSafetensors(bytes.NewReader(tc.file))
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

// TestLoadModelRoundTrip saves a trained, recalibrated child and checks that
// the loaded standalone model gives the same logits.
func TestLoadModelRoundTrip(t *testing.T) {
	net, c := tinyChild(t, 3)
	if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
		t.Fatal(err)
	}
	w := net.NewWorker(8)
	x, y := randomBatch(4, 8, 8, 8, 2, 3)
	for range 3 {
		if _, err := w.TrainStep(c, x, y, 8, 0.05); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.RecalibrateBN(c, []Batch{{X: x, N: 8}}); err != nil {
		t.Fatal(err)
	}
	want, err := w.Logits(c, x, 8)
	if err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := c.SaveWeights(&buf, map[string]string{MetaConfig: "test"}); err != nil {
		t.Fatal(err)
	}
	model, loaded, meta, err := LoadModel(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if meta[MetaConfig] != "test" || meta[MetaFormat] != FormatChild {
		t.Errorf("metadata = %v, want config=test and format %s", meta, FormatChild)
	}
	if loaded.Arch().ID() != c.Arch().ID() {
		t.Errorf("loaded architecture %s, saved %s", loaded.Arch().ID(), c.Arch().ID())
	}
	got, err := model.NewWorker(8).Logits(loaded, x, 8)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("logits after loading differ:\n got %v\nwant %v", got[:6], want[:6])
	}
}

func TestLoadModelRejects(t *testing.T) {
	_, c := tinyChild(t, 3)
	var buf bytes.Buffer
	if err := c.SaveWeights(&buf, nil); err != nil {
		t.Fatal(err)
	}
	tensors, meta, err := ReadSafetensors(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		change func(map[string]Tensor, map[string]string)
		msg    string
	}{
		{"missing", func(ts map[string]Tensor, _ map[string]string) { delete(ts, "blocks.1.body.1.0.weight") }, `lacks tensor "blocks.1.body.1.0.weight"`},
		{"extra", func(ts map[string]Tensor, _ map[string]string) {
			ts["blocks.9.0.0.weight"] = Tensor{Shape: []int{1}, Data: []float32{0}}
		}, `has tensor "blocks.9.0.0.weight"`},
		{"shape", func(ts map[string]Tensor, _ map[string]string) {
			ts["fc.weight"] = Tensor{Shape: []int{6, 3}, Data: ts["fc.weight"].Data}
		}, `"fc.weight" has shape [6 3]`},
		{"no_arch", func(_ map[string]Tensor, m map[string]string) { delete(m, MetaArch) }, `no "arch" metadata`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts, m := maps.Clone(tensors), maps.Clone(meta)
			tc.change(ts, m)
			var file bytes.Buffer
			if err := WriteSafetensors(&file, ts, m); err != nil {
				t.Fatal(err)
			}
			_, _, _, err := LoadModel(&file)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		_, _, _, err := LoadModel(bytes.NewReader(buf.Bytes()[:buf.Len()-4]))
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Errorf("error %v, want truncated data", err)
		}
	})
}

// TestCheckpointResume saves a supernet mid-training with Adam state, loads
// it into a fresh supernet, and requires both to continue bit-identically.
func TestCheckpointResume(t *testing.T) {
	train := func(net *Supernet, steps, offset int) {
		w := net.NewWorker(8)
		c, err := net.Bind(tinyArch())
		if err != nil {
			t.Fatal(err)
		}
		for i := range steps {
			x, y := randomBatch(uint64(offset+i), 8, 8, 8, 2, 3)
			if _, err := w.TrainStep(c, x, y, 8, 0.01); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := OptimizerConfig{Kind: Adam, WeightDecay: 1e-4}
	a, _ := NewSupernet(tinySpace(), 1)
	if err := a.SetOptimizer(cfg); err != nil {
		t.Fatal(err)
	}
	train(a, 3, 0)
	var buf bytes.Buffer
	if err := a.SaveCheckpoint(&buf, map[string]string{"step": "3"}); err != nil {
		t.Fatal(err)
	}
	b, _ := NewSupernet(tinySpace(), 99)
	meta, err := b.LoadCheckpoint(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if meta["step"] != "3" {
		t.Errorf("metadata step = %q, want 3", meta["step"])
	}
	train(a, 2, 3)
	train(b, 2, 3)
	for _, name := range a.names {
		if !slices.Equal(a.params[name].data, b.params[name].data) {
			t.Errorf("%s differs after resuming", name)
		}
	}

	other, _ := NewSupernet(fashionSpace(), 1)
	if _, err := other.LoadCheckpoint(bytes.NewReader(buf.Bytes())); err == nil || !strings.Contains(err.Error(), "tensor") {
		t.Errorf("loading into another space: error %v, want one naming a tensor", err)
	}
}
