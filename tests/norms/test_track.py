import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from norms import Exemption, PlanEvent, Policy, Reopen, fold_history
from norms.track import TrackWeek, WeekInput, as_of, fold_track, next_failing_step
from tests.norms.builders import START, STRIKES, TRACK, day, history, inputs, weekly


def steps(track: list[TrackWeek]) -> list[int]:
    return [t.step for t in track]


# --- verbetertraject-24w -------------------------------------------------------------


def test_the_ladder_of_a_track() -> None:
    track = fold_track(TRACK, inputs("F" * 9))
    assert steps(track) == [1, 2, 3, 4, 5, 6, 7, 7, 7]
    assert [t.message for t in track] == [
        "warning",
        "warning",
        "warning",
        "warning",
        "suspension",
        "last_warning",
        "closure",
        None,
        None,
    ]
    assert [t.state for t in track] == ["open"] * 6 + ["closed"] * 3
    assert [t.plan for t in track] == [None] * 4 + ["required"] * 2 + [None] * 3
    assert [t.weeks_to_end for t in track] == [24] * 6 + [None] * 3
    assert all(t.failing for t in track)
    assert track[0].opened == START
    assert track[8].opened == START


def test_a_closed_track_stays_closed() -> None:
    track = fold_track(TRACK, inputs("F" * 7 + "." * 30 + "F"))
    assert all(t.state == "closed" and t.step == 7 for t in track[6:])
    assert all(t.message is None and not t.ended for t in track[7:])
    assert all(t.weeks_to_end is None and t.plan is None for t in track[6:])


def test_failing_weeks_need_not_be_consecutive() -> None:
    track = fold_track(TRACK, inputs("F..F....F"))
    assert steps(track) == [1, 1, 1, 2, 2, 2, 2, 2, 3]
    assert [t.compliant_weeks for t in track] == [0, 1, 2, 0, 1, 2, 3, 4, 0]
    assert [t.weeks_to_end for t in track] == [24, 23, 22, 24, 23, 22, 21, 20, 24]
    assert [t.message for t in track] == ["warning", None, None, "warning"] + [None] * 4 + [
        "warning"
    ]


def test_no_track_before_the_first_failing_week() -> None:
    track = fold_track(TRACK, inputs("..."))
    assert [(t.state, t.step, t.compliant_weeks, t.weeks_to_end, t.plan) for t in track] == [
        ("none", 0, 0, None, None)
    ] * 3
    assert all(t.opened is None for t in track)


def test_24_clean_weeks_end_the_track_and_the_next_failure_opens_a_new_one() -> None:
    track = fold_track(TRACK, inputs("FF" + "." * 24 + ".F"))
    assert track[24].state == "open"
    assert track[24].compliant_weeks == 23
    assert track[24].weeks_to_end == 1
    assert track[24].end_week == START.shift(25)
    ended = track[25]
    assert (ended.state, ended.step, ended.ended, ended.weeks_to_end, ended.plan) == (
        "none",
        0,
        True,
        None,
        None,
    )
    assert ended.compliant_weeks == 0
    assert [t.ended for t in track].count(True) == 1
    assert track[26].state == "none"
    new = track[27]
    assert (new.state, new.step, new.message, new.opened) == (
        "open",
        1,
        "warning",
        START.shift(27),
    )


def test_23_clean_weeks_do_not_end_the_track() -> None:
    track = fold_track(TRACK, inputs("F" + "." * 23 + "F"))
    assert track[-1].step == 2
    assert track[-1].compliant_weeks == 0
    assert not any(t.ended for t in track)


def test_a_suspended_track_also_ends_after_24_clean_weeks() -> None:
    track = fold_track(TRACK, inputs("FFFFF" + "." * 24 + "F"))
    assert track[4].plan == "required"
    assert track[28].ended is True
    assert track[28].plan is None
    assert (track[29].step, track[29].message, track[29].plan) == (1, "warning", None)


def test_weeks_without_data_count_as_clean() -> None:
    h = history(weekly("F" + "-" * 23 + "."))
    track = fold_history(TRACK, h, START.shift(24))
    assert len(track) == 25
    assert track[23].compliant_weeks == 23
    assert track[24].ended is True
    assert fold_history(TRACK, h, START.shift(23))[-1].weeks_to_end == 1


def test_fold_starts_at_the_first_week_with_data() -> None:
    h = history(weekly("F", start=START.shift(3)))
    track = fold_history(TRACK, h, START.shift(5))
    assert [t.week for t in track] == [START.shift(3), START.shift(4), START.shift(5)]
    assert fold_history(TRACK, h, START.shift(2)) == []


