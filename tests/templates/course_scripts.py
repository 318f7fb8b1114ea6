"""Course-style test scripts for sheet hw1's ``mlp.py``, as text to write beside it.

Each script does what the course's graders do: build the network with ``torch.nn.Linear``,
copy the template network's parameters in, let autograd compute the reference, and print
one ``tensor(True)`` / ``tensor(False)`` per comparison.
"""

CHECKS = '''\
from collections import OrderedDict

import torch
import torch.nn as nn

from mlp import MLP, bce_loss, mse_loss

ACTIVATION = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "identity": nn.Identity}
COMPARISONS = 7


def check(f, g, loss, batch, n_in, n_hidden, n_out, saturate=False):
    """Print COMPARISONS lines: y_hat, J, dJ/dy_hat, dJ/dW1, dJ/db1, dJ/dW2, dJ/db2."""
    net = MLP(linear_1_in_features=n_in, linear_1_out_features=n_hidden, f_function=f,
              linear_2_in_features=n_hidden, linear_2_out_features=n_out, g_function=g)
    x = torch.randn(batch, n_in)
    if loss == "mse":
        y = torch.randn(batch, n_out)
    else:
        y = (torch.rand(batch, n_out) < 0.5).float()
    with torch.no_grad():
        if loss == "bce" and g != "sigmoid":
            # BCELoss needs y_hat in [0, 1]: shrink W2 so that |h W2^T| <= 0.45 and centre
            # b2 at 0.5; for g = relu one output column gets b2 = -1, so y_hat = 0 exactly.
            h = ACTIVATION[f]()(x @ net.parameters["W1"].T + net.parameters["b1"])
            net.parameters["W2"] *= 0.45 / (h @ net.parameters["W2"].T).abs().max().clamp(min=0.45)
            net.parameters["b2"].fill_(0.5)
            if g == "relu":
                net.parameters["b2"][0] = -1.0
        if saturate:   # large weights: sigmoid outputs of exactly 0.0 and 1.0 in float32
            net.parameters["W2"] *= 40.0
            net.parameters["b2"] *= 40.0

    net.clear_grad_and_cache()
    y_hat = net.forward(x)
    J, dJdy_hat = (mse_loss if loss == "mse" else bce_loss)(y, y_hat)
    net.backward(dJdy_hat)

    net_autograd = nn.Sequential(OrderedDict([
        ("linear1", nn.Linear(n_in, n_hidden)), ("f", ACTIVATION[f]()),
        ("linear2", nn.Linear(n_hidden, n_out)), ("g", ACTIVATION[g]())]))
    net_autograd.linear1.weight.data = net.parameters["W1"]
    net_autograd.linear1.bias.data = net.parameters["b1"]
    net_autograd.linear2.weight.data = net.parameters["W2"]
    net_autograd.linear2.bias.data = net.parameters["b2"]
    criterion = nn.MSELoss() if loss == "mse" else nn.BCELoss()
    y_hat_autograd = net_autograd(x)
    J_autograd = criterion(y_hat_autograd, y)
    net_autograd.zero_grad()
    J_autograd.backward()
    # The course prints (dJdy_hat - y_hat_autograd.grad).norm() < 1e-3: PyTorch's gradient at
    # PyTorch's own y_hat. Where an output is a few float32 ulps from 0 or 1 without being
    # exactly 0 or 1, that gradient (up to 1e12/N) moves by far more than 1e-3 when y_hat moves
    # by one ulp, so the course's line can hold only for a forward pass bit-identical to
    # PyTorch's (MKL's GEMM order, SLEEF's exp), which the NumPy forward is not. The reference
    # here is PyTorch's gradient at the template's y_hat, compared as the course compares: an
    # absolute norm below 1e-3 (the BCE is PyTorch's to the bit, so the difference is 0).
    y_hat_leaf = y_hat.detach().clone().requires_grad_(True)
    criterion(y_hat_leaf, y).backward()
    reference = y_hat_leaf.grad

    print((y_hat - y_hat_autograd).norm() < 1e-3)
    print((J - J_autograd).abs() < 1e-3)
    print((dJdy_hat - reference).norm() < 1e-3)
    print((net_autograd.linear1.weight.grad.data - net.grads["dJdW1"]).norm() < 1e-3)
    print((net_autograd.linear1.bias.grad.data - net.grads["dJdb1"]).norm() < 1e-3)
    print((net_autograd.linear2.weight.grad.data - net.grads["dJdW2"]).norm() < 1e-3)
    print((net_autograd.linear2.bias.grad.data - net.grads["dJdb2"]).norm() < 1e-3)
    return y_hat
'''

