package kernels

import (
	"fmt"
	"math"
)

// BatchNormEps is the ε added to the variance before the square root, as in
// PyTorch's BatchNorm2d default.
const BatchNormEps = 1e-5

// BatchNormForwardTrain normalises each channel with the statistics of this
// batch and updates the running statistics:
//
//	mean[ch]   = (1/R) Σ_r in[r,ch]
//	invStd[ch] = 1 / sqrt((1/R) Σ_r (in[r,ch]-mean[ch])² + BatchNormEps)
//	out[r,ch]  = gamma[ch]·(in[r,ch]-mean[ch])·invStd[ch] + beta[ch]
//
// where R = rows = N·H·W; in and out are [rows, c], and out is overwritten
// (it may be in). mean and invStd receive c values each for
// BatchNormBackward. When runMean and runVar are not nil they follow the
// PyTorch convention running = (1-momentum)·running + momentum·batch, with
// the unbiased batch variance (divided by R-1) for runVar.
//
// Statistics are summed in float64 over row ranges split across goroutines
// and combined in part order.
func BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, runMean, runVar []float32, rows, c int, momentum float32) {
	const op = "BatchNormForwardTrain"
	checkBatchNorm(op, in, out, gamma, beta, rows, c)
	need(op, "mean", mean, c)
	need(op, "invStd", invStd, c)
	if rows < 1 {
		panic(fmt.Sprintf("kernels: %s: batch statistics need at least one row, got %d", op, rows))
	}

	// Per-channel mean and biased variance of this batch.
	variance := getScratch(c)
	defer putScratch(variance)
	channelMoments(mean, *variance, in, rows, c)
	for ch := range c {
		invStd[ch] = float32(1 / math.Sqrt(float64((*variance)[ch])+BatchNormEps))
	}

	// Running statistics.
	if runMean != nil && runVar != nil {
		need(op, "runMean", runMean, c)
		need(op, "runVar", runVar, c)
		unbias := float32(1)
		if rows > 1 {
			unbias = float32(rows) / float32(rows-1)
		}
		for ch := range c {
			runMean[ch] = (1-momentum)*runMean[ch] + momentum*mean[ch]
			runVar[ch] = (1-momentum)*runVar[ch] + momentum*(*variance)[ch]*unbias
		}
	}

	normalize(out, in, gamma, beta, mean, invStd, rows, c)
}

// BatchNormForwardInference normalises each channel with the running
// statistics: out[r,ch] = gamma[ch]·(in[r,ch]-runMean[ch])/sqrt(runVar[ch]+ε)
// + beta[ch]. in and out are [rows, c]; out is overwritten and may be in.
func BatchNormForwardInference(out, in, gamma, beta, runMean, runVar []float32, rows, c int) {
	const op = "BatchNormForwardInference"
	checkBatchNorm(op, in, out, gamma, beta, rows, c)
	need(op, "runMean", runMean, c)
	need(op, "runVar", runVar, c)
	invStd := getScratch(c)
	defer putScratch(invStd)
	for ch := range c {
		(*invStd)[ch] = float32(1 / math.Sqrt(float64(runVar[ch])+BatchNormEps))
	}
	normalize(out, in, gamma, beta, runMean, *invStd, rows, c)
}

// BatchNormBackward computes the gradients of BatchNormForwardTrain, given the
// mean and invStd it returned. With x̂ = (in-mean)·invStd:
//
//	dBeta[ch]  += Σ_r dOut[r,ch]
//	dGamma[ch] += Σ_r dOut[r,ch]·x̂[r,ch]
//	dIn[r,ch]   = gamma[ch]·invStd[ch]/R · (R·dOut[r,ch] - Σ dOut - x̂[r,ch]·Σ dOut·x̂)
//
// dIn ([rows, c]) is overwritten and may be dOut; dGamma and dBeta accumulate.
func BatchNormBackward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma []float32, rows, c int) {
	const op = "BatchNormBackward"
	need(op, "dOut", dOut, rows*c)
	need(op, "in", in, rows*c)
	need(op, "dIn", dIn, rows*c)
	for _, v := range []struct {
		name string
		x    []float32
	}{{"dGamma", dGamma}, {"dBeta", dBeta}, {"mean", mean}, {"invStd", invStd}, {"gamma", gamma}} {
		need(op, v.name, v.x, c)
	}

	// Per-channel sums of dOut and dOut·x̂, in float64, combined in part order.
	parts := partCount(rows, 256)
	partial := getScratch(2 * c * parts)
	defer putScratch(partial)
	sumsBuf := getScratch64(2 * c * parts)
	defer putScratch64(sumsBuf)
	sums := *sumsBuf
	parallelFor(rows, parts, func(part, lo, hi int) {
		sumG := sums[2*c*part : 2*c*part+c]
		sumGX := sums[2*c*part+c : 2*c*(part+1)]
		clear(sumG)
		clear(sumGX)
		for r := lo; r < hi; r++ {
			g := dOut[r*c:][:c]
			x := in[r*c:][:c]
			for ch := range c {
				xhat := (x[ch] - mean[ch]) * invStd[ch]
				sumG[ch] += float64(g[ch])
				sumGX[ch] += float64(g[ch] * xhat)
			}
		}
	})
	sumG := (*partial)[:c]
	sumGX := (*partial)[c : 2*c]
	for ch := range c {
		var sg, sgx float64
		for p := range parts {
			sg += sums[2*c*p+ch]
			sgx += sums[2*c*p+c+ch]
		}
		sumG[ch], sumGX[ch] = float32(sg), float32(sgx)
		dBeta[ch] += float32(sg)
		dGamma[ch] += float32(sgx)
	}

	// Input gradient.
	invRows := 1 / float32(rows)
	parallelFor(rows, parts, func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			g := dOut[r*c:][:c]
			x := in[r*c:][:c]
			dx := dIn[r*c:][:c]
			for ch := range c {
				xhat := (x[ch] - mean[ch]) * invStd[ch]
				meanG := sumG[ch] * invRows
				meanGX := sumGX[ch] * invRows
				dx[ch] = gamma[ch] * invStd[ch] * (g[ch] - meanG - xhat*meanGX)
			}
		}
	})
}