def test_plan_submitted_and_approved() -> None:
    suspended = START.shift(4)
    after = suspended.shift(1)
    pattern = inputs("FFFFF..F")
    assert [t.plan for t in fold_track(TRACK, pattern)][4:] == ["required"] * 4
    assert fold_track(TRACK, pattern)[4].plan_since == suspended

    submitted = [PlanEvent(day(after), "submitted")]
    track = fold_track(TRACK, pattern, submitted)
    assert [t.plan for t in track][4:] == ["submitted"] * 4
    assert track[3].plan is None

    approved = [*submitted, PlanEvent(day(after.shift(1)), "approved")]
    assert fold_track(TRACK, pattern, approved)[-1].plan == "approved"


def test_plan_events_of_an_earlier_track_do_not_count() -> None:
    early = [PlanEvent(day(START.shift(1)), "approved")]
    track = fold_track(TRACK, inputs("FFFFF"), early)
    assert track[4].plan == "required"


def test_a_late_exemption_changes_the_track() -> None:
    measurements = weekly("FFF")
    assert steps(fold_history(TRACK, history(measurements), START.shift(2))) == [1, 2, 3]
    exempt = history(measurements, exemptions=[Exemption(START.shift(1), "PostNL strike")])
    track = fold_history(TRACK, exempt, START.shift(2))
    assert steps(track) == [1, 1, 2]
    assert [t.failing for t in track] == [True, False, True]
    other_seller = history(
        measurements,
        exemptions=[Exemption(START.shift(1), "outage", sellers=frozenset({"shop-9"}))],
    )
    assert steps(fold_history(TRACK, other_seller, START.shift(2))) == [1, 2, 3]


def test_an_exempt_week_counts_as_clean_towards_the_end() -> None:
    measurements = weekly("F" + "F" * 24)
    exemptions = [Exemption(START.shift(i), "outage") for i in range(1, 25)]
    track = fold_history(TRACK, history(measurements, exemptions=exemptions), START.shift(24))
    assert track[-1].ended is True


def test_reopen_after_closure() -> None:
    pattern = inputs("F" * 7 + "..F")
    reopen = [Reopen(day(START.shift(8)))]
    track = fold_track(TRACK, pattern, reopens=reopen)
    assert track[6].state == "closed"
    assert track[7].state == "closed"
    assert (track[8].state, track[8].step, track[8].opened) == ("none", 0, None)
    assert (track[9].state, track[9].step, track[9].message) == ("open", 1, "warning")
    assert fold_track(TRACK, pattern)[-1].state == "closed"


def test_a_reopen_before_the_closure_does_not_undo_it() -> None:
    track = fold_track(TRACK, inputs("F" * 7 + "..F"), reopens=[Reopen(day(START.shift(2)))])
    assert [t.state for t in track[6:]] == ["closed"] * 4


def test_next_failing_step_under_track() -> None:
    assert next_failing_step(TRACK, None) == (1, "warning")
    track = fold_track(TRACK, inputs("FFFF"))
    assert next_failing_step(TRACK, track[-1]) == (5, "suspension")
    track = fold_track(TRACK, inputs("FFFFFF"))
    assert next_failing_step(TRACK, track[-1]) == (7, "closure")
    assert next_failing_step(TRACK, fold_track(TRACK, inputs("F" * 7))[-1]) is None
    assert next_failing_step(TRACK, fold_track(TRACK, inputs(".."))[-1]) == (1, "warning")


def test_as_of() -> None:
    track = fold_track(TRACK, inputs("F.F"))
    assert as_of(track, START.shift(1)) == track[1]
    assert as_of(track, START.shift(-1)) is None
    later = as_of(track, START.shift(10))
    assert later is not None
    assert (later.week, later.step) == (START.shift(10), 2)


# --- strikes-22w ---------------------------------------------------------------------


def test_strikes_count_climbs_the_same_ladder_and_closes_at_7() -> None:
    track = fold_track(STRIKES, inputs("F" * 7 + "." * 30))
    assert steps(track)[:7] == [1, 2, 3, 4, 5, 6, 7]
    assert [t.message for t in track[:7]] == [
        "warning",
        "warning",
        "warning",
        "warning",
        "suspension",
        "last_warning",
        "closure",
    ]
    assert [t.state for t in track[:7]] == ["open"] * 6 + ["closed"]
    assert [t.plan for t in track[:7]] == [None] * 4 + ["required"] * 2 + [None]
    # Closed for good: the strikes no longer expire.
    assert all(t.state == "closed" and t.step == 7 for t in track[6:])
    assert all(t.expired_strike is None and t.message is None for t in track[7:])
    assert all(t.weeks_to_end is None for t in track)


def test_a_strike_expires_after_22_weeks() -> None:
    track = fold_track(STRIKES, inputs("F" + "." * 22))
    assert track[21].step == 1
    assert track[21].state == "open"
    assert track[21].strikes == (START,)
    assert track[22].step == 0
    assert track[22].state == "none"
    assert track[22].expired_strike == START
    assert [t.expired_strike for t in track[:22]] == [None] * 22


