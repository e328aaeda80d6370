"""Stepping the fold equals folding from scratch: for random histories, exemptions,
ratings, plan events, reopens and both policies, a report made from the carry of the
week before and the window of measurements equals the report of the whole history, as
the fold before it was split into steps (``oracle``) makes it."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from norms import Indicator, IsoWeek, Measurement, Policy, SellerHistory, evaluate_week
from norms.carry import carry_week, fold_carry, reads_from
from norms.report import evaluate_next
from tests.norms import oracle
from tests.norms.builders import TRACK, fail_fulfilment, history
from tests.norms.histories import FIRST, POLICIES, seller_histories


def window_of(
    policy: Policy, history: SellerHistory, week: IsoWeek, fold_from: IsoWeek | None
) -> SellerHistory:
    """Only what a check reads besides the carry (folded from ``fold_from``)."""
    since = reads_from(policy, week, fold_from)
    kept: dict[IsoWeek, dict] = {}
    for w, by_indicator in history.measurements.items():
        for indicator, m in by_indicator.items():
            start = since[indicator]
            if w <= week and (start is None or start <= w):
                kept.setdefault(w, {})[indicator] = m
    return replace(history, measurements=kept)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POLICIES), seller_histories(), st.data())
def test_stepping_from_a_carry_equals_folding_from_scratch(
    policy: Policy, drawn: tuple[SellerHistory, int], data: st.DataObject
) -> None:
    full, weeks = drawn
    last = FIRST.shift(weeks + 2)  # a few weeks past the data: weeks without data count
    split = data.draw(st.integers(0, weeks + 2), label="weeks folded before stepping")
    carry = fold_carry(policy, full, FIRST.shift(split - 1))
    for week in FIRST.shift(split).until(last):
        fold_from = None if carry is None else carry.week.shift(1)
        report, carry = evaluate_next(policy, carry, window_of(policy, full, week, fold_from), week)
        assert report == oracle.evaluate_week(policy, full, week)
        assert report == evaluate_week(policy, full, week)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(POLICIES), seller_histories(), st.data())
def test_folding_the_weeks_since_an_older_carry_from_what_is_read_equals_scratch(
    policy: Policy, drawn: tuple[SellerHistory, int], data: st.DataObject
) -> None:
    full, weeks = drawn
    split = data.draw(st.integers(1, weeks + 1), label="weeks folded into the stored carry")
    week = FIRST.shift(split + data.draw(st.integers(0, 25), label="weeks since"))
    carry = fold_carry(policy, full, FIRST.shift(split - 1))
    read = window_of(policy, full, week, FIRST.shift(split) if carry is not None else None)
    carry = fold_carry(policy, read, week.shift(-1), carry) if carry is not None else carry
    if carry is None:
        carry = fold_carry(policy, read, week.shift(-1))
    report, _ = evaluate_next(policy, carry, read, week)
    assert report == oracle.evaluate_week(policy, full, week)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(POLICIES), seller_histories())
def test_the_track_of_each_step_is_the_track_folded_whole(
    policy: Policy, drawn: tuple[SellerHistory, int]
) -> None:
    full, weeks = drawn
    folded = oracle.fold_history(policy, full, FIRST.shift(weeks))
    carry = None
    stepped = []
    for week in FIRST.until(FIRST.shift(weeks)):
        carry = carry_week(policy, carry, full, week)
        if carry is not None:
            stepped.append(carry.track)
    assert stepped == folded


def test_no_carry_before_the_first_week_with_data() -> None:
    h = history([fail_fulfilment(FIRST.shift(3))])
    assert fold_carry(TRACK, h, FIRST.shift(2)) is None
    carry = fold_carry(TRACK, h, FIRST.shift(5))
    assert carry is not None
    assert carry.first_week == FIRST.shift(3)
    assert (carry.week, carry.track.step, carry.track.compliant_weeks) == (FIRST.shift(5), 1, 2)


def test_a_fold_from_scratch_reads_the_first_week_whatever_indicator_it_holds() -> None:
    # Only a non-escalating figure in the seller's first week: the track still starts there.
    pa = Indicator.PHONE_AVAILABILITY
    full = history([Measurement(pa, FIRST.shift(1), value=0.0)])
    week = FIRST.shift(2)
    read = window_of(TRACK, full, week, None)
    report, _ = evaluate_next(TRACK, fold_carry(TRACK, read, week.shift(-1)), read, week)
    assert report.track is not None and report.track.state == "none"
    assert report == oracle.evaluate_week(TRACK, full, week)
