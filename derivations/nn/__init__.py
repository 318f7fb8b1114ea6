"""The NumPy deep-learning backend: layers with explicit forward/backward, losses, optimizers.

One module per job: ``parameter`` (Parameter + generic discovery), ``base`` (the Layer base
class), ``layers`` (Linear, Dropout, Flatten, Sequential), ``activations``, ``losses``,
``init``, ``optim``, ``schedules``, ``mlp`` (the sheet-a1 MLP), ``data`` (mini-batches),
``training`` (the loop, ``get_training_stats``), ``checkpoint`` (.npz), ``gradcheck``
(central differences) and ``threads`` (BLAS thread count).
"""

from derivations.nn.activations import (ELU, GELU, Identity, LeakyReLU, ReLU, Sigmoid, Softplus,
                                        Tanh)
from derivations.nn.base import Layer, LayerInputError
from derivations.nn.layers import Dropout, Flatten, Linear, Sequential
from derivations.nn.losses import BCELoss, BCEWithLogitsLoss, MSELoss, SoftmaxCrossEntropy
from derivations.nn.mlp import MLP
from derivations.nn.optim import SGD, Adam, Optimizer
from derivations.nn.parameter import Parameter

__all__ = [
    "ELU", "GELU", "Identity", "LeakyReLU", "ReLU", "Sigmoid", "Softplus", "Tanh",
    "Layer", "LayerInputError", "Dropout", "Flatten", "Linear", "Sequential",
    "BCELoss", "BCEWithLogitsLoss", "MSELoss", "SoftmaxCrossEntropy", "MLP",
    "SGD", "Adam", "Optimizer", "Parameter",
]
