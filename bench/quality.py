"""Quality benchmark: the pipeline's own figures, fold by fold, with mean and spread.

    python bench/quality.py --data ../shared/data/minilecr --work /tmp/quality \\
        --folds 0 1 2 3 4 -p 'SPLIT_CATEGORIES=["aligned"]' -p EPOCHS=1 ...
    python bench/quality.py --work /tmp/quality --report-only --record docs/RESULTS.md

For each fold f it runs notebooks 02-05 through ``utils.run`` (the runner the README's main
job uses, never a copy of their code) in ``WORK/fold{f}`` with ``VALID_FOLD=f`` and
``RESUME=True``: every stage of that fold trains and validates without the fold's topics, and
a fold stopped mid-training continues from its last saved model (03's rounds, 05's
cross-encoders). A fold whose figures exist (``reranker/f2.csv``) is read, not rerun, unless
``--rerun`` (which reuses the models saved with the same settings and data, and redoes the
rest: after a change to recall, the feature ranker or the tuning); ``bench.json`` in each fold
folder records its parameters, code version (git commit), wall time and machine, and a fold
run with other parameters is refused rather than mixed into the table.

Then it prints its tables, mean ± standard deviation across the folds done, every F2 out
of sample:

- recall@K of each stage-1 retriever (TF-IDF, zero-shot, each round, the fusion) with
  stage-1-only F2 at a top-k and at a threshold (honest: chosen on other validation topics);
- by pipeline (stage-1 baselines, each stage-2 model, the selected one): the honest F2,
  precision and recall of notebook 05 (rule and model chosen on other topics of the fold),
  with the in-sample F2 beside it to show the optimism;
- the same pipelines with the rule chosen on the *other folds'* topics and scored on the
  fold's (on a split by channel: a rule that must transfer to a curriculum it never saw);
- the honest F2 of each selection rule family.

``--keep DIR`` copies each finished fold's figures (its few result tables, no model, under a
megabyte) into ``DIR/foldF``; ``--work DIR --report-only`` reports from them, so folds run in
different sessions or on different machines add up to one table (the project keeps its own in
``docs/quality/NAME``).

``--record FILE`` writes them, the settings, machine and command into FILE between markers
(replaced on the next run) and a figure (recall@K curves, F2 by stage) into ``docs/figures``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from bench.tables import record_block  # noqa: E402
from utils import paths
from utils import run as runner  # noqa: E402
from utils.profiling import code_version, machine  # noqa: E402
from utils.selection import cross_encoder, stage2, tuning  # noqa: E402

STAGES = ["02", "03", "04", "05"]
BENCH_FILE = "bench.json"
# what the report reads of a fold folder: copied by --keep, enough for --report-only
RESULT_FILES = [BENCH_FILE, "folds.csv", "recall_candidates.csv", "stage1_f2.csv",
                "retriever/recall.csv", "reranker/f2.csv", "reranker/rules.csv",
                "reranker/scored_valid.parquet", "reranker/valid_truth.csv",
                f"reranker/{cross_encoder.SELECTED_FILE}"]
F2_COLUMNS = ["honest f2", "honest precision", "honest recall", "in-sample f2"]


def fold_done(folder: Path) -> bool:
    return (folder / "reranker" / "f2.csv").exists() and (folder / "recall_candidates.csv").exists()


def run_fold(data, folder: Path, fold: int, profile: str, params: dict, log=print,
             command: str = "", inline: bool = False, stages=STAGES) -> None:
    """Run notebooks 02-05 (``stages``) for one validation fold (``inline``: in this process,
    without Jupyter); record what ran in ``bench.json``."""
    settings = {"profile": profile, "params": params}
    record = folder / BENCH_FILE
    if record.exists():
        before = json.loads(record.read_text())
        if {k: before.get(k) for k in settings} != settings:
            raise SystemExit(f"{folder} holds fold {fold} run with other settings "
                             f"({before.get('profile')}, {before.get('params')}): pass another "
                             "--work, or delete that folder to rerun it with these")
    folder.mkdir(parents=True, exist_ok=True)
    code = code_version()
    record.write_text(json.dumps({**settings, "fold": fold, "code": code, "seconds": None}, indent=1))
    start = time.perf_counter()
    runner.run(data, folder, profile, only=stages,
               params={**params, "VALID_FOLD": fold, "RESUME": True}, log=log, inline=inline)
    record.write_text(json.dumps({**settings, "fold": fold, "code": code, "machine": machine(),
                                  "command": command,
                                  "seconds": round(time.perf_counter() - start)}, indent=1))


def keep(folder: Path, into: Path) -> None:
    """Copy the result files of a finished fold folder into ``into``."""
    import shutil

    for name in RESULT_FILES:
        if (folder / name).exists():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(folder / name, into / name)


def fold_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``(recall, f2, families)`` of one fold: recall@K per retriever (notebook 04; recall@100
    of the bi-encoders from notebook 03, since 04 keeps the top 50) with its stage-1 F2
    columns; the honest and in-sample F2 of every pipeline notebook 05 compared; and the
    honest F2 of each rule family (rows) per pipeline (columns)."""
    recall = pd.read_csv(folder / "recall_candidates.csv", index_col=0)
    # notebook 03 scored the bi-encoders deeper than 04 keeps candidates (its top 100)
    deeper = pd.read_csv(folder / "retriever" / "recall.csv", index_col="model")
    deeper = deeper.rename(lambda name: name.replace("round ", "round"))
    extra = [c for c in deeper.columns if c not in recall.columns]
    recall = recall.join(deeper[extra])
    stage1 = pd.read_csv(folder / "stage1_f2.csv", index_col=0)
    recall = recall.join(stage1[["F2 at top-k", "F2 at threshold"]])
    f2 = pd.read_csv(folder / "reranker" / "f2.csv", index_col="pipeline")[F2_COLUMNS]
    families = pd.read_csv(folder / "reranker" / "rules.csv", index_col=0, header=[0, 1])
    families = families.xs("honest", axis=1, level=1).rename(columns=cross_encoder.pipeline_name)
    return recall, f2, families


