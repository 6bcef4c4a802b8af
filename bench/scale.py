"""Full scale: notebooks 02-06 on LECR-sized generated data, each one's wall time and peak memory.

    python bench/scale.py --work /tmp/scale                   # writes the full-size demo data first
    python bench/scale.py --work /tmp/scale --only 04 05 06   # again after a change to recall or stage 2
    python bench/scale.py --work /tmp/scale --record docs/RESULTS.md

Every stage keeps its real size: all topics folded, every topic recalled by each retriever,
negatives mined for all pairs, every out-of-fold candidate, both stage-2 models, and the
prediction of a validation fold (about the hidden test's 10,000 topics, none of them trained
on: notebook 06 with ``PREDICT="valid"``). Only the training steps are cut, to what 2 CPU
cores do in hours (``CHEAP``: a sample of the training pairs, one epoch a round, short texts,
inference in the CPU mode; ``-p`` changes any of them, ``--profile gpu`` with ``-p`` for a GPU).

Each notebook runs in a process of its own through the runner the README's main job uses
(``utils.run --only NN --inline``), so the peak resident memory measured for it
(``os.wait4``) is its own; its output, with the stage timings notebooks 03-06 print, is
kept in ``WORK/scale-logs/NN.log``; the steps each notebook times (``WORK/timings/NN.csv``, its
``StageTimer``) make the per-stage table. ``--record FILE`` writes the tables, the machine and
the command into FILE between markers, after each notebook (a run stopped part way keeps what
it measured, marked incomplete; the next run replaces the block).
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.tables import record_block  # noqa: E402
from utils import run as runner  # noqa: E402
from utils.data import demo  # noqa: E402
from utils.profiling import code_version, machine  # noqa: E402

STAGES = ["02", "03", "04", "05", "06"]
CHEAP = {"MAX_PAIRS": 5_000, "EPOCHS": 1, "NEGATIVE_EPOCHS": 1, "MAX_LENGTH": 64, "BATCH_SIZE": 64,
         "OOF_GROUPS": 2, "OOF_ROUNDS": 1, "BACKBONES": ["base"], "RERANKER_MAX_LENGTH": 64,
         "RERANKER_MAX_PAIRS": 5_000, "PREDICT": "valid",
         "INT8": True, "VALIDATE": "last", "COMPARE": {}, "RERANK_TOP_K": 10}
"""The training cut to 2 CPU cores (the data around it stays full size), and the CPU mode of
inference: the encoders in int8 (03-06's ``INT8``), each bi-encoder's content embedded once
(03 validates only the models 04 recalls with, 04 compares no other), the cross-encoder
scoring the fused list's best 10 (05's ``RERANK_TOP_K``)."""
MARKER = "bench/scale.py"


def notebook_run(data: Path, work: Path, stage: str, profile: str, params: dict) -> dict:
    """Run notebook ``stage`` in a process of its own; its wall time, peak RSS and log."""
    logs = work / "scale-logs"
    logs.mkdir(parents=True, exist_ok=True)
    timings = work / "timings" / f"{stage}.csv"
    timings.unlink(missing_ok=True)  # a file of an earlier run is not this one's
    command = [sys.executable, "-m", "utils.run", "--data", str(data), "--work", str(work),
               "--only", stage, "--inline", "--profile", profile,
               *[arg for name, value in params.items() for arg in ("-p", f"{name}={value!r}")]]
    start = time.perf_counter()
    with open(logs / f"{stage}.log", "w") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                   cwd=Path(__file__).resolve().parents[1])
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = "".join((logs / f"{stage}.log").read_text().splitlines(keepends=True)[-15:])
        raise SystemExit(f"notebook {stage} failed (exit {code}); its log: {logs / f'{stage}.log'}\n{tail}")
    return {"notebook": stage, "minutes": round(seconds / 60, 1),
            "peak RSS GiB": round(usage.ru_maxrss / 2**20, 2),  # ru_maxrss: KiB on Linux
            "stages": stage_table(timings)}


def stage_table(path: Path):
    """The steps a notebook timed (its ``StageTimer`` table), or None if it saved none."""
    import pandas as pd

    return pd.read_csv(path) if path.is_file() else None


def sizes(data: Path) -> dict:
    """Topics, content items and links of the data folder."""
    import pandas as pd

    links = pd.read_csv(data / "correlations.csv", usecols=["content_ids"])["content_ids"]
    return {"topics": len(pd.read_csv(data / "topics.csv", usecols=["id"])),
            "content items": len(pd.read_csv(data / "content.csv", usecols=["id"])),
            "links": int(links.str.split().str.len().sum())}


def report(rows: list[dict], sizes: dict, command: str, pending: list[str] = ()) -> str:
    """The tables of the notebooks run so far; ``pending``: those still to run (an
    incomplete run says so in its first line)."""
    total = sum(row["minutes"] for row in rows)
    lines = [f"**Incomplete**: notebooks {', '.join(pending)} did not complete." if pending else "",
             f"Data: {', '.join(f'{v:,} {k}' for k, v in sizes.items())}.",
             f"Machine: {machine()}. Code: {code_version()}.", "", "```bash", command, "```", "",
             "| notebook | minutes | peak RSS GiB |", "|---|---|---|"]
    lines += [f"| {row['notebook']} | {row['minutes']} | {row['peak RSS GiB']} |" for row in rows]
    lines.append(f"| **total** | **{total:.1f}** | **{max(r['peak RSS GiB'] for r in rows)}** |")
    timed = [row for row in rows if row.get("stages") is not None]
    if timed:
        lines += ["", "Per step, as each notebook timed it (`StageTimer`; peak RSS of the notebook's "
                  "process during the step):", "", "| notebook | step | seconds | items | peak RSS GiB |",
                  "|---|---|---|---|---|"]
        for row in timed:
            for step in row["stages"].to_dict("records"):
                items = step.get("items")
                items = f"{int(items):,}" if items == items and items is not None else ""
                lines.append(f"| {row['notebook']} | {step['stage']} | {step['seconds']:,.1f} | {items} | "
                             f"{step['peak RSS MiB'] / 1024:.2f} |")
    return "\n".join(lines).lstrip("\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", required=True, help="working folder (the data is written into WORK/data)")
    parser.add_argument("--data", help="a folder in the Kaggle layout (default: the generated demo data)")
    parser.add_argument("--size", default="full", choices=list(demo.SIZES),
                        help="size of the generated demo data (default: full, LECR's)")
    parser.add_argument("--only", nargs="+", default=STAGES, metavar="NN", help="notebooks to run")
    parser.add_argument("--profile", choices=list(runner.PROFILES), default="demo")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override a setting of CHEAP or any notebook parameter")
    parser.add_argument("--record", type=Path, help="write the table into this markdown file")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    data = Path(args.data).resolve() if args.data else work / "data"
    if not args.data:
        config, stamp = demo.DemoConfig.preset(args.size), work / "data" / demo.STAMP_FILE
        if stamp.is_file() and stamp.read_text() == demo.stamp(config):
            print(f"data: {data} (written before with the same generator and settings)")
        else:
            demo.write_demo(data, config)
    params = {**CHEAP, **runner.parse_params(args.param)}
    command = "python bench/scale.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    counts, rows = sizes(data), []
    for stage in args.only:
        print(f"notebook {stage} ...", flush=True)
        rows.append(notebook_run(data, work, stage, args.profile, params))
        print(f"notebook {stage}: {rows[-1]['minutes']} min, peak RSS {rows[-1]['peak RSS GiB']} GiB", flush=True)
        if args.record:  # after each notebook: a run stopped by a session's end keeps what it measured
            record_block(args.record, MARKER, report(rows, counts, command, pending=args.only[len(rows):]))
    print(report(rows, counts, command))


if __name__ == "__main__":
    main()