PAIRS = '''\
"""Every f/g pair with both losses, over seeds argv[1] .. argv[2] - 1."""
import sys

import torch

from course_checks import ACTIVATION, check

for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    torch.manual_seed(seed)
    for f in ACTIVATION:
        for g in ACTIVATION:
            for loss in ("mse", "bce"):
                check(f, g, loss, batch=10, n_in=2, n_hidden=20, n_out=5)
'''

SHAPES = '''\
"""Several shapes, a batch of one and a 1-1-1 network among them."""
import torch

from course_checks import check

torch.manual_seed(0)
for batch, n_in, n_hidden, n_out in [(1, 3, 4, 2), (1, 1, 1, 1), (7, 5, 3, 8), (32, 16, 12, 4), (3, 6, 6, 6)]:
    for f, g in [("relu", "sigmoid"), ("sigmoid", "identity"), ("identity", "relu")]:
        for loss in ("mse", "bce"):
            check(f, g, loss, batch, n_in, n_hidden, n_out)
'''

SATURATED = '''\
"""Sigmoid outputs of exactly 0.0 and 1.0 (float32) under BCE, over seeds argv[1] .. argv[2] - 1:
the loss clamps each log at -100 and its gradient divides by max(y_hat (1 - y_hat), 1e-12).
Last, how many of the networks had outputs of exactly 0.0 and exactly 1.0."""
import sys

import torch

from course_checks import ACTIVATION, check

both = 0
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    torch.manual_seed(seed)
    for f in ACTIVATION:
        for batch in (16, 1):
            y_hat = check(f, "sigmoid", "bce", batch, n_in=4, n_hidden=10, n_out=6, saturate=True)
            both += bool((y_hat == 0).any() & (y_hat == 1).any())
print(f"saturated={both}")
'''

COURSE_EXAMPLE = '''\
"""The course's BCE example (2 -> 70 ReLU -> 5 sigmoid, batch 10, torch.randn inputs), over seeds
argv[1] .. argv[2] - 1; last, how many of those seeds had an output of exactly 0.0 or 1.0."""
import sys

import torch

from course_checks import check

saturated = 0
for seed in range(int(sys.argv[1]), int(sys.argv[2])):
    torch.manual_seed(seed)
    y_hat = check("relu", "sigmoid", "bce", batch=10, n_in=2, n_hidden=70, n_out=5)
    saturated += bool(((y_hat == 0) | (y_hat == 1)).any())
print(f"saturated={saturated}")
'''

SUM_INSTEAD_OF_MEAN = '''\
# A wrong mlp.py: the gradients of the summed loss (J itself stays the mean).
from derivations.backend.nn.losses import Loss
from derivations.backend.templates.hw1_mlp import *  # noqa: F401,F403

Loss._scale = lambda self, count: 1.0
'''

# A wrong gradient convention for any template: each dJ/dW is the transpose of the right
# one (a transpose missing from the formula), forced into W's shape so that nothing crashes.
MISSING_TRANSPOSE_PATCH = '''\
from derivations.backend.nn.layers import Linear

_backward = Linear.backward


def _transposed_backward(self, dz):
    dx = _backward(self, dz)
    self.W.grad[...] = self.W.grad.T.copy().reshape(self.W.grad.shape)
    return dx


Linear.backward = _transposed_backward
'''

MISSING_TRANSPOSE = "from derivations.backend.templates.hw1_mlp import *  # noqa: F401,F403\n" + MISSING_TRANSPOSE_PATCH