def test_strike_step_is_the_count_in_the_window() -> None:
    track = fold_track(STRIKES, inputs("F....F....F" + "." * 11 + "...." + "F."))
    assert track[10].step == 3
    assert track[21].step == 3
    assert (track[22].step, track[22].expired_strike) == (2, START)
    assert (track[26].step, track[26].expired_strike, track[26].message) == (
        3,
        None,
        "warning",
    )
    assert track[26].strikes == (START.shift(5), START.shift(10), START.shift(26))
    assert (track[27].step, track[27].expired_strike) == (2, START.shift(5))
    assert track[27].strikes == (START.shift(10), START.shift(26))


def test_a_fifth_strike_after_an_expiry_is_a_warning_again() -> None:
    # Strikes in weeks 0-4 (5: suspension); week 22 and 23 drop weeks 0 and 1.
    track = fold_track(STRIKES, inputs("FFFFF" + "." * 18 + "F"))
    assert track[4].message == "suspension"
    assert track[22].step == 4
    assert (track[23].step, track[23].message) == (4, "warning")
    assert track[23].expired_strike == START.shift(1)


def test_strikes_track_has_no_end_and_counts_clean_weeks() -> None:
    track = fold_track(STRIKES, inputs("F" + "." * 30))
    assert not any(t.ended for t in track)
    assert track[5].compliant_weeks == 5
    assert track[0].opened == START
    assert track[22].opened is None


def test_strikes_reopen_after_closure() -> None:
    pattern = inputs("F" * 7 + "..F")
    track = fold_track(STRIKES, pattern, reopens=[Reopen(day(START.shift(8)))])
    assert track[7].state == "closed"
    assert (track[8].state, track[8].step) == ("none", 0)
    assert (track[9].state, track[9].step, track[9].message) == ("open", 1, "warning")


def test_next_failing_step_under_strikes_sees_the_expiry() -> None:
    track = fold_track(STRIKES, inputs("FF" + "." * 20))
    # After week 21 both strikes still count; in week 22 the first drops out.
    assert track[-1].step == 2
    assert next_failing_step(STRIKES, track[-1]) == (2, "warning")
    track = fold_track(STRIKES, inputs("FFFF"))
    assert next_failing_step(STRIKES, track[-1]) == (5, "suspension")


# --- properties ----------------------------------------------------------------------

patterns = st.lists(st.booleans(), max_size=90)


def fold(policy_kind: str, failing: list[bool]) -> list[TrackWeek]:
    policy = TRACK if policy_kind == "track" else STRIKES
    return fold_track(policy, [WeekInput(START.shift(i), f) for i, f in enumerate(failing)])


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["track", "strikes"]), patterns)
def test_fold_is_deterministic(kind: str, failing: list[bool]) -> None:
    first = fold(kind, failing)
    assert fold(kind, list(failing)) == first
    assert len(first) == len(failing)
    assert [t.week for t in first] == [START.shift(i) for i in range(len(failing))]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), max_size=90))
def test_track_never_skips_or_repeats_a_step(failing: list[bool]) -> None:
    track = fold("track", failing)
    previous_state, previous_step = "none", 0
    for tw, fails in zip(track, failing, strict=True):
        assert 0 <= tw.step <= 7
        if previous_state == "closed":
            assert (tw.state, tw.step, tw.message) == ("closed", 7, None)
        elif fails:
            assert tw.step == previous_step + 1
            assert tw.message == TRACK.kind_at(tw.step)
            assert tw.state == ("closed" if tw.step == 7 else "open")
        else:
            assert tw.message is None
            assert tw.step in (previous_step, 0)
            assert tw.ended == (tw.step == 0 and previous_step > 0)
        assert (tw.weeks_to_end is not None) == (tw.state == "open")
        previous_state, previous_step = tw.state, tw.step


@settings(max_examples=100, deadline=None)
@given(st.lists(st.booleans(), min_size=7, max_size=90))
def test_a_closed_track_never_reopens_without_a_reopen(failing: list[bool]) -> None:
    for kind in ("track", "strikes"):
        states = [t.state for t in fold(kind, failing)]
        if "closed" in states:
            assert set(states[states.index("closed") :]) == {"closed"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.booleans(), max_size=90))
def test_strike_step_equals_failing_weeks_in_the_window(failing: list[bool]) -> None:
    track = fold("strikes", failing)
    for i, tw in enumerate(track):
        if tw.state == "closed":
            break
        in_window = sum(failing[max(0, i - 21) : i + 1])
        assert tw.step == in_window
        assert tw.state == ("open" if in_window else "none")
        expired = i >= 22 and failing[i - 22]
        assert tw.expired_strike == (START.shift(i - 22) if expired else None)
        assert tw.weeks_to_end is None


@pytest.mark.parametrize("policy", [TRACK, STRIKES], ids=["track", "strikes"])
def test_empty_fold(policy: Policy) -> None:
    assert fold_track(policy, []) == []
