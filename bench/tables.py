"""The benchmarks' shared table printing."""

from __future__ import annotations

import pandas as pd


def print_by_fold(table: pd.DataFrame, header: str, digits: int = 4) -> None:
    """Print a (row, ``fold f`` column) table as markdown, its first column headed ``header``."""
    print(f"| {header} | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(f"{value:.{digits}f}" for value in row) + " |")
