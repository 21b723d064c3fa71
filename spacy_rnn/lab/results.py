"""Collect per-run metrics (metrics/*.json) into the results table (RESULTS.md).

Runs of the same dataset and system that differ only in seed are aggregated as
mean ± standard deviation, so the table states how many runs stand behind each
number. Published figures are quoted, never re-run, and say where they come from.
"""
import re
import statistics
import warnings
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple, Union

import srsly

from ..errors import Errors

# Test-set F1 quoted from the literature (seqeval-style exact-match F1), for context.
PUBLISHED: Dict[str, List[Tuple[str, str]]] = {
    "conll2003": [
        ("Lample et al. 2016, BiLSTM-CRF (random embeddings)", "83.63"),
        ("Lample et al. 2016, BiLSTM-CRF (pretrained embeddings)", "90.94"),
        ("Ma & Hovy 2016, BiLSTM-CNN-CRF", "91.21"),
        ("NCRF++ (Yang & Zhang 2018)", "91.2"),
        ("DeLFT BiLSTM-CRF + GloVe", "91.03 (PER 96.35)"),
    ],
    "wnut17": [("Flair (Akbik et al. 2018)", "50.2")],
    "conll2002-es": [("Lample et al. 2016, BiLSTM-CRF", "85.75")],
    "conll2002-nl": [("Lample et al. 2016, BiLSTM-CRF", "81.74")],
    "msra": [("Lattice LSTM (Zhang & Yang 2018)", "93.18")],
    "weibo": [("Lattice LSTM (Zhang & Yang 2018)", "58.79")],
    "resume": [("Lattice LSTM (Zhang & Yang 2018)", "94.46")],
}


def read_metrics(metrics_dir: Union[str, Path]) -> List[Dict]:
    """All metrics files of a project's metrics/ folder, sorted by file name."""
    rows = []
    for path in sorted(Path(metrics_dir).glob("*.json")):
        try:
            data = srsly.read_json(path)
        except ValueError as err:  # e.g. cut short by an evaluate that was killed
            raise ValueError(Errors.RNN049.format(path=path, reason=err)) from None
        if not isinstance(data, dict) or "overall" not in data:
            raise ValueError(Errors.RNN044.format(path=path, key="overall"))
        data["_file"] = path.name
        rows.append(data)
    return rows


def aggregate(runs: Iterable[Dict]) -> List[Dict]:
    """Group runs by (dataset, config, training tokens, training budget, vectors
    table, eval_on, types scored) and summarise over seeds.

    Runs trained on spaCy's re-tokenization and on the corpus's own tokens are
    different systems as far as a gold-token test score goes, so they never share
    a row; nor do runs given different training budgets, nor one config given
    different vectors tables (en_core_web_md's 20,000 shared rows and GloVe's
    row per word are different inputs).
    """
    groups: Dict[Tuple[str, str, str, str, str, str], List[Dict]] = defaultdict(list)
    for run in runs:
        types = ",".join(run.get("types") or [])
        key = (run.get("dataset", ""), run.get("config", ""), _tokens_label(run),
               _budget_label(run), _vectors_label(run), run.get("eval_on", ""), types)
        groups[key].append(run)
    table = []
    for (dataset, config, tokens, budget, _, eval_on, types), group in sorted(groups.items()):
        f1 = [100 * r["overall"]["f1"] for r in group]
        per = [100 * r["per_type"].get("PER", {}).get("f1", 0.0) for r in group]
        seconds = [r.get("training", {}).get("seconds") for r in group]
        seconds = [s for s in seconds if s is not None]
        hardware = {r.get("training", {}).get("hardware", "") for r in group} - {""}
        unseen = [100 * recall for recall in map(_unseen_person_recall, group) if recall is not None]
        vectors = {_used_vectors(r) for r in group}  # one table per group (the key)
        sourced = {_sourced(r) for r in group}
        table.append({
            "dataset": dataset,
            "config": config,
            "eval_on": eval_on,
            "types": types,
            "runs": len(group),
            "seeds": sorted(r.get("seed") for r in group if r.get("seed") is not None),
            "f1": _mean_std(f1),
            "per_f1": _mean_std(per),
            # Over the runs that recorded it (evaluate --train-path); None if none did.
            "per_unseen_recall": _mean_std(unseen) if unseen else None,
            "train_minutes": statistics.mean(seconds) / 60 if seconds else None,
            "hardware": ", ".join(sorted(hardware)),
            # The static vectors table's name ("" = none); None if unknown.
            "vectors": vectors.pop(),
            # Components sourced from a pretrained pipeline, e.g. "tok2vec"; None if mixed.
            "sourced": sourced.pop() if len(sourced) == 1 else None,
            # "gold" (the corpus's tokens), "spaCy" (re-tokenized) or "" (no record).
            "tokens": tokens,
            # "4,000 steps", "30 epochs", both joined by "or", or "" (no record).
            "budget": budget,
        })
    return table


