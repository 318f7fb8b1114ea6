"""Task ``cifar-cnn``: the airbench94-style CIFAR-10 CNN (sheet a1, problem 2) in NumPy.

Every ingredient of the recipe (Jordan 2024, "94% on CIFAR-10 in 3.29 seconds") is an
option that can be switched off to see what it buys:

* ``--no-whiten``: the first 2×2 convolution is whitening, initialised from the covariance
  of training patches and frozen (only its bias learns, for ``--whiten-bias-epochs``);
* ``--label-smoothing``: the cross-entropy target mixes in the uniform distribution;
* Nesterov SGD (``--momentum``, ``--no-nesterov``), the BatchNorm shifts at
  ``--bias-scaler`` times the learning rate, a linear warm-up over ``--warmup`` of the steps
  from 0.2× to 1× then a linear decay to 0.07×;
* ``--weight-decay``: decoupled decay θ ← θ(1 − s_t·λ·B/1024) each step (s_t the schedule
  factor), which equals airbench's effective decay;
* ``--no-lookahead``: every 5 steps the weights (and BN statistics) are pulled to an EMA
  with decay 0.95⁵·(t/T)³, and the EMA is the final model;
* ``--translate PX`` random crops from reflect-padded images; ``--flip`` alternating
  (each image flipped in every other epoch), random, or none;
* ``--tta``: test-time augmentation, 0 none, 1 mirror, 2 mirror + ±1-pixel translations.
"""

from __future__ import annotations

import argparse

NAME = "cifar-cnn"
HELP = "Train the airbench-style CIFAR-10 CNN with the NumPy backend."

PRESETS = {
    # widths, epochs, batch size, TTA level of the final evaluation, epochs of whitening-bias training
    "fast": dict(widths=(32, 96, 192), epochs=7, batch_size=512, tta=2, whiten_bias_epochs=1),
    "full": dict(widths=(64, 256, 256), epochs=10, batch_size=512, tta=2, whiten_bias_epochs=3),
}
MEAN = (0.4914, 0.4822, 0.4465)      # official train-set statistics, [0, 1] units
STD = (0.2470, 0.2435, 0.2616)
CHECKPOINT = "checkpoint.npz"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    data = parser.add_argument_group("data")
    data.add_argument("--data-dir", metavar="DIR",
                      help="folder holding cifar-10-python.tar.gz or cifar10-jpg.tar (default: "
                           "$DERIVATIONS_DATA, else the user cache; the official file is downloaded when missing)")
    data.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    data.add_argument("--train-limit", type=int, metavar="N", help="train on N random training images only")
    data.add_argument("--test-limit", type=int, metavar="N", help="evaluate on the first N test images only")
    run = parser.add_argument_group("run")
    run.add_argument("--preset", choices=tuple(PRESETS), default="fast",
                     help="fast: widths 32/96/192, 7 epochs; full: airbench94's 64/256/256, 10 epochs")
    run.add_argument("--epochs", type=int, help="epochs (default: the preset's)")
    run.add_argument("--batch-size", type=int, help="batch size (default 512)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--threads", type=int, metavar="N", help="threads the layers split their work over, each with a one-thread BLAS "
                                                           "(default: all cores)")
    run.add_argument("--out", metavar="DIR", help="write curve.png, confusion.png, model.npz, metrics.json "
                                                   "and a checkpoint every epoch here")
    run.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.npz (needs --out)")
    run.add_argument("--max-steps", type=int, metavar="N", help="stop after N steps (smoke tests)")
    run.add_argument("--no-progress", action="store_true",
                     help="no progress bar on a terminal either (piped or redirected output never has one)")
    recipe = parser.add_argument_group("recipe (each a switch; defaults are airbench94's)")
    recipe.add_argument("--widths", metavar="W1,W2,W3", help="block widths (default: the preset's)")
    recipe.add_argument("--lr", type=float, default=11.5,
                        help="airbench's learning rate per 1024 samples of summed loss (default 11.5); "
                             "the mean-loss SGD rate is lr·B/(1024·(1 + 1/(1 − momentum)))")
    recipe.add_argument("--momentum", type=float, default=0.85)
    recipe.add_argument("--no-nesterov", dest="nesterov", action="store_false")
    recipe.add_argument("--bias-scaler", type=float, default=64.0,
                        help="learning-rate multiplier of the BatchNorm shifts (default 64)")
    recipe.add_argument("--weight-decay", type=float, default=0.0133, metavar="λ",
                        help="decoupled weight decay per step at batch 1024 (default 0.0133; 0: off)")
    recipe.add_argument("--warmup", type=float, default=0.23, metavar="FRAC",
                        help="fraction of steps of linear warm-up (default 0.23)")
    recipe.add_argument("--label-smoothing", type=float, default=0.2, metavar="EPS")
    recipe.add_argument("--no-whiten", dest="whiten", action="store_false",
                        help="random, trainable first layer instead of data whitening")
    recipe.add_argument("--whiten-bias-epochs", type=int,
                        help="epochs the whitening bias is trained before it is frozen (fast 1, full 3)")
    recipe.add_argument("--init", choices=("airbench", "he"), default="airbench",
                        help="airbench: PyTorch-default scale with identity (Dirac) filters (default); he: He-normal")
    recipe.add_argument("--no-lookahead", dest="lookahead", action="store_false")
    recipe.add_argument("--translate", type=int, default=2, metavar="PX", help="random crop range (0: off)")
    recipe.add_argument("--flip", choices=("alternating", "random", "none"), default="alternating")
    recipe.add_argument("--tta", type=int, choices=(0, 1, 2), help="final test-time augmentation level")


