"""Benchmark: the MNIST MLP in the NumPy backend against PyTorch on the CPU.

Same network (784-512-512-10 ReLU), He-normal weights and zero biases, batch 128, SGD with
momentum 0.9, float32, the same thread count, and the same data path (uint8 images, one
permutation per epoch, one gather per batch, scaled to float32). Timed blocks of 1/5 epoch
alternate numpy/torch, so that load from other processes hits both alike; epoch times are
extrapolated from the blocks, and medians and best blocks are compared (on a machine shared
with other work the best block is the least disturbed one).

Prints the epoch times, the ratio numpy/torch, the NumPy run's achieved GFLOP/s as a
fraction of numpy's own float32 matmul GFLOP/s on the same GEMM shapes (measured in the
same run), a per-layer forward/backward time table, and peak resident memory of the
NumPy phase (taken before torch is imported).

    python bench/mnist_mlp.py [--threads 2] [--epochs 3] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS / torch threads (default: all cores)")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per framework (default 3)")
    p.add_argument("--block-steps", type=int, default=94,
                   help="steps per timed block; numpy and torch blocks alternate (default 94, 1/5 epoch)")
    p.add_argument("--hidden", default="512,512")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--data-dir", help="MNIST folder (default: ../shared/datasets, else random images)")
    p.add_argument("--no-torch", action="store_true", help="time the NumPy backend only")
    return p.parse_args()


ARGS = parse_args()
for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = str(ARGS.threads)          # before numpy loads its BLAS

import numpy as np  # noqa: E402

from derivations.backend.nn.data import BatchLoader  # noqa: E402
from derivations.backend.nn.layers import Linear  # noqa: E402
from derivations.backend.nn.mlp import MLP  # noqa: E402
from derivations.backend.tasks._report import peak_rss_mib  # noqa: E402

LR, MOMENTUM = 0.05, 0.9
SIZES = [784, *map(int, ARGS.hidden.split(",")), 10]


def load_images():
    from derivations.backend.datasets import mnist
    from derivations.core.errors import UserError
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"
    data_dir = ARGS.data_dir or (shared if shared.is_dir() else None)
    try:
        data = mnist.load("mnist", data_dir, download_missing=False, progress=False)
        return data.train_images.reshape(60000, 784), data.train_labels, "MNIST"
    except UserError:
        rng = np.random.default_rng(0)
        return (rng.integers(0, 256, (60000, 784), dtype=np.uint8),
                rng.integers(0, 10, 60000), "random uint8 images (MNIST not found)")


def flops_per_step(n):
    pairs = list(zip(SIZES[:-1], SIZES[1:]))
    forward = sum(2 * n * a * b for a, b in pairs)
    backward_w = forward
    backward_x = sum(2 * n * a * b for a, b in pairs[1:])   # no ∂L/∂x for the data
    return forward + backward_w + backward_x


def gemm_seconds_per_step(n, repeats=100):
    """numpy's own float32 matmul time for exactly the GEMMs of one training step (best of 5
    rounds per shape)."""
    rng = np.random.default_rng(0)
    total = 0.0
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        x = rng.random((n, a), dtype=np.float32)
        w = rng.random((a, b), dtype=np.float32)
        dz = rng.random((n, b), dtype=np.float32)
        shapes = [(x, w), (x.T, dz)] + ([(dz, w.T)] if a != SIZES[0] else [])
        for left, right in shapes:
            out = np.empty((left.shape[0], right.shape[1]), np.float32)
            np.matmul(left, right, out=out)
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                for _ in range(repeats // 5):
                    np.matmul(left, right, out=out)
                best = min(best, (time.perf_counter() - t) / (repeats // 5))
            total += best
    return total


def numpy_model():
    return MLP(SIZES[0], SIZES[-1], SIZES[1:-1], "relu", weight_init="he", lr=LR,
               momentum=MOMENTUM, seed=0)


def numpy_epoch(model, loader):
    for x, y in loader:
        model.forward(x)
        model.backward(y)
        model.step()


def layer_table(model, loader, steps=200):
    """Per-layer forward/backward seconds per epoch, by timing wrappers on each layer."""
    times = {}
    originals = []
    for i, layer in enumerate([*model.net.layers]):
        for kind in ("forward", "backward"):
            fn = getattr(layer, kind)
            key = (i, layer.label, kind)
            times[key] = 0.0

            def timed(arg, fn=fn, key=key):
                t = time.perf_counter()
                out = fn(arg)
                times[key] += time.perf_counter() - t
                return out
            setattr(layer, kind, timed)
            originals.append((layer, kind))
    crit_f, crit_b = model.criterion.forward, model.criterion.backward
    times[(99, "SoftmaxCrossEntropy", "forward+backward")] = 0.0

    def loss_forward(z, y):
        t = time.perf_counter()
        out = crit_f(z, y)
        times[(99, "SoftmaxCrossEntropy", "forward+backward")] += time.perf_counter() - t
        return out

    def loss_backward():
        t = time.perf_counter()
        out = crit_b()
        times[(99, "SoftmaxCrossEntropy", "forward+backward")] += time.perf_counter() - t
        return out
    model.criterion.forward, model.criterion.backward = loss_forward, loss_backward
    times[(100, "optimizer", "step")] = 0.0
    times[(101, "data", "batch")] = 0.0
    it = iter(loader)
    for _ in range(steps):
        t = time.perf_counter()
        x, y = next(it)
        times[(101, "data", "batch")] += time.perf_counter() - t
        model.forward(x)
        model.backward(y)
        t = time.perf_counter()
        model.step()
        times[(100, "optimizer", "step")] += time.perf_counter() - t
    for layer, kind in originals:
        delattr(layer, kind)
    del model.criterion.forward, model.criterion.backward
    scale = len(loader) / steps
    return {k: v * scale for k, v in times.items()}


def torch_setup(torch, images, labels):
    torch.set_num_threads(ARGS.threads)
    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        lin = torch.nn.Linear(a, b)
        torch.nn.init.kaiming_normal_(lin.weight, nonlinearity="relu")
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(SIZES) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM)
    loss_fn = torch.nn.CrossEntropyLoss()
    x_all = torch.from_numpy(np.ascontiguousarray(images).copy())   # writable, as torch wants
    y_all = torch.from_numpy(labels.astype(np.int64))
    gen = torch.Generator().manual_seed(0)
    bs, scale = ARGS.batch_size, 1 / 255

    def batches():
        while True:                                  # one permutation per epoch, as numpy's
            order = torch.randperm(len(x_all), generator=gen)
            for start in range(0, len(x_all), bs):
                idx = order[start:start + bs]
                yield x_all.index_select(0, idx).float().mul_(scale), y_all.index_select(0, idx)

    stream = batches()

    def run_steps(k):
        for _ in range(k):
            x, y = next(stream)
            opt.zero_grad(set_to_none=True)
            loss_fn(net(x), y).backward()
            opt.step()
    return run_steps


def numpy_runner(model, loader):
    def batches():
        while True:
            yield from loader
    stream = batches()

    def run_steps(k):
        for _ in range(k):
            x, y = next(stream)
            model.forward(x)
            model.backward(y)
            model.step()
    return run_steps


def main():
    images, labels, source = load_images()
    n = ARGS.batch_size
    loader = BatchLoader(images, labels, n, rng=np.random.default_rng(0), scale=1 / 255)
    steps = len(loader)
    print(f"data: {source}; net {'-'.join(map(str, SIZES))} ReLU, batch {n}, SGD momentum {MOMENTUM}, "
          f"float32, {ARGS.threads} threads; load average {os.getloadavg()[0]:.2f}")

    model = numpy_model()
    numpy_epoch(model, loader)                                 # warm-up epoch
    table = layer_table(numpy_model(), loader)
    rss_numpy = peak_rss_mib()
    runners = {"numpy": numpy_runner(model, loader)}
    if not ARGS.no_torch:
        import torch
        runners["torch"] = torch_setup(torch, images, labels)
        runners["torch"](steps)                                # warm-up epoch

    k = ARGS.block_steps
    blocks = {name: [] for name in runners}
    gemm_times = []
    for b in range(ARGS.epochs * steps // k):
        if b % 5 == 0:
            gemm_times.append(gemm_seconds_per_step(n) * steps)
        for name, run_steps in runners.items():          # alternate: load hits both alike
            t = time.perf_counter()
            run_steps(k)
            blocks[name].append((time.perf_counter() - t) * steps / k)
    gemm = min(gemm_times)
    flops = flops_per_step(n) * steps

    print(f"epoch times, extrapolated from {len(blocks['numpy'])} alternating blocks of {k} steps "
          f"({ARGS.epochs} epochs of each):")
    summary = {}
    for name, times in blocks.items():
        med, best = float(np.median(times)), min(times)
        summary[name] = (med, best)
        print(f"  {name:<6} median {med:.3f} s, best {best:.3f} s, worst {max(times):.3f} s")
    med_np, min_np = summary["numpy"]
    if "torch" in summary:
        med_t, min_t = summary["torch"]
        print(f"ratio numpy/torch: {med_np / med_t:.3f} of medians, {min_np / min_t:.3f} of best blocks "
              f"(target ≤ 0.9)")
    print(f"numpy matmul on this step's GEMM shapes: {flops / gemm / 1e9:.1f} GFLOP/s "
          f"({gemm:.3f} s of GEMM per epoch, best of {len(gemm_times)} measurements)")
    print(f"numpy training achieved: {flops / min_np / 1e9:.1f} GFLOP/s in the best block = "
          f"{gemm / min_np:.3f} of numpy's matmul GFLOP/s (median: {gemm / med_np:.3f}; target ≥ 0.8)")
    print(f"peak RSS of the numpy phase: {rss_numpy:.0f} MiB; whole process incl. torch: {peak_rss_mib():.0f} MiB")
    print(f"load average at the end: {os.getloadavg()[0]:.2f}")
    print("\nper-layer time per epoch (numpy backend, timing wrappers add a little):")
    total = sum(table.values())
    for (_, name, kind), seconds in table.items():
        print(f"  {name:<26} {kind:<17} {seconds:7.3f} s  {100 * seconds / total:5.1f} %")
    print(f"  {'total':<44} {total:7.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