def _tokens_label(run: Dict) -> str:
    """Which tokens a run was trained on: "gold", "spaCy" or "" (no training record).

    Records from before train_meta carried `gold_preproc` were all trained with
    configs that set it false, so for them only an override could have set it.
    """
    training = run.get("training")
    if not isinstance(training, dict) or "overrides" not in training:
        return ""
    gold = training.get("gold_preproc",
                        training["overrides"].get("corpora.train.gold_preproc", False))
    return "gold" if gold else "spaCy"


def _budget_label(run: Dict) -> str:
    """The training budget a run was given: "4,000 steps", "30 epochs", "30 epochs
    or 4,000 steps" (whichever came first), "no limit", or "" (no training record).

    The resolved limits are recorded since train_meta carried them; older records
    have them as the overrides every project run passed.
    """
    training = run.get("training")
    if not isinstance(training, dict) or "overrides" not in training:
        return ""
    overrides = training["overrides"]
    steps = training.get("max_steps", overrides.get("training.max_steps"))
    epochs = training.get("max_epochs", overrides.get("training.max_epochs"))
    if steps is None and epochs is None:
        return ""
    # spaCy reads max_epochs = -1 as "stream the corpus", not as an epoch limit.
    limits = (([f"{epochs:,} epochs"] if epochs and epochs > 0 else [])
              + ([f"{steps:,} steps"] if steps else []))
    return " or ".join(limits) or "no limit"


def _used_vectors(run: Dict) -> Optional[str]:
    """The static vectors table a run was trained with, by its folder or package name
    ("en_core_web_md", "glove-6b-50d"); "" for none, None with no training record."""
    training = run.get("training")
    if not isinstance(training, dict) or "overrides" not in training:
        return None
    value = training["overrides"].get("paths.vectors")
    return Path(str(value)).name if value not in (None, "", "null", "None") else ""


def _vectors_label(run: Dict) -> str:
    vectors = _used_vectors(run)
    return "?" if vectors is None else vectors


def _sourced(run: Dict) -> str:
    """The components a run sourced from a pretrained pipeline, joined ("" = none).

    Records from before train_meta carried them come from configs that sourced
    nothing, so a missing key means none.
    """
    training = run.get("training")
    names = training.get("sourced_components", []) if isinstance(training, dict) else []
    return ", ".join(sorted(names))


SPACY_NER_PREFIX = "spacy-ner-"


