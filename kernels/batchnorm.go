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
// Statistics are summed in float32 over blocks of bnBlockRows rows and in
// float64 across blocks, over row ranges split across goroutines and
// combined in part order.
func BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, runMean, runVar []float32, rows, c int, momentum float32) {
	batchNormForwardTrain("BatchNormForwardTrain", out, mean, invStd, in, gamma, beta, runMean, runVar, rows, c, momentum, false)
}

// BatchNormReLU6ForwardTrain is BatchNormForwardTrain followed by ReLU6,
// out = min(max(BN(in), 0), 6), in one pass over the output. Its gradient is
// BatchNormReLU6Backward.
func BatchNormReLU6ForwardTrain(out, mean, invStd, in, gamma, beta, runMean, runVar []float32, rows, c int, momentum float32) {
	batchNormForwardTrain("BatchNormReLU6ForwardTrain", out, mean, invStd, in, gamma, beta, runMean, runVar, rows, c, momentum, true)
}

func batchNormForwardTrain(op string, out, mean, invStd, in, gamma, beta, runMean, runVar []float32, rows, c int, momentum float32, relu6 bool) {
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

	normalize(out, in, gamma, beta, mean, invStd, rows, c, relu6)
}

// BatchNormForwardInference normalises each channel with the running
// statistics: out[r,ch] = gamma[ch]·(in[r,ch]-runMean[ch])/sqrt(runVar[ch]+ε)
// + beta[ch]. in and out are [rows, c]; out is overwritten and may be in.
func BatchNormForwardInference(out, in, gamma, beta, runMean, runVar []float32, rows, c int) {
	batchNormInference("BatchNormForwardInference", out, in, gamma, beta, runMean, runVar, rows, c, false)
}

// BatchNormReLU6ForwardInference is BatchNormForwardInference followed by
// ReLU6, min(max(x, 0), 6), in one pass over the data.
func BatchNormReLU6ForwardInference(out, in, gamma, beta, runMean, runVar []float32, rows, c int) {
	batchNormInference("BatchNormReLU6ForwardInference", out, in, gamma, beta, runMean, runVar, rows, c, true)
}

func batchNormInference(op string, out, in, gamma, beta, runMean, runVar []float32, rows, c int, relu6 bool) {
	checkBatchNorm(op, in, out, gamma, beta, rows, c)
	need(op, "runMean", runMean, c)
	need(op, "runVar", runVar, c)
	invStd := getScratch(c)
	defer putScratch(invStd)
	for ch := range c {
		(*invStd)[ch] = float32(1 / math.Sqrt(float64(runVar[ch])+BatchNormEps))
	}
	normalize(out, in, gamma, beta, runMean, *invStd, rows, c, relu6)
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
	batchNormBackward("BatchNormBackward", dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, nil, rows, c)
}

// BatchNormReLU6Backward computes the gradients of BatchNormReLU6ForwardTrain:
// BatchNormBackward applied to dOut masked where the forward output was not
// inside (0, 6). The mask is recomputed from in, mean, invStd, gamma and
// beta exactly as the forward pass computed its output, which saves reading
// that output twice. Pass the values the forward pass used.
func BatchNormReLU6Backward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, beta []float32, rows, c int) {
	need("BatchNormReLU6Backward", "beta", beta, c)
	batchNormBackward("BatchNormReLU6Backward", dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, beta, rows, c)
}

