package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"nas/store"
)

// Exit codes of the nas command.
const (
	exitOK          = 0   // success
	exitFailure     = 1   // runtime failure: I/O, training diverged, store error
	exitUsage       = 2   // usage error: unknown command or flag, wrong argument count
	exitBadInput    = 3   // bad input: invalid space, architecture, data file or id, damaged store
	exitInterrupted = 130 // interrupted by SIGINT or SIGTERM after a clean shutdown
)

// errSilent marks an error whose message was already printed.
var errSilent = errors.New("error already reported")

// usageError is a command line that cobra accepted but that makes no sense,
// such as a missing required flag or two flags that exclude each other.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// inputError is invalid user-supplied data: a space or architecture file, a
// data folder, a run or trial id.
type inputError struct{ err error }

func (e *inputError) Error() string { return e.err.Error() }
func (e *inputError) Unwrap() error { return e.err }

// badInput wraps err as an input error; it returns nil for a nil err.
func badInput(err error) error {
	if err == nil {
		return nil
	}
	return &inputError{err}
}

func inputErrorf(format string, args ...any) error {
	return &inputError{fmt.Errorf(format, args...)}
}

// exitCodeOf maps an error returned by a command to the process exit code.
func exitCodeOf(err error) int {
	var ue *usageError
	var ie *inputError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ie):
		return exitBadInput
	case errors.Is(err, store.ErrCorrupt):
		// A damaged store or record is bad input, wherever it is found.
		return exitBadInput
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	case isCobraUsageError(err):
		return exitUsage
	default:
		return exitFailure
	}
}

// isCobraUsageError reports whether err is one of the errors cobra returns
// for a malformed command line, which it does not give a type.
func isCobraUsageError(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "accepts ", "requires at least", "requires at most", "invalid argument", "required flag", "if any flags in the group", "none of the others can be"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}
