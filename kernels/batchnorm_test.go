package kernels

import (
	"math"
	"testing"
)

// batchNormRef is the float64 training-mode batch norm over [rows, c].
func batchNormRef(in, gamma, beta []float64, rows, c int) []float64 {
	out := make([]float64, rows*c)
	for ch := range c {
		var mean, variance float64
		for r := range rows {
			mean += in[r*c+ch]
		}
		mean /= float64(rows)
		for r := range rows {
			d := in[r*c+ch] - mean
			variance += d * d
		}
		variance /= float64(rows)
		inv := 1 / math.Sqrt(variance+BatchNormEps)
		for r := range rows {
			out[r*c+ch] = gamma[ch]*(in[r*c+ch]-mean)*inv + beta[ch]
		}
	}
	return out
}

func TestBatchNormTrainFiniteDifferences(t *testing.T) {
	for i, shape := range [][2]int{{7 * 7 * 2, 19}, {9, 5}, {3000, 17}} {
		rows, c := shape[0], shape[1]
		r := newRand(400 + uint64(i))
		in := randSlice(r, rows*c)
		for j := range in {
			in[j] = 3*in[j] + float32(j%c) // channel-dependent offsets
		}
		gamma, beta := randSlice(r, c), randSlice(r, c)
		dOut := randSlice(r, rows*c)
		name := shapeName("rows %d c %d", rows, c)

		outBuf, out := guarded(rows*c, float32(math.NaN()))
		mean, invStd := make([]float32, c), make([]float32, c)
		runMean, runVar := make([]float32, c), make([]float32, c)
		for ch := range c {
			runVar[ch] = 1
		}
		BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, runMean, runVar, rows, c, 0.1)
		checkGuards(t, name, outBuf)
		in64, gamma64, beta64, g64 := to64(in), to64(gamma), to64(beta), to64(dOut)
		compare(t, name+" out", out, batchNormRef(in64, gamma64, beta64, rows, c), 1e-4)

		// Running statistics after one update from (0, 1) with momentum 0.1.
		for ch := range c {
			var m, v float64
			for row := range rows {
				m += in64[row*c+ch]
			}
			m /= float64(rows)
			for row := range rows {
				v += (in64[row*c+ch] - m) * (in64[row*c+ch] - m)
			}
			v /= float64(rows - 1)
			if d := math.Abs(float64(runMean[ch]) - 0.1*m); d > 1e-5 {
				t.Fatalf("%s: runMean[%d] = %v, want %v", name, ch, runMean[ch], 0.1*m)
			}
			if d := math.Abs(float64(runVar[ch]) - (0.9 + 0.1*v)); d > 1e-4 {
				t.Fatalf("%s: runVar[%d] = %v, want %v", name, ch, runVar[ch], 0.9+0.1*v)
			}
		}

		dInBuf, dIn := guarded(rows*c, float32(math.NaN()))
		dGamma, dBeta := make([]float32, c), make([]float32, c)
		BatchNormBackward(dIn, dGamma, dBeta, dOut, in, mean, invStd, gamma, rows, c)
		checkGuards(t, name+" dIn", dInBuf)
		loss := func() float64 { return dot(batchNormRef(in64, gamma64, beta64, rows, c), g64) }
		checkGradient(t, name+" dIn", dIn, in64, loss, sample(r, len(in), 200), nil)
		checkGradient(t, name+" dGamma", dGamma, gamma64, loss, nil, nil)
		checkGradient(t, name+" dBeta", dBeta, beta64, loss, nil, nil)
	}
}

func TestBatchNormInferenceUsesRunningStats(t *testing.T) {
	const rows, c = 11, 6
	r := newRand(10)
	in, gamma, beta := randSlice(r, rows*c), randSlice(r, c), randSlice(r, c)
	runMean := randSlice(r, c)
	runVar := make([]float32, c)
	for ch := range runVar {
		runVar[ch] = 0.5 + float32(ch)
	}
	out := make([]float32, rows*c)
	BatchNormForwardInference(out, in, gamma, beta, runMean, runVar, rows, c)
	want := make([]float64, rows*c)
	for row := range rows {
		for ch := range c {
			want[row*c+ch] = float64(gamma[ch])*(float64(in[row*c+ch])-float64(runMean[ch]))/math.Sqrt(float64(runVar[ch])+BatchNormEps) + float64(beta[ch])
		}
	}
	compare(t, "out", out, want, 1e-6)
}

