"""Reference run: the cifar-cnn recipe trained by PyTorch instead of the NumPy backend.

Same data (the loader, crops and flips of ``train cifar-cnn``), same initial weights
(copied from the NumPy model, checked by comparing logits), same optimizer groups,
schedule, decoupled weight decay, lookahead and TTA. If this reaches what the NumPy run
reaches, the gap to airbench94 is in the recipe or the data, not in the NumPy layers.

    python bench/cifar_torch_reference.py --data-dir ../shared/datasets [--preset full] [--epochs N] [--threads 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def torch_copy(model):
    """A PyTorch module (channels_last) with the NumPy CifarCNN's layers and weights."""
    import torch
    from torch import nn

    from derivations.nn.cnn import GELUTanh, Scale
    from derivations.nn.conv import Conv2d
    from derivations.nn.layers import Flatten, Linear
    from derivations.nn.normalization import BatchNorm2d
    from derivations.nn.pooling import MaxPool2d
    modules = []
    for layer in list(model.body) + list(model.head):
        if isinstance(layer, Conv2d):
            kh, kw, ci, co = layer.W.shape
            m = nn.Conv2d(ci, co, (kh, kw), padding=layer.padding, bias=layer.b is not None)
            m.weight.data = torch.from_numpy(layer.W.data.transpose(3, 2, 0, 1).copy())
            if layer.b is not None:
                m.bias.data = torch.from_numpy(layer.b.data.copy())
            m.weight.requires_grad_(not layer.frozen_weight)
        elif isinstance(layer, BatchNorm2d):
            m = nn.BatchNorm2d(layer.num_features, eps=layer.eps, momentum=layer.momentum)
            m.weight.requires_grad_(False)
            m.bias.data = torch.from_numpy(layer.beta.data.copy())
            m.running_mean.data = torch.from_numpy(layer.running_mean.copy())
            m.running_var.data = torch.from_numpy(layer.running_var.copy())
        elif isinstance(layer, GELUTanh):
            m = nn.GELU(approximate="tanh")
        elif isinstance(layer, MaxPool2d):
            m = nn.MaxPool2d(layer.kernel_size, layer.stride)
        elif isinstance(layer, Flatten):
            m = nn.Flatten()
        elif isinstance(layer, Linear):
            m = nn.Linear(layer.in_features, layer.out_features, bias=False)
            m.weight.data = torch.from_numpy(layer.W.data.copy())
        elif isinstance(layer, Scale):
            factor = layer.factor
            m = _Mul(factor)
        else:
            raise TypeError(f"no PyTorch twin for {layer.label}")
        modules.append(m)
    return nn.Sequential(*modules).to(memory_format=torch.channels_last)


def _Mul(factor):
    import torch

    class Mul(torch.nn.Module):
        def forward(self, x):
            return x * factor
    return Mul()


def to_torch(x_nhwc):
    import torch
    return torch.from_numpy(x_nhwc).permute(0, 3, 1, 2)          # NCHW view of NHWC memory


