package main

import "nas/kernels"

// kernelPath names the compute path of this binary's kernels.
func kernelPath() string { return kernels.Path() }
