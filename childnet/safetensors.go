package childnet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
)

// Tensor is one named float32 tensor of a safetensors file.
type Tensor struct {
	Shape []int
	Data  []float32
}

// safetensorsEntry is the header record of one tensor.
type safetensorsEntry struct {
	DType       string `json:"dtype"`
	Shape       []int  `json:"shape"`
	DataOffsets [2]int `json:"data_offsets"`
}

// maxHeaderBytes bounds the JSON header a reader accepts, so that a corrupt
// length field cannot make it allocate gigabytes.
const maxHeaderBytes = 100 << 20

// WriteSafetensors writes tensors and metadata to w in the safetensors format:
// an 8-byte little-endian header length, a JSON header mapping each name to
// {dtype, shape, data_offsets} plus "__metadata__" (string → string), then the
// raw little-endian data. Tensors are stored in name order, all as F32.
func WriteSafetensors(w io.Writer, tensors map[string]Tensor, metadata map[string]string) error {
	names := make([]string, 0, len(tensors))
	for name := range tensors {
		names = append(names, name)
	}
	sort.Strings(names)

	// Build the header, checking each tensor's size against its shape.
	header := make(map[string]any, len(tensors)+1)
	if len(metadata) > 0 {
		header["__metadata__"] = metadata
	}
	offset := 0
	for _, name := range names {
		t := tensors[name]
		if n := shapeSize(t.Shape); n != len(t.Data) {
			return fmt.Errorf("childnet: tensor %q has %d values but shape %v needs %d", name, len(t.Data), t.Shape, n)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		end := offset + 4*len(t.Data)
		header[name] = safetensorsEntry{DType: "F32", Shape: shape, DataOffsets: [2]int{offset, end}}
		offset = end
	}
	headerJSON, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("childnet: encode safetensors header: %w", err)
	}
	// Pad the header with spaces to a multiple of 8 bytes, as the reference
	// implementation does, so that the data is aligned.
	if pad := len(headerJSON) % 8; pad != 0 {
		headerJSON = append(headerJSON, bytes.Repeat([]byte{' '}, 8-pad)...)
	}

	// Write the length, the header and the data.
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(headerJSON)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return fmt.Errorf("childnet: write safetensors: %w", err)
	}
	if _, err := w.Write(headerJSON); err != nil {
		return fmt.Errorf("childnet: write safetensors: %w", err)
	}
	buf := make([]byte, 0, 1<<16)
	for _, name := range names {
		for _, v := range tensors[name].Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("childnet: write safetensors: %w", err)
				}
				buf = buf[:0]
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("childnet: write safetensors: %w", err)
	}
	return nil
}

// ReadSafetensors reads a safetensors file written by WriteSafetensors or by
// another F32 writer. It rejects other dtypes, overlapping or out-of-range
// offsets, a data size that does not match the shape, and truncated data.
func ReadSafetensors(r io.Reader) (map[string]Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("childnet: read safetensors header length: %w", err)
	}
	headerLen := binary.LittleEndian.Uint64(lenBuf[:])
	if headerLen > maxHeaderBytes {
		return nil, nil, fmt.Errorf("childnet: safetensors header length %d is over the %d-byte limit; the file is not safetensors or is corrupt", headerLen, maxHeaderBytes)
	}
	headerJSON := make([]byte, headerLen)
	if _, err := io.ReadFull(r, headerJSON); err != nil {
		return nil, nil, fmt.Errorf("childnet: read safetensors header (%d bytes): %w", headerLen, err)
	}

	// Decode the header: metadata first, then the tensor entries.
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(headerJSON, &raw); err != nil {
		return nil, nil, fmt.Errorf("childnet: decode safetensors header: %w", err)
	}
	var metadata map[string]string
	if m, ok := raw["__metadata__"]; ok {
		if err := json.Unmarshal(m, &metadata); err != nil {
			return nil, nil, fmt.Errorf("childnet: decode safetensors __metadata__ (must map strings to strings): %w", err)
		}
		delete(raw, "__metadata__")
	}
	entries := make(map[string]safetensorsEntry, len(raw))
	names := make([]string, 0, len(raw))
	for name, m := range raw {
		var e safetensorsEntry
		if err := json.Unmarshal(m, &e); err != nil {
			return nil, nil, fmt.Errorf("childnet: decode safetensors entry %q: %w", name, err)
		}
		if e.DType != "F32" {
			return nil, nil, fmt.Errorf("childnet: tensor %q has dtype %s; only F32 is supported", name, e.DType)
		}
		if e.DataOffsets[1]-e.DataOffsets[0] != 4*shapeSize(e.Shape) || e.DataOffsets[0] < 0 {
			return nil, nil, fmt.Errorf("childnet: tensor %q: data offsets %v do not match shape %v of F32", name, e.DataOffsets, e.Shape)
		}
		entries[name] = e
		names = append(names, name)
	}
	sort.Slice(names, func(i, j int) bool { return entries[names[i]].DataOffsets[0] < entries[names[j]].DataOffsets[0] })

	// Read the data section and check that the tensors tile it without gaps
	// or overlaps.
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("childnet: read safetensors data: %w", err)
	}
	end := 0
	for _, name := range names {
		e := entries[name]
		if e.DataOffsets[0] != end {
			return nil, nil, fmt.Errorf("childnet: tensor %q starts at byte %d, want %d (overlapping or gapped data)", name, e.DataOffsets[0], end)
		}
		end = e.DataOffsets[1]
	}
	if end > len(data) {
		last := ""
		if len(names) > 0 {
			last = names[len(names)-1]
		}
		return nil, nil, fmt.Errorf("childnet: safetensors data is truncated: %d bytes, tensor %q needs %d", len(data), last, end)
	}
	if end < len(data) {
		return nil, nil, fmt.Errorf("childnet: safetensors data has %d bytes after the last tensor", len(data)-end)
	}
	tensors := make(map[string]Tensor, len(names))
	for _, name := range names {
		e := entries[name]
		values := make([]float32, shapeSize(e.Shape))
		for i := range values {
			values[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[e.DataOffsets[0]+4*i:]))
		}
		tensors[name] = Tensor{Shape: e.Shape, Data: values}
	}
	return tensors, metadata, nil
}

// shapeSize returns the number of elements of a tensor of the given shape;
// a negative dimension gives -1.
func shapeSize(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return -1
		}
		n *= d
	}
	return n
}
