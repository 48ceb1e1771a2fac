package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
)

// LayoutVersion is the on-disk layout this package reads and writes. It is
// stored in the meta bucket when a store is created.
const LayoutVersion = 1

// DefaultTimeout is how long Open waits for another process to release the
// file lock before it returns an *InUseError.
const DefaultTimeout = time.Second

// transactionTimeout is how long a writable store waits for the database
// file when it opens it for one operation. Readers hold it only for the
// milliseconds a read command takes.
const transactionTimeout = 30 * time.Second

var (
	// ErrNotFound is returned by a read-only Open when the store file does
	// not exist, and by lookups of a run, trial or checkpoint that is not
	// stored.
	ErrNotFound = errors.New("not found")

	// ErrCorrupt is returned by Open when the file is not a bbolt database,
	// is truncated, or lacks the buckets of a store, and by any method that
	// finds a stored record that does not decode or a run without its
	// trials bucket.
	ErrCorrupt = errors.New("corrupt store")

	// ErrLayout is returned by Open when the store's layout version is not
	// LayoutVersion.
	ErrLayout = errors.New("unsupported store layout version")

	// ErrChecksum is returned when a checkpoint file's size or SHA-256 does
	// not match the reference stored in the database.
	ErrChecksum = errors.New("checkpoint file checksum mismatch")
)

// InUseError is returned by Open when another process holds the store open
// for writing, and by a read-only Open when a write takes longer than the
// timeout.
type InUseError struct {
	Path string
	// PID is the process id recorded by the holder, or 0 when unknown.
	PID int
}

func (e *InUseError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("store %s is in use by another nas process (pid %d): wait for it to finish or stop it", e.Path, e.PID)
	}
	return fmt.Sprintf("store %s is in use by another nas process: wait for it to finish or stop it", e.Path)
}

// Bucket names; see the package documentation for what each contains.
var (
	bucketMeta        = []byte("meta")
	bucketRuns        = []byte("runs")
	bucketTrials      = []byte("trials")
	bucketCheckpoints = []byte("checkpoints")
	bucketReplays     = []byte("replays")
	bucketLatency     = []byte("latency")

	keyLayout  = []byte("layout")
	keyCreated = []byte("created")
)

var allBuckets = [][]byte{bucketMeta, bucketRuns, bucketTrials, bucketCheckpoints, bucketReplays, bucketLatency}

// Options configures Open. The zero value opens for writing, creating the
// file if needed, and waits DefaultTimeout for the file lock.
type Options struct {
	// ReadOnly opens with a shared lock on the database file and never
	// creates the file. A read-only store can be open while another
	// process holds the store for writing.
	ReadOnly bool
	// Timeout is how long to wait for the file lock; 0 means DefaultTimeout.
	Timeout time.Duration
	// NoSync skips fsync on commit. Only tests should set it: a crash may
	// then lose committed transactions.
	NoSync bool
}

// Store is an open store. Its methods are safe for concurrent use.
//
// A writable store keeps an exclusive lock on the file PATH.lock while it is
// open, so only one process writes a store at a time. It opens the database
// file itself only for the length of each operation. Read-only stores, which
// keep the database open, can therefore read a store while a search writes.
type Store struct {
	// path is the path Open was given, and messages name the store by it.
	// file is that path with every symbolic link resolved, and the
	// database, lock file and files folder are opened through it.
	path     string
	file     string
	readOnly bool
	noSync   bool

	// mu serialises operations, since a writable store opens and closes
	// the database around each one.
	mu sync.Mutex
	// db is the open database of a read-only store, and nil for a
	// writable one between operations.
	db *bolt.DB
	// lock is the writer lock file, nil for a read-only store.
	lock *os.File
}

// Open opens the store at path. See Options for how it is opened.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}

	// A read-only open must not create the file, and bbolt would.
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && opts.ReadOnly:
		return nil, fmt.Errorf("store %s: %w: run `nas search` first, or pass --store or set NAS_STORE to an existing store", path, ErrNotFound)
	case err == nil && st.IsDir():
		return nil, fmt.Errorf("store %s is a directory: pass the path of a store file", path)
	case err == nil && opts.ReadOnly && st.Size() == 0:
		return nil, fmt.Errorf("store %s: %w: the file is empty", path, ErrCorrupt)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("store %s: %w", path, err)
	}

	// The lock file and the files folder are named after the resolved
	// path, so a symbolic link to the store shares them with the store.
	file, err := resolvePath(path)
	if err != nil {
		return nil, fmt.Errorf("store %s: resolve symbolic links: %w", path, err)
	}

	s := &Store{path: path, file: file, readOnly: opts.ReadOnly, noSync: opts.NoSync}
	if opts.ReadOnly {
		db, err := openBolt(file, path, opts)
		if err != nil {
			return nil, err
		}
		s.db = db
	} else {
		lock, err := lockWriter(file, path, opts.Timeout)
		if err != nil {
			return nil, err
		}
		s.lock = lock
	}

	if err := s.checkLayout(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// lockWriter takes the exclusive lock on file.lock, waiting up to timeout,
// and records this process's id in it for the message another process
// prints. It returns an *InUseError when the lock stays held. Messages name
// the store by path, the name the caller gave.
func lockWriter(file, path string, timeout time.Duration) (*os.File, error) {
	name := file + ".lock"
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("store %s: open lock file: %w", path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("store %s: lock %s: %w", path, name, err)
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, &InUseError{Path: path, PID: readPID(name)}
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The pid only improves the message a second process prints; failing to
	// write it does not stop the store from working.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}

// view runs fn in a read transaction.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.namePath(s.withDB(func(db *bolt.DB) error { return db.View(fn) }))
}

// update runs fn in a read-write transaction.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.namePath(s.withDB(func(db *bolt.DB) error { return db.Update(fn) }))
}

// namePath prefixes the store's path to a *recordError, so that the
// message names the damaged file.
func (s *Store) namePath(err error) error {
	var damaged *recordError
	if errors.As(err, &damaged) {
		return fmt.Errorf("store %s: %w", s.path, err)
	}
	return err
}

// withDB calls fn with the open database: a read-only store's, or, for a
// writable store, the database opened for this call and closed after it.
func (s *Store) withDB(fn func(*bolt.DB) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.db != nil {
		return fn(s.db)
	}
	if s.lock == nil {
		return fmt.Errorf("store %s is closed", s.path)
	}
	db, err := openBolt(s.file, s.path, Options{Timeout: transactionTimeout, NoSync: s.noSync})
	if err != nil {
		return err
	}
	err = fn(db)
	if cerr := db.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("store %s: close: %w", s.path, cerr)
	}
	return err
}

