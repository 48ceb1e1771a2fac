package childnet

import (
	"fmt"

	"nas/searchspace"
)

// TrainingMemory is an estimate, in bytes, of what childnet allocates to
// train a supernet or a standalone model: the shared tensors once, and the
// buffers of each Worker. It counts float32 values at 4 bytes and labels at
// the size of an int on 64-bit platforms (8 bytes).
//
// NOTE: it leaves out the caller's batches and data set, Go's allocator
// overhead, and any scratch the kernels allocate per call.
type TrainingMemory struct {
	// Weights is every supernet tensor: trainable weights and BN running
	// statistics.
	Weights int64
	// Optimizer is the optimizer state once every trainable tensor has been
	// updated: one copy of the trainable weights for SGD with momentum, two
	// for Adam, none for plain SGD. The state of a tensor is allocated at
	// its first update.
	Optimizer int64
	// Gradients is the gradient buffers of one Worker, one per trainable
	// tensor in its supernet shape.
	Gradients int64
	// Workspace is the activation arena of one Worker, sized by NewWorker
	// for the widest child at the batch size, plus its labels and its batch
	// norm scratch.
	Workspace int64
}

// Total returns the bytes of the shared tensors and of workers Workers.
func (m TrainingMemory) Total(workers int) int64 {
	return m.Weights + m.Optimizer + int64(workers)*(m.Gradients+m.Workspace)
}

// SupernetTrainingMemory estimates the memory of training the supernet of
// space with optimizer opt on Workers created by NewWorker(batch). Nothing
// is allocated, so it can reject a space or batch size that does not fit
// before NewSupernet runs.
func SupernetTrainingMemory(space searchspace.Space, batch int, opt OptimizerConfig) (TrainingMemory, error) {
	spec, err := specFromSpace(space)
	if err != nil {
		return TrainingMemory{}, err
	}
	return trainingMemory(spec, batch, opt)
}

// ModelTrainingMemory estimates the memory of training a standalone model
// of arch (NewModel) with optimizer opt on a Worker created by
// NewWorker(batch), as Train does with the larger of its two batch sizes.
func ModelTrainingMemory(arch searchspace.Arch, batch int, opt OptimizerConfig) (TrainingMemory, error) {
	spec, err := specFromArch(arch)
	if err != nil {
		return TrainingMemory{}, err
	}
	return trainingMemory(spec, batch, opt)
}

func trainingMemory(spec netSpec, batch int, opt OptimizerConfig) (TrainingMemory, error) {
	if batch < 1 {
		return TrainingMemory{}, fmt.Errorf("childnet: invalid batch size %d: use 1 or more", batch)
	}
	if err := opt.validate(); err != nil {
		return TrainingMemory{}, err
	}
	const floatBytes, intBytes = 4, 8

	// The tensors of the supernet, without their values.
	s := layoutSupernet(spec)
	var trainable, all int64
	for _, p := range s.params {
		n := int64(shapeSize(p.shape))
		all += n
		if p.kind.trainable() {
			trainable += n
		}
	}
	m := TrainingMemory{Weights: floatBytes * all, Gradients: floatBytes * trainable}
	switch {
	case opt.Kind == Adam:
		m.Optimizer = 2 * floatBytes * trainable
	case opt.Momentum > 0:
		m.Optimizer = floatBytes * trainable
	}

	// The arena as NewWorker sizes it, the labels, and the batch norm
	// scratch, which grows to twice the widest layer.
	c, err := s.Bind(s.widestArch())
	if err != nil {
		return TrainingMemory{}, fmt.Errorf("childnet: widest child of the supernet: %w", err)
	}
	resized := int64(batch) * int64(spec.maxRes) * int64(spec.maxRes) * int64(spec.input.Channels)
	maxCout := 0
	for _, l := range c.layers {
		maxCout = max(maxCout, l.cout)
	}
	m.Workspace = floatBytes*(int64(c.workspaceSize(batch))+resized+2*int64(maxCout)) + intBytes*int64(batch)
	return m, nil
}