// BatchNormStats accumulates exact per-channel statistics over several
// batches, to recalibrate the running statistics of a child whose shared
// weights changed since they were last computed. Unlike a momentum average,
// the result weighs every row seen equally. The zero value is not usable;
// create one with NewBatchNormStats.
type BatchNormStats struct {
	count float64
	mean  []float64 // per-channel mean of the rows added so far
	m2    []float64 // per-channel sum of squared deviations from mean
}

// NewBatchNormStats returns an empty accumulator for c channels.
func NewBatchNormStats(c int) *BatchNormStats {
	return &BatchNormStats{mean: make([]float64, c), m2: make([]float64, c)}
}

// Reset empties the accumulator.
func (s *BatchNormStats) Reset() {
	s.count = 0
	clear(s.mean)
	clear(s.m2)
}

// Add adds the rows of one batch, in as [rows, c], using the pairwise update
// of Chan, Golub and LeVeque so that the result equals the statistics of all
// rows concatenated up to float64 rounding.
func (s *BatchNormStats) Add(in []float32, rows int) {
	c := len(s.mean)
	need("BatchNormStats.Add", "in", in, rows*c)
	if rows == 0 {
		return
	}
	batchMean := make([]float64, c)
	batchM2 := make([]float64, c)
	for r := range rows {
		for ch, v := range in[r*c : (r+1)*c] {
			batchMean[ch] += float64(v)
		}
	}
	for ch := range c {
		batchMean[ch] /= float64(rows)
	}
	for r := range rows {
		for ch, v := range in[r*c : (r+1)*c] {
			d := float64(v) - batchMean[ch]
			batchM2[ch] += d * d
		}
	}

	n := float64(rows)
	total := s.count + n
	for ch := range c {
		delta := batchMean[ch] - s.mean[ch]
		s.mean[ch] += delta * n / total
		s.m2[ch] += batchM2[ch] + delta*delta*s.count*n/total
	}
	s.count = total
}

// Count returns the number of rows added since the last Reset.
func (s *BatchNormStats) Count() int { return int(s.count) }

// WriteRunning stores the accumulated mean in runMean and the unbiased
// variance (divided by count-1) in runVar, the values PyTorch keeps as running
// statistics. It panics if fewer than two rows were added.
func (s *BatchNormStats) WriteRunning(runMean, runVar []float32) {
	c := len(s.mean)
	need("BatchNormStats.WriteRunning", "runMean", runMean, c)
	need("BatchNormStats.WriteRunning", "runVar", runVar, c)
	if s.count < 2 {
		panic(fmt.Sprintf("kernels: BatchNormStats.WriteRunning: need at least 2 rows, have %v", s.count))
	}
	for ch := range c {
		runMean[ch] = float32(s.mean[ch])
		runVar[ch] = float32(s.m2[ch] / (s.count - 1))
	}
}

// channelMoments writes the per-channel mean and biased variance of in
// ([rows, c]) into mean and variance, with float64 sums over row ranges
// split across goroutines and combined in part order.
func channelMoments(mean, variance, in []float32, rows, c int) {
	parts := partCount(rows, 256)
	sumsBuf := getScratch64(c * parts)
	defer putScratch64(sumsBuf)
	sums := *sumsBuf

	// Mean.
	parallelFor(rows, parts, func(part, lo, hi int) {
		acc := sums[c*part : c*(part+1)]
		clear(acc)
		for r := lo; r < hi; r++ {
			for ch, v := range in[r*c : (r+1)*c] {
				acc[ch] += float64(v)
			}
		}
	})
	for ch := range c {
		var s float64
		for p := range parts {
			s += sums[c*p+ch]
		}
		mean[ch] = float32(s / float64(rows))
	}

	// Variance around the mean, two-pass for accuracy.
	parallelFor(rows, parts, func(part, lo, hi int) {
		acc := sums[c*part : c*(part+1)]
		clear(acc)
		for r := lo; r < hi; r++ {
			for ch, v := range in[r*c : (r+1)*c] {
				d := float64(v - mean[ch])
				acc[ch] += d * d
			}
		}
	})
	for ch := range c {
		var s float64
		for p := range parts {
			s += sums[c*p+ch]
		}
		variance[ch] = float32(s / float64(rows))
	}
}

// normalize sets out = gamma·(in-mean)·invStd + beta per channel.
func normalize(out, in, gamma, beta, mean, invStd []float32, rows, c int) {
	parallelFor(rows, partCount(rows, 256), func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			x := in[r*c:][:c]
			y := out[r*c:][:c]
			for ch := range c {
				scale := gamma[ch] * invStd[ch]
				y[ch] = (x[ch]-mean[ch])*scale + beta[ch]
			}
		}
	})
}

func checkBatchNorm(op string, in, out, gamma, beta []float32, rows, c int) {
	need(op, "in", in, rows*c)
	need(op, "out", out, rows*c)
	need(op, "gamma", gamma, c)
	need(op, "beta", beta, c)
}
