"""The multilayer perceptron of sheet ``a1`` (programming problem 1), row-vector convention.

``MLP.forward(x)`` gives the logits; ``backward(labels)`` computes the gradients of the mean
loss over the batch; ``step()`` applies the optimizer; ``zero_grads()``, ``get_loss`` (summed
loss of the batch) and ``get_error`` (number of wrong predictions) are the sheet's names.
After a forward pass ``cache`` names the intermediate arrays as the derivation does:
``x``, ``z1``, ``a1``, ``z2``, …, with the last ``z`` the logits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from derivations.backend.nn.activations import make_activation
from derivations.backend.nn.base import Layer
from derivations.backend.nn.layers import Dropout, Linear, Sequential
from derivations.backend.nn.losses import SoftmaxCrossEntropy
from derivations.backend.nn.optim import SGD, Optimizer

MAX_WIDTH = 1 << 20     # bounds on a stored configuration; the file must also hold the weights
MAX_DEPTH = 1000


class MLP(Layer):
    def __init__(self, input_size: int, output_size: int, hiddens: Sequence[int] = (),
                 activations: str | Sequence[str] = "relu", *, weight_init="he",
                 bias_init="zeros", criterion=None, optimizer: Optimizer | None = None,
                 lr: float = 0.1, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0, dropout: float = 0.0, seed: int = 0,
                 dtype=np.float32):
        hiddens = list(hiddens)
        if isinstance(activations, str):
            activations = [activations] * len(hiddens)
        if len(activations) != len(hiddens):
            raise ValueError(f"MLP: {len(hiddens)} hidden layers but {len(activations)} activations")
        rng = np.random.default_rng(seed)
        self.config = dict(input_size=input_size, output_size=output_size, hiddens=hiddens,
                           activations=list(activations), dropout=dropout,
                           dtype=np.dtype(dtype).name)
        sizes = [input_size, *hiddens, output_size]
        layers: list[Layer] = []
        for i, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(d_in, d_out, weight_init=weight_init, bias_init=bias_init,
                                 rng=rng, dtype=dtype))
            if i < len(hiddens):
                layers.append(make_activation(activations[i]))
                if dropout:
                    layers.append(Dropout(dropout, rng=rng))
        self.net = Sequential(*layers)
        self.criterion = criterion if criterion is not None else SoftmaxCrossEntropy()
        self.optimizer = optimizer if optimizer is not None else SGD(
            self.parameters(), lr=lr, momentum=momentum, nesterov=nesterov,
            weight_decay=weight_decay, flatten=True)
        self.dtype = np.dtype(dtype)
        self.output: np.ndarray | None = None

    # -- the sheet's interface -----------------------------------------------------------
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.output = self.net.forward(x)
        return self.output

    def backward(self, labels) -> float:
        """Gradients of the mean loss of the last forward batch; returns that mean loss."""
        loss = self.criterion.forward(self.output, labels)
        self.net.backward(self.criterion.backward())
        return loss

    def step(self) -> None:
        self.optimizer.step()

    def zero_grads(self) -> None:
        self.zero_grad()

    def get_loss(self, labels) -> float:
        """Summed loss of the last forward batch."""
        self.criterion.forward(self.output, labels)
        return float(self.criterion.losses.sum(dtype=np.float64))

    def get_error(self, labels) -> int:
        """Number of wrong predictions in the last forward batch."""
        labels = np.asarray(labels)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        return int(np.count_nonzero(self.output.argmax(axis=1) != labels))

    def predict(self, x: np.ndarray, batch_size: int = 2048) -> np.ndarray:
        was_training = self.training
        self.eval()
        try:
            return np.concatenate([self.forward(x[i:i + batch_size]).argmax(axis=1)
                                   for i in range(0, len(x), batch_size)])
        finally:
            self.train(was_training)

    # -- the derivation's names ----------------------------------------------------------
    @property
    def linears(self) -> list[Linear]:
        return [layer for layer in self.net if isinstance(layer, Linear)]

    @property
    def W(self) -> list[np.ndarray]:
        return [layer.W.data for layer in self.linears]

    @property
    def dW(self) -> list[np.ndarray]:
        return [layer.W.grad for layer in self.linears]

    @property
    def b(self) -> list[np.ndarray]:
        return [layer.b.data for layer in self.linears]

    @property
    def db(self) -> list[np.ndarray]:
        return [layer.b.grad for layer in self.linears]

    @property
    def nlayers(self) -> int:
        return len(self.linears)

    @property
    def cache(self) -> dict[str, np.ndarray]:
        """``x``, ``z1``, ``a1``, …, ``zL`` of the last forward pass (no copies)."""
        named: dict[str, np.ndarray] = {}
        k = 0
        for layer in self.net:
            if isinstance(layer, Linear):
                k += 1
                if k == 1:
                    named["x"] = layer.x
            elif hasattr(layer, "z") and layer.z is not None:
                named[f"z{k}"] = layer.z
                named[f"a{k}"] = layer.a
        named[f"z{k}"] = self.output
        return named

    @property
    def label(self) -> str:
        sizes = [self.config["input_size"], *self.config["hiddens"], self.config["output_size"]]
        return "MLP(" + "-".join(map(str, sizes)) + ")"

    # -- persistence ---------------------------------------------------------------------
    def save(self, path) -> None:
        from derivations.backend.nn.checkpoint import save_model
        save_model(self, path)

    save_model = save

    @classmethod
    def load(cls, path) -> MLP:
        """The MLP saved at ``path``, its stored configuration and array headers checked first."""
        from derivations.backend.nn.checkpoint import NpzFile, StoredConfig, copy_arrays
        with NpzFile(path) as data:
            options = cls.options_from_config(StoredConfig.read(data, cls.__name__))
            options["dtype"] = np.dtype(options["dtype"])
            data.check_shapes(cls.state_shapes(**options), options["dtype"])
            model = cls(options.pop("input_size"), options.pop("output_size"), options.pop("hiddens"),
                        options.pop("activations"), **options)
            copy_arrays(data, {name: p.data for name, p in model.named_parameters()})
        return model

    @staticmethod
    def options_from_config(config) -> dict:
        """Constructor options from a stored configuration (a checkpoint's ``StoredConfig``),
        every field type- and range-checked before anything is built."""
        from derivations.backend.nn.activations import ACTIVATIONS
        hiddens = config.integers("hiddens", 1, MAX_WIDTH, (0, MAX_DEPTH))
        return dict(input_size=config.integer("input_size", 1, MAX_WIDTH),
                    output_size=config.integer("output_size", 1, MAX_WIDTH), hiddens=hiddens,
                    activations=config.choices("activations", [*ACTIVATIONS, "gelu-sigmoid"], len(hiddens)),
                    dropout=config.number("dropout", 0.0, 0.99, 0.0),
                    dtype=config.choice("dtype", ("float32", "float64")))

    @staticmethod
    def state_shapes(input_size: int, output_size: int, hiddens, dropout: float = 0.0, **_) -> dict:
        """The parameter shapes an MLP of these sizes has, by name, without building it."""
        sizes = [input_size, *hiddens, output_size]
        shapes, index = {}, 0
        for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            shapes[f"net.layers.{index}.W"], shapes[f"net.layers.{index}.b"] = (d_in, d_out), (d_out,)
            index += 1 if k == len(hiddens) else 3 if dropout else 2     # Linear, activation, Dropout
        return shapes
