"""A deterministic demo dataset in the exact Kaggle LECR layout, at any size.

``python -m utils.data.demo --out DIR`` writes ``topics.csv``, ``content.csv``,
``correlations.csv`` and ``sample_submission.csv`` into ``DIR``; ``--size full`` writes the
LECR shape (~77k topics, ~154k content, ~290k links) for benchmarks. The same seed and sizes
always give the same files.

What it carries, as the real data does: channels of three categories (``source`` channels
whose content the ``aligned`` and ``supplemental`` curricula reuse, so content is shared
across channels and topics: many-to-many links), ten languages in five scripts plus one
language that has almost no content, trees of 4 to 8 levels, all five content kinds, empty
topic and content descriptions, extracted ``text`` on about half the content, titles that
repeat, and a few links from a topic to content of another language.

The signal is learnable: topics and content are drawn from a hidden taxonomy of *concepts*
(a subject, an area word and three keywords). A topic names its concept's first keywords;
its content names the others and a fixed *partner* word of the first, so lexical overlap
helps a retriever beat chance and a model that learns the partner words does better.
Other languages are deterministic pseudo-translations (suffixes, or letters mapped into
Arabic, Devanagari, Bengali, Gujarati or Khmer script), each with its own vocabulary.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

GENERATOR_VERSION = 2  # bump when a change to the generator changes its output
STAMP_FILE = "demo.json"

SIZES = {
    # name: (topics, content, links)
    "tiny": (160, 320, 560),
    "small": (800, 1600, 2900),
    "full": (76_972, 154_047, 279_919),
}

SUBJECTS = {
    "mathematics": "number fraction decimal percent ratio equation algebra geometry angle "
    "triangle circle area volume graph function probability statistics measurement integer "
    "exponent polynomial matrix vector sequence series limit derivative integral symmetry "
    "division multiplication addition subtraction estimation proportion inequality",
    "physics": "force motion energy momentum velocity acceleration gravity friction wave sound "
    "light lens mirror electricity circuit current voltage magnet heat temperature pressure "
    "density fluid orbit atom nucleus radiation quantum relativity spring pendulum",
    "chemistry": "element compound mixture reaction acid base salt metal bond molecule ion "
    "electron oxidation reduction solution solvent crystal gas liquid solid carbon oxygen "
    "hydrogen polymer catalyst equilibrium isotope periodic combustion",
    "biology": "cell tissue organ plant animal photosynthesis respiration digestion blood "
    "heart brain nerve muscle bone gene chromosome evolution species ecosystem habitat "
    "bacteria virus fungi seed flower leaf root protein enzyme immunity",
    "history": "empire kingdom revolution war treaty colony independence trade slavery "
    "civilization pharaoh republic democracy monarchy constitution migration industry "
    "religion reform dynasty medieval ancient modern archive monument",
    "geography": "map continent ocean river mountain desert forest climate weather rainfall "
    "population city village border latitude longitude volcano earthquake island coast "
    "agriculture resource soil erosion glacier",
    "language": "alphabet letter word sentence grammar verb noun adjective pronoun tense "
    "spelling reading writing poem story paragraph vocabulary punctuation dialogue essay "
    "phonics rhyme syllable narrative",
    "computing": "computer program algorithm loop variable data network internet website "
    "database code logic binary file keyboard software hardware robot security graphics "
    "animation",
    "health": "nutrition hygiene disease exercise sleep water vitamin safety first aid "
    "vaccine mental family growth puberty infection sanitation",
    "arts": "drawing painting colour music rhythm melody dance theatre craft sculpture song "
    "instrument pattern design",
    "economics": "money market price demand supply budget saving bank tax income business "
    "profit interest inflation investment",
    "teaching": "classroom lesson assessment learner teacher planning inclusion feedback "
    "group project curriculum activity",
}
FILLER = ("the of and to in with for about how we learn lesson this is a an on by from "
          "students practice example more each when what why use find see make").split()
STRUCTURE = ("grade", "unit", "chapter", "module", "week", "level", "part", "section")
KINDS = ("video", "exercise", "document", "html5", "audio")
KIND_SHARE = (0.38, 0.24, 0.2, 0.13, 0.05)
LICENSES = ("CC BY", "CC BY-NC-SA", "CC BY-NC", "CC BY-NC-ND", "CC BY-SA", "Public Domain")
HOLDERS = ("Khan Academy", "CK-12 Foundation", "Open Stax", "PhET", "African Storybook",
           "Pratham", "TESSA", "Siyavula", "Ciencia NASA", "Proyecto Descartes")
CATEGORY_SHARE = {"source": 0.3, "aligned": 0.45, "supplemental": 0.25}

# language -> share of topics; "km" is the language with almost no content
LANGUAGES = {"en": 0.38, "es": 0.2, "fr": 0.08, "pt": 0.07, "ar": 0.06, "hi": 0.06,
             "sw": 0.05, "bn": 0.04, "zu": 0.03, "gu": 0.03}
SPARSE_LANGUAGE = "km"
REUSING = ("en", "es")
"""Languages with a source channel and an aligned curriculum on the same subjects, which
links the source's items: content shared across channels."""
BORROWING = {"sw": 0.25, "zu": 0.25, "hi": 0.1}
"""Share of topics in these languages (whose first channel teaches the English source's
subjects) that also link an English item of their concept, the original of their translated
items: content shared across languages."""
SCRIPTS = {
    "ar": "ابتثجحخدذرزسشصضطظعغفقكلمنهوي",
    "hi": "अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशसह",
    "bn": "অআইঈউঊএঐওঔকখগঘঙচছজঝঞটঠডঢণতথদধনপফবভমযরলশসহ",
    "gu": "અઆઇઈઉઊએઐઓઔકખગઘઙચછજઝઞટઠડઢણતથદધનપફબભમયરલવશસહ",
    "km": "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអ",
}
SUFFIX = {"es": ("o", "s"), "fr": ("e", "t"), "pt": ("ao", "m")}
PREFIX = {"sw": "ki", "zu": "isi"}


