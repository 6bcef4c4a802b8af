"""Run the notebooks in order: the notebooks stay the pipeline, this only drives them.

    python -m utils.run --data DATA_DIR --work WORK_DIR [--profile demo|gpu]

executes ``notebooks/NN_*.ipynb`` in number order with papermill, passing each the
parameters it declares (``DATA_DIR``, ``WORK_DIR``, ``FIG_DIR`` and the profile's
settings), writes the executed copies to ``WORK_DIR/notebooks/`` and stops at the first
notebook that fails, naming it and its error. ``--data demo`` (or no ``--data`` and no
competition data found) runs on the generated demo data.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path

from . import paths

NOTEBOOKS = paths.PROJECT / "notebooks"

# Settings per profile, passed to every notebook that declares the parameter.
PROFILES: dict[str, dict] = {
    "demo": {},  # the notebooks' own defaults: sized for the CPU demo run
    "gpu": {},   # full-size settings for one GPU
}


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The pipeline's notebooks in order (``only``: their number prefixes, e.g. ['01'])."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [nb for nb in found if nb.name[:2] in only]
    return found


def run(data=None, work=None, profile: str = "demo", only=None, log=print) -> Path:
    """Execute the notebooks; return the working folder (``submission.csv`` lands there)."""
    import papermill as pm

    work = paths.work_dir(work)
    data = paths.data_dir(data, work)
    out_dir = work / "notebooks"
    out_dir.mkdir(exist_ok=True)
    common = {"DATA_DIR": str(data), "WORK_DIR": str(work), "FIG_DIR": str(work / "figures"),
              **PROFILES[profile]}
    todo = notebooks(only)
    log(f"data: {data}\nwork: {work}\nprofile: {profile}\nnotebooks: "
        + ", ".join(nb.name for nb in todo))
    for i, notebook in enumerate(todo, 1):
        declared = pm.inspect_notebook(str(notebook))
        parameters = {k: v for k, v in common.items() if k in declared}
        log(f"[{i}/{len(todo)}] {notebook.name} {parameters}")
        start = time.perf_counter()
        try:
            pm.execute_notebook(str(notebook), str(out_dir / notebook.name),
                                parameters=parameters, cwd=str(NOTEBOOKS), kernel_name="python3",
                                progress_bar=sys.stderr.isatty(), log_output=False)
        except pm.PapermillExecutionError as err:
            raise SystemExit(
                f"{notebook.name} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
                f"executed copy with the traceback: {out_dir / notebook.name}") from None
        log(f"[{i}/{len(todo)}] {notebook.name} done in {time.perf_counter() - start:.0f}s")
    return work


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.run", description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="competition folder in the Kaggle layout, or 'demo' "
                                       "(default: Kaggle input, then input/, then the demo data)")
    parser.add_argument("--work", help="working folder for artifacts (default: $LECR_WORK_DIR, "
                                       "/kaggle/working or ~/lecr-working)")
    parser.add_argument("--profile", choices=list(PROFILES), default="demo",
                        help="settings: demo (CPU-sized, default) or gpu (full run on one GPU)")
    parser.add_argument("--only", nargs="+", metavar="NN",
                        help="run only these notebooks, by number (e.g. --only 01 02)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    work = run(args.data, args.work, args.profile, args.only)
    print(f"finished; artifacts in {work}")


if __name__ == "__main__":
    main()