func TestBatchNormReLU6InferenceClamps(t *testing.T) {
	const rows, c = 37, 19
	r := newRand(12)
	in, gamma, beta := randSlice(r, rows*c), randSlice(r, c), randSlice(r, c)
	for ch := range gamma {
		gamma[ch] *= 8 // push outputs past both ends of [0, 6]
	}
	runMean, runVar := randSlice(r, c), make([]float32, c)
	for ch := range runVar {
		runVar[ch] = 0.25 + float32(ch)/4
	}
	out := make([]float32, rows*c)
	BatchNormReLU6ForwardInference(out, in, gamma, beta, runMean, runVar, rows, c)

	want := make([]float32, rows*c)
	BatchNormForwardInference(want, in, gamma, beta, runMean, runVar, rows, c)
	below, above := 0, 0
	for i, v := range want {
		if v < 0 {
			below++
		}
		if v > 6 {
			above++
		}
		want[i] = min(max(v, 0), 6)
	}
	if below == 0 || above == 0 {
		t.Fatalf("test data reach below 0 %d times and above 6 %d times; need both", below, above)
	}
	for i := range out {
		if out[i] != want[i] {
			t.Fatalf("out[%d] = %v, want %v", i, out[i], want[i])
		}
	}
}

func TestBatchNormStatsMatchesConcatenation(t *testing.T) {
	const c = 7
	r := newRand(11)
	batches := [][]float32{randSlice(r, 13*c), randSlice(r, 1*c), randSlice(r, 40*c)}
	for j := range batches[2] {
		batches[2][j] += 5 // a shifted batch makes naive averaging of variances wrong
	}
	s := NewBatchNormStats(c)
	var all []float32
	for _, b := range batches {
		s.Add(b, len(b)/c)
		all = append(all, b...)
	}
	if s.Count() != 54 {
		t.Fatalf("Count = %d, want 54", s.Count())
	}
	runMean, runVar := make([]float32, c), make([]float32, c)
	s.WriteRunning(runMean, runVar)

	rows := len(all) / c
	wantMean, wantVar := make([]float64, c), make([]float64, c)
	for ch := range c {
		for row := range rows {
			wantMean[ch] += float64(all[row*c+ch])
		}
		wantMean[ch] /= float64(rows)
		for row := range rows {
			d := float64(all[row*c+ch]) - wantMean[ch]
			wantVar[ch] += d * d
		}
		wantVar[ch] /= float64(rows - 1)
	}
	compare(t, "runMean", runMean, wantMean, 1e-6)
	compare(t, "runVar", runVar, wantVar, 1e-6)
}

func TestBatchNormReLU6MatchesComposition(t *testing.T) {
	const rows, c = 9 * 9 * 3, 21
	r := newRand(15)
	in := randSlice(r, rows*c)
	gamma, beta := randSlice(r, c), randSlice(r, c)
	for ch := range c {
		gamma[ch] *= 4 // spread the outputs over both clamps
	}
	dOut := randSlice(r, rows*c)

	// Reference: batch norm, then ReLU6, each with its own backward.
	bn, act := make([]float32, rows*c), make([]float32, rows*c)
	mean, invStd := make([]float32, c), make([]float32, c)
	BatchNormForwardTrain(bn, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0)
	ReLU6Forward(act, bn)
	dBN, wantDIn := make([]float32, rows*c), make([]float32, rows*c)
	wantDGamma, wantDBeta := make([]float32, c), make([]float32, c)
	ReLU6Backward(dBN, dOut, act)
	BatchNormBackward(wantDIn, wantDGamma, wantDBeta, dBN, in, mean, invStd, gamma, rows, c)

	outBuf, out := guarded(rows*c, float32(math.NaN()))
	fusedMean, fusedInvStd := make([]float32, c), make([]float32, c)
	BatchNormReLU6ForwardTrain(out, fusedMean, fusedInvStd, in, gamma, beta, nil, nil, rows, c, 0)
	checkGuards(t, "out", outBuf)
	compare(t, "out", out, to64(act), 1e-6)
	clamped := 0
	for _, v := range out {
		if v == 0 || v == 6 {
			clamped++
		}
	}
	if clamped < rows*c/10 {
		t.Fatalf("only %d of %d outputs clamped; the test needs both regions", clamped, rows*c)
	}

	dInBuf, dIn := guarded(rows*c, float32(math.NaN()))
	dGamma, dBeta := make([]float32, c), make([]float32, c)
	BatchNormReLU6Backward(dIn, dGamma, dBeta, dOut, in, fusedMean, fusedInvStd, gamma, beta, rows, c)
	checkGuards(t, "dIn", dInBuf)
	compare(t, "dIn", dIn, to64(wantDIn), 1e-5)
	compare(t, "dGamma", dGamma, to64(wantDGamma), 1e-5)
	compare(t, "dBeta", dBeta, to64(wantDBeta), 1e-5)
}

