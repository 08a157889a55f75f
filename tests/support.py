"""Helpers shared by the tests (plain functions; fixtures live in conftest.py)."""

import csv
from pathlib import Path


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path