def predict(net, images_u8, tta):
    import torch

    from derivations.tasks.cifar_cnn import normalise
    net.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(images_u8), 500):
            x = to_torch(normalise(images_u8[i:i + 500]))

            def mirror(v):
                logits = net(v)
                return 0.5 * (logits + net(v.flip(-1))) if tta >= 1 else logits
            logits = mirror(x)
            if tta >= 2:
                p = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
                logits = 0.5 * logits + 0.25 * (mirror(p[:, :, :32, :32]) + mirror(p[:, :, 2:, 2:]))
            out.append(logits.numpy())
    net.train()
    return np.concatenate(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--preset", choices=("fast", "full"), default="full")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    from derivations.datasets import cifar10
    from derivations.tasks.cifar_cnn import PRESETS, Trainer, augment, normalise
    torch.set_num_threads(args.threads)
    preset = PRESETS[args.preset]
    cfg = dict(widths=list(preset["widths"]), epochs=args.epochs or preset["epochs"], batch_size=512, tta=2,
               seed=args.seed, lr=11.5, momentum=0.85, nesterov=True, bias_scaler=64.0, weight_decay=0.0133,
               warmup=0.23, label_smoothing=0.2, whiten=True, whiten_bias_epochs=preset["whiten_bias_epochs"],
               lookahead=True, translate=2, flip="alternating", train_limit=None, preset=args.preset, init="airbench")
    data = cifar10.load(args.data_dir, download_missing=False, progress=False)
    x_all, y_all = data.train_images, data.train_labels
    b = cfg["batch_size"]
    steps = len(x_all) // b
    trainer = Trainer(cfg, x_all, steps)                 # the NumPy initialisation, RNG and schedule
    net = torch_copy(trainer.model)
    probe = normalise(data.test_images[:8])
    trainer.model.eval()
    net.eval()
    gap = np.abs(trainer.model.forward(probe) - net(to_torch(probe)).detach().numpy()).max()
    trainer.model.train()
    net.train()
    assert gap < 1e-3, f"the PyTorch copy disagrees with the NumPy model by {gap}"
    norm = [m.bias for m in net if isinstance(m, torch.nn.BatchNorm2d)]
    whiten_bias = net[0].bias
    other = [p for p in net.parameters() if p.requires_grad and all(p is not q for q in norm + [whiten_bias])]
    base = trainer.base_lr
    groups = [dict(params=norm, lr=base * 64, mult=64.0), dict(params=other, lr=base, mult=1.0),
              dict(params=[whiten_bias], lr=base, mult=1.0)]
    opt = torch.optim.SGD([{k: v for k, v in g.items() if k != "mult"} for g in groups], lr=base, momentum=0.85,
                          nesterov=True)
    crit = torch.nn.CrossEntropyLoss(label_smoothing=0.2)
    ema = {k: v.detach().clone() for k, v in net.state_dict().items() if v.dtype == torch.float32}
    padded = np.pad(x_all, ((0, 0), (2, 2), (2, 2), (0, 0)), mode="reflect")
    rng, flip_bits, t, total = trainer.rng, trainer.flip_bits, 0, steps * cfg["epochs"]
    print(f"PyTorch {torch.__version__} reference, {args.threads} threads: {trainer.model.label}, "
          f"{cfg['epochs']} epochs, logits match the NumPy model to {gap:.1e}", flush=True)
    for epoch in range(cfg["epochs"]):
        start = time.perf_counter()
        whiten_bias.requires_grad_(epoch < cfg["whiten_bias_epochs"])
        order = rng.permutation(len(x_all))
        for i in range(steps):
            idx = order[i * b:(i + 1) * b]
            flips = rng.random(len(idx)) < 0.5 if epoch == 0 else flip_bits[idx] ^ bool(epoch % 2)
            x = to_torch(normalise(augment(padded, idx, rng, 2, flips)))
            loss = crit(net(x), torch.from_numpy(y_all[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            s = trainer.schedule(t)
            for g, spec in zip(opt.param_groups, groups):
                g["lr"] = base * spec["mult"] * s
            opt.step()
            with torch.no_grad():
                decay = 1 - s * cfg["weight_decay"] * b / 1024
                for g in opt.param_groups:
                    for p in g["params"]:
                        if p.requires_grad:
                            p.mul_(decay)
                t += 1
                if t % 5 == 0:
                    alpha = 0.95 ** 5 * (t / total) ** 3
                    for k, v in net.state_dict().items():
                        if k in ema:
                            ema[k].lerp_(v, 1 - alpha)
                            v.copy_(ema[k])
        acc = np.mean(predict(net, data.test_images, 0).argmax(1) == data.test_labels)
        print(f"epoch {epoch + 1:3d}  test acc {100 * acc:6.2f}%  {time.perf_counter() - start:.1f}s", flush=True)
    for level in (0, 2):
        acc = np.mean(predict(net, data.test_images, level).argmax(1) == data.test_labels)
        print(f"final test accuracy {100 * acc:.2f}% (TTA {level})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