def validation_topics(folder: Path, fold: int) -> int:
    """How many topics fold ``fold`` validates (topics with correlations)."""
    folds = pd.read_csv(folder / "folds.csv")
    return int((folds["fold"] == fold).sum())


def split_folds(folder: Path) -> list[int]:
    """The validation folds of the split a fold folder ran on (``folds.csv``: -1 trains only)."""
    folds = pd.read_csv(folder / "folds.csv")
    return sorted(int(f) for f in folds["fold"].unique() if f >= 0)


def transfer_tables(work: Path, folds: list[int]) -> dict[int, pd.DataFrame]:
    """Per fold, the F2, precision and recall of each pipeline (rows) when the rule, and the
    selected model, are chosen on the other folds' validation topics and scored on the
    fold's (:func:`utils.selection.tuning.transfer`), from the scored validation candidates notebook
    05 saved; empty for fewer than two folds."""
    if len(folds) < 2:
        return {}
    tables = {}
    for fold in folds:
        chosen = json.loads((work / f"fold{fold}" / "reranker" / cross_encoder.SELECTED_FILE).read_text())
        tables[fold] = stage2.fold_tables(work / f"fold{fold}", chosen.get("rules"), chosen.get("blends", [0.0]))
    found = tuning.transfer(tables).assign(pipeline=lambda t: t["model"].map(cross_encoder.pipeline_name))
    return {fold: part.set_index("pipeline")[["f2", "precision", "recall"]]
            for fold, part in found.groupby("fold")}


def summarise(tables: dict[int, pd.DataFrame]) -> pd.DataFrame:
    """Mean, standard deviation and fold count of each cell over ``{fold: table}``."""
    stacked = pd.concat(tables, names=["fold", "row"])
    grouped = stacked.groupby(level="row", sort=False)
    out = pd.concat({"mean": grouped.mean(), "std": grouped.std(ddof=1)}, axis=1)
    out[("folds", "")] = grouped.size()
    return out