# -- options -------------------------------------------------------------------------------

def resolve(args) -> dict:
    """The effective configuration: preset values overridden by explicit options."""
    from derivations.core.errors import UserError
    preset = dict(PRESETS[args.preset])
    widths = preset["widths"]
    if args.widths:
        try:
            widths = tuple(int(w) for w in args.widths.split(","))
        except ValueError:
            widths = ()
        if len(widths) != 3 or min(widths) < 1:
            raise UserError(f"--widths must be three positive integers such as 64,256,256, got {args.widths!r}")
    cfg = dict(widths=list(widths), epochs=preset["epochs"] if args.epochs is None else args.epochs,
               batch_size=preset["batch_size"] if args.batch_size is None else args.batch_size,
               tta=preset["tta"] if args.tta is None else args.tta, seed=args.seed,
               lr=args.lr, momentum=args.momentum, nesterov=args.nesterov, bias_scaler=args.bias_scaler,
               weight_decay=args.weight_decay, warmup=args.warmup, label_smoothing=args.label_smoothing,
               whiten=args.whiten,
               whiten_bias_epochs=preset["whiten_bias_epochs"] if args.whiten_bias_epochs is None
               else args.whiten_bias_epochs, lookahead=args.lookahead, init=args.init,
               translate=args.translate, flip=args.flip, train_limit=args.train_limit, preset=args.preset)
    checks = [
        (cfg["epochs"] >= 1, f"--epochs must be at least 1, got {cfg['epochs']}"),
        (cfg["batch_size"] >= 2, f"--batch-size must be at least 2, got {cfg['batch_size']}"),
        (args.lr > 0, f"--lr must be positive, got {args.lr}"),
        (0 < args.momentum < 1, f"--momentum must be in (0, 1), got {args.momentum}"),
        (0 <= args.warmup < 1, f"--warmup must be in [0, 1), got {args.warmup}"),
        (0 <= args.label_smoothing < 1, f"--label-smoothing must be in [0, 1), got {args.label_smoothing}"),
        (args.weight_decay >= 0, f"--weight-decay must be ≥ 0, got {args.weight_decay}"),
        (0 <= args.translate <= 8, f"--translate must be between 0 and 8 pixels, got {args.translate}"),
        (args.seed >= 0, f"--seed must be ≥ 0, got {args.seed}"),
        (args.train_limit is None or args.train_limit >= 1, f"--train-limit must be ≥ 1, got {args.train_limit}"),
        (args.max_steps is None or args.max_steps >= 1, f"--max-steps must be ≥ 1, got {args.max_steps}"),
        (not args.resume or args.out, "--resume needs --out DIR (the folder holding checkpoint.npz)"),
    ]
    for ok, message in checks:
        if not ok:
            raise UserError(message)
    check_common(args)
    return cfg


