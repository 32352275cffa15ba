"""Number formats every page agrees on."""

from __future__ import annotations


def format_accuracy(value: float | None) -> str:
    """Accuracy 0..1 as a percent with two decimals, e.g. 98.53%."""
    return "n/a" if value is None else f"{100 * value:.2f}%"


def format_loss(value: float | None) -> str:
    """Loss with four decimals; NaN or missing as 'NaN'."""
    return "NaN" if value is None or value != value else f"{value:.4f}"


def format_seconds(value: float | None) -> str:
    """Seconds with one decimal, e.g. 2.5 s."""
    return "n/a" if value is None else f"{value:.1f} s"


def format_count(value: int | None) -> str:
    """Format a count with thousands separators, e.g. 669,706."""
    return "n/a" if value is None else f"{value:,}"


def format_probability(value: float | None) -> str:
    """Format a probability 0..1 as a percent with one decimal, e.g. 97.3%."""
    return "n/a" if value is None else f"{100 * value:.1f}%"
