package searchspace

import (
	"errors"
	"testing"
)

// FuzzParseArch checks that no input makes ParseArch, Validate, Canonical,
// ID or Cost panic, that Cost accepts every valid architecture, and that
// the canonical encoding parses back to itself.
func FuzzParseArch(f *testing.F) {
	f.Add([]byte(`{"input":{"height":8,"width":8,"channels":1},"classes":2,"stem":{"out":4,"kernel":3,"stride":2},"blocks":[{"op":"skip"}],"head":{"out":0}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := ParseArch(data)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			return
		}
		canonical := a.Canonical()
		if _, err := Cost(a); err != nil && !errors.Is(err, ErrCostOverflow) {
			t.Fatalf("Cost of a valid architecture: %v", err)
		}
		back, err := ParseArch(canonical)
		if err != nil {
			t.Fatalf("canonical %s does not parse: %v", canonical, err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("canonical %s is invalid: %v", canonical, err)
		}
		if string(back.Canonical()) != string(canonical) {
			t.Fatalf("canonical changed on a round trip:\n%s\n%s", canonical, back.Canonical())
		}
	})
}

// FuzzParseSpace checks that no space file makes ParseSpace, Validate,
// Decisions, Size or Decode panic, and that a valid space decodes its first
// and last choices to valid architectures that Encode maps back.
func FuzzParseSpace(f *testing.F) {
	f.Add([]byte("stem: {out: 4, kernel: 3, stride: 1}\n"), true)
	f.Fuzz(func(t *testing.T, data []byte, isYAML bool) {
		format := FormatJSON
		if isYAML {
			format = FormatYAML
		}
		s, err := ParseSpace(data, format)
		if err != nil {
			return
		}
		if err := s.Validate(); err != nil {
			return
		}
		decisions := s.Decisions()
		if s.Size().Sign() <= 0 {
			t.Fatalf("Size() = %v for a valid space", s.Size())
		}
		first := make([]int, len(decisions))
		last := make([]int, len(decisions))
		for i, d := range decisions {
			last[i] = len(d.Choices) - 1
		}
		for _, tokens := range [][]int{first, last} {
			checkDecodeEncode(t, s, tokens)
		}
	})
}

// FuzzDecode checks Decode of the built-in default space on arbitrary
// tokens: it returns an error or a valid architecture that Encode maps back.
func FuzzDecode(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0})
	s, err := BuiltinSpace(SpaceDefault, Shape{Height: 28, Width: 28, Channels: 1}, 10)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		tokens := make([]int, len(raw))
		for i, b := range raw {
			tokens[i] = int(int8(b)) // negative values too
		}
		if _, err := s.Decode(tokens); err != nil {
			return
		}
		checkDecodeEncode(t, s, tokens)
	})
}

func checkDecodeEncode(t *testing.T, s Space, tokens []int) {
	t.Helper()
	a, err := s.Decode(tokens)
	if err != nil {
		t.Fatalf("Decode(%v): %v", tokens, err)
	}
	if err := a.Validate(); err != nil {
		t.Fatalf("Decode(%v) gave an invalid architecture: %v", tokens, err)
	}
	if _, err := Cost(a); err != nil && !errors.Is(err, ErrCostOverflow) {
		t.Fatalf("Cost(Decode(%v)): %v", tokens, err)
	}
	encoded, err := s.Encode(a)
	if err != nil {
		t.Fatalf("Encode(Decode(%v)): %v", tokens, err)
	}
	back, err := s.Decode(encoded)
	if err != nil {
		t.Fatal(err)
	}
	if back.ID() != a.ID() {
		t.Fatalf("tokens %v and %v decode to different architectures", tokens, encoded)
	}
}