def check_common(args) -> None:
    """The options ``train cifar-cnn`` and ``evaluate cifar-cnn`` share."""
    from derivations.backend.datasets.cache import check_data_dir
    from derivations.core.errors import UserError
    if args.threads is not None and args.threads < 1:
        raise UserError(f"--threads must be ≥ 1, got {args.threads}")
    if args.test_limit is not None and args.test_limit < 1:
        raise UserError(f"--test-limit must be ≥ 1, got {args.test_limit}")
    check_data_dir(args.data_dir)


# -- data ----------------------------------------------------------------------------------

def normalise(images_u8, dtype=None):
    """uint8 NHWC → float32 (x/255 − mean)/std per channel."""
    import numpy as np
    scale = (1.0 / (255.0 * np.asarray(STD))).astype(np.float32)
    shift = (-np.asarray(MEAN) / np.asarray(STD)).astype(np.float32)
    out = np.multiply(images_u8, scale, dtype=np.float32)
    out += shift
    return out


def augment(padded, idx, rng, translate: int, flip_mask):
    """Random crops (one gather of 32×32 windows of the reflect-padded images) and flips."""
    import numpy as np
    from numpy.lib.stride_tricks import sliding_window_view
    n = len(idx)
    if translate:
        views = sliding_window_view(padded, (32, 32), axis=(1, 2))       # (N, 2p+1, 2p+1, 3, 32, 32)
        dy = rng.integers(0, 2 * translate + 1, n)
        dx = rng.integers(0, 2 * translate + 1, n)
        batch = views[idx, dy, dx].transpose(0, 2, 3, 1)                 # (n, 32, 32, 3)
    else:
        batch = padded[idx]
    if flip_mask is not None:
        batch = np.where(flip_mask[:, None, None, None], batch[:, :, ::-1], batch)
    return np.ascontiguousarray(batch)


# -- evaluation ----------------------------------------------------------------------------

def predict_logits(model, images_u8, tta: int = 0, batch_size: int = 500):
    """Logits for uint8 NHWC images in eval mode; ``tta`` 1 averages with the mirror image,
    2 also with ±1-pixel (reflect-padded) translations, as airbench's ``tta_level``."""
    import numpy as np
    was = model.training
    model.eval()
    out = []
    try:
        for i in range(0, len(images_u8), batch_size):
            x = normalise(images_u8[i:i + batch_size])

            def mirror(v):
                logits = model.forward(v)
                if tta >= 1:
                    logits = 0.5 * (logits + model.forward(np.ascontiguousarray(v[:, :, ::-1])))
                return logits
            logits = mirror(x)
            if tta >= 2:
                p = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
                shifted = [mirror(np.ascontiguousarray(p[:, :32, :32])), mirror(np.ascontiguousarray(p[:, 2:, 2:]))]
                logits = 0.5 * logits + 0.25 * (shifted[0] + shifted[1])
            out.append(logits)
    finally:
        model.train(was)
    return np.concatenate(out)


def evaluate(model, images, labels, tta: int = 0, criterion=None):
    """(mean cross-entropy, accuracy, predictions)."""
    import numpy as np

    from derivations.backend.nn.losses import SoftmaxCrossEntropy
    logits = predict_logits(model, images, tta)
    loss = (criterion or SoftmaxCrossEntropy()).forward(logits, labels)
    pred = logits.argmax(axis=1)
    return loss, float(np.mean(pred == labels)), pred


# -- training state --------------------------------------------------------------------------

