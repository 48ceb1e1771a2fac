package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// maxLinks bounds the dangling links resolvePath follows one by one, so a
// loop of links ends in an error.
const maxLinks = 40

// resolvePath returns the absolute path of the file that path names, with
// every symbolic link resolved. Open derives the lock file and the files
// folder from it, so every name of one store shares them.
//
// A file that does not exist yet resolves to its resolved folder joined
// with its base name. A dangling link resolves to the link's target, since
// a writable Open creates the file there. A missing folder is left as it
// is: Open then fails to create the lock file in it.
//
// NOTE: a hard link is another name of the same file that no path
// resolution can see, so two writers through two hard links are not kept
// apart.
func resolvePath(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	for range maxLinks {
		real, err := filepath.EvalSymlinks(abs)
		if err == nil {
			return real, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}

		// The file, or a folder above it, is missing. Follow a dangling
		// link by hand, since EvalSymlinks stops at its missing target.
		info, err := os.Lstat(abs)
		if err == nil && info.Mode()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(abs)
			if err != nil {
				return "", err
			}
			if !filepath.IsAbs(target) {
				target = filepath.Join(filepath.Dir(abs), target)
			}
			abs = target
			continue
		}

		dir, err := filepath.EvalSymlinks(filepath.Dir(abs))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return abs, nil
		case err != nil:
			return "", err
		}
		return filepath.Join(dir, filepath.Base(abs)), nil
	}
	return "", fmt.Errorf("more than %d symbolic links in a chain, so they probably form a loop: fix the links or pass the store file's own path", maxLinks)
}
