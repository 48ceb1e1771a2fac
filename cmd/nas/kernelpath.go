package main

// kernelPath names the compute path of this binary's kernels.
// TODO: report kernels.Path once the kernels package exists.
func kernelPath() string { return "plain-go" }