class Trainer:
    """Model, optimizers, schedule, lookahead and RNG: everything an exact resume needs."""

    def __init__(self, cfg: dict, train_images, steps_per_epoch: int):
        import numpy as np

        from derivations.backend.nn.cnn import CifarCNN
        from derivations.backend.nn.losses import SoftmaxCrossEntropy
        from derivations.backend.nn.optim import SGD
        self.cfg, self.steps_per_epoch = cfg, steps_per_epoch
        self.total_steps = steps_per_epoch * cfg["epochs"]
        self.model = CifarCNN(cfg["widths"], seed=cfg["seed"], init=cfg.get("init", "airbench"))
        if cfg["whiten"]:
            self.model.init_whitening(normalise(train_images[:5000]))
        else:
            from derivations.backend.nn.init import he_normal
            w = self.model.whiten
            w.W.data[...] = he_normal(w.W.shape, fan_in=12, fan_out=96, rng=np.random.default_rng(cfg["seed"]))
            w.frozen_weight = False
        norm, other = self.model.trainable_parameters()
        whiten_bias = self.model.whiten.b
        other = [p for p in other if p is not whiten_bias]
        mom, b = cfg["momentum"], cfg["batch_size"]
        self.base_lr = cfg["lr"] * b / (1024 * (1 + 1 / (1 - mom)))
        sgd = dict(momentum=mom, nesterov=cfg["nesterov"])
        self.groups = {   # name → (optimizer, learning-rate multiplier)
            "norm": (SGD(norm, self.base_lr * cfg["bias_scaler"], **sgd), cfg["bias_scaler"]),
            "other": (SGD(other, self.base_lr, **sgd), 1.0),
            "whiten_bias": (SGD([whiten_bias], self.base_lr, **sgd), 1.0),   # as airbench: not a norm bias
        }
        self.criterion = SoftmaxCrossEntropy(label_smoothing=cfg["label_smoothing"])
        self.rng = np.random.default_rng(cfg["seed"] + 1)
        self.flip_bits = np.random.default_rng(cfg["seed"] + 2).random(len(train_images)) < 0.5
        self.step_count, self.epoch = 0, 0
        self.ema = {k: v.copy() for k, v in self.model.state().items()} if cfg["lookahead"] else None
        self.history: list[dict] = []

    def schedule(self, t: int) -> float:
        """0.2 → 1 linearly over the warm-up, then 1 → 0.07 linearly (airbench)."""
        warm = int(self.total_steps * self.cfg["warmup"])
        if t < warm:
            frac = t / warm
            return 0.2 * (1 - frac) + frac
        frac = (t - warm) / max(self.total_steps - warm, 1)
        return (1 - frac) + 0.07 * frac

    def train_step(self, x, y) -> tuple[float, int]:
        import numpy as np
        model = self.model
        # the whitening layer learns nothing after its bias epochs: skip its backward
        model.freeze_whitening(self.cfg["whiten"] and self.epoch >= self.cfg["whiten_bias_epochs"])
        logits = model.forward(x)
        loss = self.criterion.forward(logits, y)
        model.backward(self.criterion.backward())
        s = self.schedule(self.step_count)
        decay = self.weight_decay_factor(s)
        for name, (opt, mult) in self.groups.items():
            if name == "whiten_bias" and self.epoch >= self.cfg["whiten_bias_epochs"]:
                continue
            opt.lr = self.base_lr * mult * s
            opt.step()
            if decay != 1:
                for p in opt.params:
                    p.data *= np.float32(decay)
        self.step_count += 1
        if self.ema is not None and self.step_count % 5 == 0:
            self.lookahead(self.lookahead_decay(self.step_count))
        return loss, int(np.count_nonzero(logits.argmax(axis=1) == y))

    def weight_decay_factor(self, s: float) -> float:
        """θ is multiplied by this after a step at schedule factor ``s``."""
        return 1 - s * self.cfg["weight_decay"] * self.cfg["batch_size"] / 1024

    def lookahead_decay(self, t: int) -> float:
        """The EMA's decay after step ``t``: 0.95⁵·(t/T)³, so it averages hardly at all early
        and strongly at the end."""
        return 0.95 ** 5 * (t / self.total_steps) ** 3

    def flip_mask(self, idx, epoch: int):
        """Which images of a batch to mirror: random in the first epoch (every epoch with
        ``--flip random``), then each image's own fixed bit, inverted every other epoch."""
        flip = self.cfg["flip"]
        if flip == "random" or (flip == "alternating" and epoch == 0):
            return self.rng.random(len(idx)) < 0.5
        if flip == "alternating":
            return self.flip_bits[idx] ^ bool(epoch % 2)
        return None

    def lookahead(self, decay: float) -> None:
        """ema ← ema + (1 − decay)(θ − ema); θ ← ema, for parameters and BN statistics."""
        for name, value in self.model.state().items():
            ema = self.ema[name]
            ema += (1 - decay) * (value - ema)
            value[...] = ema

    def finish(self) -> None:
        if self.ema is not None:
            self.lookahead(1.0)

    # -- exact resume --------------------------------------------------------------------------
    def save(self, path) -> None:
        import json
        import os

        import numpy as np
        arrays = {f"model/{k}": v for k, v in self.model.state().items()}
        if self.ema is not None:
            arrays.update({f"ema/{k}": v for k, v in self.ema.items()})
        for name, (opt, _) in self.groups.items():
            for i, p in enumerate(opt.params):
                if "v" in opt.state[p]:
                    arrays[f"opt/{name}/{i}"] = opt.state[p]["v"]
        meta = dict(cfg=self.cfg, epoch=self.epoch, step=self.step_count, history=self.history,
                    rng=self.rng.bit_generator.state)
        arrays["meta"] = np.array(json.dumps(meta))
        tmp = str(path) + ".part"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)

    def restore(self, path, meta: dict) -> None:
        """Continue from the checkpoint at ``path``, whose ``meta`` :func:`read_checkpoint` checked."""
        from derivations.backend.errors import brief
        from derivations.backend.nn.checkpoint import NpzFile, copy_arrays
        from derivations.core.errors import UserError
        with NpzFile(path, "checkpoint") as data:
            self.model.load_state(data, "model/")
            if self.ema is not None:
                copy_arrays(data, self.ema, "ema/")
            for name, (opt, _) in self.groups.items():
                for i, p in enumerate(opt.params):
                    key = f"opt/{name}/{i}"
                    if key in data:
                        opt.state[p]["v"] = data.read(key, p.data.shape, p.data.dtype)
        if meta["step"] != meta["epoch"] * self.steps_per_epoch:
            raise UserError(f"{path}: the checkpoint's step {meta['step']} is not the end of its epoch "
                            f"{meta['epoch']} ({self.steps_per_epoch} steps each)")
        self.epoch, self.step_count, self.history = meta["epoch"], meta["step"], meta["history"]
        try:
            self.rng.bit_generator.state = meta["rng"]
        except (TypeError, ValueError, KeyError) as err:
            raise UserError(f"{path}: the stored random-generator state is corrupt ({brief(err)})") from None


