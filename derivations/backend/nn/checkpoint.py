"""Save and load models as ``.npz``: one array per parameter plus the architecture as JSON.

The parameter names are the dotted attribute paths (``net.layers.0.W``), so any layer
built on :class:`~derivations.backend.nn.base.Layer` round-trips without per-layer code.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from derivations.core.errors import UserError

CONFIG_KEY = "__config__"


def save_model(model, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {name: p.data for name, p in model.named_parameters()}
    config = {"class": type(model).__name__, **model.config}
    arrays[CONFIG_KEY] = np.array(json.dumps(config))
    with open(path, "wb") as f:          # a file object keeps the exact name (no added .npz)
        np.savez(f, **arrays)
    return path


def load_state(model, path) -> None:
    """Copy the parameters saved at ``path`` into ``model`` (same architecture)."""
    with _open(path) as data:
        wanted = dict(model.named_parameters())
        missing = sorted(set(wanted) - set(data.files))
        if missing:
            raise UserError(f"{path}: not a checkpoint of this model (missing {', '.join(missing[:3])})")
        for name, p in wanted.items():
            saved = data[name]
            if saved.shape != p.data.shape:
                raise UserError(f"{path}: parameter {name} has shape {saved.shape}, the model expects {p.data.shape}")
            p.data[...] = saved


def load_model(path):
    """Rebuild the model saved at ``path`` from its stored configuration and parameters."""
    from derivations.backend.nn.mlp import MLP
    with _open(path) as data:
        if CONFIG_KEY not in data.files:
            raise UserError(f"{path}: no model configuration stored; not a derivations checkpoint")
        config = json.loads(str(data[CONFIG_KEY]))
    kind = config.pop("class", None)
    if kind != "MLP":
        raise UserError(f"{path}: holds a {kind!r} model, expected an MLP")
    dtype = np.dtype(config.pop("dtype"))
    model = MLP(config.pop("input_size"), config.pop("output_size"), config.pop("hiddens"),
                config.pop("activations"), dropout=config.pop("dropout", 0.0), dtype=dtype)
    load_state(model, path)
    return model


class _open:
    def __init__(self, path):
        self.path = Path(path)

    def __enter__(self):
        if not self.path.is_file():
            raise UserError(f"model file {self.path} does not exist")
        try:
            self.data = np.load(self.path, allow_pickle=False)
        except (OSError, ValueError, zipfile.BadZipFile) as err:
            raise UserError(f"{self.path}: not a readable .npz file ({err})") from None
        return self.data

    def __exit__(self, *exc):
        self.data.close()
