package childnet

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"nas/searchspace"
)

// Metadata keys of the safetensors files this package writes.
const (
	// MetaArch holds the architecture JSON of a child weights file.
	MetaArch = "arch"
	// MetaConfig is the key under which callers store the training config
	// JSON (a TrainConfig, say) in a child weights file.
	MetaConfig = "config"
	// MetaFormat names the layout of the file: FormatChild or FormatSupernet.
	MetaFormat = "format"

	// FormatChild is a child's weights with the names and layouts of the
	// PyTorch state_dict of scripts/torch_child.py.
	FormatChild = "nas-child-v1"
	// FormatSupernet is a supernet checkpoint: supernet-layout tensors and
	// optimizer state.
	FormatSupernet = "nas-supernet-v1"
)

// StateDict returns the weights and BN running statistics of c as PyTorch
// tensors, named and laid out as the state_dict of the rebuild in
// scripts/torch_child.py. Conv weights are [out, in/groups, kh, kw], BN
// weight, bias, running_mean and running_var are [C], and the fc weight is
// [out, in] with its bias.
// Skip blocks have no module there, so block indices count only the others.
// Running statistics are the child's own after RecalibrateBN.
func (c *Child) StateDict() map[string]Tensor {
	c.net.mu.RLock()
	defer c.net.mu.RUnlock()
	out := c.exportTensors(func(p *param) []float32 { return p.data })
	for i := range c.layers {
		l := &c.layers[i]
		mean, variance := l.runMean.data[:l.cout], l.runVar.data[:l.cout]
		if c.stats != nil {
			mean, variance = c.stats[i].mean, c.stats[i].variance
		}
		out[l.torchBN+".running_mean"] = Tensor{Shape: []int{l.cout}, Data: slices.Clone(mean)}
		out[l.torchBN+".running_var"] = Tensor{Shape: []int{l.cout}, Data: slices.Clone(variance)}
	}
	return out
}

// exportTensors converts the trainable tensors of c, read through source
// (the weights or a gradient buffer, both in supernet layout), to PyTorch
// names and layouts.
func (c *Child) exportTensors(source func(p *param) []float32) map[string]Tensor {
	out := map[string]Tensor{}
	for i := range c.layers {
		l := &c.layers[i]
		out[l.torchConv+".weight"] = l.exportWeight(source(l.weight))
		out[l.torchBN+".weight"] = Tensor{Shape: []int{l.cout}, Data: slices.Clone(source(l.gamma)[:l.cout])}
		out[l.torchBN+".bias"] = Tensor{Shape: []int{l.cout}, Data: slices.Clone(source(l.beta)[:l.cout])}
	}
	w, ldw := source(c.fcW), c.fcW.shape[1]
	fc := Tensor{Shape: []int{c.classes, c.featC}, Data: make([]float32, c.classes*c.featC)}
	for o := range c.classes {
		for j := range c.featC {
			fc.Data[o*c.featC+j] = w[j*ldw+o]
		}
	}
	out["fc.weight"] = fc
	out["fc.bias"] = Tensor{Shape: []int{c.classes}, Data: slices.Clone(source(c.fcB)[:c.classes])}
	return out
}

// exportWeight converts the part of a supernet-layout conv tensor src that l
// uses to PyTorch's [out, in/groups, kh, kw].
func (l *layer) exportWeight(src []float32) Tensor {
	s := l.weight.shape
	switch l.kind {
	case layerPointwise: // [CinMax][CoutMax]
		t := Tensor{Shape: []int{l.cout, l.cin, 1, 1}, Data: make([]float32, l.cout*l.cin)}
		for co := range l.cout {
			for ci := range l.cin {
				t.Data[co*l.cin+ci] = src[ci*s[1]+co]
			}
		}
		return t
	case layerDepthwise: // [KMax][KMax][CMax]
		o := (s[0] - l.k) / 2
		t := Tensor{Shape: []int{l.cout, 1, l.k, l.k}, Data: make([]float32, l.cout*l.k*l.k)}
		for ch := range l.cout {
			for ky := range l.k {
				for kx := range l.k {
					t.Data[(ch*l.k+ky)*l.k+kx] = src[((ky+o)*s[1]+kx+o)*s[2]+ch]
				}
			}
		}
		return t
	default: // stem, [KMax][KMax][CinMax][CoutMax]
		o := (s[0] - l.k) / 2
		t := Tensor{Shape: []int{l.cout, l.cin, l.k, l.k}, Data: make([]float32, l.cout*l.cin*l.k*l.k)}
		for co := range l.cout {
			for ci := range l.cin {
				for ky := range l.k {
					for kx := range l.k {
						t.Data[((co*l.cin+ci)*l.k+ky)*l.k+kx] = src[(((ky+o)*s[1]+kx+o)*s[2]+ci)*s[3]+co]
					}
				}
			}
		}
		return t
	}
}

