"""How numbers print: money, shares, seconds, counts and 95% bands, the same way everywhere.

The terminal tables (run, compare, sweep, stress, break-even) and the report all print through
these, so a number a user reads in one place reads the same in another. Every formatter takes
`extra`, more digits than it would show by default; `band` uses it to print an interval whose two
ends differ with as few digits as tell them apart. None prints as a dash: a metric with no value.
"""

from __future__ import annotations

import math
from collections.abc import Callable

DASH = "—"
MINUS = "−"  # a real minus sign: a hyphen reads as a dash in a table column

Formatter = Callable[[float | None, int], str]


def _decimals(value: float, significant: int) -> int:
    """The decimals that show `significant` significant digits of value (0 for whole numbers)."""
    if value == 0 or not math.isfinite(value):
        return 0
    return max(0, significant - 1 - math.floor(math.log10(abs(value))))


def _signed(value: float, text: str) -> str:
    """text (printed from abs(value)) with a minus sign when value is negative and not rounded
    to zero."""
    rounded_to_zero = not any(c in "123456789" for c in text)
    return MINUS + text if value < 0 and not rounded_to_zero else text


def money(value: float | None, extra: int = 0) -> str:
    """US dollars: whole dollars from $100, cents from $1, three significant digits below
    (a per-call price: $0.000123)."""
    if value is None:
        return DASH
    size = abs(value)
    decimals = 0 if size >= 100 else 2 if size >= 1 else _decimals(value, 3)
    return _signed(value, f"${size:,.{decimals + extra}f}")


def money_short(value: float) -> str:
    """An axis tick in dollars: thousands as k from $10,000 ($25k), whole dollars below."""
    if abs(value) >= 10_000:
        return _signed(value, f"${abs(value) / 1000:,.0f}k")
    return _signed(value, f"${abs(value):,.0f}")


def share(value: float | None, extra: int = 0) -> str:
    """A share as a percentage: two decimals from 0.1%, two significant digits below (0.0043%)."""
    if value is None:
        return DASH
    percent = 100 * value
    decimals = 2 if abs(percent) >= 0.1 or percent == 0 else _decimals(percent, 2)
    return _signed(percent, f"{abs(percent):,.{decimals + extra}f}%")


def seconds(value: float | None, extra: int = 0) -> str:
    """A duration: three significant digits (0.123 s, 12.3 s), whole seconds from 100 s."""
    if value is None:
        return DASH
    decimals = 0 if abs(value) >= 100 else _decimals(value, 3)
    return _signed(value, f"{abs(value):,.{decimals + extra}f} s")


def count(value: float | None, extra: int = 0) -> str:
    """A count with thousands separators (30,050,000); a mean over replications that is not whole
    keeps one decimal (4.5)."""
    if value is None:
        return DASH
    whole = float(value).is_integer() and not extra
    return _signed(value, f"{abs(value):,.0f}" if whole else f"{abs(value):,.{1 + extra}f}")


def number(value: float | None, extra: int = 0) -> str:
    """Any other number: a whole number as a count, else four significant digits, never in
    scientific notation."""
    if value is None:
        return DASH
    if float(value).is_integer() and not extra:
        return count(value)
    return _signed(value, f"{abs(value):,.{_decimals(value, 4) + extra}f}")


def days(value: float | None, extra: int = 0) -> str:
    """A day on the horizon, to a tenth (46.5)."""
    return DASH if value is None else _signed(value, f"{abs(value):,.{1 + extra}f}")


def band(
    low: float | None, high: float | None, fmt: Formatter, at_least: float | None = None
) -> str:
    """An interval "low – high", each end with the fewest extra digits that tell them apart;
    `at_least` clamps both ends (0 for a count, which cannot be negative). Empty without one."""
    if low is None or high is None:
        return ""
    if at_least is not None:
        low, high = max(low, at_least), max(high, at_least)
    shown = (fmt(low, 0), fmt(high, 0))
    for extra in range(1, 6):
        if shown[0] != shown[1] or low == high:
            break
        shown = (fmt(low, extra), fmt(high, extra))
    return f"{shown[0]} – {shown[1]}"


COUNT_METRICS = ("calls", "alerts", "retrains")
SHARE_SUFFIXES = ("_rate", "_ratio", "_utilization", "_attainment")


def for_metric(name: str) -> Formatter:
    """The formatter for a summary metric by its name: money for *_usd, a share for rates and
    ratios, seconds for *_s, counts for calls, alerts and retrainings, else a plain number."""
    if name.endswith("_usd"):
        return money
    if name.endswith(SHARE_SUFFIXES) or name in ("student_utilization", "slo_attainment"):
        return share
    if name.endswith("_s"):
        return seconds
    if name in COUNT_METRICS:
        return count
    if name.endswith("_day"):
        return days
    return number


def metric_band(name: str, low: float | None, high: float | None) -> str:
    """A metric's 95% interval, counts clamped at zero."""
    return band(low, high, for_metric(name), 0.0 if name in COUNT_METRICS else None)
