"""The shared formatters against hand-worked strings: the same number prints the same way in the
terminal tables, the break-even table and the report."""

import pytest

from sim.formatting import (
    band,
    count,
    days,
    for_metric,
    metric_band,
    money,
    money_short,
    number,
    seconds,
    share,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (22500.0, "$22,500"),
        (1234567.891, "$1,234,568"),
        (100.0, "$100"),
        (99.994, "$99.99"),
        (1.5, "$1.50"),
        (0.0123, "$0.0123"),
        (0.000123456, "$0.000123"),
        (0.0, "$0"),
        (-1234.0, "−$1,234"),
        (-0.004, "−$0.00400"),
        (None, "—"),
    ],
)
def test_money(value, expected):
    assert money(value) == expected


def test_money_short_axis_ticks():
    assert money_short(25_000) == "$25k"
    assert money_short(9_999) == "$9,999"
    assert money_short(-12_000) == "−$12k"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1234, "12.34%"),
        (0.001, "0.10%"),
        (0.000043, "0.0043%"),
        (0.0, "0.00%"),
        (1.0, "100.00%"),
        (-0.05, "−5.00%"),
        (-11.6019, "−1,160.19%"),
        (None, "—"),
    ],
)
def test_share(value, expected):
    assert share(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1234, "0.123 s"), (1.234, "1.23 s"), (12.34, "12.3 s"), (1234.5, "1,234 s"),
     (0.0, "0 s"), (None, "—")],
)  # fmt: skip
def test_seconds(value, expected):
    assert seconds(value) == expected


def test_counts_have_thousands_separators_never_an_exponent():
    assert count(30_050_000.0) == "30,050,000"
    assert count(30_050_000) == "30,050,000"
    assert count(4.5) == "4.5"
    assert count(0) == "0"
    assert number(30_050_000.0) == "30,050,000"
    assert number(0.123456) == "0.1235"
    assert number(1234.5678) == "1,235"
    assert days(46.54) == "46.5"


def test_a_band_shows_enough_digits_to_tell_its_ends_apart():
    # a cost per call of about a cent: "$0.01 – $0.01" told a user nothing
    assert band(0.010012, 0.010049, money) == "$0.01001 – $0.01005"
    assert band(0.0123, 0.0456, money) == "$0.0123 – $0.0456"
    assert band(1234.0, 1234.4, money) == "$1,234.0 – $1,234.4"
    assert band(0.5, 0.5, money) == "$0.500 – $0.500"  # equal ends stay equal
    assert band(None, 1.0, money) == ""


def test_a_count_band_is_clamped_at_zero():
    # a mean of 2 alerts over two replications: t-interval −0.5 to 4.5, but a count is ≥ 0
    assert band(-0.5, 4.5, count, at_least=0.0) == "0 – 4.5"
    assert metric_band("alerts", -0.5, 4.5) == "0 – 4.5"
    assert metric_band("excess_error_rate", -0.001, 0.002) == "−0.10% – 0.20%"


def test_each_metric_has_its_formatter():
    assert for_metric("cost_per_call_usd") is money
    assert for_metric("cost.total_usd") is money
    assert for_metric("silent_failure_rate") is share
    assert for_metric("savings_ratio") is share
    assert for_metric("slo_attainment") is share
    assert for_metric("student_utilization") is share
    assert for_metric("latency_p99_s") is seconds
    assert for_metric("calls") is count
    assert for_metric("break_even_day") is days
