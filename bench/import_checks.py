"""What the upload checks cost: value-against-counts agreement, and the XLSX formula scan.

Two ratios, each against a baseline measured in the same run:
- reading a CSV whose rows give value and counts (each pair checked to agree, exactly)
  against reading the same rows with the value left empty;
- reading an XLSX workbook (the formula scan included) against openpyxl alone reading
  the same sheet's rows.

    python -m bench.import_checks [--sellers N]
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from datetime import date
from pathlib import Path

import openpyxl

from bot.ingest import Issue, read_file
from bot.ingest.xlsxfile import _has_formulas
from norms import INDICATORS, load_policy

TODAY = date(2026, 11, 19)
HEADER = ["seller_id", "year", "week", "indicator", "numerator", "denominator", "value", "norm"]


def rows(sellers: int, with_values: bool) -> list[list[object]]:
    out: list[list[object]] = []
    for s in range(sellers):
        for i, indicator in enumerate(INDICATORS):
            if indicator.value == "REVIEWS":
                out.append([f"shop-{s}", 2026, 46, indicator.value, "", 10, "8.5", ""])
                continue
            num = 100 - (s + i) % 12
            value = f"{num / 150:.4f}" if with_values else ""
            norm = "0.05" if indicator.value in ("RETURNS", "CASE_ITEM_RATIO") else ""
            out.append([f"shop-{s}", 2026, 46, indicator.value, num, 150, value, norm])
    return out


def write_csv(path: Path, table: list[list[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        writer.writerows(table)


def write_xlsx(path: Path, table: list[list[object]]) -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADER)
    for row in table:
        sheet.append([int(c) if isinstance(c, str) and c.isdigit() else c for c in row])
    book.save(path)


def timed_read(path: Path) -> float:
    policy = load_policy("verbetertraject-24w")
    start = time.perf_counter()
    issues = [x for x in read_file(path, today=TODAY, policy=policy) if isinstance(x, Issue)]
    elapsed = time.perf_counter() - start
    assert not issues, issues[:3]
    return elapsed


def openpyxl_alone(path: Path) -> float:
    start = time.perf_counter()
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    count = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True))
    book.close()
    assert count > 1
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sellers", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        plain, valued = folder / "plain.csv", folder / "valued.csv"
        write_csv(plain, rows(args.sellers, with_values=False))
        write_csv(valued, rows(args.sellers, with_values=True))
        base = timed_read(plain)
        checked = timed_read(valued)
        book = folder / "week.xlsx"
        write_xlsx(book, rows(args.sellers // 4, with_values=False))
        alone = openpyxl_alone(book)
        start = time.perf_counter()
        assert not _has_formulas(book)
        scan = time.perf_counter() - start
        read = timed_read(book)
    count = args.sellers * len(INDICATORS)
    print(
        f"csv, {count:,} rows: value and counts agreeing {checked:.2f} s; value empty "
        f"{base:.2f} s; ratio {checked / base:.2f}x"
    )
    print(
        f"xlsx, {count // 4:,} rows: read {read:.2f} s (formula scan {scan:.3f} s); "
        f"openpyxl alone {alone:.2f} s; ratio {read / alone:.2f}x, scan {scan / alone:.2f}x"
    )


if __name__ == "__main__":
    main()