func TestBatchNormBackwardInPlace(t *testing.T) {
	const rows, c = 100, 35
	r := newRand(16)
	in, gamma, dOut := randSlice(r, rows*c), randSlice(r, c), randSlice(r, rows*c)
	beta := make([]float32, c)
	out, mean, invStd := make([]float32, rows*c), make([]float32, c), make([]float32, c)
	BatchNormForwardTrain(out, mean, invStd, in, gamma, beta, nil, nil, rows, c, 0)

	want := make([]float32, rows*c)
	BatchNormBackward(want, make([]float32, c), make([]float32, c), dOut, in, mean, invStd, gamma, rows, c)
	BatchNormBackward(dOut, make([]float32, c), make([]float32, c), dOut, in, mean, invStd, gamma, rows, c)
	requireIdentical(t, "dIn", want, dOut)
}

func TestBatchNormConv2DDeterministic(t *testing.T) {
	const n, h, w, cin, cout, rows = 8, 14, 14, 3, 20, 8 * 14 * 14 // rows spans several 256-row parts
	r := newRand(17)
	f := ConvFilter{Data: randSlice(r, 9*cin*cout), KMax: 3, CinMax: cin, CoutMax: cout, K: 3}
	in, dOut := randSlice(r, n*h*w*cin), randSlice(r, rows*cout)
	gamma, beta := randSlice(r, cout), randSlice(r, cout)
	run := func() [][]float32 {
		conv, bn := make([]float32, rows*cout), make([]float32, rows*cout)
		mean, invStd := make([]float32, cout), make([]float32, cout)
		Conv2DForward(conv, in, f, n, h, w, cin, cout, 1)
		BatchNormReLU6ForwardTrain(bn, mean, invStd, conv, gamma, beta, nil, nil, rows, cout, 0)
		dConv, dGamma, dBeta := make([]float32, rows*cout), make([]float32, cout), make([]float32, cout)
		BatchNormReLU6Backward(dConv, dGamma, dBeta, dOut, conv, mean, invStd, gamma, beta, rows, cout)
		dIn, dW := make([]float32, len(in)), make([]float32, len(f.Data))
		Conv2DBackward(dIn, dW, dConv, in, f, n, h, w, cin, cout, 1)
		return [][]float32{conv, bn, dConv, dGamma, dBeta, dIn, dW}
	}
	names := []string{"conv", "bn", "dConv", "dGamma", "dBeta", "dIn", "dW"}
	for _, threads := range []int{1, 2, 3} {
		withThreads(threads, func() {
			first := run()
			for range 2 {
				again := run()
				for i := range first {
					requireIdentical(t, names[i], first[i], again[i])
				}
			}
		})
	}
}

func TestBatchNormStatsAddBatchMatchesTrain(t *testing.T) {
	const rows, c = 301, 21
	r := newRand(13)
	in, gamma, beta := randSlice(r, rows*c), randSlice(r, c), randSlice(r, c)
	trainOut, trainMean, invStd := make([]float32, rows*c), make([]float32, c), make([]float32, c)
	BatchNormReLU6ForwardTrain(trainOut, trainMean, invStd, in, gamma, beta, nil, nil, rows, c, 0)

	s := NewBatchNormStats(c)
	mean, variance := make([]float32, c), make([]float32, c)
	s.AddBatch(mean, variance, in, rows)
	if s.Count() != rows {
		t.Fatalf("Count = %d, want %d", s.Count(), rows)
	}
	for ch := range c {
		if mean[ch] != trainMean[ch] {
			t.Fatalf("mean[%d] = %v, batch norm used %v", ch, mean[ch], trainMean[ch])
		}
	}
	out := make([]float32, rows*c)
	BatchNormReLU6ForwardInference(out, in, gamma, beta, mean, variance, rows, c)
	for i := range out {
		if out[i] != trainOut[i] {
			t.Fatalf("out[%d] = %v with the batch's moments, batch norm in training mode gave %v", i, out[i], trainOut[i])
		}
	}
}
