"""From scored candidates to the final sets: thresholds tuned for mean F2.

A topic keeps every candidate whose score reaches the absolute ``threshold`` and, when
``relative`` is set, ``relative`` times the topic's best score; a topic left with nothing
takes its ``fill`` best candidates, so no topic is ever predicted empty (an empty
prediction scores 0). The score may be a blend of the reranker's probability with a stage-1
score (``blend``: the weight of the latter; at 1 the reranker is not used at all, the
fallback when it does not beat stage 1). ``tune`` grid-searches these on validation topics;
the chosen ``PostProcess`` is saved as JSON beside the model, so the submission applies
exactly what was validated.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import mean_f2, scores_per_topic


def select(scored: pd.DataFrame, score: str, threshold: float, relative: float | None = None,
           fill: int = 1, order: str | None = None) -> dict[str, list[str]]:
    """``{topic_id: [content ids, best first]}`` chosen from ``scored`` by the rules above.

    "Best" is the highest ``score``, or the lowest ``order`` when given (e.g. a fused
    ``rank`` that is not sorted by the score).
    """
    by, ascending = (order, True) if order else (score, False)
    ordered = scored.sort_values(["topic_id", by], ascending=[True, ascending], kind="stable")
    values = ordered[score].to_numpy()
    keep = values >= threshold
    if relative is not None:
        best = ordered.groupby("topic_id", sort=False)[score].transform("max").to_numpy()
        keep &= values >= relative * best
    position = ordered.groupby("topic_id", sort=False).cumcount().to_numpy()
    kept_any = pd.Series(keep).groupby(ordered["topic_id"].to_numpy()).transform("any").to_numpy()
    keep |= ~kept_any & (position < fill)
    chosen = ordered[keep]
    return chosen.groupby("topic_id", sort=False)["content_id"].agg(list).to_dict()


@dataclass
class PostProcess:
    """The tuned selection rule (see the module docstring)."""

    threshold: float
    relative: float | None = None
    fill: int = 1
    score: str = "score"
    blend: float = 0.0
    """Weight of ``blend_with`` mixed into ``score``: (1 - blend) * score + blend * blend_with."""
    blend_with: str = "retriever_score"
    """A stage-1 score of the candidates table (missing where that retriever missed the pair: 0)."""

    @property
    def needs_score(self) -> bool:
        """False when ``blend`` is 1: ``score`` gets no weight, so it need not be computed."""
        return self.blend < 1.0

    def final_scores(self, scored: pd.DataFrame) -> pd.Series:
        if not self.blend:
            return scored[self.score]
        return (1 - self.blend) * scored[self.score] + self.blend * scored[self.blend_with].fillna(0.0)

    def apply(self, scored: pd.DataFrame) -> dict[str, list[str]]:
        final = scored.assign(final_score=self.final_scores(scored))
        return select(final, "final_score", self.threshold, self.relative, self.fill)

    def quality(self, scored: pd.DataFrame, truth) -> pd.Series:
        """Mean F2, precision and recall of the selected sets on ``truth``'s topics."""
        return scores_per_topic(self.apply(scored), truth)[["f2", "precision", "recall"]].mean()

    def save(self, path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), indent=2))
        return path

    @classmethod
    def load(cls, path) -> "PostProcess":
        return cls(**json.loads(Path(path).read_text()))


def tune(scored: pd.DataFrame, truth, score: str = "score", thresholds=None,
         relatives=(None, 0.5, 0.7, 0.85), fills=(1, 2, 3), blends=(0.0,),
         blend_with: str = "retriever_score") -> tuple[PostProcess, pd.DataFrame]:
    """Grid-search the rule that maximises mean F2 on ``truth``; returns it and the grid.

    ``thresholds`` default to 41 quantiles of each blend's final score.
    """
    rows = []
    for blend in blends:
        rule = PostProcess(0.0, score=score, blend=float(blend), blend_with=blend_with)
        final = scored.assign(final_score=rule.final_scores(scored))
        grid = thresholds
        if grid is None:
            grid = np.unique(np.quantile(final["final_score"], np.linspace(0.0, 1.0, 41)).round(4))
        for threshold in grid:
            for relative in relatives:
                for fill in fills:
                    f2 = mean_f2(select(final, "final_score", threshold, relative, fill), truth)
                    rows.append({"blend": float(blend), "threshold": float(threshold),
                                 "relative": relative, "fill": fill, "f2": f2})
    grid = pd.DataFrame(rows)
    best = grid.loc[grid["f2"].idxmax()]
    relative = None if pd.isna(best["relative"]) else float(best["relative"])
    return PostProcess(float(best["threshold"]), relative, int(best["fill"]), score,
                       float(best["blend"]), blend_with), grid
