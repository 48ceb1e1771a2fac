package controller

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"slices"
)

// marshalFormat is the version of the encoding MarshalBinary writes.
const marshalFormat = 1

// encoded is the gob encoding of a controller: its configuration, the
// choice counts, and every parameter's values in Params order. Gradients
// are not saved.
type encoded struct {
	Format  int
	Config  Config
	Choices []int
	Values  [][]float64
}

// MarshalBinary encodes the configuration, the choice counts and the
// weights. Float64 values round-trip exactly.
func (c *Controller) MarshalBinary() ([]byte, error) {
	e := encoded{Format: marshalFormat, Config: c.cfg, Choices: c.choices}
	for _, p := range c.params {
		e.Values = append(e.Values, p.Value)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(e); err != nil {
		return nil, fmt.Errorf("controller: encoding: %w", err)
	}
	return buf.Bytes(), nil
}

// UnmarshalBinary replaces c's configuration and weights with those encoded
// in data and zeroes the gradients. It returns an error, leaving c
// unchanged, if data is not a controller encoding or its parameter sizes do
// not match its own configuration.
func (c *Controller) UnmarshalBinary(data []byte) error {
	var e encoded
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&e); err != nil {
		return fmt.Errorf("controller: decoding: %w", err)
	}
	if e.Format != marshalFormat {
		return fmt.Errorf("controller: unsupported encoding format %d: this build reads format %d", e.Format, marshalFormat)
	}

	// Validate by laying out a fresh controller with the decoded shape.
	fresh, err := New(e.Choices, e.Config, 0)
	if err != nil {
		return fmt.Errorf("controller: decoded configuration is invalid: %w", err)
	}
	if len(e.Values) != len(fresh.params) {
		return fmt.Errorf("controller: decoded %d parameter tensors, want %d for choices %v", len(e.Values), len(fresh.params), e.Choices)
	}
	for i, p := range fresh.params {
		if len(e.Values[i]) != len(p.Value) {
			return fmt.Errorf("controller: decoded parameter %s has %d values, want %d", p.Name, len(e.Values[i]), len(p.Value))
		}
	}

	// Same layout: copy in place so the built graph keeps reading the
	// weights. Different layout: adopt the fresh parameters and rebuild the
	// graph on the next Backward.
	if e.Config != c.cfg || !slices.Equal(e.Choices, c.choices) {
		*c = *fresh
	}
	for i, p := range c.params {
		copy(p.Value, e.Values[i])
	}
	c.ZeroGrad()
	return nil
}
