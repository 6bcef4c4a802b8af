"""A review page: each topic's recommendations as a curator checks them, in the browser.

    python -m utils.review --work WORK_DIR [--data DATA_DIR] [--topics FILE] [--truth correlations.csv]
                           [--max-topics N] [--out review.html]

One self-contained HTML file (its style and its script inline, nothing fetched, no server:
it opens from disk and in Kaggle's output viewer), which notebook 06 writes next to
``submission.csv``. Per topic: its breadcrumb, title, description, language and channel; the
items selected, in the order the rule kept them, each with its title, kind, language, a short
description and its score; the first few candidates below the cut, greyed (recall weighs four
times precision: a curator looks there next). Where the links are known (notebook 06 on a
validation fold, or ``--truth``), each item is a hit or a wrong pick, the topic lists the true
items it missed with their stage-1 rank ("not recalled" where recall missed them), and its F2.

At the top: the topics, items per topic, and with the links the mean F2, a histogram of the
topics' F2, F2 by language and by channel, and the twenty worst topics, linked; a box filters
the topics by text, language or channel. A large run is capped (``max_topics``): the worst
topics first where the links are known, else a sample spread over the channels.

Built with Jinja2 (autoescaping: a title holding ``<script>`` shows as text).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .metrics import as_id_lists, scores_per_topic

PAGE = "review.html"
CANDIDATES_FILE = "predicted_candidates.parquet"
"""Notebook 06's scored candidates of the requested topics: what the page shows below the cut."""
MAX_TOPICS = 1000
"""Topics on the page by default (about 3 MiB; the page's size and load time by its number of
topics: docs/RESULTS.md, "The review page")."""
BELOW = 5
"""Candidates shown below the cut."""
DESCRIPTION_CHARS = 160


@dataclass
class Item:
    id: str
    title: str
    kind: str
    language: str
    description: str
    score: float | None = None
    hit: bool | None = None
    rank: int | None = None
    """Its stage-1 rank (the fused list's), None where recall missed it."""


@dataclass
class Topic:
    id: str
    breadcrumb: str
    title: str
    description: str
    language: str
    channel: str
    selected: list[Item] = field(default_factory=list)
    below: list[Item] = field(default_factory=list)
    missed: list[Item] = field(default_factory=list)
    f2: float | None = None
    precision: float | None = None
    recall: float | None = None


