package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Trial statuses.
const (
	TrialOK     = "ok"
	TrialFailed = "failed"
)

// Trial is one child of a run that was trained and scored.
type Trial struct {
	Run string `json:"run"`
	// Seq is the trial's sequence number in its run, from 1 without gaps.
	Seq int `json:"seq"`
	// Batch is the controller batch (round) the child was sampled in, from 0.
	Batch int `json:"batch"`
	// Arch is the decoded architecture as JSON and ArchID its short id.
	Arch   json.RawMessage `json:"arch"`
	ArchID string          `json:"arch_id"`
	// Tokens are the strategy's decisions, one index per decision.
	Tokens []int `json:"tokens"`
	// PolicyVersion is the version of the strategy that proposed the child.
	PolicyVersion int `json:"policy_version"`
	// Accuracy and Loss are measured on the validation split, in [0, 1]
	// and nats per example.
	Accuracy float64 `json:"accuracy"`
	Loss     float64 `json:"loss"`
	// LatencyMS is the inference latency in ms, at batch 1 on one thread,
	// that the reward used. LatencySource names its origin: predicted from a
	// latency table or measured end to end.
	LatencyMS     float64 `json:"latency_ms"`
	LatencySource string  `json:"latency_source,omitempty"`
	// MeasuredLatencyMS is the measured median latency, 0 when the child
	// was not measured; PredictedLatencyMS is the latency table's
	// prediction, 0 when the run had no table.
	MeasuredLatencyMS  float64 `json:"measured_latency_ms,omitempty"`
	PredictedLatencyMS float64 `json:"predicted_latency_ms,omitempty"`
	Params             int64   `json:"params"`
	MACs               int64   `json:"macs"`
	Reward             float64 `json:"reward"`
	// TrainSteps is the number of supernet steps taken before the child was
	// scored.
	TrainSteps int64 `json:"train_steps"`
	// WallMS is the time spent scoring the child, in milliseconds.
	WallMS float64 `json:"wall_ms"`
	// Worker is the index of the worker that scored the child.
	Worker int `json:"worker"`
	// Status is TrialOK or TrialFailed, and Error is the reason a child failed.
	Status string    `json:"status"`
	Error  string    `json:"error,omitempty"`
	Time   time.Time `json:"time"`
}

// ID returns the trial id "RUN/SEQ", such as "r3/17".
func (t Trial) ID() string { return TrialID(t.Run, t.Seq) }

// TrialID formats the id of trial seq of run.
func TrialID(run string, seq int) string { return run + "/" + strconv.Itoa(seq) }

// ParseTrialID splits a trial id "RUN/SEQ" into its run id and sequence
// number. The run may be given without its "r" prefix ("3/17").
func ParseTrialID(id string) (run string, seq int, err error) {
	r, s, ok := strings.Cut(id, "/")
	if !ok || r == "" {
		return "", 0, fmt.Errorf("invalid trial id %q: use RUN/SEQ, such as r3/17 or 3/17", id)
	}
	seq, err = strconv.Atoi(s)
	if err != nil || seq < 1 {
		return "", 0, fmt.Errorf("invalid trial id %q: the sequence number after the slash must be a positive integer", id)
	}
	return NormalizeRunID(r), seq, nil
}

func seqKey(seq int) []byte {
	var k [8]byte
	binary.BigEndian.PutUint64(k[:], uint64(seq))
	return k[:]
}

// putTrials stores trials of one run in tx, checking that their sequence
// numbers continue the stored ones without gaps or repeats, and updates the
// run's trial count.
func putTrials(tx *bolt.Tx, runID string, trials []Trial) error {
	r, err := getRun(tx, runID)
	if err != nil {
		return err
	}
	b, err := trialsBucket(tx, runID)
	if err != nil {
		return err
	}
	for i, t := range trials {
		want := r.Trials + i + 1
		if t.Run != runID || t.Seq != want {
			return fmt.Errorf("store: trial %s out of sequence: expected %s", t.ID(), TrialID(runID, want))
		}
		if err := putJSON(b, seqKey(t.Seq), t); err != nil {
			return err
		}
	}
	r.Trials += len(trials)
	return putJSON(tx.Bucket(bucketRuns), []byte(runID), r)
}

// PutTrials stores trials of run runID in one transaction. Their sequence
// numbers must continue the run's stored ones, starting at Run.Trials+1.
func (s *Store) PutTrials(runID string, trials []Trial) error {
	return s.update(func(tx *bolt.Tx) error { return putTrials(tx, runID, trials) })
}

// Trial returns trial seq of run runID, or an error wrapping ErrNotFound.
func (s *Store) Trial(runID string, seq int) (Trial, error) {
	var t Trial
	err := s.view(func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		b, err := trialsBucket(tx, runID)
		if err != nil {
			return err
		}
		v := b.Get(seqKey(seq))
		if v == nil {
			return fmt.Errorf("trial %s: %w: run %s has no trial %d; list them with `nas best --run %s`", TrialID(runID, seq), ErrNotFound, runID, seq, runID)
		}
		return decodeRecord(v, &t, "trial "+TrialID(runID, seq))
	})
	return t, err
}

// Trials returns the trials of run runID in sequence order.
func (s *Store) Trials(runID string) ([]Trial, error) {
	var list []Trial
	err := s.view(func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		b, err := trialsBucket(tx, runID)
		if err != nil {
			return err
		}
		return b.ForEach(func(k, v []byte) error {
			var t Trial
			if err := decodeRecord(v, &t, "trial "+trialKeyName(runID, k)); err != nil {
				return err
			}
			list = append(list, t)
			return nil
		})
	})
	return list, err
}

// trialsBucket returns the bucket of run runID's trials, which CreateRun
// makes with the run, or an error wrapping ErrCorrupt when it is missing.
func trialsBucket(tx *bolt.Tx, runID string) (*bolt.Bucket, error) {
	b := tx.Bucket(bucketTrials).Bucket([]byte(runID))
	if b == nil {
		return nil, &recordError{fmt.Errorf("%w: run %s has no trials bucket; restore the store from a backup", ErrCorrupt, runID)}
	}
	return b, nil
}

// trialKeyName returns the trial id of a key in a run's trials bucket, or
// the key in hex when it is not an 8-byte sequence number.
func trialKeyName(runID string, key []byte) string {
	if len(key) != 8 {
		return fmt.Sprintf("%s/%x", runID, key)
	}
	return TrialID(runID, int(binary.BigEndian.Uint64(key)))
}
