#!/usr/bin/python3
"""Time PyTorch CPU on the shapes of the Go kernel benchmarks in kernels/.

Run with Debian's python3-torch (1.13, OpenBLAS as the system BLAS), not a
pyenv python, so that the GEMMs use OpenBLAS:

    /usr/bin/python3 scripts/bench_kernels.py [--threads 2] [--repeats 5]

It prints one line per shape, named as in `go test -bench . ./kernels/`,
with the best GFLOP/s over the repeats:

  - Depthwise: nn.functional.conv2d with groups=C on channels-last tensors,
    forward plus backward for the input and weight gradients, counted as
    3 * 2*N*OH*OW*C*K*K flops, as the Go benchmark counts them.
  - DepthwiseForward: the same convolution under torch.no_grad(), forward
    only, 2*N*OH*OW*C*K*K flops.
  - DepthwiseSmallMaps: as Depthwise, on 7x7 maps of 160 channels.
  - Pointwise: torch.mm for the forward GEMM [M,K]x[K,N] and the two backward
    GEMMs dIn = dOut W^T and dW = In^T dOut, 2*M*N*K flops each.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def best_seconds(fn, repeats, warmup=2):
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def bench_depthwise(n, h, w, c, k, stride, repeats):
    x = torch.randn(n, c, h, w).to(memory_format=torch.channels_last).requires_grad_()
    weight = torch.randn(c, 1, k, k).requires_grad_()
    oh = (h + 2 * (k // 2) - k) // stride + 1
    ow = (w + 2 * (k // 2) - k) // stride + 1
    grad = torch.randn(n, c, oh, ow).to(memory_format=torch.channels_last)

    def step():
        x.grad = None
        weight.grad = None
        out = F.conv2d(x, weight, stride=stride, padding=k // 2, groups=c)
        out.backward(grad)

    flops = 3 * 2 * n * oh * ow * c * k * k
    return flops / best_seconds(step, repeats) / 1e9


def bench_depthwise_forward(n, h, w, c, k, stride, repeats):
    x = torch.randn(n, c, h, w).to(memory_format=torch.channels_last)
    weight = torch.randn(c, 1, k, k)
    oh = (h + 2 * (k // 2) - k) // stride + 1
    ow = (w + 2 * (k // 2) - k) // stride + 1
    with torch.no_grad():
        seconds = best_seconds(lambda: F.conv2d(x, weight, stride=stride, padding=k // 2, groups=c), repeats)
    return 2 * n * oh * ow * c * k * k / seconds / 1e9


def bench_gemm(m, k, n, repeats):
    x = torch.randn(m, k)
    weight = torch.randn(k, n)
    grad = torch.randn(m, n)
    flops = 2 * m * n * k
    return {
        "fwd": flops / best_seconds(lambda: torch.mm(x, weight), repeats) / 1e9,
        "dIn": flops / best_seconds(lambda: torch.mm(grad, weight.t()), repeats) / 1e9,
        "dW": flops / best_seconds(lambda: torch.mm(x.t(), grad), repeats) / 1e9,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2, help="torch.set_num_threads value (default 2)")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per shape; the best is printed (default 5)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, best of {args.repeats}")

    for n, h, w, c in [(64, 28, 28, 96), (64, 14, 14, 144)]:
        for k in (3, 5):
            for stride in (1, 2):
                gflops = bench_depthwise(n, h, w, c, k, stride, args.repeats)
                print(f"Depthwise/{n}x{h}x{w}x{c}/k{k}/s{stride}\t{gflops:.1f} GFLOP/s")
                gflops = bench_depthwise_forward(n, h, w, c, k, stride, args.repeats)
                print(f"DepthwiseForward/{n}x{h}x{w}x{c}/k{k}/s{stride}\t{gflops:.1f} GFLOP/s")

    for k in (3, 5, 7):
        gflops = bench_depthwise(64, 7, 7, 160, k, 1, args.repeats)
        print(f"DepthwiseSmallMaps/64x7x7x160/k{k}/s1\t{gflops:.1f} GFLOP/s")

    m = 64 * 28 * 28
    with torch.no_grad():
        for k, n in [(16, 96), (96, 16), (24, 144), (144, 24), (32, 32), (144, 144)]:
            for name, gflops in bench_gemm(m, k, n, args.repeats).items():
                print(f"Pointwise/{name}/M{m}/K{k}/N{n}\t{gflops:.1f} GFLOP/s")


if __name__ == "__main__":
    main()
