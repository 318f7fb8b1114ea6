"""Sheet ``a1``, programming problem 1: the MNIST MLP template's names over the NumPy backend.

Row vectors, batch first: layer i maps a (batch, d_i) input to ``z = a W[i] + b[i]`` with
``W[i]`` of shape (d_i, d_{i+1}). The activations, the softmax cross-entropy, the affine
layers and SGD with momentum are the backend's (:mod:`derivations.backend.nn`); this module gives
them the template's constructor, attribute and method names:

>>> import numpy as np
>>> mlp = MLP(4, 3, [5], [Sigmoid(), Identity()], random_normal_weight_init,
...           zeros_bias_init, SoftmaxCrossEntropy(), lr=0.1)
>>> [w.shape for w in mlp.W], mlp.nlayers
([(4, 5), (5, 3)], 2)
>>> logits = mlp.forward(np.ones((2, 4)))
>>> _ = mlp.backward(get_one_hot(np.array([0, 2]), 3)); mlp.step()
>>> mlp.get_error(get_one_hot(np.array([0, 2]), 3)) in (0, 1, 2)
True

``backward`` leaves the gradients of the *mean* loss over the batch in ``dW`` and ``db``;
``get_loss`` is the *summed* loss of the batch and ``get_error`` the number of wrong
predictions, so ``get_training_stats`` divides both by the number of samples.
"""

from __future__ import annotations

from collections.abc import MutableSequence, Sequence
from pathlib import Path

import numpy as np

from derivations.backend.nn import losses
from derivations.backend.nn.activations import ACTIVATIONS, Identity, ReLU, Sigmoid, Tanh
from derivations.backend.nn.base import Layer
from derivations.backend.nn.layers import Linear, Sequential
from derivations.backend.nn.optim import SGD
from derivations.backend.nn.training import get_one_hot
from derivations.backend.nn.training import get_training_stats as _backend_training_stats

__all__ = ["Identity", "Sigmoid", "Tanh", "ReLU", "SoftmaxCrossEntropy",
           "random_normal_weight_init", "zeros_bias_init", "MLP", "get_training_stats",
           "get_one_hot", "load_mnist_csv"]

VALIDATION_SIZE = 10_000      # the template keeps the last 10,000 training images for validation


class SoftmaxCrossEntropy(losses.SoftmaxCrossEntropy):
    """``forward(x, y)``: per-sample losses of logits ``x`` against one-hot ``y``;
    ``derivative()``: softmax(x) − y, per sample (not divided by the batch size)."""

    def __init__(self):
        super().__init__(reduction="none")

    def derivative(self) -> np.ndarray:
        return self.backward()


def random_normal_weight_init(d0: int, d1: int) -> np.ndarray:
    """A (d0, d1) matrix of standard-normal entries."""
    return np.random.standard_normal((d0, d1))


def zeros_bias_init(d: int) -> np.ndarray:
    return np.zeros(d)