def translate(word: str, language: str) -> str:
    """Deterministic pseudo-translation of an English word (identity for ``en``)."""
    if language in SCRIPTS:
        letters = SCRIPTS[language]
        return "".join(letters[(ord(ch) - 97) % len(letters)] if ch.isalpha() else ch
                       for ch in word.lower())
    if language in SUFFIX:
        after_consonant, after_vowel = SUFFIX[language]
        word = word.replace("th", "t").replace("ph", "f").replace("y", "i")
        return word + (after_vowel if word[-1] in "aeiou" else after_consonant)
    if language in PREFIX:
        return PREFIX[language] + word.replace("c", "k").replace("q", "k")
    return word


@dataclass(frozen=True)
class DemoConfig:
    """Sizes and seed of a generated dataset (``SIZES`` names the presets)."""

    topics: int = SIZES["small"][0]
    content: int = SIZES["small"][1]
    links: int = SIZES["small"][2]
    seed: int = 0
    submission_share: float = 0.05
    """Share of non-source topics with content listed in sample_submission.csv."""

    @classmethod
    def preset(cls, size: str, seed: int = 0) -> "DemoConfig":
        topics, content, links = SIZES[size]
        return cls(topics=topics, content=content, links=links, seed=seed)


def _hex_id(prefix: str, seed: int, kind: str, index: int, digits: int = 12) -> str:
    return prefix + hashlib.sha1(f"{seed}:{kind}:{index}".encode()).hexdigest()[:digits]


