// Package store keeps every search run, trial, checkpoint and replay result
// in one bbolt database file, so a search survives a crash and every result
// can be listed, compared and reproduced later.
//
// # Basics
//
// Open a store with Open. A writable open creates the file if it is missing
// and initialises an empty one. A read-only open (Options.ReadOnly) never
// creates one and returns ErrNotFound instead. Only one process may hold a
// store open for writing, through an exclusive lock on the file PATH.lock. A
// second writable Open returns an *InUseError within Options.Timeout (one
// second by default), naming the process id of the holder. PATH here and
// in the layout below is the store's path with symbolic links resolved, so
// a link to a store shares the store's lock and files folder. Two hard
// links to one file are not detected. A writable store opens the database
// file only for each operation, so read-only stores can read it while a
// search writes.
//
// The core types are Run, Trial, Checkpoint and Replay. A Run is one search
// with its configuration, space, seed and status. A Trial is one scored child
// of a run, keyed by the run id and a sequence number starting at 1. A
// Checkpoint holds the strategy's bytes and a reference to a supernet weights
// file. A Replay is a child retrained from scratch and evaluated on the test
// split.
//
// # Layout
//
// The database has these top-level buckets:
//
//	meta        "layout" → the layout version (decimal), "created" → RFC 3339 time
//	runs        run id → Run as JSON
//	trials      run id → nested bucket: sequence number (8-byte big-endian) → Trial as JSON
//	checkpoints run id → the run's latest Checkpoint as JSON
//	replays     trial id → list of Replay as JSON
//	latency     free for latency tables: key → value bytes, owned by their writer
//
// Layout versions other than LayoutVersion are rejected with ErrLayout.
//
// Large binary state lives in files beside the database, in the folder
// PATH.files/ for a store at PATH. A file is named RUN/supernet-BATCH-SUM.bin
// after the run, the checkpoint's batch and the first 12 hex digits of its
// SHA-256, so a new file never overwrites a referenced one. A checkpoint
// references its weights file by name, size and SHA-256. The file is
// written to a temporary name, synced and renamed into place, and only then
// is the transaction that references it committed. The previous
// checkpoint's file is removed after that commit. A crash therefore leaves
// at worst an unreferenced file, never a reference to a missing or partial
// one. Reading a file back verifies its
// size and checksum and returns ErrChecksum on a mismatch.
//
// # Caveats
//
// A read-only store sees the transactions committed before it opened; it
// takes a shared lock on the database file for as long as it is open, and a
// writer waits up to 30 seconds for it at each operation, so keep read-only
// stores open briefly. Times are stored in UTC.
package store
