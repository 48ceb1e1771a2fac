package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// FileRef references a file in the store's files folder.
type FileRef struct {
	// Name is the path relative to the files folder, with forward slashes.
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Checkpoint is the state of a run after a number of completed batches,
// enough to continue the run exactly.
type Checkpoint struct {
	Run string `json:"run"`
	// Batch is the number of completed batches (rounds of supernet training,
	// scoring and strategy update).
	Batch int `json:"batch"`
	// Trials is the number of the run's trials stored with this checkpoint.
	Trials int `json:"trials"`
	// Strategy is the strategy's MarshalBinary output.
	Strategy []byte `json:"strategy"`
	// State is further loop state as JSON, owned by the caller.
	State json.RawMessage `json:"state,omitempty"`
	// Supernet references the supernet weights file; nil when none was saved.
	Supernet *FileRef  `json:"supernet,omitempty"`
	Time     time.Time `json:"time"`
}

// Commit stores one batch of a run atomically: its trials, the checkpoint
// taken after them, and the supernet weights that checkpoint references.
//
// When weights is not nil, Commit first writes them with weights to a new
// file (temporary name, fsync, rename), then commits one transaction with the
// trials and the checkpoint, then removes the previous checkpoint's file. If
// anything fails before the commit, nothing is stored and the new file is
// removed. ckpt.Run, ckpt.Trials, ckpt.Time and ckpt.Supernet are set by
// Commit.
func (s *Store) Commit(runID string, trials []Trial, ckpt Checkpoint, weights func(io.Writer) error) error {
	var ref *FileRef
	if weights != nil {
		// The name carries the content's checksum, so a new file never
		// replaces the one the committed checkpoint references.
		name := func(sum string) string { return fmt.Sprintf("%s/supernet-%06d-%s.bin", runID, ckpt.Batch, sum[:12]) }
		r, err := s.writeFile(name, weights)
		if err != nil {
			return fmt.Errorf("store: write checkpoint of run %s: %w", runID, err)
		}
		ref = &r
	}

	var previous *FileRef
	err := s.update(func(tx *bolt.Tx) error {
		if err := putTrials(tx, runID, trials); err != nil {
			return err
		}
		b := tx.Bucket(bucketCheckpoints)
		if old := b.Get([]byte(runID)); old != nil {
			var c Checkpoint
			if err := decodeRecord(old, &c, "checkpoint of run "+runID); err != nil {
				return err
			}
			previous = c.Supernet
		}
		r, err := getRun(tx, runID)
		if err != nil {
			return err
		}
		ckpt.Run = runID
		ckpt.Trials = r.Trials
		ckpt.Time = time.Now().UTC()
		ckpt.Supernet = ref
		return putJSON(b, []byte(runID), ckpt)
	})
	if err != nil {
		if ref != nil {
			os.Remove(s.filePath(ref.Name))
		}
		return fmt.Errorf("store: commit batch %d of run %s: %w", ckpt.Batch, runID, err)
	}

	if previous != nil && (ref == nil || previous.Name != ref.Name) {
		os.Remove(s.filePath(previous.Name))
	}
	return nil
}

// Checkpoint returns the latest checkpoint of run runID, or an error wrapping
// ErrNotFound when the run has none.
func (s *Store) Checkpoint(runID string) (Checkpoint, error) {
	var c Checkpoint
	err := s.view(func(tx *bolt.Tx) error {
		if _, err := getRun(tx, runID); err != nil {
			return err
		}
		v := tx.Bucket(bucketCheckpoints).Get([]byte(runID))
		if v == nil {
			return fmt.Errorf("run %s has no checkpoint: %w", runID, ErrNotFound)
		}
		return decodeRecord(v, &c, "checkpoint of run "+runID)
	})
	return c, err
}

// ReadFile returns the contents of a referenced file after checking its
// size and SHA-256. A mismatch returns an error wrapping ErrChecksum.
func (s *Store) ReadFile(ref FileRef) ([]byte, error) {
	data, err := os.ReadFile(s.filePath(ref.Name))
	if err != nil {
		return nil, fmt.Errorf("store: read checkpoint file: %w", err)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != ref.Size || hex.EncodeToString(sum[:]) != ref.SHA256 {
		return nil, fmt.Errorf("store: %s: %w: expected %d bytes with SHA-256 %s, found %d bytes with %s; the file was changed or damaged after it was written",
			s.filePath(ref.Name), ErrChecksum, ref.Size, ref.SHA256, len(data), hex.EncodeToString(sum[:]))
	}
	return data, nil
}

func (s *Store) filePath(name string) string {
	return filepath.Join(s.filesDir(), filepath.FromSlash(name))
}

// writeFile writes a file under the files folder durably: to a temporary
// name, synced, renamed into place, and the folder synced. name returns the
// file's name from the hex SHA-256 of its contents.
func (s *Store) writeFile(name func(sum string) string, write func(io.Writer) error) (FileRef, error) {
	if s.readOnly {
		return FileRef{}, errors.New("store is open read-only")
	}
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return FileRef{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	ref := FileRef{Name: name(hex.EncodeToString(sum[:])), Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:])}

	final := s.filePath(ref.Name)
	dir := filepath.Dir(final)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return FileRef{}, err
	}
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return FileRef{}, err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op after the rename

	if _, err := buf.WriteTo(f); err != nil {
		f.Close()
		return FileRef{}, err
	}
	// os.CreateTemp creates 0600; make the file readable like any other.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return FileRef{}, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return FileRef{}, err
	}
	if err := f.Close(); err != nil {
		return FileRef{}, err
	}
	if err := os.Rename(tmp, final); err != nil {
		return FileRef{}, err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return ref, nil
}
