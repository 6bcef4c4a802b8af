"""Run the notebooks in order: the notebooks stay the pipeline, this only drives them.

    python -m utils.run --data DATA_DIR --work WORK_DIR [--profile demo|cpu|gpu]

executes ``notebooks/NN_*.ipynb`` in number order with papermill, passing each the
parameters it declares (``DATA_DIR``, ``WORK_DIR``, ``FIG_DIR`` and the profile's
settings), writes the executed copies to ``WORK_DIR/notebooks/`` and stops at the first
notebook that fails, naming it and its error. ``--data demo`` (or no ``--data`` and no
competition data found) runs on the generated demo data. ``--inline`` runs the notebooks'
code cells in this Python process instead, for machines without Jupyter (outputs are not
kept; figures still go to ``FIG_DIR``).
"""

from __future__ import annotations

import argparse
import ast
import logging
import sys
import time
from pathlib import Path

from . import paths

NOTEBOOKS = paths.PROJECT / "notebooks"

PROFILES: dict[str, dict] = {
    "demo": {},  # the notebooks' own defaults: sized for the demo data on a CPU
    "cpu": {     # the settings of docs/RESULTS.md's quality figures on mini-LECR: a CPU, hours
        "EPOCHS": 1, "NEGATIVE_EPOCHS": 1, "MAX_LENGTH": 64, "BATCH_SIZE": 64,
        "BACKBONES": [], "TRAIN_TOP_K": 50, "NEGATIVES_PER_POSITIVE": 4,
    },
    "gpu": {     # full-size settings for one GPU
        "EPOCHS": 4, "NEGATIVE_EPOCHS": 2, "MAX_LENGTH": 128, "BATCH_SIZE": 128,
        "OOF_ROUNDS": 2,
        "BACKBONES": ["retriever", "base"], "RERANKER_EPOCHS": 3, "RERANKER_MAX_LENGTH": 256,
        "RERANKER_BATCH_SIZE": 64, "TRAIN_TOP_K": 50, "NEGATIVES_PER_POSITIVE": 4,
        "RERANKER_MAX_PAIRS": None,
    },
}
"""Settings per profile, passed to every notebook that declares the parameter (``-p`` overrides
any of them)."""


def notebooks(only: list[str] | None = None) -> list[Path]:
    """The pipeline's notebooks in order (``only``: their number prefixes, e.g. ['01'])."""
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if only:
        found = [nb for nb in found if nb.name[:2] in only]
    return found


def _cells(notebook: Path) -> list[dict]:
    import json

    return [c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "code"]


def declared_parameters(notebook: Path) -> set[str]:
    """Names assigned in the notebook's ``parameters`` cell."""
    for cell in _cells(notebook):
        if "parameters" in cell["metadata"].get("tags", []):
            tree = ast.parse("".join(cell["source"]))
            return {t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)}
    return set()


def execute_inline(notebook: Path, parameters: dict) -> None:
    """Run a notebook's code cells in a fresh namespace of this process, the parameters
    applied right after its ``parameters`` cell (as papermill injects them)."""
    import os

    import matplotlib

    matplotlib.use("Agg")
    cells = _cells(notebook)
    namespace = {"__name__": "__main__"}
    here = os.getcwd()
    os.chdir(notebook.parent)
    try:
        for number, cell in enumerate(cells, 1):
            exec(compile("".join(cell["source"]), f"{notebook.name}, cell {number}", "exec"),
                 namespace)
            if "parameters" in cell["metadata"].get("tags", []):
                namespace.update(parameters)
    finally:
        os.chdir(here)


def execute_papermill(notebook: Path, executed: Path, parameters: dict) -> None:
    """Run a notebook in a Jupyter kernel with papermill, keeping the executed copy."""
    import papermill as pm

    try:
        pm.execute_notebook(str(notebook), str(executed), parameters=parameters,
                            cwd=str(NOTEBOOKS), kernel_name="python3",
                            progress_bar=sys.stderr.isatty(), log_output=False)
    except pm.PapermillExecutionError as err:
        raise SystemExit(f"{notebook.name} failed in cell {err.exec_count}: {err.ename}: "
                         f"{err.evalue}\nexecuted copy with the traceback: {executed}") from None


def run(data=None, work=None, profile: str = "demo", only=None, params=None, log=print,
        inline: bool = False) -> Path:
    """Execute the notebooks; return the working folder (``submission.csv`` lands there).

    ``params`` override the profile's settings (passed to the notebooks that declare them).
    """
    work = paths.work_dir(work)
    data = paths.data_dir(data, work)
    out_dir = work / "notebooks"
    out_dir.mkdir(exist_ok=True)
    # a relative path given here (a *_DIR parameter, or any existing path) means this folder,
    # not the notebooks' folder they run in
    params = {k: str(Path(v).resolve())
              if isinstance(v, str) and (k.endswith("_DIR") or Path(v).exists()) else v
              for k, v in (params or {}).items()}
    common = {"DATA_DIR": str(data), "WORK_DIR": str(work), "FIG_DIR": str(work / "figures"),
              **PROFILES[profile], **params}
    todo = notebooks(only)
    log(f"data: {data}\nwork: {work}\nprofile: {profile}\nnotebooks: "
        + ", ".join(nb.name for nb in todo))
    for i, notebook in enumerate(todo, 1):
        declared = declared_parameters(notebook)
        parameters = {k: v for k, v in common.items() if k in declared}
        log(f"[{i}/{len(todo)}] {notebook.name} {parameters}")
        start = time.perf_counter()
        if inline:
            execute_inline(notebook, parameters)
        else:
            execute_papermill(notebook, out_dir / notebook.name, parameters)
        log(f"[{i}/{len(todo)}] {notebook.name} done in {time.perf_counter() - start:.0f}s")
    return work


def parse_params(items: list[str]) -> dict:
    """``["EPOCHS=2", "GROUP_BY=channel"]`` -> ``{"EPOCHS": 2, "GROUP_BY": "channel"}``."""
    params = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.isidentifier():
            raise SystemExit(f"--param takes NAME=VALUE, got {item!r}")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.run", description=__doc__.split("\n")[0])
    parser.add_argument("--data", help="competition folder in the Kaggle layout, or 'demo' "
                                       "(default: Kaggle input, then input/, then the demo data)")
    parser.add_argument("--work", help="working folder for artifacts (default: $LECR_WORK_DIR, "
                                       "/kaggle/working or ~/lecr-working)")
    parser.add_argument("--profile", choices=list(PROFILES), default="demo",
                        help="settings: demo (the demo data on a CPU, default), cpu (RESULTS' quality "
                             "figures on mini-LECR) or gpu (a full run on one GPU)")
    parser.add_argument("--only", nargs="+", metavar="NN",
                        help="run only these notebooks, by number (e.g. --only 01 02)")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                        help="set a notebook parameter (a Python literal, else a string), e.g. "
                             "-p EPOCHS=2 -p 'SPLIT_CATEGORIES=[\"aligned\"]'")
    parser.add_argument("--inline", action="store_true",
                        help="run the code cells in this process (no Jupyter kernel needed)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("papermill").setLevel(logging.WARNING)
    work = run(args.data, args.work, args.profile, args.only, parse_params(args.param),
               inline=args.inline)
    print(f"finished; artifacts in {work}")


if __name__ == "__main__":
    main()
