"""Parameters and their gradients, discoverable generically.

A :class:`Parameter` pairs a value array with a gradient array of the same shape and dtype.
Layers hold them as attributes; :func:`named_parameters` finds them by walking attributes, so
``zero_grad()`` and optimizer ``step()`` need no per-layer code (the PyTorch ``nn.Module``
pattern). Optimizers key their state by the ``Parameter`` object itself.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np


class Parameter:
    """A trainable array ``data`` and its gradient ``grad`` (same shape and dtype).

    ``grad`` is allocated once and written in place by the owning layer's ``backward``, so
    training allocates nothing per step for gradients.
    """

    __slots__ = ("data", "grad", "name")

    def __init__(self, data: np.ndarray, name: str = ""):
        self.data = np.ascontiguousarray(data)
        self.grad = np.zeros_like(self.data)
        self.name = name

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.shape}, dtype={self.dtype})"


def named_parameters(obj, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
    """Yield ``(dotted.name, parameter)`` for every Parameter reachable from ``obj``.

    Walks instance attributes in definition order: a Parameter is yielded, an object with
    ``named_parameters`` (a layer) is recursed into, and lists/tuples of either are walked
    with their index as the name. Each parameter is yielded once even if shared.
    """
    seen: set[int] = set()
    yield from _walk(obj, prefix, seen)


def _walk(obj, prefix: str, seen: set[int]) -> Iterator[tuple[str, Parameter]]:
    for key, value in vars(obj).items():
        if key.startswith("_"):
            continue
        yield from _walk_value(value, f"{prefix}{key}", seen)


def _walk_value(value, name: str, seen: set[int]) -> Iterator[tuple[str, Parameter]]:
    if isinstance(value, Parameter):
        if id(value) not in seen:
            seen.add(id(value))
            yield name, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk_value(item, f"{name}.{i}", seen)
    elif hasattr(value, "named_parameters") and hasattr(value, "forward"):
        yield from _walk(value, f"{name}.", seen)