// importWeight is the inverse of exportWeight: it writes t into the part of
// the supernet tensor dst that l uses.
func (l *layer) importWeight(dst []float32, t Tensor) {
	s := l.weight.shape
	switch l.kind {
	case layerPointwise:
		for co := range l.cout {
			for ci := range l.cin {
				dst[ci*s[1]+co] = t.Data[co*l.cin+ci]
			}
		}
	case layerDepthwise:
		o := (s[0] - l.k) / 2
		for ch := range l.cout {
			for ky := range l.k {
				for kx := range l.k {
					dst[((ky+o)*s[1]+kx+o)*s[2]+ch] = t.Data[(ch*l.k+ky)*l.k+kx]
				}
			}
		}
	default:
		o := (s[0] - l.k) / 2
		for co := range l.cout {
			for ci := range l.cin {
				for ky := range l.k {
					for kx := range l.k {
						dst[(((ky+o)*s[1]+kx+o)*s[2]+ci)*s[3]+co] = t.Data[((co*l.cin+ci)*l.k+ky)*l.k+kx]
					}
				}
			}
		}
	}
}

// SaveWeights writes the state dict of c to w as safetensors, with the
// architecture JSON under MetaArch and the caller's metadata (for example
// the training config) beside it.
func (c *Child) SaveWeights(w io.Writer, metadata map[string]string) error {
	archJSON, err := json.Marshal(c.arch)
	if err != nil {
		return fmt.Errorf("childnet: encode architecture: %w", err)
	}
	meta := maps.Clone(metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[MetaArch] = string(archJSON)
	meta[MetaFormat] = FormatChild
	return WriteSafetensors(w, c.StateDict(), meta)
}

// LoadModel reads a child weights file written by SaveWeights (or by PyTorch
// with the same names and metadata) and returns a standalone model of its
// architecture holding those weights, the child bound to it, and the file's
// metadata. It rejects a file whose tensors do not match the architecture:
// missing, extra or wrong-shaped tensors, other dtypes and truncated data,
// naming the tensor.
func LoadModel(r io.Reader) (*Supernet, *Child, map[string]string, error) {
	tensors, meta, err := ReadSafetensors(r)
	if err != nil {
		return nil, nil, nil, err
	}
	archJSON, ok := meta[MetaArch]
	if !ok {
		return nil, nil, nil, fmt.Errorf("childnet: weights file has no %q metadata; it was not written by SaveWeights", MetaArch)
	}
	arch, err := searchspace.ParseArch([]byte(archJSON))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("childnet: weights file metadata: %w", err)
	}
	net, err := NewModel(arch, 0)
	if err != nil {
		return nil, nil, nil, err
	}
	c, err := net.Bind(arch)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := c.loadStateDict(tensors); err != nil {
		return nil, nil, nil, err
	}
	return net, c, meta, nil
}