def _short(text: str, limit: int = DESCRIPTION_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _breadcrumbs(topics: pd.DataFrame) -> dict[str, str]:
    """Each topic's ancestors' titles, root first, joined by " › "."""
    title = topics.set_index("id")["title"].to_dict()
    parent = topics.set_index("id")["parent"].to_dict()
    out = {}
    for topic in topics["id"]:
        chain, seen, current = [], set(), parent.get(topic, "")
        while current and current not in seen and current in title:
            seen.add(current)
            chain.append(title[current])
            current = parent.get(current, "")
        out[topic] = " › ".join(reversed(chain))
    return out


def pick(topic_ids, channel: pd.Series, f2: pd.Series | None, max_topics: int, seed: int = 0) -> list[str]:
    """The topics a page of ``max_topics`` shows: all of them if they fit; else the worst by
    ``f2`` where known, else a sample spread evenly over the channels (seeded)."""
    ids = list(dict.fromkeys(topic_ids))
    if len(ids) <= max_topics:
        return ids
    if f2 is not None:
        return list(f2.reindex(ids).sort_values(kind="stable").index[:max_topics])
    rng = np.random.default_rng(seed)
    groups = {name: list(rng.permutation(part)) for name, part in pd.Series(ids).groupby(channel.reindex(ids).to_numpy())}
    chosen = []
    while len(chosen) < max_topics:  # round robin over the channels
        for members in groups.values():
            if members and len(chosen) < max_topics:
                chosen.append(members.pop())
    return chosen


def build(data, submission: pd.DataFrame, candidates: pd.DataFrame | None = None, truth=None,
          max_topics: int = MAX_TOPICS, below: int = BELOW, title: str = "LECR recommendations") -> str:
    """The page (HTML text) of ``submission`` (``topic_id, content_ids``, best first) on
    ``data`` (:class:`~utils.data.load.LECRData`): ``candidates`` (``topic_id, content_id, rank``,
    ``score``, ``kept``: notebook 06's :data:`CANDIDATES_FILE`) give the scores and what lies
    below the cut; ``truth`` (``topic_id, content_ids`` of the links) the hits, misses and F2."""
    from jinja2 import Environment, select_autoescape

    chosen = as_id_lists(submission)
    topics = data.topics.set_index("id")
    content = data.content.set_index("id")
    channel_title = data.topics[data.topics["level"] == 0].drop_duplicates("channel").set_index("channel")["title"]
    truths = None
    per_topic = None
    if truth is not None:
        truths = {t: set(ids) for t, ids in as_id_lists(truth).items() if t in chosen}
        per_topic = scores_per_topic(chosen, {t: list(ids) for t, ids in truths.items()})
    shown = pick(list(chosen), topics["channel"], per_topic["f2"] if per_topic is not None else None, max_topics)
    crumbs = _breadcrumbs(data.topics)
    by_topic = {t: part for t, part in candidates.groupby("topic_id")} if candidates is not None else {}

    def item(cid: str, score=None, hit=None, rank=None) -> Item:
        row = content.loc[cid] if cid in content.index else None
        return Item(cid, str(row["title"]) if row is not None else cid, str(row["kind"]) if row is not None else "",
                    str(row["language"]) if row is not None else "",
                    _short(row["description"]) if row is not None else "",
                    None if score is None or pd.isna(score) else float(score), hit,
                    None if rank is None or pd.isna(rank) else int(rank))

    views = []
    for topic_id in shown:
        row = topics.loc[topic_id]
        part = by_topic.get(topic_id)
        score = part.set_index("content_id")["score"] if part is not None else pd.Series(dtype=float)
        rank = part.set_index("content_id")["rank"] if part is not None else pd.Series(dtype=float)
        true = truths.get(topic_id) if truths is not None else None
        view = Topic(topic_id, crumbs.get(topic_id, ""), str(row["title"]), _short(row["description"], 400),
                     str(row["language"]), str(channel_title.get(row["channel"], row["channel"])))
        view.selected = [item(c, score.get(c), None if true is None else c in true, rank.get(c))
                         for c in chosen[topic_id]]
        if part is not None:
            rest = part[~part["content_id"].isin(chosen[topic_id])].sort_values("score", ascending=False)
            view.below = [item(c, s, None if true is None else c in true, r)
                          for c, s, r in rest[["content_id", "score", "rank"]].head(below).itertuples(index=False)]
        if true is not None:
            view.missed = [item(c, rank=rank.get(c)) for c in sorted(true - set(chosen[topic_id]),
                                                                     key=lambda c: rank.get(c, np.inf))]
            quality = per_topic.loc[topic_id]
            view.f2, view.precision, view.recall = (float(quality[k]) for k in ("f2", "precision", "recall"))
        views.append(view)

    summary = {"topics": len(chosen), "shown": len(views),
               "items": float(np.mean([len(ids) for ids in chosen.values()])) if chosen else 0.0}
    tables = {}
    if per_topic is not None:
        summary.update(per_topic[["f2", "precision", "recall"]].mean().to_dict())
        frame = per_topic.join(topics[["language", "channel"]])
        frame["channel"] = frame["channel"].map(channel_title).fillna(frame["channel"])
        for by in ("language", "channel"):
            grouped = frame.groupby(by)["f2"]
            tables[by] = pd.DataFrame({"topics": grouped.size(), "f2": grouped.mean()}).sort_values(
                "topics", ascending=False).reset_index().to_dict("records")
        counts, edges = np.histogram(per_topic["f2"], bins=10, range=(0, 1))
        summary["histogram"] = [{"low": float(lo), "high": float(hi), "count": int(c)}
                                for lo, hi, c in zip(edges[:-1], edges[1:], counts)]
        summary["worst"] = [{"id": t, "title": str(topics.loc[t, "title"]), "f2": float(f)}
                            for t, f in per_topic["f2"].sort_values(kind="stable").head(20).items() if t in set(shown)]
    environment = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    return environment.from_string(TEMPLATE).render(title=title, summary=summary, tables=tables, topics=views,
                                                    languages=sorted({v.language for v in views}),
                                                    channels=sorted({v.channel for v in views}))


def write(path, html: str) -> Path:
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2327;background:#f6f7f9}
header{background:#fff;border-bottom:1px solid #dcdfe4;padding:16px 24px;position:sticky;top:0;z-index:2}
h1{font-size:20px;margin:0 0 8px} h2{font-size:16px;margin:0 0 4px} h3{font-size:13px;margin:12px 0 4px;color:#50575e}
main{padding:16px 24px;max-width:1100px}
.stats span{display:inline-block;margin-right:18px} .stats b{font-size:16px}
.summary{display:flex;gap:24px;flex-wrap:wrap;margin:12px 0 20px}
.card{background:#fff;border:1px solid #dcdfe4;border-radius:6px;padding:12px 14px;margin-bottom:14px}
table{border-collapse:collapse} td,th{padding:2px 8px;text-align:left;border-bottom:1px solid #eef0f2}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.hist{display:flex;align-items:flex-end;gap:3px;height:90px}
.hist div{background:#3d7bd9;width:22px;position:relative}
.hist small{position:absolute;bottom:-18px;left:0;font-size:10px;color:#646970}
.crumb{color:#646970;font-size:12px} .meta{color:#646970;font-size:12px}
.desc{color:#3c434a;margin:4px 0}
ol.items{margin:6px 0;padding-left:24px} ol.items li{margin:3px 0}
.kind{font-size:11px;background:#eef0f2;border-radius:3px;padding:0 5px;color:#50575e}
.score{font-variant-numeric:tabular-nums;color:#50575e;font-size:12px}
.hit{border-left:4px solid #1a7f37;padding-left:6px} .miss{border-left:4px solid #cf222e;padding-left:6px}
.below{opacity:.55} .missed li{color:#8a2424}
.f2{float:right;font-weight:600}
input[type=search]{width:340px;padding:6px 8px;border:1px solid #c3c4c7;border-radius:4px}
select{padding:5px}
.hidden{display:none}
section.topic{content-visibility:auto;contain-intrinsic-size:auto 480px}
</style></head>
<body>
<header>
<h1>{{ title }}</h1>
<div class="stats">
<span><b>{{ summary.topics }}</b> topics{% if summary.shown < summary.topics %} ({{ summary.shown }} shown){% endif %}</span>
<span><b>{{ "%.2f"|format(summary["items"]) }}</b> items per topic</span>
{% if summary.f2 is defined %}<span>mean F2 <b>{{ "%.3f"|format(summary.f2) }}</b></span>
<span>precision {{ "%.3f"|format(summary.precision) }}</span><span>recall {{ "%.3f"|format(summary.recall) }}</span>{% endif %}
</div>
<div style="margin-top:8px">
<input type="search" id="filter" placeholder="Filter topics by text" aria-label="filter topics">
<select id="language" aria-label="language"><option value="">every language</option>{% for l in languages %}<option>{{ l }}</option>{% endfor %}</select>
<select id="channel" aria-label="channel"><option value="">every channel</option>{% for c in channels %}<option>{{ c }}</option>{% endfor %}</select>
<span id="count" class="meta"></span>
</div>
</header>
<main>
{% if summary.histogram is defined %}
<div class="summary">
<div class="card"><h2>Topics by F2</h2><div class="hist" style="margin-bottom:22px">
{% set top = summary.histogram|map(attribute="count")|max %}
{% for bin in summary.histogram %}<div title="{{ '%.1f'|format(bin.low) }}-{{ '%.1f'|format(bin.high) }}: {{ bin.count }} topics" style="height:{{ (86 * bin.count / (top or 1))|round(1) }}px"><small>{{ "%.1f"|format(bin.low) }}</small></div>{% endfor %}
</div></div>
{% for by, rows in tables.items() %}
<div class="card"><h2>F2 by {{ by }}</h2><table><tr><th>{{ by }}</th><th>topics</th><th>F2</th></tr>
{% for row in rows[:15] %}<tr><td>{{ row[by] }}</td><td class="n">{{ row.topics }}</td><td class="n">{{ "%.3f"|format(row.f2) }}</td></tr>{% endfor %}
</table></div>
{% endfor %}
<div class="card"><h2>The worst topics</h2><ol>
{% for w in summary.worst %}<li><a href="#{{ w.id }}">{{ w.title }}</a> <span class="score">{{ "%.2f"|format(w.f2) }}</span></li>{% endfor %}
</ol></div>
</div>
{% endif %}
{% for t in topics %}
<section class="card topic" id="{{ t.id }}" data-language="{{ t.language }}" data-channel="{{ t.channel }}">
{% if t.f2 is not none %}<span class="f2">F2 {{ "%.2f"|format(t.f2) }}</span>{% endif %}
<div class="crumb">{{ t.breadcrumb }}</div>
<h2>{{ t.title }}</h2>
<div class="meta">{{ t.id }} · {{ t.language }} · {{ t.channel }}{% if t.f2 is not none %} · precision {{ "%.2f"|format(t.precision) }} · recall {{ "%.2f"|format(t.recall) }}{% endif %}</div>
{% if t.description %}<div class="desc">{{ t.description }}</div>{% endif %}
<h3>Selected</h3>
<ol class="items selected">
{% for i in t.selected %}<li class="{% if i.hit is sameas true %}hit{% elif i.hit is sameas false %}miss{% endif %}" data-id="{{ i.id }}"><span class="kind">{{ i.kind }}</span> {{ i.title }} <span class="meta">{{ i.language }}</span>{% if i.score is not none %} <span class="score">{{ "%.3f"|format(i.score) }}</span>{% endif %}{% if i.description %}<div class="meta">{{ i.description }}</div>{% endif %}</li>{% endfor %}
</ol>
{% if t.below %}<h3>Below the cut</h3><ol class="items below">
{% for i in t.below %}<li class="{% if i.hit is sameas true %}hit{% endif %}" data-id="{{ i.id }}"><span class="kind">{{ i.kind }}</span> {{ i.title }}{% if i.score is not none %} <span class="score">{{ "%.3f"|format(i.score) }}</span>{% endif %}</li>{% endfor %}
</ol>{% endif %}
{% if t.missed %}<h3>Missed</h3><ul class="missed">
{% for i in t.missed %}<li data-id="{{ i.id }}"><span class="kind">{{ i.kind }}</span> {{ i.title }} <span class="meta">{% if i.rank is not none %}stage-1 rank {{ i.rank }}{% else %}not recalled{% endif %}</span></li>{% endfor %}
</ul>{% endif %}
</section>
{% endfor %}
</main>
<script>
(function () {
  var box = document.getElementById("filter"), language = document.getElementById("language"),
      channel = document.getElementById("channel"), count = document.getElementById("count"),
      topics = Array.prototype.slice.call(document.querySelectorAll("section.topic"));
  function apply() {
    var text = box.value.toLowerCase(), shown = 0;
    topics.forEach(function (t) {
      var ok = (!text || t.textContent.toLowerCase().indexOf(text) >= 0)
        && (!language.value || t.dataset.language === language.value)
        && (!channel.value || t.dataset.channel === channel.value);
      t.classList.toggle("hidden", !ok);
      if (ok) { shown += 1; }
    });
    count.textContent = shown + " of " + topics.length + " topics";
  }
  [box, language, channel].forEach(function (e) { e.addEventListener("input", apply); });
  count.textContent = topics.length + " of " + topics.length + " topics";
})();
</script>
</body></html>
"""


def main(argv=None) -> None:
    from . import paths
    from .data.load import load_competition

    parser = argparse.ArgumentParser(prog="python -m utils.review", description=__doc__.split("\n")[0])
    parser.add_argument("--work", required=True, help="a working folder notebook 06 wrote submission.csv in")
    parser.add_argument("--data", help="its competition folder (default: as the notebooks find it)")
    parser.add_argument("--topics", help="a CSV file of the topics to show (topic_id column; default: all)")
    parser.add_argument("--truth", help="a correlations.csv holding the topics' true links")
    parser.add_argument("--max-topics", type=int, default=MAX_TOPICS)
    parser.add_argument("--out", help=f"the page (default: WORK/{PAGE})")
    args = parser.parse_args(argv)
    work = Path(args.work)
    data = load_competition(paths.data_dir(args.data, work))
    submission = pd.read_csv(work / "submission.csv", dtype=str, keep_default_na=False)
    if args.topics:
        wanted = set(pd.read_csv(args.topics, dtype=str)["topic_id"])
        submission = submission[submission["topic_id"].isin(wanted)]
    candidates = pd.read_parquet(work / CANDIDATES_FILE) if (work / CANDIDATES_FILE).is_file() else None
    truth = pd.read_csv(args.truth, dtype=str) if args.truth else None
    path = write(args.out or work / PAGE, build(data, submission, candidates, truth, args.max_topics))
    print(f"wrote {path} ({path.stat().st_size / 2**20:.1f} MiB)")


if __name__ == "__main__":
    main()
