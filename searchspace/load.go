package searchspace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Format is the encoding of a space file.
type Format string

// Space file formats. Both use the same field names.
const (
	FormatJSON Format = "json"
	FormatYAML Format = "yaml"
)

// FormatOf returns the format of a space file from its extension: .json, or
// .yaml and .yml.
func FormatOf(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".json":
		return FormatJSON, nil
	case ".yaml", ".yml":
		return FormatYAML, nil
	default:
		return "", fmt.Errorf("searchspace: space file %s: unknown extension %q; name it .json, .yaml or .yml", path, filepath.Ext(path))
	}
}

// LoadSpace reads and validates a space file; see ReadSpaceFile.
func LoadSpace(path string) (Space, error) {
	s, err := ReadSpaceFile(path)
	if err != nil {
		return Space{}, err
	}
	if err := s.Validate(); err != nil {
		return Space{}, fmt.Errorf("space file %s: %w", path, err)
	}
	return s, nil
}

// ReadSpaceFile reads a space file in JSON or YAML, chosen by its extension,
// without validating it, so that a caller can fill in an omitted input shape
// or class count first. A space without a name is named after the file.
// Errors name the file.
func ReadSpaceFile(path string) (Space, error) {
	format, err := FormatOf(path)
	if err != nil {
		return Space{}, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Space{}, fmt.Errorf("searchspace: read space file: %w", err)
	}
	s, err := ParseSpace(data, format)
	if err != nil {
		return Space{}, fmt.Errorf("space file %s: %w", path, err)
	}
	if s.Name == "" {
		s.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return s, nil
}

// ParseSpace decodes a space from one JSON object or one YAML document.
// Unknown fields and trailing data are rejected. ParseSpace does not
// validate; call Validate.
func ParseSpace(data []byte, format Format) (Space, error) {
	var s Space
	switch format {
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&s); err != nil {
			return Space{}, fmt.Errorf("searchspace: decode JSON space: %w", err)
		}
		if _, err := dec.Token(); !errors.Is(err, io.EOF) {
			return Space{}, errors.New("searchspace: decode JSON space: trailing data after the JSON object")
		}
	case FormatYAML:
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&s); err != nil {
			if errors.Is(err, io.EOF) {
				return Space{}, errors.New("searchspace: decode YAML space: the file is empty")
			}
			return Space{}, fmt.Errorf("searchspace: decode YAML space: %w", err)
		}
		var extra any
		if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
			return Space{}, errors.New("searchspace: decode YAML space: more than one YAML document; keep one space per file")
		}
	default:
		return Space{}, fmt.Errorf("searchspace: unknown space format %q; use %q or %q", format, FormatJSON, FormatYAML)
	}
	return s, nil
}
