"""The benchmarks' shared table printing, and their blocks in docs/RESULTS.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd


def print_by_fold(table: pd.DataFrame, header: str, digits: int = 4) -> None:
    """Print a (row, ``fold f`` column) table as markdown, its first column headed ``header``."""
    print(f"| {header} | " + " | ".join(table.columns) + " |")
    print("|---" * (len(table.columns) + 1) + "|")
    for name, row in table.iterrows():
        print(f"| {name} | " + " | ".join(f"{value:.{digits}f}" for value in row) + " |")


def record_block(file: Path, marker: str, text: str) -> None:
    """Write ``text`` into ``file`` between the markers ``<!-- marker -->`` and
    ``<!-- /marker -->``: in place of the block a run wrote before, else at the end."""
    begin, end = f"<!-- {marker} -->", f"<!-- /{marker} -->"
    body = f"{begin}\n{text.rstrip()}\n{end}"
    old = file.read_text() if file.exists() else ""
    if begin in old and end in old:
        new = old[:old.index(begin)] + body + old[old.index(end) + len(end):]
    else:
        new = old.rstrip() + "\n\n" + body + "\n"
    file.write_text(new)