HISTORY_KEYS = ("epoch", "train_loss", "train_error", "test_loss", "test_error", "lr", "seconds",
                "images_per_second")
MAX_META = 1 << 24          # the meta record grows by one history row (~250 characters) per epoch


def read_checkpoint(path, cfg: dict) -> dict:
    """The meta record of the cifar-cnn checkpoint at ``path``, each field checked, and its
    configuration compared with this run's (read before the data, so a bad file fails fast)."""
    import json

    from derivations.backend.errors import brief
    from derivations.backend.nn.checkpoint import NpzFile, StoredConfig
    from derivations.core.errors import UserError
    with NpzFile(path, "checkpoint") as data:
        if "meta" not in data:
            raise data.error("not a cifar-cnn checkpoint (no meta record)")
        try:
            meta = json.loads(data.text("meta", MAX_META))
        except (ValueError, RecursionError) as err:
            raise data.error(f"its meta record is not valid JSON ({brief(err)})") from None
    if not isinstance(meta, dict) or not isinstance(meta.get("cfg"), dict):
        raise UserError(f"{path}: not a cifar-cnn checkpoint (its meta record has no configuration)")
    keys = ("widths", "batch_size", "epochs", "seed", "whiten", "lookahead", "train_limit")
    differ = [k for k in keys if meta["cfg"].get(k) != cfg.get(k)]
    if differ:
        k = differ[0]
        raise UserError(f"{path}: checkpoint has {k}={meta['cfg'].get(k)!r} but this run has "
                        f"{k}={cfg.get(k)!r}; use the same options or another --out")
    fields = StoredConfig(meta, path)
    epoch = fields.integer("epoch", 0, cfg["epochs"])
    fields.integer("step", 0, 1 << 62)
    history = meta.get("history")
    if (not isinstance(history, list) or len(history) != epoch
            or not all(isinstance(row, dict) and all(type(row.get(k)) in (int, float) for k in HISTORY_KEYS)
                       for row in history)):
        raise UserError(f"{path}: the checkpoint's training history is corrupt")
    return meta


