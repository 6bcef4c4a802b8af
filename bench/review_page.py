"""The review page at the hidden test's size: its size on disk, its build time, and how long a
browser takes to load it, capped (``utils.review.MAX_TOPICS``, the default) and uncapped.

    python bench/review_page.py --work /tmp/review-bench [--data DATA_DIR] [--topics 10000]
                                [--record docs/RESULTS.md]

Without ``--data`` it writes LECR-sized demo data into ``WORK/data`` first (the ``full``
preset of :mod:`utils.data.demo`, as ``bench/scale.py`` does). It takes ``--topics`` non-source
topics with links, and for each a submission as notebook 06 writes one and the scored
candidates it saves beside it: 20 candidates of the topic's language, half its true links
among them where it has that many, the best 5 kept (so the page shows hits, wrong picks,
items below the cut and missed items, with the links as truth). The page is built by
``utils.review.build``, notebook 06's call.

The load time is headless Chromium's (``/usr/bin/chromium``, Debian's package) wall time to
open the file, run its script and render the first screen (``--screenshot``, 1280 x 900),
less the same for an empty page (the browser's start), the median of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.tables import record_block  # noqa: E402
from utils import review
from utils.data import demo  # noqa: E402
from utils.data.load import load_competition  # noqa: E402

CANDIDATES, KEPT = 20, 5
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def predictions(data, topics: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(submission, scored candidates, truth) for ``topics`` non-source topics with links."""
    rng = np.random.default_rng(seed)
    linked = data.topics[data.topics["id"].isin(set(data.correlations["topic_id"]))
                         & (data.topics["category"] != "source")]
    chosen = linked.sample(min(topics, len(linked)), random_state=seed)
    truth = data.correlations[data.correlations["topic_id"].isin(set(chosen["id"]))]
    links = dict(zip(truth["topic_id"], truth["content_ids"].str.split()))
    by_language = data.content.groupby("language")["id"].apply(np.array).to_dict()
    rows = []
    for topic_id, language in zip(chosen["id"], chosen["language"]):
        true = links[topic_id]
        hits = list(rng.choice(true, size=max(1, len(true) // 2), replace=False))[:CANDIDATES // 2]
        pool = by_language.get(language, data.content["id"].to_numpy())
        others = [c for c in rng.choice(pool, size=min(len(pool), CANDIDATES), replace=False) if c not in hits]
        ids = list(dict.fromkeys([*hits, *others]))[:CANDIDATES]
        order = rng.permutation(len(ids))
        scores = np.sort(rng.random(len(ids)))[::-1]
        for rank, (i, score) in enumerate(zip(order, scores), 1):
            rows.append((topic_id, ids[i], rank, float(score), rank <= KEPT))
    candidates = pd.DataFrame(rows, columns=["topic_id", "content_id", "rank", "score", "kept"])
    kept = candidates[candidates["kept"]].groupby("topic_id", sort=False)["content_id"].agg(" ".join)
    submission = kept.rename("content_ids").reset_index()
    return submission, candidates, truth


def load_seconds(page: Path, repeats: int, chromium: str) -> float:
    """The browser's median wall time to load ``page`` and render its first screen, less an
    empty page's."""
    def once(path: Path) -> float:
        with tempfile.TemporaryDirectory() as profile:
            start = time.perf_counter()
            subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1280,900",
                            f"--screenshot={Path(profile) / 'shot.png'}", path.resolve().as_uri()],
                           check=True, capture_output=True)
            return time.perf_counter() - start

    empty = page.parent / "empty.html"
    empty.write_text("<!doctype html><html><body></body></html>")
    once(empty)  # the first start warms the disk cache
    base = statistics.median(once(empty) for _ in range(repeats))
    return max(0.0, statistics.median(once(page) for _ in range(repeats)) - base)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--data", type=Path, help="a competition folder (default: LECR-sized demo data)")
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--caps", type=int, nargs="+", help=f"--max-topics values (default: {review.MAX_TOPICS} "
                                                             "and --topics)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--record", type=Path, help="write the table into this file between markers")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    data_dir = args.data
    if data_dir is None:
        data_dir = args.work / "data"
        if not (data_dir / demo.STAMP_FILE).is_file():
            demo.write_demo(data_dir, demo.DemoConfig.preset("full"))
    data = load_competition(data_dir)
    submission, candidates, truth = predictions(data, args.topics)
    lines = [f"{len(submission):,} topics, {len(data.content):,} content items; {CANDIDATES} candidates a topic, "
             f"{KEPT} kept; load: headless Chromium, median of {args.repeats}, less an empty page's",
             "", "| topics on the page (`--max-topics`) | size | build | load in the browser |", "|---|---|---|---|"]
    for cap in args.caps or [review.MAX_TOPICS, args.topics]:
        start = time.perf_counter()
        page = review.write(args.work / f"review-{cap}.html", review.build(data, submission, candidates, truth, cap))
        built = time.perf_counter() - start
        loaded = load_seconds(page, args.repeats, args.chromium)
        lines.append(f"| {min(cap, len(submission)):,} | {page.stat().st_size / 2**20:.1f} MiB | {built:.1f} s "
                     f"| {loaded:.2f} s |")
        print(lines[-1], flush=True)
    command = "python bench/review_page.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = "\n".join([f"`{command}`", "", *lines])
    print(text)
    if args.record:
        record_block(args.record, "bench/review_page.py", text)


if __name__ == "__main__":
    main()