// openBolt opens the bbolt database file and maps its failures to this
// package's errors, which name the store by path. bbolt can panic on some
// malformed files, so a panic is reported as ErrCorrupt.
func openBolt(file, path string, opts Options) (db *bolt.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("store %s: %w: %v", path, ErrCorrupt, r)
		}
	}()
	db, err = bolt.Open(file, 0o644, &bolt.Options{
		Timeout:  opts.Timeout,
		ReadOnly: opts.ReadOnly,
		NoSync:   opts.NoSync,
	})
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, bolt.ErrTimeout):
		return nil, &InUseError{Path: path, PID: readPID(file + ".lock")}
	case errors.Is(err, bolt.ErrInvalid), errors.Is(err, bolt.ErrChecksum),
		errors.Is(err, bolt.ErrVersionMismatch), errors.Is(err, bolt.ErrInvalidMapping),
		strings.Contains(err.Error(), "file size too small"):
		return nil, fmt.Errorf("store %s: %w: %v", path, ErrCorrupt, err)
	default:
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
}

func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// checkLayout creates the buckets of a new writable store, and checks the
// layout version of an existing one.
func (s *Store) checkLayout() error {
	check := func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return fmt.Errorf("store %s: %w: no meta bucket, so this is not a nas store", s.path, ErrCorrupt)
		}
		raw := meta.Get(keyLayout)
		v, err := strconv.Atoi(string(raw))
		if err != nil {
			return fmt.Errorf("store %s: %w: layout version %q is not a number", s.path, ErrCorrupt, raw)
		}
		if v != LayoutVersion {
			return fmt.Errorf("store %s: %w %d: this nas reads layout %d, so open the store with the nas version that wrote it", s.path, ErrLayout, v, LayoutVersion)
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("store %s: %w: bucket %q is missing", s.path, ErrCorrupt, name)
			}
		}
		return nil
	}
	// Check in a read transaction first, so that opening an existing store
	// writes nothing to it.
	fresh := false
	err := s.view(func(tx *bolt.Tx) error {
		fresh = tx.Bucket(bucketMeta) == nil && len(bucketNames(tx)) == 0
		if fresh && !s.readOnly {
			return nil
		}
		return check(tx)
	})
	if err != nil || !fresh {
		return err
	}
	return s.update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			if len(bucketNames(tx)) > 0 {
				return fmt.Errorf("store %s: %w: buckets without a meta bucket, so this is not a nas store", s.path, ErrCorrupt)
			}
			if err := initLayout(tx); err != nil {
				return fmt.Errorf("store %s: create layout: %w", s.path, err)
			}
		}
		return check(tx)
	})
}

func bucketNames(tx *bolt.Tx) [][]byte {
	var names [][]byte
	_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
		names = append(names, append([]byte(nil), name...))
		return nil
	})
	return names
}

func initLayout(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Put(keyLayout, []byte(strconv.Itoa(LayoutVersion))); err != nil {
		return err
	}
	return meta.Put(keyCreated, []byte(time.Now().UTC().Format(time.RFC3339)))
}

// Path returns the path of the database file as Open was given it, which
// may be a symbolic link.
func (s *Store) Path() string { return s.path }

// filesDir returns the folder that holds checkpoint files, named after the
// resolved path so that every name of the store shares it.
func (s *Store) filesDir() string { return s.file + ".files" }

// Close closes the database of a read-only store, or releases the writer
// lock of a writable one.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	if s.db != nil {
		err = s.db.Close()
		s.db = nil
	}
	if s.lock != nil {
		// Closing the file releases the flock. The lock file stays, since
		// removing it could let two writers lock two different files.
		if cerr := s.lock.Close(); err == nil {
			err = cerr
		}
		s.lock = nil
	}
	return err
}
