"""CSV files: both delimiters, BOM, decimal commas, percentages, every rejection rule."""

from __future__ import annotations

from collections.abc import Generator
from datetime import date
from pathlib import Path

from bot.ingest import Issue, MeasurementRow, RatingRow, read_file
from norms.model import Indicator, Measurement, ShopRating
from norms.policy import Policy
from norms.weeks import IsoWeek
from tests.ingest.support import DATA, TODAY, Read, issues, rows

W45, W46, W47 = IsoWeek(2026, 45), IsoWeek(2026, 46), IsoWeek(2026, 47)


def test_indicators_with_commas(read: Read) -> None:
    items = read("indicators.csv")
    assert issues(items) == []
    assert [(row.seller_id, row.line, row.seller_column) for row in rows(items)] == [
        ("shop-1", 2, 1),
        ("shop-1", 3, 1),
        ("shop-1", 4, 1),
        ("shop-1", 5, 1),
        ("shop-1", 6, 1),
        ("shop-1", 7, 1),
        ("shop-2", 9, 1),  # line 8 is blank
        ("shop-2", 10, 1),
    ]
    measurements = [row.measurement for row in rows(items) if isinstance(row, MeasurementRow)]
    assert measurements == [
        Measurement(Indicator.FULFILMENT, W46, 135, 150, None, 0.93),
        Measurement(Indicator.CANCELLATIONS, W46, 3, 150, 0.02, None),
        Measurement(Indicator.RESPONSE_TIME, W46, None, None, 0.95, None),
        Measurement(Indicator.CASE_ITEM_RATIO, W46, 4, 200, None, 0.05),
        Measurement(Indicator.RETURNS, W46, 6, 200, None, 0.03),
        Measurement(Indicator.REVIEWS, W46, None, 12, 8.4, 8.0),
        Measurement(Indicator.PHONE_AVAILABILITY, W45, 0, 0, None, None),
        Measurement(Indicator.TRACK_AND_TRACE, W45, 99, 100, None, 1.0),
    ]
    assert all(m.condition is None and m.conforms is None for m in measurements)


def test_semicolons_bom_decimal_commas_percentages_and_iso_weeks(read: Read) -> None:
    items = read("indicators_semicolon_bom.csv")
    assert issues(items) == []
    assert [row.measurement for row in rows(items) if isinstance(row, MeasurementRow)] == [
        Measurement(Indicator.FULFILMENT, W46, None, None, 0.935, 0.93),
        Measurement(Indicator.CANCELLATIONS, W46, 3, 150, 0.02, 0.02),
        Measurement(Indicator.REVIEWS, W47, None, 12, 8.4, 8.0),
    ]


def test_shop_ratings(read: Read) -> None:
    items = read("ratings.csv")
    assert issues(items) == []
    assert rows(items) == [
        RatingRow(
            "shop-1",
            ShopRating(
                date(2026, 11, 18),
                9.1,
                {"product_information": 9.6, "delivery_time": 9.4, "shipping": 9.4, "service": 9.4},
                64,
                "THREE_MONTHS",
            ),
            "ratings.csv",
            2,
            1,
        ),
        RatingRow(
            "shop-2",
            ShopRating(date(2026, 11, 22), 8.2, {}, 3, "ALL_REVIEWS"),
            "ratings.csv",
            3,
            1,
        ),
    ]


