package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Run statuses.
const (
	RunRunning     = "running"
	RunDone        = "done"
	RunFailed      = "failed"
	RunInterrupted = "interrupted"
)

// Run is one search.
type Run struct {
	// ID is "r" followed by a decimal number, assigned by CreateRun.
	ID string `json:"id"`
	// Config is the search configuration as JSON, owned by the caller.
	Config json.RawMessage `json:"config"`
	// SpaceName is the name of the search space; Space is the space as JSON.
	SpaceName string          `json:"space_name"`
	Space     json.RawMessage `json:"space"`
	Seed      uint64          `json:"seed"`
	// Dataset names the data the children trained on, such as "fashion-mnist".
	Dataset string `json:"dataset"`
	// Status is RunRunning, RunDone, RunFailed or RunInterrupted.
	Status string `json:"status"`
	// Error is the failure of a failed run.
	Error   string    `json:"error,omitempty"`
	Started time.Time `json:"started"`
	// Ended is the zero time while the run is running.
	Ended time.Time `json:"ended,omitzero"`
	// CodeVersion names the build of nas that created the run.
	CodeVersion string `json:"code_version"`
	// Trials is the number of trials stored, kept in step by PutBatch.
	Trials int `json:"trials"`
}

// CreateRun stores r with a new id and status RunRunning, and returns it.
func (s *Store) CreateRun(r Run) (Run, error) {
	err := s.update(func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		n, err := runs.NextSequence()
		if err != nil {
			return err
		}
		r.ID = "r" + strconv.FormatUint(n, 10)
		r.Status = RunRunning
		if r.Started.IsZero() {
			r.Started = time.Now().UTC()
		}
		if _, err := tx.Bucket(bucketTrials).CreateBucket([]byte(r.ID)); err != nil {
			return err
		}
		return putJSON(runs, []byte(r.ID), r)
	})
	if err != nil {
		return Run{}, fmt.Errorf("store: create run: %w", err)
	}
	return r, nil
}

// UpdateRun calls change on the stored run id and stores the result, in one
// transaction. It returns the updated run.
func (s *Store) UpdateRun(id string, change func(*Run)) (Run, error) {
	var r Run
	err := s.update(func(tx *bolt.Tx) error {
		var err error
		if r, err = getRun(tx, id); err != nil {
			return err
		}
		change(&r)
		r.ID = id
		return putJSON(tx.Bucket(bucketRuns), []byte(id), r)
	})
	return r, err
}

// FinishRun sets the status of run id and, unless status is RunRunning, its
// end time. msg is stored as the run's error; pass "" for none.
func (s *Store) FinishRun(id, status, msg string) error {
	_, err := s.UpdateRun(id, func(r *Run) {
		r.Status = status
		r.Error = msg
		if status == RunRunning {
			r.Ended = time.Time{}
		} else {
			r.Ended = time.Now().UTC()
		}
	})
	return err
}

// Run returns the stored run id, or an error wrapping ErrNotFound.
func (s *Store) Run(id string) (Run, error) {
	var r Run
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		r, err = getRun(tx, id)
		return err
	})
	return r, err
}

// Runs returns every run, oldest first.
func (s *Store) Runs() ([]Run, error) {
	var list []Run
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
			var r Run
			if err := decodeRecord(v, &r, "run "+string(k)); err != nil {
				return err
			}
			list = append(list, r)
			return nil
		})
	})
	sort.Slice(list, func(i, j int) bool { return runNumber(list[i].ID) < runNumber(list[j].ID) })
	return list, err
}

// runNumber returns n for a run id "rN", so runs sort by creation.
func runNumber(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "r"), 10, 64)
	return n
}

// NormalizeRunID accepts a run id with or without its "r" prefix ("r3" or
// "3") and returns the stored form.
func NormalizeRunID(id string) string {
	if _, err := strconv.ParseUint(id, 10, 64); err == nil {
		return "r" + id
	}
	return id
}

func getRun(tx *bolt.Tx, id string) (Run, error) {
	v := tx.Bucket(bucketRuns).Get([]byte(id))
	if v == nil {
		return Run{}, fmt.Errorf("run %q: %w: list runs with `nas runs`", id, ErrNotFound)
	}
	var r Run
	if err := decodeRecord(v, &r, "run "+id); err != nil {
		return Run{}, err
	}
	return r, nil
}

// decodeRecord decodes the stored JSON record data into v. name names the
// record in messages, such as "run r3". Only this package writes records,
// so one that does not decode means the file was changed or damaged, and
// the error wraps ErrCorrupt.
func decodeRecord(data []byte, v any, name string) error {
	if err := json.Unmarshal(data, v); err != nil {
		return &recordError{fmt.Errorf("%w: %s does not decode: %w; the file was changed or damaged after nas wrote it, so restore it from a backup", ErrCorrupt, name, err)}
	}
	return nil
}

// recordError is a damaged record found inside a transaction, where the
// store's path is not at hand. view and update prefix the path.
type recordError struct{ err error }

func (e *recordError) Error() string { return e.err.Error() }
func (e *recordError) Unwrap() error { return e.err }

func putJSON(b *bolt.Bucket, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}