// loadStateDict copies a PyTorch-layout state dict into the supernet tensors
// c uses, after checking that its names and shapes are exactly those of
// StateDict.
func (c *Child) loadStateDict(tensors map[string]Tensor) error {
	want := c.StateDict()
	var missing, extra []string
	for name := range want {
		if _, ok := tensors[name]; !ok {
			missing = append(missing, name)
		}
	}
	for name := range tensors {
		if _, ok := want[name]; !ok && !strings.HasSuffix(name, ".num_batches_tracked") {
			extra = append(extra, name)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	if len(missing) > 0 {
		return fmt.Errorf("childnet: weights file lacks tensor %q (%d missing in all) needed by architecture %s", missing[0], len(missing), c.arch.ID())
	}
	if len(extra) > 0 {
		return fmt.Errorf("childnet: weights file has tensor %q (%d extra in all) that architecture %s does not use", extra[0], len(extra), c.arch.ID())
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if got := tensors[name].Shape; !slices.Equal(got, want[name].Shape) {
			return fmt.Errorf("childnet: tensor %q has shape %v, architecture %s needs %v", name, got, c.arch.ID(), want[name].Shape)
		}
	}

	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	for i := range c.layers {
		l := &c.layers[i]
		l.importWeight(l.weight.data, tensors[l.torchConv+".weight"])
		copy(l.gamma.data, tensors[l.torchBN+".weight"].Data)
		copy(l.beta.data, tensors[l.torchBN+".bias"].Data)
		copy(l.runMean.data, tensors[l.torchBN+".running_mean"].Data)
		copy(l.runVar.data, tensors[l.torchBN+".running_var"].Data)
	}
	fc, ldw := tensors["fc.weight"], c.fcW.shape[1]
	for o := range c.classes {
		for j := range c.featC {
			c.fcW.data[j*ldw+o] = fc.Data[o*c.featC+j]
		}
	}
	copy(c.fcB.data, tensors["fc.bias"].Data)
	c.stats = nil
	return nil
}

// SaveCheckpoint writes the supernet's tensors under their supernet-layout
// names and the optimizer state as "opt.first.NAME" and "opt.second.NAME"
// tensors, with Adam step counts and the optimizer config in the metadata
// (keys "opt.steps.NAME" and "opt.config"). extra metadata is stored too.
func (s *Supernet) SaveCheckpoint(w io.Writer, extra map[string]string) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	tensors := map[string]Tensor{}
	for _, name := range s.names {
		p := s.params[name]
		tensors[name] = Tensor{Shape: p.shape, Data: p.data}
	}
	meta := maps.Clone(extra)
	if meta == nil {
		meta = map[string]string{}
	}
	meta[MetaFormat] = FormatSupernet
	if o := s.opt; o != nil {
		cfg, err := json.Marshal(o.cfg)
		if err != nil {
			return fmt.Errorf("childnet: encode optimizer config: %w", err)
		}
		meta["opt.config"] = string(cfg)
		for name, v := range o.first {
			tensors["opt.first."+name] = Tensor{Shape: s.params[name].shape, Data: v}
		}
		for name, v := range o.second {
			tensors["opt.second."+name] = Tensor{Shape: s.params[name].shape, Data: v}
		}
		for name, n := range o.steps {
			meta["opt.steps."+name] = strconv.Itoa(n)
		}
	}
	return WriteSafetensors(w, tensors, meta)
}

// LoadCheckpoint restores weights and optimizer state written by
// SaveCheckpoint into s, which must have been built from the same space. It
// returns the file's metadata, and an error naming the first tensor that is
// missing, extra or of the wrong shape; s is unchanged then.
func (s *Supernet) LoadCheckpoint(r io.Reader) (map[string]string, error) {
	tensors, meta, err := ReadSafetensors(r)
	if err != nil {
		return nil, err
	}
	if meta[MetaFormat] != FormatSupernet {
		return nil, fmt.Errorf("childnet: checkpoint format %q, want %q; pass a file written by Supernet.SaveCheckpoint", meta[MetaFormat], FormatSupernet)
	}

	// Check every tensor before changing anything.
	for _, name := range s.names {
		t, ok := tensors[name]
		if !ok {
			return nil, fmt.Errorf("childnet: checkpoint lacks tensor %q; it was written for another search space", name)
		}
		if !slices.Equal(t.Shape, s.params[name].shape) {
			return nil, fmt.Errorf("childnet: checkpoint tensor %q has shape %v, supernet needs %v", name, t.Shape, s.params[name].shape)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tensors)) {
		base, isState := strings.CutPrefix(name, "opt.first.")
		if !isState {
			base, isState = strings.CutPrefix(name, "opt.second.")
		}
		p, ok := s.params[base]
		if !ok {
			return nil, fmt.Errorf("childnet: checkpoint has tensor %q that the supernet does not have", name)
		}
		if isState && !slices.Equal(tensors[name].Shape, p.shape) {
			return nil, fmt.Errorf("childnet: checkpoint tensor %q has shape %v, supernet needs %v", name, tensors[name].Shape, p.shape)
		}
	}
	var opt *optimizer
	if cfgJSON, ok := meta["opt.config"]; ok {
		var cfg OptimizerConfig
		if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
			return nil, fmt.Errorf("childnet: checkpoint optimizer config: %w", err)
		}
		if opt, err = newOptimizer(cfg); err != nil {
			return nil, err
		}
		for key, value := range meta {
			name, ok := strings.CutPrefix(key, "opt.steps.")
			if !ok {
				continue
			}
			n, err := strconv.Atoi(value)
			if err != nil || s.params[name] == nil {
				return nil, fmt.Errorf("childnet: checkpoint metadata %s=%q is not a step count of a supernet tensor", key, value)
			}
			opt.steps[name] = n
		}
	}

	// Install.
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, name := range s.names {
		copy(s.params[name].data, tensors[name].Data)
	}
	if opt != nil {
		for name, t := range tensors {
			if base, ok := strings.CutPrefix(name, "opt.first."); ok {
				opt.first[base] = t.Data
			} else if base, ok := strings.CutPrefix(name, "opt.second."); ok {
				opt.second[base] = t.Data
			}
		}
		s.opt = opt
	}
	return meta, nil
}
