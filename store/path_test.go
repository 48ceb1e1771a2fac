package store

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// storeNames returns two names of one store file in a temporary folder:
// the file itself and a symbolic link to it, for each way a user can make
// the link.
func storeNames(t *testing.T) map[string][2]string {
	t.Helper()
	cases := map[string][2]string{}

	// A relative link made before the store exists, as `ln -s dup.db
	// dlink.db` before the first search.
	dir := t.TempDir()
	if err := os.Symlink("dup.db", filepath.Join(dir, "dlink.db")); err != nil {
		t.Skipf("symbolic links unsupported: %v", err)
	}
	cases["link to missing file"] = [2]string{filepath.Join(dir, "dlink.db"), filepath.Join(dir, "dup.db")}

	// An absolute link to an existing store.
	dir = t.TempDir()
	real := filepath.Join(dir, "nas.db")
	s, err := Open(real, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Symlink(real, filepath.Join(dir, "link.db")); err != nil {
		t.Fatal(err)
	}
	cases["link to existing file"] = [2]string{filepath.Join(dir, "link.db"), real}

	// A linked folder: the same file name under two folder names.
	dir = t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("data", filepath.Join(dir, "alias")); err != nil {
		t.Fatal(err)
	}
	cases["linked folder"] = [2]string{filepath.Join(dir, "alias", "nas.db"), filepath.Join(dir, "data", "nas.db")}
	return cases
}

func TestOpen_SymlinkSharesLock(t *testing.T) {
	for name, names := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			for _, order := range [][2]string{{names[0], names[1]}, {names[1], names[0]}} {
				first, err := Open(order[0], Options{NoSync: true})
				if err != nil {
					t.Fatalf("Open(%s): %v", order[0], err)
				}
				second, err := Open(order[1], Options{NoSync: true, Timeout: 100 * time.Millisecond})
				var inUse *InUseError
				if !errors.As(err, &inUse) {
					if second != nil {
						second.Close()
					}
					t.Errorf("writable Open(%s) while %s is open for writing: err = %v, want *InUseError", order[1], order[0], err)
				}

				ro, err := Open(order[1], Options{ReadOnly: true})
				if err != nil {
					t.Fatalf("read-only Open(%s): %v", order[1], err)
				}
				if !ro.WriterActive() {
					t.Errorf("WriterActive through %s = false while %s is open for writing", order[1], order[0])
				}
				ro.Close()
				first.Close()
			}
		})
	}
}

func TestOpen_SymlinkSharesFiles(t *testing.T) {
	for name, names := range storeNames(t) {
		t.Run(name, func(t *testing.T) {
			w, err := Open(names[0], Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			r := newRun(t, w)
			if err := w.Commit(r.ID, trials(r.ID, 1, 1), Checkpoint{Batch: 1}, writeBytes("weights-1")); err != nil {
				t.Fatalf("Commit through %s: %v", names[0], err)
			}
			w.Close()

			other, err := Open(names[1], Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			defer other.Close()
			c, err := other.Checkpoint(r.ID)
			if err != nil {
				t.Fatalf("Checkpoint through %s: %v", names[1], err)
			}
			data, err := other.ReadFile(*c.Supernet)
			if err != nil {
				t.Fatalf("ReadFile through %s of a checkpoint written through %s: %v", names[1], names[0], err)
			}
			if string(data) != "weights-1" {
				t.Errorf("ReadFile = %q, want weights-1", data)
			}
			if other.Path() != names[1] {
				t.Errorf("Path() = %s, want the name it was opened with, %s", other.Path(), names[1])
			}
		})
	}
}

func TestResolvePath_Chain(t *testing.T) {
	dir := t.TempDir()
	// a.db → b.db → c.db, and c.db does not exist yet.
	if err := os.Symlink("b.db", filepath.Join(dir, "a.db")); err != nil {
		t.Skipf("symbolic links unsupported: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "c.db"), filepath.Join(dir, "b.db")); err != nil {
		t.Fatal(err)
	}
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := resolvePath(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(realDir, "c.db"); got != want {
		t.Errorf("resolvePath(a.db) = %s, want %s", got, want)
	}

	// A loop of links is an error, not a hang.
	if err := os.Symlink("loop2", filepath.Join(dir, "loop1")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("loop1", filepath.Join(dir, "loop2")); err != nil {
		t.Fatal(err)
	}
	if got, err := resolvePath(filepath.Join(dir, "loop1")); err == nil {
		t.Errorf("resolvePath of a link loop = %s, want an error", got)
	}
}