def margins(table: List[Dict]) -> List[Dict]:
    """Each rnn_tagger system against spaCy's `ner` trained side by side.

    The partner is the spaCy `ner` row of the same dataset given the same
    vectors setting (static vectors or none) and the same sourced components
    (a pretrained tok2vec, or none), trained on the same tokens with the same
    budget, its efficiency variant where there is one (spaCy's default): a
    tagger with vectors, a pretrained tok2vec or a longer budget is never
    credited with a win over a baseline that had none of them. Rows scored on a
    subset of types, on another set's test split, or with an unknown vectors or
    sourcing setting are left out rather than guessed.
    """
    comparable = [r for r in table
                  if not r["eval_on"] and not r["types"] and r.get("vectors") is not None
                  and r.get("sourced") is not None]
    out = []
    for row in comparable:
        if row["config"].startswith(SPACY_NER_PREFIX):
            continue
        partners = sorted(
            (r for r in comparable if r["config"].startswith(SPACY_NER_PREFIX)
             and r["dataset"] == row["dataset"] and r["vectors"] == row["vectors"]
             and r["sourced"] == row["sourced"]
             and r["tokens"] == row["tokens"] and r["budget"] == row["budget"]),
            key=lambda r: ("efficiency" not in r["config"], r["config"]))
        if not partners:
            continue
        spacy_row = partners[0]
        out.append({
            "dataset": row["dataset"], "config": row["config"],
            "baseline": spacy_row["config"], "vectors": row["vectors"],
            "tokens": row["tokens"], "budget": row["budget"],
            "f1_delta": row["f1"][0] - spacy_row["f1"][0],
            "per_delta": row["per_f1"][0] - spacy_row["per_f1"][0],
            "runs": (row["runs"], spacy_row["runs"]),
        })
    return out


def margins_markdown(rows: List[Dict]) -> str:
    """The margins as Markdown (differences of the means, in F1 points).

    The budget is a column because one pair of systems may be compared at more
    than one budget (the project's 4,000 steps and spaCy's default 20,000), and
    without it those lines would read as duplicates.
    """
    lines = [
        "| dataset | rnn_tagger system | spaCy `ner` | vectors | training tokens | budget "
        "| Δ test F1 | Δ test PER F1 | runs (ours / spaCy) |",
        "|---|---|---|---|---|---|---:|---:|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['config']} | {r['baseline']} | "
            f"{r['vectors'] or 'no'} | {r['tokens']} | {r['budget'] or '–'} "
            f"| {r['f1_delta']:+.2f} "
            f"| {r['per_delta']:+.2f} "
            f"| {r['runs'][0]} / {r['runs'][1]} |")
    return "\n".join(lines) + "\n"


def _unseen_person_recall(run: Dict) -> Optional[float]:
    """Recall on test persons never seen as persons in training, if recorded."""
    return run.get("recall_by_novelty", {}).get("unseen", {}).get("PER", {}).get("recall")


def _vectors_cell(vectors: Optional[str]) -> str:
    return "–" if vectors is None else (vectors or "no")


def _mean_std(values: List[float]) -> Tuple[float, Optional[float]]:
    return statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None


def _fmt(value: Tuple[float, Optional[float]]) -> str:
    mean, std = value
    return f"{mean:.2f}" if std is None else f"{mean:.2f} ± {std:.2f}"


