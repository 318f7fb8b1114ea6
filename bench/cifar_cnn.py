"""Benchmark: one training step of the CIFAR-10 CNN in the NumPy backend and in PyTorch.

Same network (airbench widths, tanh GELU), same batch, CPU float32, same thread count; PyTorch in
channels_last (its faster layout here). Prints the epoch time of each (extrapolated to
50,000 images), the ratio numpy/torch, the NumPy run's GFLOP/s as a fraction of NumPy's own
matmul on the same GEMM shapes, a per-layer forward/backward table, and peak RSS.

    python bench/cifar_cnn.py [--preset full|fast] [--widths W1,W2,W3] [--batch-size 512] [--steps 5] [--threads N]

NumPy and PyTorch steps alternate, and medians are reported, so that on a shared machine
both see the same load; the per-step ratios are printed too.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def numpy_net(widths, seed=0):
    from derivations.backend.nn.cnn import CifarCNN
    return CifarCNN(widths, seed=seed)


def layers_of(model):
    return list(model.body) + list(model.head)


def gemm_shapes(model, batch):
    """(M, K, N) of the forward GEMM of every convolution and the linear layer; backward
    does two GEMMs of the same size per layer (the first conv only its weight one, frozen)."""
    from derivations.backend.nn.conv import Conv2d
    from derivations.backend.nn.layers import Linear
    shapes, x = [], np.zeros((batch, 32, 32, 3), np.float32)
    for layer in layers_of(model):
        if isinstance(layer, Conv2d):
            n, ho, wo, co = layer.output_shape(x.shape)
            kh, kw = layer.kernel_size
            shapes.append((layer.label, n * ho * wo, kh * kw * layer.in_channels, co,
                           0 if layer.frozen_weight else 2))
        elif isinstance(layer, Linear):
            shapes.append((layer.label, batch, layer.in_features, layer.out_features, 2))
        x = layer.forward(x)
    return shapes


def matmul_rate(shapes, repeats=2):
    """NumPy's own float32 GFLOP/s over the network's GEMMs (forward + backward shapes)."""
    flops, seconds = 0.0, 0.0
    for _, m, k, n, backward in shapes:
        a, b = np.ones((m, k), np.float32), np.ones((k, n), np.float32)
        dz = np.ones((m, n), np.float32)
        work = [lambda: a @ b] + ([lambda: a.T @ dz, lambda: dz @ b.T] if backward else [])
        for fn in work:
            fn()
            t = time.perf_counter()
            for _ in range(repeats):
                fn()
            seconds += time.perf_counter() - t
            flops += 2.0 * m * k * n * repeats
    return flops / seconds / 1e9


def step_flops(shapes):
    return sum(2.0 * m * k * n * (1 + backward) for _, m, k, n, backward in shapes)


class NumpyStep:
    """One timed training step of the NumPy network, with per-layer forward/backward times."""

    def __init__(self, model, x, y):
        from derivations.backend.nn.losses import SoftmaxCrossEntropy
        from derivations.backend.nn.optim import SGD
        norm, other = model.trainable_parameters()
        self.opt = SGD(norm + other, 0.01, momentum=0.85, nesterov=True)
        self.loss = SoftmaxCrossEntropy(label_smoothing=0.2)
        self.layers, self.x, self.y = layers_of(model), x, y
        self.labels = [layer.label for layer in self.layers]
        self.fwd, self.bwd = np.zeros(len(self.layers)), np.zeros(len(self.layers))

    def __call__(self, record: bool) -> float:
        start = time.perf_counter()
        times_f, times_b = [], []
        h = self.x
        for layer in self.layers:
            t = time.perf_counter()
            h = layer.forward(h)
            times_f.append(time.perf_counter() - t)
        self.loss.forward(h, self.y)
        g = self.loss.backward()
        for layer in reversed(self.layers):
            if g is None:                       # frozen whitening: nothing below needs a gradient
                times_b.append(0.0)
                continue
            t = time.perf_counter()
            g = layer.backward(g)
            times_b.append(time.perf_counter() - t)
        self.opt.step()
        if record:
            self.fwd += times_f
            self.bwd += times_b[::-1]
        return time.perf_counter() - start


def torch_net(widths):
    import torch
    from torch import nn

    def group(ci, co):
        return [nn.Conv2d(ci, co, 3, padding=1, bias=False), nn.MaxPool2d(2), nn.BatchNorm2d(co), nn.GELU(approximate="tanh"),
                nn.Conv2d(co, co, 3, padding=1, bias=False), nn.BatchNorm2d(co), nn.GELU(approximate="tanh")]
    w1, w2, w3 = widths
    net = nn.Sequential(nn.Conv2d(3, 24, 2, bias=True), nn.GELU(approximate="tanh"), *group(24, w1), *group(w1, w2),
                        *group(w2, w3), nn.MaxPool2d(3), nn.Flatten(), nn.Linear(w3, 10, bias=False))
    net[0].weight.requires_grad_(False)
    return net.to(memory_format=torch.channels_last)


class TorchStep:
    def __init__(self, widths, batch):
        import torch
        self.net = torch_net(widths)
        self.opt = torch.optim.SGD([p for p in self.net.parameters() if p.requires_grad], lr=0.01,
                                   momentum=0.85, nesterov=True)
        self.x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
        self.y = torch.randint(0, 10, (batch,))
        self.crit = torch.nn.CrossEntropyLoss(label_smoothing=0.2)

    def __call__(self, record: bool = True) -> float:
        start = time.perf_counter()
        self.opt.zero_grad(set_to_none=True)
        self.crit(self.net(self.x), self.y).backward()
        self.opt.step()
        return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", choices=("full", "fast"), default="full")
    parser.add_argument("--widths", metavar="W1,W2,W3", help="block widths (default: the preset's)")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, help="threads for both (default: all cores)")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--frozen-whitening", action="store_true",
                        help="NumPy step as after the whitening-bias epochs (no backward below block 1)")
    args = parser.parse_args(argv)

    from derivations.backend.tasks.cifar_cnn import PRESETS
    widths = PRESETS[args.preset]["widths"]
    if args.widths:
        widths = tuple(int(w) for w in args.widths.split(","))
    import os

    from derivations.backend.nn.memory import reuse_freed_memory
    from derivations.backend.nn.threads import set_blas_threads, set_layer_threads
    reuse_freed_memory()
    threads = args.threads or os.cpu_count() or 1
    b = args.batch_size
    rng = np.random.default_rng(0)
    x = rng.standard_normal((b, 32, 32, 3)).astype(np.float32)
    y = rng.integers(0, 10, b)
    model = numpy_net(widths)
    shapes = gemm_shapes(model, b)
    set_layer_threads(threads)
    model.freeze_whitening(args.frozen_whitening)
    numpy_step = NumpyStep(model, x, y)
    torch_step = None
    if not args.no_torch:
        import torch
        torch.set_num_threads(threads)
        torch_step = TorchStep(widths, b)
    # Alternate the two step by step, so that both see the same load on a shared machine.
    numpy_times, torch_times = [], []
    for i in range(args.warmup + args.steps):
        record = i >= args.warmup
        t = numpy_step(record)
        if record:
            numpy_times.append(t)
        if torch_step is not None:
            t = torch_step()
            if record:
                torch_times.append(t)
    rss = peak_rss_mib()
    set_blas_threads(threads)
    rate = matmul_rate(shapes)                 # the reference: one GEMM call on all threads
    seconds = float(np.median(numpy_times))
    fwd, bwd = numpy_step.fwd / args.steps, numpy_step.bwd / args.steps
    flops = step_flops(shapes)
    epoch = seconds * 50000 / b
    print(f"network {model.label}, batch {b}, {threads} threads, {args.steps} timed steps each after "
          f"{args.warmup} warm-up, NumPy and PyTorch steps alternating; medians")
    print(f"{'layer':34s} {'forward ms':>11s} {'backward ms':>12s}")
    for label, f, g in zip(numpy_step.labels, fwd, bwd):
        print(f"{label:34s} {1e3 * f:11.1f} {1e3 * g:12.1f}")
    print(f"{'total (layers, mean)':34s} {1e3 * fwd.sum():11.1f} {1e3 * bwd.sum():12.1f}")
    print(f"numpy: {seconds:.3f} s/step, {epoch:.1f} s/epoch (50,000 images), "
          f"{flops / seconds / 1e9:.1f} GFLOP/s = {flops / seconds / 1e9 / rate:.2f} of numpy matmul "
          f"on the same GEMM shapes ({rate:.1f} GFLOP/s); GEMMs {flops / 1e9:.1f} GFLOP/step")
    if torch_step is not None:
        import torch
        t_seconds = float(np.median(torch_times))
        t_epoch = t_seconds * 50000 / b
        print(f"torch {torch.__version__} channels_last, {torch.get_num_threads()} threads: "
              f"{t_seconds:.3f} s/step, {t_epoch:.1f} s/epoch")
        print(f"ratio numpy/torch: {epoch / t_epoch:.2f} (per step: "
              + ", ".join(f"{a / c:.2f}" for a, c in zip(numpy_times, torch_times)) + ")")
    print(f"peak RSS (the whole process{', both frameworks' if torch_step is not None else ''}): {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
