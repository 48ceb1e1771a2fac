package main

import "strings"

// ownPackages are the names of this module's packages whose errors start
// with "NAME: ". TestOwnPackagesComplete checks the list against the
// module's source folders.
var ownPackages = []string{
	"childnet", "controller", "dataset", "gop", "kernels", "latency", "rl", "runs", "searchspace", "store",
}

// userMessage returns an error text as the nas command prints it, without
// the "NAME: " prefixes that this module's packages put on their errors. It
// removes them at the start of the text, after each ": " that joins a
// wrapped error, and after a line break, so the message reads as the
// program's own. Only the printed text changes: the error values keep their
// chain for errors.Is and errors.As.
func userMessage(text string) string {
	var b strings.Builder
	b.Grow(len(text))
	for {
		// text starts a segment here: the message, or a wrapped error.
		text = trimPackagePrefixes(text)
		end := len(text)
		if i := strings.Index(text, ": "); i >= 0 {
			end = i + len(": ")
		}
		if i := strings.IndexByte(text, '\n'); i >= 0 && i+1 < end {
			end = i + 1
		}
		b.WriteString(text[:end])
		text = text[end:]
		if text == "" {
			return b.String()
		}
	}
}

// trimPackagePrefixes removes the "NAME: " prefixes of ownPackages at the
// start of text, repeated ones included.
func trimPackagePrefixes(text string) string {
	for {
		trimmed := text
		for _, name := range ownPackages {
			trimmed = strings.TrimPrefix(trimmed, name+": ")
		}
		if trimmed == text {
			return text
		}
		text = trimmed
	}
}
