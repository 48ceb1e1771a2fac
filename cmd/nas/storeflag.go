package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"nas/store"
)

// defaultStorePath is the store used when neither --store nor NAS_STORE is
// set: nas.db in the current directory.
const defaultStorePath = "nas.db"

// addStoreFlag adds --store to cmd.
func addStoreFlag(cmd *cobra.Command, path *string) {
	cmd.Flags().StringVar(path, "store", "", "store file (default $NAS_STORE, or "+defaultStorePath+" in the current directory)")
}

// storePath resolves the --store flag: the flag, then $NAS_STORE, then
// defaultStorePath.
func storePath(flag string) string {
	if flag != "" {
		return flag
	}
	if env := os.Getenv("NAS_STORE"); env != "" {
		return env
	}
	return defaultStorePath
}

// storeArg returns " --store PATH" for a command line that a message
// suggests to run next, or "" when that command finds the store at path
// without the flag, because path is what storePath("") resolves to now.
func storeArg(path string) string {
	if filepath.Clean(path) == filepath.Clean(storePath("")) {
		return ""
	}
	return " --store " + shellQuote(path)
}

// shellQuote returns s quoted for a POSIX shell, or s itself when it has
// no character that a shell treats specially.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-+=.,:/@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// openStoreForRead opens the store at path read-only. A missing, empty or
// corrupt file or an unknown layout is an input error; a store locked by a
// running search is a runtime failure.
func openStoreForRead(path string) (*store.Store, error) {
	if err := checkStoreNotDir(path); err != nil {
		return nil, err
	}
	s, err := store.Open(path, store.Options{ReadOnly: true})
	return s, storeOpenError(err)
}

// openStoreForWrite opens the store at path for writing, creating it if
// needed.
func openStoreForWrite(path string) (*store.Store, error) {
	if err := checkStoreNotDir(path); err != nil {
		return nil, err
	}
	s, err := store.Open(path, store.Options{})
	return s, storeOpenError(err)
}

// checkStoreNotDir returns an input error when path is a directory, since a
// store is one file.
func checkStoreNotDir(path string) error {
	if info, err := os.Stat(path); err == nil && info.IsDir() {
		return inputErrorf("store %s is a directory, but a store is a file: name a file in it, such as --store %s", path, filepath.Join(path, defaultStorePath))
	}
	return nil
}

func storeOpenError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrCorrupt), errors.Is(err, store.ErrLayout):
		return badInput(err)
	default:
		return err
	}
}

// lookupError maps a store lookup error: an unknown run or trial id is an
// input error.
func lookupError(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return badInput(err)
	}
	return err
}

// latestRun returns the id of the newest run, or an input error for an
// empty store.
func latestRun(s *store.Store) (string, error) {
	list, err := s.Runs()
	if err != nil {
		return "", err
	}
	if len(list) == 0 {
		return "", inputErrorf("store %s has no runs: start one with `nas search%s`", s.Path(), storeArg(s.Path()))
	}
	return list[len(list)-1].ID, nil
}

// resolveTrialID accepts RUN/SEQ (r3/17 or 3/17), or SEQ alone for a trial
// of the newest run.
func resolveTrialID(s *store.Store, id string) (run string, seq int, err error) {
	if _, err := fmt.Sscanf(id, "%d", &seq); err == nil && fmt.Sprint(seq) == id {
		if seq < 1 {
			return "", 0, inputErrorf("invalid trial id %q: sequence numbers start at 1", id)
		}
		run, err := latestRun(s)
		return run, seq, err
	}
	run, seq, err = store.ParseTrialID(id)
	if err != nil {
		return "", 0, badInput(err)
	}
	return run, seq, nil
}

// writeJSON writes v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