def test_every_bad_indicator_line_is_reported(read: Read) -> None:
    items = read("bad_indicators.csv")
    known = (
        "FULFILMENT, CANCELLATIONS, RESPONSE_TIME, PHONE_AVAILABILITY, TRACK_AND_TRACE, "
        "CASE_ITEM_RATIO, RETURNS, REVIEWS, HANDOVER, ON_TIME"
    )
    assert issues(items) == [
        f"bad_indicators.csv:2:4: indicator 'FULLFILMENT' is unknown; use one of {known}",
        "bad_indicators.csv:3:1: seller_id is empty",
        "bad_indicators.csv:4:5: numerator 'abc' is not a whole number ≥ 0",
        "bad_indicators.csv:5:5: numerator '-3' is not a whole number ≥ 0",
        "bad_indicators.csv:6:5: numerator 160 is greater than denominator 150",
        "bad_indicators.csv:7:7: value '1.2' is outside 0–1 (0–100%)",
        "bad_indicators.csv:8:7: value '120%' is outside 0–1 (0–100%)",
        "bad_indicators.csv:9:7: value '11' is not a rating 1–10",
        "bad_indicators.csv:10:3: week 53 does not exist in ISO year 2025 (it has 52 weeks)",
        "bad_indicators.csv:11:3: week 2026-W48 lies in the future (it starts on 2026-11-23)",
        "bad_indicators.csv:12:7: value is empty and numerator and denominator are not given",
        "bad_indicators.csv:13:6: denominator is empty but numerator is given",
        "bad_indicators.csv:14:7: value '0.3' does not agree with numerator 6 / denominator"
        " 200 = 0.0300 (3.00%); correct one of them, or leave value empty",
        "bad_indicators.csv:15:0: has 6 fields; the header has 8",
        "bad_indicators.csv:16:0: has 9 fields; the header has 8",
        "bad_indicators.csv:17:2: year is empty; give it, or write the week as 2026-W46",
        "bad_indicators.csv:18:3: week 'W46' is not a week number or a week like 2026-W46",
        "bad_indicators.csv:19:1: seller_id is empty",
        "bad_indicators.csv:19:3: week 60 does not exist in ISO year 2026 (it has 53 weeks)",
        f"bad_indicators.csv:19:4: indicator 'NOPE' is unknown; use one of {known}",
        "bad_indicators.csv:19:5: numerator 'x' is not a whole number ≥ 0",
        "bad_indicators.csv:19:6: denominator 'y' is not a whole number ≥ 0",
        "bad_indicators.csv:19:7: value 'z' is not a number like 0.93 or 93%",
        # a quoted field over two lines: the record starts on line 21, the next on 23
        "bad_indicators.csv:21:8: norm '0.9\\n3' is not a number like 0.93 or 93%",
        "bad_indicators.csv:23:7: value '84%' is not a rating 1–10",
    ]
    # the one good line still comes through; the caller rejects the file for the issues
    assert [(row.line, row.seller_id) for row in rows(items)] == [(20, "shop-1")]


def test_every_bad_rating_line_is_reported(read: Read) -> None:
    assert issues(read("bad_ratings.csv")) == [
        "bad_ratings.csv:2:2: date 2026-11-23 lies in the future",
        "bad_ratings.csv:3:2: date '18-11-2026' is not a date like 2026-11-18",
        "bad_ratings.csv:3:3: rating '11' is not a rating 1–10",
        "bad_ratings.csv:3:4: product_information '0' is not a rating 1–10",
        "bad_ratings.csv:3:8: reviews '-1' is not a whole number ≥ 0",
        "bad_ratings.csv:3:9: method 'LAST_YEAR' is not THREE_MONTHS or ALL_REVIEWS",
        "bad_ratings.csv:4:1: seller_id is empty",
        "bad_ratings.csv:4:3: rating is empty",
        "bad_ratings.csv:4:8: reviews is empty",
        "bad_ratings.csv:4:9: method is empty",
        "bad_ratings.csv:5:2: date '2026-02-30' is not a date like 2026-11-18",
        "bad_ratings.csv:5:4: product_information '95%' is not a rating 1–10",
    ]


def test_whole_file_problems(read: Read) -> None:
    assert issues(read("empty.csv")) == ["empty.csv:0:0: the file is empty"]
    assert issues(read("header_only.csv")) == [
        "header_only.csv:0:0: the file has a header but no rows"
    ]
    assert issues(read("latin1.csv")) == ["latin1.csv:0:0: not UTF-8 text"]
    assert issues(read("missing_column.csv")) == [
        "missing_column.csv:1:0: column 'norm' is missing from the header"
    ]


def test_header_problems(read: Read, tmp_path: Path) -> None:
    odd = tmp_path / "odd.csv"
    odd.write_text("name,amount\nshop-1,3\n", encoding="utf-8")
    assert issues(read(odd)) == [
        "odd.csv:1:0: the header ('name', 'amount') names neither weekly indicators (seller_id, "
        "year, week, indicator, numerator, denominator, value, norm) nor shop ratings "
        "(seller_id, date, rating, product_information, delivery_time, shipping, service, "
        "reviews, method)"
    ]
    misspelt = tmp_path / "misspelt.csv"
    misspelt.write_text(
        "seller_id,week,indicator,Numerater,denominator,value,norm\n", encoding="utf-8"
    )
    # The column that is not known is named as the file has it, where it stands.
    assert issues(read(misspelt)) == [
        "misspelt.csv:1:0: column 'numerator' is missing from the header",
        "misspelt.csv:1:4: column 'Numerater' is not a known column; the columns are "
        "seller_id, year, week, indicator, numerator, denominator, value, norm",
    ]
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "seller_id,week,indicator,numerator,denominator,value,norm,VALUE\n", encoding="utf-8"
    )
    assert issues(read(twice)) == [
        "twice.csv:1:8: column 'value' appears twice in the header (columns 6 and 8)"
    ]


