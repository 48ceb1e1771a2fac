//go:build goexperiment.simd && amd64

package kernels

import "simd/archsimd"

// useSIMD reports whether the AVX-512 kernels are compiled in and the CPU
// supports them.
var useSIMD = archsimd.X86.AVX512()

// activeMicroKernel is the GEMM register tile this build uses.
var activeMicroKernel = pickMicroKernel()

func pickMicroKernel() microKernel {
	if useSIMD {
		return microKernel{mr: 6, nr: 16, maskedCols: true, fn: microKernel6x16}
	}
	return plainMicroKernel
}
