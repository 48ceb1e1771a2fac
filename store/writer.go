package store

import (
	"errors"
	"os"
	"syscall"
)

// WriterActive reports whether some process holds the store open for
// writing: this one, when s is writable, or another one that holds the
// exclusive lock on PATH.lock, where PATH is the store's path with symbolic
// links resolved. A run stored as RunRunning while no writer is active
// belongs to a search that was killed before it could record its end.
func (s *Store) WriterActive() bool {
	s.mu.Lock()
	writable := s.lock != nil
	s.mu.Unlock()
	if writable {
		return true
	}

	f, err := os.Open(s.file + ".lock")
	if err != nil {
		// No lock file: no writer ever opened the store.
		return false
	}
	defer f.Close()
	// A shared lock is granted unless a writer holds the exclusive one. It
	// is released at once (closing the file releases it too), so a writer
	// that opens now waits at most this long.
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true
	}
	if err == nil {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	}
	return false
}