def test_year_column_may_be_left_out_with_iso_weeks(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "weeks.csv"
    path.write_text(
        "Seller ID,Week,Indicator,Numerator,Denominator,Value,Norm\n"
        "shop-1,2026-W46,FULFILMENT,135,150,,\n"
        "shop-1,46,FULFILMENT,135,150,,\n",
        encoding="utf-8",
    )
    items = read(path)
    assert [row.line for row in rows(items)] == [2]
    assert issues(items) == [
        "weeks.csv:3:2: week '46' needs a year: add a year column or write it as 2026-W46"
    ]


def test_year_must_match_an_iso_week(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "weeks.csv"
    path.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        "shop-1,2025,2026-W46,FULFILMENT,135,150,,\n",
        encoding="utf-8",
    )
    assert issues(read(path)) == ["weeks.csv:2:2: year '2025' does not match week '2026-W46'"]


def test_the_current_week_is_not_in_the_future(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "now.csv"
    path.write_text(
        "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
        f"shop-1,2026,{IsoWeek.of(TODAY).week},FULFILMENT,135,150,,\n",
        encoding="utf-8",
    )
    assert issues(read(path)) == []


def test_csv_streams(policy: Policy, tmp_path: Path) -> None:
    """The first row comes before the file is read to the end; progress reports bytes."""
    path = tmp_path / "many.csv"
    line = "shop-1,2026,46,FULFILMENT,135,150,,0.93\n"
    with path.open("w", encoding="utf-8") as out:
        out.write("seller_id,year,week,indicator,numerator,denominator,value,norm\n")
        out.writelines(line for _ in range(20_000))
    size = path.stat().st_size
    reports: list[tuple[int, int]] = []
    items = read_file(
        path, today=TODAY, policy=policy, progress=lambda d, t: reports.append((d, t))
    )
    first = next(items)
    assert isinstance(first, MeasurementRow) and first.line == 2
    assert reports == []
    rest = list(items)
    assert len(rest) == 19_999 and not any(isinstance(item, Issue) for item in rest)
    assert reports[-1] == (size, size)
    assert all(0 < done <= total == size for done, total in reports)
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)


def test_a_closed_generator_closes_the_file(policy: Policy) -> None:
    items = read_file(DATA / "indicators.csv", today=TODAY, policy=policy)
    assert isinstance(items, Generator)
    next(items)
    items.close()  # with filterwarnings=error an unclosed file would fail the test run


def test_broken_csv_and_odd_sellers(read: Read, tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    header = "seller_id,year,week,indicator,numerator,denominator,value,norm\n"
    path.write_text(
        header
        + "shop\x01,2026,46,FULFILMENT,1,2,,\n"
        + "shop-1\n"
        + '"' + "x" * 200_000 + '",2026,46,FULFILMENT,1,2,,\n',
        encoding="utf-8",
    )  # fmt: skip
    assert issues(read(path)) == [
        "odd.csv:2:1: seller_id 'shop\\x01' contains control characters",
        "odd.csv:3:0: has 1 field; the header has 8",
        "odd.csv:4:0: is not valid CSV: a field is longer than 131,072 characters",
    ]


def test_the_delimiter_comes_from_the_header_not_a_blank_line_before_it(
    tmp_path: Path, read: Read
) -> None:
    path = tmp_path / "lead.csv"
    path.write_text(
        "\nseller_id;year;week;indicator;numerator;denominator;value;norm\n"
        "shop-1;2026;46;FULFILMENT;135;150;;93%\n",
        encoding="utf-8",
    )
    items = read(path)
    assert issues(items) == []
    [row] = rows(items)
    assert row.line == 3 and row.measurement.norm == 0.93