def results_markdown(table: List[Dict]) -> str:
    """The results table as Markdown: our runs and baselines, then published anchors."""
    lines = [
        "| dataset | system (config) | vectors | training tokens | test F1 | test PER F1 "
        "| PER recall, unseen names | runs (seeds) | budget | train time | hardware |",
        "|---|---|---|---|---:|---:|---:|---|---|---:|---|",
    ]
    for row in table:
        dataset = row["dataset"] + (f" → {row['eval_on']}" if row["eval_on"] else "")
        minutes = f"{row['train_minutes']:.1f} min" if row["train_minutes"] is not None else "–"
        # Scored on a subset of types: the overall F1 is that subset's, not comparable.
        overall = _fmt(row["f1"]) if not row.get("types") else f"({row['types']} only)"
        seeds = ", ".join(str(s) for s in row["seeds"]) or "–"
        unseen = _fmt(row["per_unseen_recall"]) if row.get("per_unseen_recall") else "–"
        lines.append(
            f"| {dataset} | {row['config']} | {_vectors_cell(row['vectors'])} "
            f"| {row['tokens'] or '–'} | {overall} "
            f"| {_fmt(row['per_f1'])} | {unseen} "
            f"| {row['runs']} ({seeds}) | {row['budget'] or '–'} | {minutes} "
            f"| {row['hardware'] or '–'} |"
        )
    side_by_side = margins(table)
    if side_by_side:
        lines += ["", "Side by side with spaCy's `ner` (generated): each rnn_tagger system "
                  "minus spaCy's `ner` of the same dataset, vectors setting, training "
                  "tokens and budget (its efficiency config where there is one), "
                  "difference of the means:", "",
                  margins_markdown(side_by_side).rstrip("\n")]
    datasets = sorted({row["dataset"] for row in table} & set(PUBLISHED))
    if datasets:
        lines += ["", "Published anchors (quoted, not re-run):", "",
                  "| dataset | system | test F1 |", "|---|---|---:|"]
        for dataset in datasets:
            lines += [f"| {dataset} | {name} | {f1} |" for name, f1 in PUBLISHED[dataset]]
    return "\n".join(lines) + "\n"


# {{FIELD DATASET/CONFIG [vectors=NAME] [tokens=gold|spaCy] [steps=N] [eval_on=SET]}};
# a filter's value "-" selects the rows without one (no vectors, no training record).
PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s+([^/\s}]+)/([^\s}]+)((?:\s+\w+=[^\s}]+)*)\s*\}\}")
FIELDS = ("f1", "per_f1", "per_unseen_recall", "runs", "seeds")


def fill_template(text: str, table: List[Dict], strict: bool = True) -> str:
    """Replace each {{FIELD DATASET/CONFIG ...}} in a results template with the
    number the records give, e.g. {{f1 conll2003/lstm-glove-docs vectors=glove-6b-50d}}
    -> "89.90 ± 0.17".

    Why: numbers typed into the narrative drift from the records; these cannot.
    Filters default to tokens=gold and no eval_on; "-" as a filter's value asks
    for none (tokens=- for a pretrained pipeline's record, which has no training
    tokens, vectors=- for no vectors); a placeholder that matches no
    row, or several, is an error naming it and the candidates (RNN097). With
    strict=False (a metrics folder holding only some of the records, e.g. a new
    project's) it is written as "(no record: ...)" instead, and warned about.
    """
    def value(match: "re.Match[str]") -> str:
        field, dataset, config, filters = match.groups()
        wanted = {"tokens": "gold", "eval_on": ""}
        for item in filters.split():
            key, _, val = item.partition("=")
            wanted[key] = "" if val == "-" else val
        steps = wanted.pop("steps", None)
        if field not in FIELDS or set(wanted) - {"tokens", "eval_on", "vectors"}:
            raise ValueError(Errors.RNN097.format(
                placeholder=match.group(0), problem=f"fields: {', '.join(FIELDS)}; filters: "
                "vectors, tokens, steps, eval_on"))
        rows = [row for row in table if row["dataset"] == dataset and row["config"] == config
                and all(str(row.get(key) or "") == val for key, val in wanted.items())
                and (steps is None or row["budget"] == (f"{int(steps):,} steps" if steps else ""))]
        if len(rows) != 1:
            found = [f"{r['vectors']}/{r['tokens']}/{r['budget']}/{r['eval_on']}" for r in rows]
            err_msg = Errors.RNN097.format(
                placeholder=match.group(0),
                problem=f"{len(rows)} rows match ({'; '.join(found) or 'none'})")
            if strict:
                raise ValueError(err_msg)
            warnings.warn(err_msg)
            return f"(no record: {match.group(0)[2:-2].strip()})"
        cell = rows[0][field]
        if field == "seeds":
            return ", ".join(str(s) for s in cell)
        if field == "runs":
            return str(cell)
        return _fmt(cell) if cell is not None else "–"

    return PLACEHOLDER.sub(value, text)