# -- outputs ---------------------------------------------------------------------------------

def plot_confusion(labels, predictions, classes, path, title: str):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    k = len(classes)
    matrix = np.bincount(labels * k + predictions, minlength=k * k).reshape(k, k)
    fig, ax = plt.subplots(figsize=(7, 6))
    im = ax.imshow(matrix, cmap="Blues")
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=7,
                    color="white" if matrix[i, j] > matrix.max() / 2 else "black")
    ax.set(xticks=range(k), yticks=range(k), xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title=title)
    plt.setp(ax.get_xticklabels(), rotation=45, ha="right")
    fig.colorbar(im, ax=ax)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return matrix


def run(args) -> int:
    import os
    import time
    from pathlib import Path

    import numpy as np
    from tqdm import tqdm

    from derivations.backend.datasets import cifar10
    from derivations.backend.nn.memory import reuse_freed_memory
    from derivations.backend.nn.threads import set_layer_threads
    from derivations.backend.nn.training import EpochStats, History
    from derivations.backend.tasks import _report

    cfg = resolve(args)
    if args.resume:
        ckpt = Path(args.out) / CHECKPOINT
        if not ckpt.is_file():
            from derivations.core.errors import UserError
            raise UserError(f"--resume: no checkpoint at {ckpt}")
        meta = read_checkpoint(ckpt, cfg)
    reuse_freed_memory()
    set_layer_threads(args.threads or os.cpu_count() or 1)
    progress = _report.show_progress(args)
    data = cifar10.load(args.data_dir, download_missing=not args.no_download, progress=progress)
    train_x, train_y = data.train_images, data.train_labels
    if cfg["train_limit"]:
        keep = np.random.default_rng(cfg["seed"] + 3).permutation(len(train_x))[:cfg["train_limit"]]
        train_x, train_y = train_x[keep], train_y[keep]
    test_x, test_y = data.test_images[:args.test_limit], data.test_labels[:args.test_limit]
    b = cfg["batch_size"]
    steps_per_epoch = len(train_x) // b                  # drop the last partial batch (BN needs it full)
    if steps_per_epoch < 1:
        from derivations.core.errors import UserError
        raise UserError(f"--batch-size {b} is larger than the {len(train_x)} training images")
    trainer = Trainer(cfg, train_x, steps_per_epoch)
    out = Path(args.out) if args.out else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    if args.resume:
        trainer.restore(ckpt, meta)
        print(f"resumed from {ckpt} after epoch {trainer.epoch} (step {trainer.step_count})")
    p = cfg["translate"]
    padded = np.pad(train_x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect") if p else train_x

    print(f"CIFAR-10 from {data.source.name}: {len(train_x)} train / {len(test_x)} test images")
    print(f"model {trainer.model.label}, preset {cfg['preset']}, batch {b}, {_report.plural(cfg['epochs'], 'epoch')}, "
          f"lr {trainer.base_lr:.4g} (BN shifts ×{cfg['bias_scaler']:g}), seed {cfg['seed']}")
    total_images = steps_per_epoch * b * cfg["epochs"]
    bar = tqdm(total=total_images, initial=trainer.step_count * b, unit="img", unit_scale=True,
               disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    stopped = False
    while trainer.epoch < cfg["epochs"] and not stopped:
        epoch = trainer.epoch
        t0 = time.perf_counter()
        order = trainer.rng.permutation(len(train_x))
        loss_sum, correct, seen = 0.0, 0, 0
        for i in range(steps_per_epoch):
            idx = order[i * b:(i + 1) * b]
            x = normalise(augment(padded, idx, trainer.rng, p, trainer.flip_mask(idx, epoch)))
            loss, right = trainer.train_step(x, train_y[idx])
            loss_sum, correct, seen = loss_sum + loss * len(idx), correct + right, seen + len(idx)
            bar.update(len(idx))
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            if args.max_steps and trainer.step_count >= args.max_steps and i + 1 < steps_per_epoch:
                stopped = True                           # interrupted mid-epoch: no epoch record
                break
        if stopped:
            break
        seconds = time.perf_counter() - t0
        trainer.epoch += 1
        test_loss, test_acc, _ = evaluate(trainer.model, test_x, test_y)
        row = dict(epoch=trainer.epoch, train_loss=loss_sum / seen, train_error=1 - correct / seen,
                   test_loss=test_loss, test_error=1 - test_acc,
                   lr=trainer.base_lr * trainer.schedule(trainer.step_count - 1),
                   seconds=seconds, images_per_second=seen / seconds)
        trainer.history.append(row)
        tqdm.write(f"epoch {row['epoch']:3d}  train loss {row['train_loss']:.4f} "
                   f"acc {100 * (1 - row['train_error']):6.2f}%  test loss {test_loss:.4f} "
                   f"acc {100 * test_acc:6.2f}%  lr {row['lr']:.4g}  {seconds:.1f}s "
                   f"({row['images_per_second']:.0f} img/s)")
        if out is not None:
            trainer.save(out / CHECKPOINT)
        if args.max_steps and trainer.step_count >= args.max_steps:
            stopped = True
    bar.close()
    trainer.finish()
    elapsed = time.perf_counter() - start
    plain_loss, plain_acc, _ = evaluate(trainer.model, test_x, test_y)
    tta_loss, tta_acc, predictions = evaluate(trainer.model, test_x, test_y, tta=cfg["tta"])
    train_seconds = sum(r["seconds"] for r in trainer.history)
    print(f"final test accuracy {100 * plain_acc:.2f}% without TTA, {100 * tta_acc:.2f}% with TTA level {cfg['tta']}; "
          f"{train_seconds:.1f}s training ({elapsed:.1f}s this session with evaluation); "
          f"peak memory {_report.peak_rss_mib():.0f} MiB")
    if out is not None:
        trainer.model.save(out / "model.npz")
        history = History([EpochStats(r["epoch"], r["train_loss"], r["train_error"], r["test_loss"],
                                      r["test_error"], r["lr"], r["seconds"]) for r in trainer.history])
        _report.plot_curves(history, out / "curve.png", f"CIFAR-10 {trainer.model.label} — test accuracy "
                                                          f"{100 * tta_acc:.2f}% (TTA {cfg['tta']})")
        matrix = plot_confusion(test_y, predictions, data.classes, out / "confusion.png",
                                f"CIFAR-10 confusion, accuracy {100 * tta_acc:.2f}%")
        _report.write_json(out / "metrics.json", {
            "task": NAME, "source": str(data.source), "config": cfg,
            "test_accuracy": plain_acc, "test_accuracy_tta": tta_acc, "tta_level": cfg["tta"],
            "test_loss": plain_loss, "train_seconds": train_seconds, "peak_rss_mib": _report.peak_rss_mib(),
            "epochs": trainer.history, "confusion_matrix": matrix.tolist(), "classes": list(data.classes),
        })
        print(f"wrote {out / 'curve.png'}, {out / 'confusion.png'}, {out / 'model.npz'}, {out / 'metrics.json'}")
    return 0