def _squeezed(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(n for n in shape if n != 1)


class _ArrayList(MutableSequence):
    """``W``, ``dW``, ``b`` or ``db``: a list whose items are the backend's arrays.

    Reading gives the live array; ``mlp.W[i] = M`` and ``mlp.W[a:b] = [...]`` copy into it
    (checking the shape), so template code that assigns weights or gradients reaches the
    backend. The template keeps plain lists, so ``mlp.W = [...]`` is assigned the same way
    (see :class:`MLP`'s setters).
    """

    def __init__(self, params, field: str):
        self._params, self._field = params, field

    def __len__(self):
        return len(self._params)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [getattr(p, self._field) for p in self._params[i]]
        return getattr(self._params[i], self._field)

    def __setitem__(self, i, value):
        targets = self[i] if isinstance(i, slice) else [self[i]]
        values = [np.asarray(v) for v in value] if isinstance(i, slice) else [np.asarray(value)]
        if len(values) != len(targets):
            raise ValueError(f"expected {len(targets)} arrays, one per layer, got {len(values)}")
        for target, v in zip(targets, values):          # every shape checked before any copy
            if _squeezed(v.shape) != _squeezed(target.shape):     # (1, d) for (d,) is fine
                raise ValueError(f"expected an array of shape {target.shape}, got {v.shape}")
        for target, v in zip(targets, values):
            target[...] = v.reshape(target.shape)

    def __delitem__(self, i):
        raise TypeError("the layers of an MLP cannot be removed")

    def insert(self, i, value):
        raise TypeError("the layers of an MLP cannot be added to")

    def __repr__(self):
        return repr(list(self))


class MLP(Layer):
    """The template's MLP: ``len(hiddens) + 1`` affine layers, ``activations[i]`` after layer i.

    ``activations`` holds one activation object per layer (the last is usually
    ``Identity()``, since ``criterion`` applies the softmax); a list one shorter, for the
    hidden layers only, is accepted too. ``weight_init_fn(d0, d1)`` and ``bias_init_fn(d)``
    give the initial arrays, whose dtype (float64 for the functions above) the network keeps.
    ``step()`` is SGD, ``W ← W − lr·dW``, with momentum ``v ← momentum·v + dW, W ← W − lr·v``
    when ``momentum`` > 0.
    """

    def __init__(self, input_size: int, output_size: int, hiddens: Sequence[int],
                 activations: Sequence[Layer], weight_init_fn, bias_init_fn, criterion,
                 lr: float, momentum: float = 0.0):
        hiddens = list(hiddens)
        activations = list(activations)
        sizes = [input_size, *hiddens, output_size]
        nlayers = len(sizes) - 1
        if len(activations) == nlayers - 1:
            activations.append(Identity())
        if len(activations) != nlayers:
            raise ValueError(f"MLP: {nlayers} layers need {nlayers} activations (or "
                             f"{nlayers - 1} for the hidden layers), got {len(activations)}")
        layers: list[Layer] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            W = _initial(weight_init_fn(d_in, d_out), (d_in, d_out), "weight_init_fn")
            b = _initial(bias_init_fn(d_out), (d_out,), "bias_init_fn").astype(W.dtype)
            layers.append(Linear(d_in, d_out, weight_init=_given(W), bias_init=_given(b),
                                 dtype=W.dtype))
            # An identity after the last layer is a no-op; leaving it out gives the network
            # the same layers as derivations.backend.nn.mlp.MLP, whose loader then reads save_model's file.
            if not (i == nlayers - 1 and type(activations[i]) is Identity):
                layers.append(activations[i])
        self.net = Sequential(*layers)
        self.criterion = criterion
        self.dtype = layers[0].W.dtype
        self.optimizer = SGD(self.parameters(), lr=lr, momentum=momentum)
        names = {cls: name for name, cls in ACTIVATIONS.items()}
        self.config = dict(input_size=input_size, output_size=output_size, hiddens=hiddens,
                           activations=[names.get(type(a), type(a).__name__) for a in activations[:-1]],
                           dtype=self.dtype.name)
        self.output: np.ndarray | None = None

    # -- the template's interface --------------------------------------------------------
    def forward(self, x) -> np.ndarray:
        self.output = self.net.forward(np.asarray(x, dtype=self.dtype))
        return self.output

    def backward(self, labels) -> float:
        """Gradients of the mean loss over the last forward batch; returns that mean loss."""
        if not self.training:
            raise RuntimeError("MLP.backward in eval mode; call mlp.train() first")
        if self.output is None:
            raise RuntimeError("MLP.backward: call forward first")
        per_sample = self.criterion(self.output, labels)
        batch = len(self.output)
        delta = np.asarray(self.criterion.derivative(), dtype=self.dtype) / self.dtype.type(batch)
        self.net.backward(delta)
        return float(np.sum(per_sample, dtype=np.float64)) / batch

    def zero_grads(self) -> None:
        self.zero_grad()

    def step(self) -> None:
        self.optimizer.step()

    def get_loss(self, labels) -> float:
        """Summed loss of the last forward batch."""
        return float(np.sum(self.criterion(self.output, labels), dtype=np.float64))

    def get_error(self, labels) -> int:
        """Number of wrong predictions in the last forward batch (labels one-hot or integer)."""
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        return int(np.count_nonzero(self.output.argmax(axis=1) != labels))

    def save_model(self, path="p1_model.npz") -> Path:
        """Save the weights and biases (readable by ``derivations.backend.nn.mlp.MLP.load``)."""
        from derivations.backend.nn.checkpoint import save_model
        return save_model(self, path)

    # -- the template's attributes -------------------------------------------------------
    @property
    def _linears(self) -> list[Linear]:
        return [layer for layer in self.net if isinstance(layer, Linear)]

    @property
    def W(self) -> _ArrayList:
        return _ArrayList([layer.W for layer in self._linears], "data")

    @W.setter
    def W(self, arrays) -> None:
        self.W[:] = arrays

    @property
    def dW(self) -> _ArrayList:
        return _ArrayList([layer.W for layer in self._linears], "grad")

    @dW.setter
    def dW(self, arrays) -> None:
        self.dW[:] = arrays

    @property
    def b(self) -> _ArrayList:
        return _ArrayList([layer.b for layer in self._linears], "data")

    @b.setter
    def b(self, arrays) -> None:
        self.b[:] = arrays

    @property
    def db(self) -> _ArrayList:
        return _ArrayList([layer.b for layer in self._linears], "grad")

    @db.setter
    def db(self, arrays) -> None:
        self.db[:] = arrays

    @property
    def nlayers(self) -> int:
        return len(self._linears)

    @property
    def train_mode(self) -> bool:
        return self.training

    @train_mode.setter
    def train_mode(self, mode: bool) -> None:
        self.train(mode)

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = float(value)

    @property
    def momentum(self) -> float:
        return self.optimizer.momentum

    @property
    def label(self) -> str:
        sizes = [layer.in_features for layer in self._linears] + [self._linears[-1].out_features]
        return "MLP(" + "-".join(map(str, sizes)) + ")"


def _given(array: np.ndarray):
    """A backend initialiser that returns ``array`` (the template's init functions take sizes)."""
    return lambda shape, **_: array


def _initial(array, shape: tuple[int, ...], source: str) -> np.ndarray:
    array = np.asarray(array)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{source} returned shape {array.shape}; expected {shape}")
    if array.dtype.kind != "f":
        array = array.astype(np.float64)
    return array.reshape(shape)


def get_training_stats(mlp: MLP, dset, nepochs: int, batch_size: int, seed: int = 0):
    """Train for ``nepochs`` epochs of shuffled mini-batches on ``dset[0]``; per epoch, return
    (training_losses, training_errors, validation_losses, validation_errors), each divided
    by the number of samples. ``dset`` is [[train_x, train_y], [val_x, val_y], [test_x, test_y]]
    with one-hot labels; the test split is left for the caller."""
    return _backend_training_stats(mlp, dset, nepochs, batch_size, seed=seed)


def load_mnist_csv(data_dir=".", validation: int = VALIDATION_SIZE):
    """``dset`` for :func:`get_training_stats` from ``mnist_train.csv`` and ``mnist_test.csv``
    in ``data_dir``: pixels scaled to [0, 1], one-hot labels, the last ``validation`` training
    images held out for validation (50,000 / 10,000 for the full file)."""
    from derivations.backend.datasets.digits_csv import find_csv, read_digits_csv
    from derivations.core.errors import UserError

    paths = find_csv(data_dir)
    if paths is None:
        raise UserError(f"mnist_train.csv and mnist_test.csv not found in {data_dir}")
    splits = []
    for split in ("train", "test"):
        images, labels = read_digits_csv(paths[split])
        pixels = images.reshape(len(images), -1) * np.float32(1 / 255)   # float32 halves the memory
        splits.append((pixels, get_one_hot(labels, 10)))
    (train_x, train_y), test = splits
    if not 0 <= validation < len(train_x):
        raise UserError(f"cannot hold out {validation} of {len(train_x)} training images")
    cut = len(train_x) - validation
    return [[train_x[:cut], train_y[:cut]], [train_x[cut:], train_y[cut:]], list(test)]
