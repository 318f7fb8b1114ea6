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

    from derivations.backend.nn.cnn import GELUTanh, Scale
    from derivations.backend.nn.conv import Conv2d
    from derivations.backend.nn.layers import Flatten, Linear
    from derivations.backend.nn.normalization import BatchNorm2d
    from derivations.backend.nn.pooling import MaxPool2d
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


class NumpyFacing:
    """The PyTorch net behind the NumPy model's interface (NHWC arrays in, logits out), so
    the task's own ``predict_logits`` does the evaluation and TTA for both."""

    def __init__(self, net):
        self.net = net

    @property
    def training(self):
        return self.net.training

    def train(self, mode: bool = True):
        self.net.train(mode)

    def eval(self):
        self.net.eval()

    def forward(self, x):
        import torch
        with torch.no_grad():
            return self.net(to_torch(x)).numpy()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--preset", choices=("fast", "full"), default="full")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    import torch

    from derivations.backend.datasets import cifar10
    from derivations.backend.tasks import cifar_cnn
    from derivations.backend.tasks.cifar_cnn import Trainer, augment, normalise, predict_logits
    torch.set_num_threads(args.threads)
    task_parser = argparse.ArgumentParser()
    cifar_cnn.add_arguments(task_parser)
    task_args = ["--preset", args.preset, "--seed", str(args.seed)] + (["--epochs", str(args.epochs)] if args.epochs else [])
    cfg = cifar_cnn.resolve(task_parser.parse_args(task_args))       # the task's own defaults
    data = cifar10.load(args.data_dir, download_missing=False, progress=False)
    x_all, y_all = data.train_images, data.train_labels
    b = cfg["batch_size"]
    steps = len(x_all) // b
    trainer = Trainer(cfg, x_all, steps)                 # the NumPy initialisation, RNG and schedule
    net = torch_copy(trainer.model)
    facing = NumpyFacing(net)
    probe = normalise(data.test_images[:8])
    trainer.model.eval()
    facing.eval()
    gap = np.abs(trainer.model.forward(probe) - facing.forward(probe)).max()
    trainer.model.train()
    facing.train()
    assert gap < 1e-3, f"the PyTorch copy disagrees with the NumPy model by {gap}"
    norm = [m.bias for m in net if isinstance(m, torch.nn.BatchNorm2d)]
    whiten_bias = net[0].bias
    other = [p for p in net.parameters() if p.requires_grad and all(p is not q for q in norm + [whiten_bias])]
    base = trainer.base_lr
    mults = [cfg["bias_scaler"], 1.0, 1.0]
    opt = torch.optim.SGD([dict(params=group) for group in (norm, other, [whiten_bias])], lr=base,
                          momentum=cfg["momentum"], nesterov=cfg["nesterov"])
    crit = torch.nn.CrossEntropyLoss(label_smoothing=cfg["label_smoothing"])
    ema = {k: v.detach().clone() for k, v in net.state_dict().items() if v.dtype == torch.float32}
    p = cfg["translate"]
    padded = np.pad(x_all, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
    print(f"PyTorch {torch.__version__} reference, {args.threads} threads: {trainer.model.label}, "
          f"{cfg['epochs']} epochs, logits match the NumPy model to {gap:.1e}", flush=True)
    for epoch in range(cfg["epochs"]):
        start = time.perf_counter()
        whiten_bias.requires_grad_(epoch < cfg["whiten_bias_epochs"])
        order = trainer.rng.permutation(len(x_all))
        for i in range(steps):
            idx = order[i * b:(i + 1) * b]
            x = to_torch(normalise(augment(padded, idx, trainer.rng, p, trainer.flip_mask(idx, epoch))))
            loss = crit(net(x), torch.from_numpy(y_all[idx]))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            s = trainer.schedule(trainer.step_count)
            for g, mult in zip(opt.param_groups, mults):
                g["lr"] = base * mult * s
            opt.step()
            with torch.no_grad():
                decay = trainer.weight_decay_factor(s)
                for param in net.parameters():
                    if param.requires_grad:
                        param.mul_(decay)
                trainer.step_count += 1
                if trainer.step_count % 5 == 0:
                    alpha = trainer.lookahead_decay(trainer.step_count)
                    for k, v in net.state_dict().items():
                        if k in ema:
                            ema[k].lerp_(v, 1 - alpha)
                            v.copy_(ema[k])
        acc = np.mean(predict_logits(facing, data.test_images).argmax(1) == data.test_labels)
        print(f"epoch {epoch + 1:3d}  test acc {100 * acc:6.2f}%  {time.perf_counter() - start:.1f}s", flush=True)
    for level in (0, 2):
        acc = np.mean(predict_logits(facing, data.test_images, level).argmax(1) == data.test_labels)
        print(f"final test accuracy {100 * acc:.2f}% (TTA {level})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