def markdown(summary: pd.DataFrame, columns: list[str]) -> str:
    def cell(row, col):
        mean, std = row[("mean", col)], row[("std", col)]
        if pd.isna(mean):
            return ""
        return f"{mean:.3f}" if pd.isna(std) else f"{mean:.3f} ± {std:.3f}"

    lines = ["| | " + " | ".join(columns) + " | folds |",
             "|---" * (len(columns) + 2) + "|"]
    for name, row in summary.iterrows():
        lines.append(f"| {name} | " + " | ".join(cell(row, c) for c in columns)
                     + f" | {int(row[('folds', '')])} |")
    return "\n".join(lines)


def figure(recall: pd.DataFrame, f2: pd.DataFrame, path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils.plots import save

    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    ks = [c for c in recall["mean"].columns if c.startswith("recall@")]
    x = [int(c.split("@")[1]) for c in ks]
    for name, row in recall.iterrows():
        mean, std = row["mean"][ks].astype(float), row["std"][ks].astype(float).fillna(0)
        left.plot(x, mean, marker="o", label=name)
        left.fill_between(x, mean - std, mean + std, alpha=0.15)
    left.set(xscale="log", xlabel="K", ylabel="mean recall@K",
             title="stage-1 recall (mean ± std over folds)")
    left.set_xticks(x, [str(k) for k in x])
    left.set_xticks([], minor=True)
    left.legend()
    means, stds = f2[("mean", "honest f2")], f2[("std", "honest f2")].fillna(0)
    bars = right.barh(range(len(means)), means, xerr=stds, color="tab:blue", alpha=0.8,
                      label="honest")
    right.bar_label(bars, labels=[f"{m:.3f}" for m in means], label_type="center", color="white",
                    fontsize=8)
    right.scatter(f2[("mean", "in-sample f2")], range(len(means)), color="tab:orange", marker="|",
                  s=200, label="in sample (tuned on the topics scored)", zorder=3)
    right.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8)
    counts = f2[("folds", "")]
    labels = [name if n == counts.max() else f"{name} [{n} fold{'s' * (n > 1)}]"
              for name, n in counts.items()]
    right.set(yticks=range(len(means)), yticklabels=labels, xlabel="mean F2",
              title="F2 by pipeline (mean ± std over folds)")
    right.invert_yaxis()
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path.stem, path.parent)


def _by_fold(values: dict[str, list[int]]) -> list[str]:
    """``{value: folds}`` as ``"value (folds 1, 2)"`` strings."""
    return [f"{v} (fold{'s' * (len(fs) > 1)} {', '.join(map(str, fs))})" for v, fs in values.items()]


def report(work: Path, folds: list[int], command: str) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    done = [f for f in folds if fold_done(work / f"fold{f}")]
    if not done:
        raise SystemExit(f"no fold of {folds} has results under {work}")
    tables = {f: fold_tables(work / f"fold{f}") for f in done}
    recall = summarise({f: t[0] for f, t in tables.items()})
    f2 = summarise({f: t[1] for f, t in tables.items()})
    families = summarise({f: t[2] for f, t in tables.items()})
    moved = transfer_tables(work, done)
    runs = {f: json.loads((work / f"fold{f}" / BENCH_FILE).read_text())
            if (work / f"fold{f}" / BENCH_FILE).exists() else {} for f in done}
    first = next(iter(runs.values()))
    minutes = ", ".join(f"fold {f}: {r['seconds'] / 60:.0f} min" if r.get("seconds")
                        else f"fold {f}: not timed" for f, r in runs.items())
    sizes = {f: validation_topics(work / f"fold{f}", f) for f in done}
    versions: dict[str, list[int]] = {}
    machines: dict[str, list[int]] = {}
    for f, r in runs.items():
        versions.setdefault(r.get("code", "not recorded"), []).append(f)
        machines.setdefault(r.get("machine", machine()), []).append(f)
    missing = sorted(set(split_folds(work / f"fold{done[0]}")) - set(done))  # the split's, not --folds' default
    ran = sorted({r["command"] for r in runs.values() if r.get("command")} - {command})
    lines = [
        f"Validation folds done: {done}" + (f" (not yet: {missing})" if missing else ""),
        "Validation topics: " + ", ".join(f"fold {f}: {n}" for f, n in sizes.items())
        + f" ({sum(sizes.values())} in all).",
        "Machine: " + "; ".join(_by_fold(machines)) + f". Wall time per fold: {minutes}.",
        f"Settings: profile {first.get('profile')}, parameters {first.get('params')}.",
        "Code: " + "; ".join(_by_fold(versions)) + ".",
        "", "```bash", *ran, command, "```", "",
        "Stage 1, mean per-topic recall@K of the validation topics and stage-1-only F2 (honest):", "",
        markdown(recall, [c for c in recall["mean"].columns]), "",
        "Mean F2 of the validation topics by pipeline (notebook 05): honest (rule and model "
        "chosen on other topics of the fold) and in sample (tuned on the topics scored):", "",
        markdown(f2, F2_COLUMNS),
    ]
    if moved:
        lines += ["", "Mean F2 by pipeline when the rule (and the selected model) is chosen on "
                      "the other folds' topics and scored on the fold's:", "",
                  markdown(summarise(moved), ["f2", "precision", "recall"])]
    lines += ["", "Honest F2 by selection rule family (rows) and pipeline (columns), mean over "
                  "folds:", "", family_markdown(families)]
    return "\n".join(lines), recall, f2


