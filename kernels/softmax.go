package kernels

import (
	"fmt"
	"math"
)

// SoftmaxCrossEntropy returns the mean cross-entropy loss of a batch,
//
//	loss = -(1/N) Σ_i log softmax(logits[i,:])[labels[i]]
//
// and, when dLogits is not nil, overwrites it with the gradient of that mean
// loss: dLogits[i,j] = (softmax(logits[i,:])[j] - [j == labels[i]]) / N.
// logits and dLogits are [N, classes]. It panics on a label outside
// [0, classes), which the data loader must have rejected.
func SoftmaxCrossEntropy(dLogits, logits []float32, labels []int, n, classes int) float32 {
	const op = "SoftmaxCrossEntropy"
	need(op, "logits", logits, n*classes)
	if dLogits != nil {
		need(op, "dLogits", dLogits, n*classes)
	}
	if len(labels) < n {
		panic(fmt.Sprintf("kernels: %s: %d labels for a batch of %d", op, len(labels), n))
	}

	var total float64
	for i := range n {
		row := logits[i*classes : (i+1)*classes]
		label := labels[i]
		if label < 0 || label >= classes {
			panic(fmt.Sprintf("kernels: %s: label %d of sample %d is outside [0, %d)", op, label, i, classes))
		}

		// Subtract the row maximum so exp cannot overflow.
		maxLogit := row[0]
		for _, v := range row {
			maxLogit = max(maxLogit, v)
		}
		var sumExp float64
		for _, v := range row {
			sumExp += math.Exp(float64(v - maxLogit))
		}
		logSum := math.Log(sumExp)
		total += logSum - float64(row[label]-maxLogit)

		if dLogits == nil {
			continue
		}
		grad := dLogits[i*classes : (i+1)*classes]
		for j, v := range row {
			p := math.Exp(float64(v-maxLogit) - logSum)
			if j == label {
				p--
			}
			grad[j] = float32(p / float64(n))
		}
	}
	if n == 0 {
		return 0
	}
	return float32(total / float64(n))
}