class _Generator:
    def __init__(self, config: DemoConfig):
        self.cfg = config
        self.rng = np.random.default_rng(config.seed)
        self.words = {s: w.split() for s, w in SUBJECTS.items()}
        # each word's fixed partner: the content side says "partner(kw1)" where the topic says kw1
        self.partner = {}
        for words in self.words.values():
            shifted = words[7:] + words[:7]
            self.partner.update(zip(words, shifted))
        self.vocab_cache: dict[tuple[str, str], str] = {}

    def tr(self, word: str, language: str) -> str:
        key = (word, language)
        if key not in self.vocab_cache:
            self.vocab_cache[key] = translate(word, language)
        return self.vocab_cache[key]

    def phrase(self, words, language: str) -> str:
        return " ".join(self.tr(w, language) for w in words)

    # -- concepts -------------------------------------------------------------------------
    def concepts(self, count: int) -> pd.DataFrame:
        rng, rows, seen = self.rng, [], set()
        subjects = list(self.words)
        weights = np.linspace(2.0, 0.6, len(subjects))
        weights /= weights.sum()
        while len(rows) < count:
            subject = subjects[rng.choice(len(subjects), p=weights)]
            words = self.words[subject]
            area, k1, k2, k3 = (words[i] for i in rng.choice(len(words), 4, replace=False))
            if (subject, area, k1, k2) in seen:
                continue
            seen.add((subject, area, k1, k2))
            rows.append((subject, area, k1, k2, k3))
        frame = pd.DataFrame(rows, columns=["subject", "area", "k1", "k2", "k3"])
        # popularity: a few concepts recur in many curricula, most in few
        frame["weight"] = rng.pareto(1.5, count) + 0.2
        return frame

    # -- channels and trees -----------------------------------------------------------------
    def channels(self) -> pd.DataFrame:
        rng, n = self.rng, self.cfg.topics
        count = max(len(LANGUAGES) + 2, round(n / 450))
        languages = list(LANGUAGES)
        shares = np.array(list(LANGUAGES.values()))
        # the two largest languages get a second channel: a curriculum aligned to their source
        extra = list(REUSING) + list(rng.choice(languages, count - len(languages) - len(REUSING),
                                                 p=shares / shares.sum()))
        language = languages + extra
        categories = list(CATEGORY_SHARE)
        category = list(rng.choice(categories, count, p=list(CATEGORY_SHARE.values())))
        category[:3] = categories  # every category at least once
        for i, lang in enumerate(REUSING):
            category[languages.index(lang)] = "source"
            category[len(languages) + i] = "aligned"
        # sizes spanning decades, as real channels do; each language's total follows its share
        per_language = pd.Series(language).map(pd.Series(language).value_counts()).to_numpy()
        size = rng.lognormal(0.0, 0.8, count) * np.array([LANGUAGES[x] for x in language])
        size = np.maximum(np.round(size / per_language / size.sum() * n * count / 2), 12)
        size = np.round(size / size.sum() * n).astype(int)
        frame = pd.DataFrame({"language": language, "category": category, "budget": size})
        frame["extra_levels"] = rng.choice([0, 1, 2, 3, 4], count, p=[0.25, 0.3, 0.2, 0.15, 0.1])
        frame["n_subjects"] = rng.choice([1, 2, 3, 4], count, p=[0.45, 0.3, 0.15, 0.1])
        subjects = list(self.words)
        frame["subjects"] = [tuple(rng.choice(subjects, n, replace=False)) for n in frame["n_subjects"]]
        for i, lang in enumerate(REUSING):  # the aligned curriculum teaches its source's subjects
            frame.at[len(languages) + i, "subjects"] = frame.at[languages.index(lang), "subjects"]
        for lang in BORROWING:  # and so do the borrowing languages' first channels, in English
            frame.at[languages.index(lang), "subjects"] = frame.at[languages.index("en"), "subjects"]
        if n >= 100:  # a small channel in a language that has almost no content
            frame.loc[len(frame)] = [SPARSE_LANGUAGE, "supplemental", 10, 1, 1, subjects[:1]]
        frame["channel"] = [_hex_id("", self.cfg.seed, "channel", i, 6) for i in frame.index]
        return frame

    def build_tree(self, channel, concepts: pd.DataFrame, topics: list, rng) -> None:
        """Append a channel's topics (dicts) to ``topics``: root, subjects, units, areas, leaves."""
        lang, cid, category = channel.language, channel.channel, channel.category
        subjects = list(channel.subjects)
        pool = concepts[concepts["subject"].isin(subjects)]
        n_leaves = max(3, int(channel.budget * 0.68))
        p = pool["weight"].to_numpy() / pool["weight"].sum()
        # with replacement: a concept can recur in a channel (e.g. in two grades), as in LECR
        picked = pool.iloc[rng.choice(len(pool), n_leaves, p=p)]
        picked = picked.sort_values(["subject", "area"], kind="stable")

        def add(title, level, parent, concept=-1, description=""):
            topic = {"id": _hex_id("t_", self.cfg.seed, "topic", len(topics)), "title": title,
                     "description": description, "channel": cid, "category": category,
                     "level": level, "language": lang, "parent": parent, "concept": concept}
            topics.append(topic)
            return topic["id"]

        holder = {"source": "Academy", "aligned": "Curriculum", "supplemental": "Library"}
        root_title = " ".join(self.tr(s, lang).title() for s in subjects)
        root = add(f"{root_title} {holder[category]} ({lang})", 0, "")
        code = 0
        for subject, group in picked.groupby("subject", sort=False):
            subject_id = add(self.tr(subject, lang).title(), 1, root)
            areas = list(group.groupby("area", sort=False))
            parents = [(subject_id, areas)]
            for depth in range(int(channel.extra_levels)):  # grade > unit > chapter ... levels
                label = self.tr(STRUCTURE[depth % len(STRUCTURE)], lang).title()
                nested = []
                for parent, items in parents:
                    chunk = max(1, int(rng.integers(2, 5)))
                    for i in range(0, len(items), chunk):
                        node = add(f"{label} {i // chunk + 1}", 2 + depth, parent)
                        nested.append((node, items[i: i + chunk]))
                parents = nested
            level = 2 + int(channel.extra_levels)
            for parent, items in parents:
                for area, leaves in items:
                    area_id = add(self.tr(area, lang).title(), level, parent)
                    for concept in leaves.itertuples():
                        code += 1
                        k1, k2, k3 = (self.tr(w, lang) for w in (concept.k1, concept.k2,
                                                                  concept.k3))
                        style = rng.integers(4)
                        title = [f"{k1.title()} {k2}", f"{k1.title()} and {k2}",
                                 f"{k2.title()}: {k1}", f"{k1.title()} {k2} {k3}"][style]
                        if category == "aligned":
                            title = f"{level}.{code} {title}"
                        description = ""
                        if rng.random() < 0.4:
                            description = self.sentence(
                                [concept.k2, concept.k3, concept.area], lang, rng, 10)
                        add(title, level + 1, area_id, concept.Index, description)

    def sentence(self, words, lang, rng, length) -> str:
        filler = rng.choice(FILLER, length)
        slots = rng.choice(length, min(len(words), length), replace=False)
        filler[slots] = words[: len(slots)]
        return self.phrase(filler, lang).capitalize() + "."

    # -- content --------------------------------------------------------------------------
    def content_rows(self, pools: pd.DataFrame, concepts: pd.DataFrame, rng) -> pd.DataFrame:
        """One row per content item: ``pools`` has concept, language and item count."""
        concept = np.repeat(pools["concept"].to_numpy(), pools["items"].to_numpy())
        language = np.repeat(pools["language"].to_numpy(), pools["items"].to_numpy())
        n = len(concept)
        kind = rng.choice(KINDS, n, p=KIND_SHARE)
        style = rng.choice(6, n, p=[0.2, 0.25, 0.12, 0.13, 0.15, 0.15])
        has_desc = rng.random(n) < 0.45
        has_text = rng.random(n) < np.where(np.isin(kind, ["document", "html5"]), 0.8, 0.4)
        text_len = rng.integers(30, 160, n)
        c = concepts.loc[concept]
        rows = []
        for i, (lang, subject, area, k1, k2, k3) in enumerate(zip(
                language, c["subject"], c["area"], c["k1"], c["k2"], c["k3"])):
            partner = self.partner[k1]
            title = [
                f"{self.tr(k1, lang).title()} {self.tr(k2, lang)}",
                f"{self.tr(k2, lang).title()} {self.tr(partner, lang)}",
                f"{self.tr('about', lang).title()} {self.tr(k3, lang)} {self.tr(partner, lang)}",
                f"{self.tr(partner, lang).title()} {self.tr('practice', lang)}",
                f"{self.tr(k1, lang).title()} {self.tr(k3, lang)}",
                f"{self.tr('lesson', lang).title()} {rng.integers(1, 40)}",  # uninformative
            ][style[i]]
            description = (self.sentence([k2, partner, k3, area], lang, rng, 12)
                           if has_desc[i] else "")
            text = ""
            if has_text[i]:  # a sentence on the concept, then prose on its subject
                body = rng.choice(FILLER, text_len[i]).astype(object)
                spots = rng.choice(text_len[i], text_len[i] // 6, replace=False)
                body[spots] = rng.choice(self.words[subject], len(spots))
                text = (self.sentence([partner, k3, k2], lang, rng, 8) + " "
                        + self.phrase(body, lang).capitalize() + ".")
            rows.append((title, description, text))
        frame = pd.DataFrame(rows, columns=["title", "description", "text"])
        frame.insert(0, "id", [_hex_id("c_", self.cfg.seed, "content", i) for i in range(n)])
        frame.insert(3, "kind", kind)
        frame["language"] = language
        holder = rng.choice(HOLDERS, n)
        frame["copyright_holder"] = np.where(rng.random(n) < 0.5, holder, "")
        frame["license"] = np.where(rng.random(n) < 0.55, rng.choice(LICENSES, n), "")
        frame["concept"] = concept
        return frame

    # -- everything -------------------------------------------------------------------------
    def generate(self) -> dict[str, pd.DataFrame]:
        cfg, rng = self.cfg, self.rng
        concepts = self.concepts(max(40, int(cfg.topics * 0.12)))
        channels = self.channels()
        for _ in range(3):  # later passes scale the channels to the topic count asked for
            topics: list[dict] = []
            tree_rng = np.random.default_rng([cfg.seed, 1])
            for channel in channels.itertuples():
                self.build_tree(channel, concepts, topics, tree_rng)
            scale = cfg.topics / len(topics)
            channels["budget"] = np.maximum(np.round(channels["budget"] * scale), 8).astype(int)
        topics = pd.DataFrame(topics)
        # which topics carry content: most leaves, some inner topics (via a descendant's concept)
        leaf = topics["concept"] >= 0
        topics["has_content"] = np.where(leaf, rng.random(len(topics)) < 0.93,
                                         rng.random(len(topics)) < 0.15)
        topics.loc[topics["level"] == 0, "has_content"] = False
        children = topics.groupby("parent")["id"].agg(list).to_dict()
        concept_of = dict(zip(topics["id"], topics["concept"]))
        for i in topics.index[~leaf & topics["has_content"]]:
            frontier = list(children.get(topics.at[i, "id"], ()))
            while frontier:  # an inner topic takes the concept of its first leaf below
                current = frontier.pop(0)
                if concept_of[current] >= 0:
                    topics.at[i, "concept"] = concept_of[current]
                    break
                frontier.extend(children.get(current, ()))
        topics.loc[topics["concept"] < 0, "has_content"] = False

        with_content = topics[topics["has_content"]]
        pools = (with_content.groupby(["concept", "language"]).size().rename("users")
                 .reset_index())
        # the English originals that curricula in the borrowing languages link beside their own
        borrowed = set(with_content.loc[with_content["language"].isin(list(BORROWING)), "concept"])
        missing = sorted(borrowed - set(pools.loc[pools["language"] == "en", "concept"]))
        pools = pd.concat([pools, pd.DataFrame({"concept": missing, "language": "en", "users": 0})],
                          ignore_index=True)
        weight = np.sqrt(pools["users"].to_numpy()) * rng.lognormal(0, 0.5, len(pools))
        sparse = pools["language"] == SPARSE_LANGUAGE
        weight[sparse.to_numpy()] = 0
        spare = max(cfg.content - len(pools), 0)
        pools["items"] = 1 + rng.multinomial(spare, weight / weight.sum())
        pools.loc[sparse, "items"] = 0
        if sparse.any():  # the sparse language: two items in all, on its first concept
            pools.loc[sparse.idxmax(), "items"] = 2
        content = self.content_rows(pools, concepts, rng)
        links = self.links(with_content, content, rng)

        topics = topics.sort_values("id").reset_index(drop=True)
        content = content.sort_values("id").reset_index(drop=True)
        correlations = (links.groupby("topic_id")["content_id"]
                        .agg(lambda ids: " ".join(sorted(ids))).rename("content_ids")
                        .reset_index())
        candidates = topics[(topics["category"] != "source")
                            & topics["id"].isin(correlations["topic_id"])]
        n_sub = min(len(candidates), max(5, round(len(candidates) * cfg.submission_share)))
        chosen = candidates.sample(n_sub, random_state=cfg.seed).sort_values("id")
        submission = pd.DataFrame({"topic_id": chosen["id"], "content_ids": ""})
        return {
            "topics": topics.drop(columns="concept"),
            "content": content.drop(columns="concept"),
            "correlations": correlations,
            "sample_submission": submission,
        }

    def links(self, with_content: pd.DataFrame, content: pd.DataFrame, rng) -> pd.DataFrame:
        """Each topic with content links to items of its (concept, language) pool."""
        by_pool = content.groupby(["concept", "language"])["id"].agg(list)
        by_language = content.groupby("language")["id"].agg(list)
        english = content[content["language"] == "en"].groupby("concept")["id"].agg(list)
        key = list(zip(with_content["concept"], with_content["language"]))
        cap = np.maximum([len(by_pool.get(k, ())) for k in key], 1)

        def sample(target: float) -> pd.DataFrame:
            lam = max(target - 1, 0.1)
            for _ in range(20):  # calibrate the expected links per topic to the target
                lam *= target / np.minimum(1 + rng.poisson(lam, len(key)), cap).mean()
            counts = np.minimum(1 + rng.poisson(lam, len(key)), cap)
            pairs = []
            for topic, k, n in zip(with_content["id"], key, counts):
                # a pool emptied by the sparse language falls back on its language's items
                items = by_pool.get(k) or by_language[k[1]]
                pairs.extend((topic, c) for c in rng.choice(items, min(n, len(items)),
                                                            replace=False))
                if (k[1] != "en" and k[0] in english.index
                        and rng.random() < BORROWING.get(k[1], 0.01)):
                    pairs.append((topic, rng.choice(english[k[0]])))  # a cross-language link
            return pd.DataFrame(pairs, columns=["topic_id", "content_id"]).drop_duplicates()

        target = self.cfg.links / max(len(with_content), 1)
        links = sample(target)
        # every item is linked at least once (orphans join a topic of their pool), so the
        # draws leave room for the orphans' links: measure them once, then draw again
        orphans = (~content["id"].isin(set(links["content_id"]))).sum()
        links = sample(max(target - orphans / max(len(with_content), 1), 1.0))
        orphans = content.loc[~content["id"].isin(set(links["content_id"]))]
        pool_topics = with_content.groupby(["concept", "language"])["id"].agg(list)
        borrowers = (with_content[with_content["language"].isin(list(BORROWING))]
                     .groupby("concept")["id"].agg(list))
        extra = [(rng.choice(pool_topics[(o.concept, o.language)]), o.id)
                 for o in orphans.itertuples() if (o.concept, o.language) in pool_topics.index]
        extra += [(rng.choice(borrowers[o.concept]), o.id) for o in orphans.itertuples()
                  if (o.concept, o.language) not in pool_topics.index and o.language == "en"
                  and o.concept in borrowers.index]  # an English original nobody else links
        return pd.concat([links, pd.DataFrame(extra, columns=links.columns)], ignore_index=True)


def generate(config: DemoConfig = DemoConfig()) -> dict[str, pd.DataFrame]:
    """The four competition tables as frames, keyed like :data:`utils.data.load.FILES`."""
    return _Generator(config).generate()


def stamp(config: DemoConfig) -> str:
    """What identifies a generated dataset: the generator's version and its settings."""
    return json.dumps({"generator": GENERATOR_VERSION, **asdict(config)}, sort_keys=True)


def write_demo(out, config: DemoConfig = DemoConfig()) -> dict[str, int]:
    """Write the demo dataset into the folder ``out``; return the row counts it wrote.

    ``demo.json`` beside the CSV files records :func:`stamp`, so a cached copy made by an
    older generator or other settings is recognised and written again.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tables = generate(config)
    for name, frame in tables.items():
        frame.to_csv(out / f"{name}.csv", index=False)
    (out / STAMP_FILE).write_text(stamp(config))
    links = int(tables["correlations"]["content_ids"].str.split().str.len().sum())
    return {"topics": len(tables["topics"]), "content": len(tables["content"]),
            "links": links, "topics to predict": len(tables["sample_submission"])}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m utils.data.demo",
        description="Write a deterministic demo dataset in the Kaggle LECR layout.")
    parser.add_argument("--out", required=True, help="folder to write the four CSV files into")
    parser.add_argument("--size", choices=list(SIZES), default="small",
                        help="preset: tiny (tests), small (demo run, default), "
                             "full (LECR shape: ~77k topics, ~154k content, ~290k links)")
    parser.add_argument("--topics", type=int, help="override the preset's topic count")
    parser.add_argument("--content", type=int, help="override the preset's content count")
    parser.add_argument("--links", type=int, help="override the preset's link count")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    base = DemoConfig.preset(args.size, args.seed)
    config = DemoConfig(topics=args.topics or base.topics, content=args.content or base.content,
                        links=args.links or base.links, seed=args.seed)
    start = time.perf_counter()
    counts = write_demo(args.out, config)
    took = time.perf_counter() - start
    print(f"wrote {args.out} in {took:.1f}s: " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