def family_markdown(summary: pd.DataFrame) -> str:
    """The rule families' table: one row per family, one column per pipeline (mean ± std)."""
    means, stds = summary["mean"], summary["std"]
    columns = list(means.columns)
    lines = ["| family | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for family in means.index:
        cells = [("" if pd.isna(means.loc[family, c]) else f"{means.loc[family, c]:.3f}"
                  + ("" if pd.isna(stds.loc[family, c]) else f" ± {stds.loc[family, c]:.3f}"))
                 for c in columns]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="a folder in the Kaggle layout, or 'demo'")
    parser.add_argument("--work", required=True, help="benchmark folder (one subfolder a fold)")
    parser.add_argument("--folds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--profile", default="demo", choices=sorted(runner.PROFILES))
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a notebook parameter for every fold (repeatable)")
    parser.add_argument("--rerun", action="store_true",
                        help="rerun folds that have results (models saved with the same settings "
                             "are reused)")
    parser.add_argument("--report-only", action="store_true", help="only read what exists")
    parser.add_argument("--inline", action="store_true",
                        help="run the notebooks' code in this process, without Jupyter (as utils.run)")
    parser.add_argument("--keep", type=Path, help="copy each finished fold's result files into "
                                                   "KEEP/foldF (report later with --work KEEP)")
    parser.add_argument("--record", type=Path, help="markdown file to write the results into")
    parser.add_argument("--name", default="results", help="the record's name (its markers, "
                                                          "its figure quality_NAME.png)")
    args = parser.parse_args(argv)

    work = Path(args.work).resolve()
    params = runner.parse_params(args.param)
    command = "python bench/quality.py " + " ".join(shlex.quote(a) for a in
                                                    (argv if argv is not None else sys.argv[1:]))
    if not args.report_only:
        data = paths.data_dir(args.data, work)
        for fold in args.folds:
            folder = work / f"fold{fold}"
            if fold_done(folder) and not args.rerun:
                print(f"fold {fold}: results found in {folder}, not rerun")
            else:
                print(f"fold {fold}: running notebooks {', '.join(STAGES)} in {folder}")
                run_fold(data, folder, fold, args.profile, params, command=command, inline=args.inline)
            if args.keep:  # at once: a later fold may not finish in this session
                keep(folder, args.keep.resolve() / f"fold{fold}")
    text, recall, f2 = report(work, args.folds, command)
    print(text)
    if args.record:
        fig_path = args.record.parent / "figures" / f"quality_{args.name}.png"
        figure(recall, f2, fig_path, f"quality benchmark: {args.name}")
        rel = fig_path.relative_to(args.record.parent)
        record_block(args.record, f"bench/quality.py:{args.name}", text + f"\n\n![quality by fold]({rel.as_posix()})")
        print(f"recorded in {args.record} and {fig_path}")


if __name__ == "__main__":
    main()
