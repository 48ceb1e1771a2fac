package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Replay is a child retrained from scratch with its own weights and
// evaluated on the test split.
type Replay struct {
	Trial string `json:"trial"`
	// Epochs is the number of training epochs; Seed seeds the initial
	// weights, data order and augmentation.
	Epochs int    `json:"epochs"`
	Seed   uint64 `json:"seed"`
	// TrainImages and TestImages are the numbers of images the child was
	// trained and evaluated on; TrainSplitImages and TestSplitImages are
	// the sizes of the data's full splits. A replay with --train-images or
	// --test-images uses fewer. All four are 0 in replays stored before
	// the counts were recorded.
	TrainImages      int `json:"train_images,omitempty"`
	TestImages       int `json:"test_images,omitempty"`
	TrainSplitImages int `json:"train_split_images,omitempty"`
	TestSplitImages  int `json:"test_split_images,omitempty"`
	// TestAccuracy is in [0, 1]; TestLoss is in nats per example.
	TestAccuracy float64 `json:"test_accuracy"`
	TestLoss     float64 `json:"test_loss"`
	Params       int64   `json:"params"`
	MACs         int64   `json:"macs"`
	LatencyMS    float64 `json:"latency_ms"`
	// WallSeconds is the training and evaluation time.
	WallSeconds float64 `json:"wall_seconds"`
	// Weights and ArchFile are the paths the weights (safetensors) and the
	// architecture (JSON) were written to, as given on the command line.
	Weights     string    `json:"weights,omitempty"`
	ArchFile    string    `json:"arch_file,omitempty"`
	CodeVersion string    `json:"code_version"`
	Time        time.Time `json:"time"`
}

// PartialTest reports whether the test accuracy was measured on fewer
// images than the full test split. It is false when the counts are unknown.
func (r Replay) PartialTest() bool {
	return r.TestImages > 0 && r.TestImages < r.TestSplitImages
}

// AddReplay appends r to the replays of trial r.Trial, which must exist.
func (s *Store) AddReplay(r Replay) error {
	runID, seq, err := ParseTrialID(r.Trial)
	if err != nil {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		trialsOfRun, err := trialsBucket(tx, runID)
		if err != nil {
			return err
		}
		if trialsOfRun.Get(seqKey(seq)) == nil {
			return fmt.Errorf("trial %s: %w", r.Trial, ErrNotFound)
		}
		b := tx.Bucket(bucketReplays)
		var list []Replay
		if v := b.Get([]byte(r.Trial)); v != nil {
			if err := decodeRecord(v, &list, "replays of trial "+r.Trial); err != nil {
				return err
			}
		}
		list = append(list, r)
		return putJSON(b, []byte(r.Trial), list)
	})
}

// Replays returns the replays of a trial, oldest first; none is not an error.
func (s *Store) Replays(trialID string) ([]Replay, error) {
	var list []Replay
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketReplays).Get([]byte(trialID))
		if v == nil {
			return nil
		}
		return decodeRecord(v, &list, "replays of trial "+trialID)
	})
	return list, err
}
