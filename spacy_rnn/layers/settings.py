"""Checks of layer settings, shared so each error names the setting the same way."""
from ..errors import Errors


def check_probability(setting: str, value: object) -> None:
    if (not isinstance(value, (int, float)) or isinstance(value, bool)
            or not 0.0 <= value < 1.0):
        raise ValueError(Errors.RNN001.format(
            setting=setting, value=value, expected="a number in [0, 1)"))


def check_positive(setting: str, value: object) -> None:
    check_int_at_least(setting, value, 1)


def check_int_at_least(setting: str, value: object, lowest: int, expected: str = "") -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < lowest:
        raise ValueError(Errors.RNN001.format(
            setting=setting, value=value, expected=expected or f"an integer >= {lowest}"))
