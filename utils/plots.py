"""Small matplotlib helpers so the notebooks' figures share one look: sorted bars, log
scales where counts span decades, titles and axis labels always set."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def spans_decades(values, decades: float = 2.0) -> bool:
    """True when the positive values span ``decades`` powers of ten or more."""
    values = np.asarray(values, dtype=float)
    values = values[values > 0]
    return len(values) > 1 and np.log10(values.max() / values.min()) >= decades


def bars(values: pd.Series | pd.DataFrame, title: str, xlabel: str, ylabel: str = "",
         ax=None, top: int | None = 30, log: bool | None = None, stacked: bool = False,
         sort: bool = True):
    """Horizontal bars, largest on top (``sort=False`` keeps the index order, top down);
    log scale when the counts span two decades, never for stacked bars (on a log axis a
    segment's length means nothing)."""
    if stacked and log:
        raise ValueError("stacked bars on a log scale mislead: plot shares, or unstacked bars")
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    if sort:
        frame = frame.loc[frame.sum(axis=1).sort_values(ascending=False).index]
    if top is not None and len(frame) > top:
        title = f"{title} (top {top} of {len(frame)})"
        frame = frame.iloc[:top]
    ax = ax or plt.subplots(figsize=(7, max(2.5, 0.28 * len(frame) + 1)))[1]
    frame.iloc[::-1].plot.barh(ax=ax, stacked=stacked, legend=frame.shape[1] > 1, width=0.8)
    if not stacked and (log if log is not None else spans_decades(frame.to_numpy())):
        ax.set_xscale("log")
        xlabel += " (log scale)"
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(axis="x", alpha=0.3)
    return ax


def histogram(values, title: str, xlabel: str, ax=None, bins: int | str = "auto",
              logy: bool | None = None, logx: bool = False):
    """Distribution of counts or lengths, with its median marked."""
    values = np.asarray(values, dtype=float)
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    if logx:
        bins = np.logspace(np.log10(max(values.min(), 1)), np.log10(values.max() + 1), 40)
        ax.set_xscale("log")
    counts, _, _ = ax.hist(values, bins=bins, color="tab:blue", alpha=0.8)
    if logy if logy is not None else spans_decades(counts):
        ax.set_yscale("log")
    ax.axvline(np.median(values), color="tab:red", ls="--", label=f"median {np.median(values):g}")
    ax.legend()
    ax.set(title=title, xlabel=xlabel, ylabel="count")
    return ax


def save(fig, name: str, folder=None) -> Path | None:
    """Save ``fig`` as ``folder/name.png`` when a folder is given (e.g. docs/figures)."""
    if not folder:
        return None
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def recall_curves(table: pd.DataFrame, title: str = "Validation recall@K", ax=None):
    """One line per row of ``table`` (models), columns K, values mean recall."""
    ax = ax or plt.subplots(figsize=(7, 4))[1]
    for name, row in table.iterrows():
        ax.plot([int(k) for k in row.index], row.to_numpy(), marker="o", label=str(name))
    ax.set(xscale="log", title=title, xlabel="K candidates (log scale)",
           ylabel="mean recall per topic", ylim=(0, 1.02))
    ks = [int(k) for k in table.columns]
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.grid(alpha=0.3)
    ax.legend()
    return ax
