"""The NumPy deep-learning backend: layers with explicit forward/backward, losses, optimizers.

One module per job: ``parameter`` (Parameter + generic discovery), ``base`` (the Layer base
class), ``layers`` (Linear, Dropout, Flatten, Sequential), ``activations``, ``losses``,
``init``, ``optim``, ``schedules``, ``mlp`` (the sheet-a1 MLP), ``data`` (mini-batches),
``training`` (the loop, ``get_training_stats``), ``checkpoint`` (.npz), ``gradcheck``
(central differences) and ``threads`` (BLAS thread count).
"""

from derivations.backend.nn.activations import (ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus,
                                        Tanh)
from derivations.backend.nn.base import Layer, LayerInputError
from derivations.backend.nn.layers import Dropout, Flatten, Linear, Sequential
from derivations.backend.nn.losses import BCELoss, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy
from derivations.backend.nn.mlp import MLP
from derivations.backend.nn.optim import SGD, Adam, Optimizer
from derivations.backend.nn.parameter import Parameter

__all__ = [
    "ELU", "GELU", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softplus", "Tanh",
    "Layer", "LayerInputError", "Dropout", "Flatten", "Linear", "Sequential",
    "BCELoss", "BCEWithLogitsLoss", "MSELoss", "SoftmaxCrossEntropy", "MLP",
    "SGD", "Adam", "Optimizer", "Parameter",
]
