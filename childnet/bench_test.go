package childnet

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"runtime"
	"testing"

	"nas/dataset"
	"nas/kernels"
)

// referenceModel returns a standalone model of the reference child and the
// bound child, and sets two kernel threads until the benchmark ends.
func referenceModel(b *testing.B) (*Supernet, *Child) {
	arch := loadReferenceArch(b)
	net, err := NewModel(arch, 1)
	if err != nil {
		b.Fatal(err)
	}
	c, err := net.Bind(arch)
	if err != nil {
		b.Fatal(err)
	}
	previous := kernels.Threads()
	kernels.SetThreads(2)
	b.Cleanup(func() { kernels.SetThreads(previous) })
	return net, c
}

// BenchmarkTrainStepReference times one training step (forward, backward,
// Nesterov SGD update) of the reference child at batch 64 with two kernel
// threads, on random data.
func BenchmarkTrainStepReference(b *testing.B) {
	net, c := referenceModel(b)
	if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
		b.Fatal(err)
	}
	const n = 64
	x, y := randomBatch(1, n, 28, 28, 1, 10)
	w := net.NewWorker(n)
	for range 2 {
		if _, err := w.TrainStep(c, x, y, n, 0.01); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := w.TrainStep(c, x, y, n, 0.01); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkEvalReference times one inference pass of the reference child at
// batch 64 with two kernel threads, on random data.
func BenchmarkEvalReference(b *testing.B) {
	net, c := referenceModel(b)
	const n = 64
	x, _ := randomBatch(1, n, 28, 28, 1, 10)
	w := net.NewWorker(n)
	if _, err := w.Logits(c, x, n); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := w.Logits(c, x, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "images/s")
}

// BenchmarkScoreReference times scoring the reference child as a search
// does by default: BN recalibration on 512 images, then evaluation on 1,024,
// at batch 64 with two kernel threads, on random data.
func BenchmarkScoreReference(b *testing.B) {
	net, c := referenceModel(b)
	const n = 64
	batches := make([]Batch, 16)
	for i := range batches {
		x, y := randomBatch(uint64(10+i), n, 28, 28, 1, 10)
		batches[i] = Batch{X: x, Y: y, N: n}
	}
	w := net.NewWorker(n)

	score := func() {
		if err := w.RecalibrateBN(c, batches[:8]); err != nil {
			b.Fatal(err)
		}
		if _, err := w.Evaluate(c, batches); err != nil {
			b.Fatal(err)
		}
	}
	score()
	for b.Loop() {
		score()
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/child")
}

// BenchmarkSoakChildren binds and trains 1,000 random children of a small
// space against one supernet with one worker. It reports the heap in use
// after the first 100 children and after all of them, which should match
// because the workspace is sized for the widest child from the start.
func BenchmarkSoakChildren(b *testing.B) {
	for b.Loop() {
		net, err := NewSupernet(fashionSpace(), 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := net.SetOptimizer(DefaultOptimizerConfig()); err != nil {
			b.Fatal(err)
		}
		const n = 16
		w := net.NewWorker(n)
		rng := rand.New(rand.NewPCG(2, 0))
		x, y := randomBatch(3, n, 28, 28, 1, 10)
		var heapAt100 uint64
		for i := range 1000 {
			c, err := net.Bind(randomChild(rng))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.TrainStep(c, x, y, n, 0.01); err != nil {
				b.Fatal(err)
			}
			if i == 99 {
				heapAt100 = heapInUse()
			}
		}
		heapAt1000 := heapInUse()
		// Keep the supernet and worker alive up to the measurement.
		runtime.KeepAlive(w)
		runtime.KeepAlive(net)
		b.ReportMetric(float64(heapAt100)/(1<<20), "MiB-heap-at-100")
		b.ReportMetric(float64(heapAt1000)/(1<<20), "MiB-heap-at-1000")
	}
}

// heapInUse returns the heap in use after two collections, the second of
// which also empties the sync.Pool caches the kernels keep scratch in.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// BenchmarkStandaloneReference trains the reference child from scratch on
// all of Fashion-MNIST with DefaultTrainConfig (5 epochs, batch 128, cosine
// schedule from 0.1, Nesterov SGD, crop and flip augmentation) and reports
// the test accuracy, training images/s and wall time. It takes about an
// hour on two cores; run it alone with -benchtime 1x -timeout 3h.
func BenchmarkStandaloneReference(b *testing.B) {
	ds, err := dataset.Load(dataset.SourceFashionMNIST)
	if err != nil {
		b.Skip(err)
	}
	arch := loadReferenceArch(b)
	defer kernels.SetThreads(kernels.Threads())
	kernels.SetThreads(2)
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	for b.Loop() {
		res, err := Train(context.Background(), arch, ds.Train, ds.Test, TrainConfig{Seed: 1}, logger, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*res.TestAccuracy, "test-accuracy-%")
		b.ReportMetric(res.ImagesPerSec, "train-images/s")
		b.ReportMetric(res.Wall.Seconds(), "wall-s")
	}
}
