"""User text is parsed by an AST whitelist and never evaluated."""

import pytest
import sympy as sp

from derivations.core.errors import UserError
from derivations.core.parsing import parse_expression


def test_numbers_are_exact():
    assert parse_expression("0.1") == sp.Rational(1, 10)
    assert parse_expression("1/3 + 2^3") == sp.Rational(25, 3)
    assert parse_expression("exp(-1)") == sp.exp(-1)


def test_names_come_only_from_the_given_symbols():
    x = sp.Symbol("x")
    assert parse_expression("tanh(x)**2", {"x": x}) == sp.tanh(x) ** 2
    with pytest.raises(UserError, match="unknown name 'y'"):
        parse_expression("y + 1", {"x": x})


@pytest.mark.parametrize("text", ["__import__('os')", "x.__class__", "[1, 2]", "lambda: 1", "'a'",
                                  "open('f')", "(1).real", "x if x else 1", "1 +"])
def test_everything_else_is_rejected(text):
    with pytest.raises(UserError):
        parse_expression(text, {"x": sp.Symbol("x")})