// batchNormBackward implements both backward passes. With beta not nil,
// dOut is masked where the ReLU6 input in·scale + shift is outside (0, 6).
func batchNormBackward(op string, dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, beta []float32, rows, c int) {
	need(op, "dOut", dOut, rows*c)
	need(op, "in", in, rows*c)
	need(op, "dIn", dIn, rows*c)
	for _, v := range []struct {
		name string
		x    []float32
	}{{"dGamma", dGamma}, {"dBeta", dBeta}, {"mean", mean}, {"invStd", invStd}, {"gamma", gamma}} {
		need(op, v.name, v.x, c)
	}

	// The forward pass's scale and shift, computed as normalize computes
	// them, so that the recomputed ReLU6 inputs match bit for bit.
	var mask *reluMaskCoef
	if beta != nil {
		coef := getScratch(2 * c)
		defer putScratch(coef)
		mask = &reluMaskCoef{scale: (*coef)[:c], shift: (*coef)[c : 2*c]}
		for ch := range c {
			mask.scale[ch] = gamma[ch] * invStd[ch]
			mask.shift[ch] = beta[ch] - mean[ch]*mask.scale[ch]
		}
	}

	// Per-channel Σ g and Σ g·(x-mean), g the (masked) output gradient.
	parts := partCount(rows, 256)
	sums := reduceRows(rows, 2*c, parts, func(acc []float32, r0, r1 int) {
		gradSums(acc[:c], acc[c:], dOut, in, mean, mask, r0, r1, c)
	})
	defer putScratch64(sums)

	// dIn = k1·g + k2·x + k0 per channel, from
	// dIn = gamma·invStd·(g - meanG - x̂·meanGX) with x̂ = (x-mean)·invStd.
	coef := getScratch(3 * c)
	defer putScratch(coef)
	k1, k2, k0 := (*coef)[:c], (*coef)[c:2*c], (*coef)[2*c:]
	for ch := range c {
		var sumG, sumGX float64
		for p := range parts {
			sumG += (*sums)[2*c*p+ch]
			sumGX += (*sums)[2*c*p+c+ch]
		}
		sumGX *= float64(invStd[ch]) // now Σ g·x̂
		dBeta[ch] += float32(sumG)
		dGamma[ch] += float32(sumGX)

		scale := float64(gamma[ch]) * float64(invStd[ch])
		meanG, meanGX := sumG/float64(rows), sumGX/float64(rows)
		k1[ch] = float32(scale)
		k2[ch] = float32(-scale * meanGX * float64(invStd[ch]))
		k0[ch] = float32(-scale*meanG + scale*meanGX*float64(invStd[ch])*float64(mean[ch]))
	}

	parallelFor(rows, parts, func(_, lo, hi int) {
		gradInput(dIn, dOut, in, mask, k1, k2, k0, lo, hi, c)
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

// Add adds the rows of one batch, in as [rows, c]. It merges the batch's mean
// and sum of squared deviations into the totals with the pairwise update
// m2 += m2_batch + δ²·n·n_batch/(n+n_batch), so the result equals the
// statistics of all rows concatenated up to float64 rounding. The batch's
// moments are computed as batch norm computes its own statistics: float32
// sums over blocks of rows, added in float64.
func (s *BatchNormStats) Add(in []float32, rows int) {
	c := len(s.mean)
	moments := getScratch(2 * c)
	defer putScratch(moments)
	s.AddBatch((*moments)[:c], (*moments)[c:2*c], in, rows)
}

// AddBatch is Add that also writes the batch's per-channel mean and biased
// variance into mean and variance, the statistics BatchNormForwardTrain
// would normalise the batch with. Batch norm in inference mode with these
// moments gives BatchNormForwardTrain's output without computing them twice.
func (s *BatchNormStats) AddBatch(mean, variance, in []float32, rows int) {
	c := len(s.mean)
	need("BatchNormStats.AddBatch", "in", in, rows*c)
	need("BatchNormStats.AddBatch", "mean", mean, c)
	need("BatchNormStats.AddBatch", "variance", variance, c)
	if rows == 0 {
		return
	}
	channelMoments(mean, variance, in, rows, c)

	n := float64(rows)
	total := s.count + n
	for ch := range c {
		delta := float64(mean[ch]) - s.mean[ch]
		s.mean[ch] += delta * n / total
		s.m2[ch] += float64(variance[ch])*n + delta*delta*s.count*n/total
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

// bnBlockRows is the number of rows summed in float32 before the sum is
// added to a float64 total.
const bnBlockRows = 64

// reduceRows splits [0, rows) into parts and calls kernel on blocks of at
// most bnBlockRows rows with a zeroed float32 accumulator of width entries,
// adding each block's result to the part's float64 sums. It returns the sums,
// part p at [p*width, (p+1)*width), for the caller to combine in part order
// and release with putScratch64.
func reduceRows(rows, width, parts int, kernel func(acc []float32, r0, r1 int)) *[]float64 {
	sums := getScratch64(width * parts)
	parallelFor(rows, parts, func(part, lo, hi int) {
		total := (*sums)[width*part : width*(part+1)]
		clear(total)
		block := getScratch(width)
		defer putScratch(block)
		acc := (*block)[:width]
		for r0 := lo; r0 < hi; r0 += bnBlockRows {
			clear(acc)
			kernel(acc, r0, min(hi, r0+bnBlockRows))
			for i, v := range acc {
				total[i] += float64(v)
			}
		}
	})
	return sums
}

// channelMoments writes the per-channel mean and biased variance of in
// ([rows, c]) into mean and variance, in two passes for accuracy.
func channelMoments(mean, variance, in []float32, rows, c int) {
	parts := partCount(rows, 256)
	combine := func(sums *[]float64, dst []float32) {
		for ch := range c {
			var s float64
			for p := range parts {
				s += (*sums)[c*p+ch]
			}
			dst[ch] = float32(s / float64(rows))
		}
		putScratch64(sums)
	}

	combine(reduceRows(rows, c, parts, func(acc []float32, r0, r1 int) {
		sumRows(acc, in, r0, r1, c)
	}), mean)
	combine(reduceRows(rows, c, parts, func(acc []float32, r0, r1 int) {
		sumSquaredDeviations(acc, in, mean, r0, r1, c)
	}), variance)
}

// normalize sets out = gamma·(in-mean)·invStd + beta per channel, computed
// as in·scale + shift, and clamps it to [0, 6] when relu6 is set.
func normalize(out, in, gamma, beta, mean, invStd []float32, rows, c int, relu6 bool) {
	coef := getScratch(2 * c)
	defer putScratch(coef)
	scale, shift := (*coef)[:c], (*coef)[c:]
	for ch := range c {
		scale[ch] = gamma[ch] * invStd[ch]
		shift[ch] = beta[ch] - mean[ch]*scale[ch]
	}
	parallelFor(rows, partCount(rows, 256), func(_, lo, hi int) {
		affineRows(out, in, scale, shift, nil, lo, hi, c, relu6)
	})
}

func checkBatchNorm(op string, in, out, gamma, beta []float32, rows, c int) {
	need(op, "in", in, rows*c)
	need(op, "out", out, rows*c)
	need(op, "gamma", gamma, c)
	need(op, "beta", beta, c)
}
