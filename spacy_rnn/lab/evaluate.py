"""Test-set evaluation: entity-level seqeval scores (strict IOB2) next to spaCy's scorer.

seqeval is the reference metric here because it is what the NER literature
reports (CoNLL-style, exact span and type match). spaCy's own `ents_p/r/f` are
kept alongside as a cross-check: on well-formed predictions both count the same
spans, so a mismatch points to a bug in the conversion rather than the model.

The person type is reported under one name, "PER", whatever a dataset calls it
("PERSON", "NAME", ...), so that results across datasets line up in one table.
"""
import json
import os
import time
import warnings
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple, Union

import spacy
from seqeval.metrics import (
    classification_report,
    f1_score,
    precision_score,
    recall_score,
)
from seqeval.scheme import IOB2
from spacy.language import Language
from spacy.scorer import get_ner_prf
from spacy.tokens import Doc, DocBin, Span
from spacy.training import Example
from spacy.vectors import Vectors
from spacy.vocab import Vocab

from ..errors import Errors
from ..layers.sentence_context import sentence_bounds
from ..readers import with_sentences
from .calibration import calibration_report
from .corpora import DATASETS
from .vector_table import has_row, is_keyed_table, read_table

PERSON = "PER"
# Every benchmark's person type (DatasetSpec.person_label), and OntoNotes' (the
# pretrained pipelines'): the labels `normalize_label` maps to PER.
PERSON_LABELS = frozenset({"PERSON"} | {spec.person_label for spec in DATASETS.values()})
OUTSIDE = "O"
# Keys of spaCy's scorer output that describe entities; the rest (token_acc,
# speed, other components' scores) is not about this evaluation.
SPACY_ENT_KEYS = ("ents_p", "ents_r", "ents_f", "ents_per_type")

LabelMapper = Callable[[str], str]


def normalize_label(label: str) -> str:
    """Map the person labels of the different datasets to "PER".

    label (str): An entity label, e.g. "PERSON".
    RETURNS (str): "PER" for a person label, the label unchanged otherwise.
    """
    return PERSON if label in PERSON_LABELS else label


def docs_to_iob(docs: Iterable[Doc]) -> List[List[str]]:
    """Convert the entities of docs to IOB2 tag sequences, one per doc.

    The tags are built from `doc.ents` (not from `token.ent_iob_` one by one) so
    that every entity starts with "B-", as IOB2 requires. Tokens with missing
    annotation become "O": seqeval has no notion of missing.

    docs (Iterable[Doc]): The docs.
    RETURNS (List[List[str]]): One list of tags per doc, e.g. ["B-PER", "I-PER", "O"];
        entity labels are normalized with `normalize_label`.
    """
    sequences = []
    for doc in docs:
        tags = [OUTSIDE] * len(doc)
        for ent in doc.ents:
            label = normalize_label(ent.label_)
            tags[ent.start] = f"B-{label}"
            for i in range(ent.start + 1, ent.end):
                tags[i] = f"I-{label}"
        sequences.append(tags)
    return sequences


def seqeval_report(y_true: List[List[str]], y_pred: List[List[str]]) -> Dict:
    """Entity-level precision, recall and F1 with seqeval in strict IOB2 mode.

    Strict mode only counts well-formed entities: an "I-X" that follows "O" (or
    a different type) starts nothing, whereas seqeval's default (CoNLL-style)
    mode would count it as an entity. Gold tags should therefore be valid IOB2
    (which `docs_to_iob` guarantees).

    y_true (List[List[str]]): Gold IOB2 tag sequences.
    y_pred (List[List[str]]): Predicted IOB2 tag sequences, same shape.
    RETURNS (Dict): {"overall": {"precision", "recall", "f1"}, "per_type": {label:
        {"precision", "recall", "f1", "support"}}}, scores as floats in [0, 1].
        "PER" is always the first type, with zeros and support 0 if absent.
    """
    _check_aligned(y_true, y_pred)
    metric_kwargs = {"mode": "strict", "scheme": IOB2, "zero_division": 0}
    with warnings.catch_warnings():
        # The macro average over zero types is a mean of an empty array: numpy
        # warns, seqeval returns NaN, and we do not use the macro average anyway.
        warnings.simplefilter("ignore", category=RuntimeWarning)
        report = classification_report(y_true, y_pred, output_dict=True, **metric_kwargs)
        overall = {
            "precision": float(precision_score(y_true, y_pred, **metric_kwargs)),
            "recall": float(recall_score(y_true, y_pred, **metric_kwargs)),
            "f1": float(f1_score(y_true, y_pred, **metric_kwargs)),
        }
    per_type = {
        label: {
            "precision": float(scores["precision"]),
            "recall": float(scores["recall"]),
            "f1": float(scores["f1-score"]),
            "support": int(scores["support"]),
        }
        for label, scores in report.items()
        if not label.endswith(" avg")
    }
    return {"overall": overall, "per_type": _person_first(per_type)}


def evaluate_model(
    model: Union[str, Path, Language],
    test_path: Union[str, Path],
    *,
    dataset: str = "",
    config: str = "",
    seed: Optional[int] = None,
    batch_size: int = 256,
    label_map: Optional[Dict[str, str]] = None,
    types: Optional[Sequence[str]] = None,
    train_path: Optional[Union[str, Path]] = None,
    vectors_of: Optional[Union[str, Path]] = None,
) -> Dict:
    """Evaluate a pipeline's entities on a gold DocBin.

    Predictions are made on the *gold* tokenization, so that gold and predicted
    tag sequences have the same length and no alignment can blur the scores.

    model (Union[str, Path, Language]): The pipeline, or a path for `spacy.load`.
    test_path (Union[str, Path]): The gold data, a .spacy file (DocBin).
    dataset (str): Name of the dataset, stored in the result.
    config (str): Name of the training config, stored in the result (default:
        the pipeline's package name from its meta, e.g. "en_core_web_md").
    seed (Optional[int]): The training seed, stored in the result.
    batch_size (int): Batch size for `nlp.pipe`.
    label_map (Optional[Dict[str, str]]): Maps predicted labels before scoring,
        e.g. {"ORG": "O"} when a model is evaluated on a dataset without ORG.
        Map a label to "O" to drop its entities. Applied before person
        normalization, to predictions only.
    types (Optional[Sequence[str]]): Score only these entity types (after
        normalization, e.g. ["PER"]); entities of other types are dropped from
        gold and predictions alike. For comparing systems whose label sets
        differ (a CoNLL model on WNUT-17, an OntoNotes model on CoNLL), where
        only the shared type means anything. None = all types.
    train_path (Optional[Union[str, Path]]): The training DocBin. If given, the
        result gets "recall_by_novelty": recall on test entities whose text and
        type occur as an entity in training ("seen") and on the rest
        ("unseen"), see `novelty_recall`; and, if the pipeline has a static
        vectors table, "unseen_recall_by_vectors", see `vectors_recall`.
    vectors_of (Optional[Union[str, Path]]): A pipeline whose static vectors
        table splits "unseen_recall_by_vectors" instead of the model's own
        (needs train_path). With the same table for every model, a model
        trained without vectors gives the control: how hard the entities a
        table covers are, whatever the vectors add.
    RETURNS (Dict): The `seqeval_report` keys "overall" and "per_type", plus
        "spacy" (ents_p/ents_r/ents_f/ents_per_type from spaCy's NER scorer),
        "dataset", "config", "seed", "n_docs", "n_words" and "words_per_second".
    """
    nlp = spacy.load(model) if isinstance(model, (str, Path)) else model
    mapper = _restrict(_make_mapper(label_map), types)
    gold_mapper = _restrict(normalize_label, types)
    # Every input is read, and every bad one named, before the test set is predicted.
    gold_docs = as_the_model_reads(nlp, read_gold_docs(Path(test_path), nlp.vocab))
    if vectors_of is not None and train_path is None:
        raise ValueError(Errors.RNN055.format(path=vectors_of))
    train_docs = read_gold_docs(Path(train_path), nlp.vocab) if train_path is not None else None
    table = read_table(vectors_of) if vectors_of is not None else (
        nlp.vocab.vectors if is_keyed_table(nlp.vocab.vectors) else None)
    start = time.perf_counter()
    pred_docs = list(nlp.pipe((retokenized(nlp, doc) for doc in gold_docs), batch_size=batch_size))
    seconds = time.perf_counter() - start
    for doc in pred_docs:
        _relabel_ents(doc, mapper)
    for doc in gold_docs:
        # Only normalize the gold: label_map is about the model's label set.
        _relabel_ents(doc, gold_mapper)
    metrics = seqeval_report(*by_sentence(docs_to_iob(gold_docs), docs_to_iob(pred_docs),
                                          gold_docs))
    metrics["spacy"] = spacy_ner_scores(pred_docs, gold_docs)
    if train_docs is not None:
        seen = training_entities(train_docs, gold_mapper)
        metrics["recall_by_novelty"] = novelty_recall(gold_docs, pred_docs, seen)
        if table is not None:
            metrics["unseen_recall_by_vectors"] = vectors_recall(
                gold_docs, pred_docs, seen, table)
            if vectors_of is not None:
                metrics["vectors_of"] = str(vectors_of)
    key = confidence_key(nlp)
    if key is not None:
        metrics["calibration"] = calibration_report(pred_docs, gold_docs, key, mapper,
                                                    gold_mapper)
    n_words = sum(len(doc) for doc in gold_docs)
    metrics.update({
        "dataset": dataset,
        # A pretrained pipeline evaluated as is is named after its package.
        "config": config or f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', 'pipeline')}",
        "seed": seed,
        "types": sorted(types) if types else None,
        "n_docs": len(gold_docs),
        "n_words": n_words,
        "words_per_second": n_words / seconds if seconds > 0 else 0.0,
    })
    return metrics


def confidence_key(nlp: Language) -> Optional[str]:
    """The spans key of the pipeline's entity confidences (an rnn_tagger with
    confidence on and target "ents"), or None."""
    for _, pipe in nlp.pipeline:
        if getattr(pipe, "scores_entities", False):
            return pipe.spans_key
    return None


def training_entities(
    train_docs: Iterable[Doc], mapper: LabelMapper = normalize_label
) -> Set[Tuple[str, str]]:
    """(text, label) of every entity in the training docs, labels mapped as the
    test gold is (so "person" in one set and "PER" in another are one type)."""
    return {(ent.text, mapper(ent.label_)) for doc in train_docs for ent in doc.ents}


def novelty_recall(
    gold_docs: Sequence[Doc], pred_docs: Sequence[Doc], seen: Set[Tuple[str, str]]
) -> Dict[str, Dict[str, Dict]]:
    """Recall on test entities seen in training versus unseen ones.

    A test set's F1 mixes names the model could have memorised with names it
    must infer from spelling and context; on CoNLL-2003 about half the test
    entities are unseen, and that half is where taggers differ (Augenstein et
    al. 2017). Precision has no such split (a false positive has no gold
    entity to be seen or not), so only recall is reported.

    gold_docs (Sequence[Doc]): Gold docs, labels already normalized.
    pred_docs (Sequence[Doc]): Predicted docs on the same tokens.
    seen (Set[Tuple[str, str]]): (text, label) pairs from `training_entities`.
    RETURNS (Dict[str, Dict[str, Dict]]): {"seen"|"unseen": {"overall"|label:
        {"recall", "support"}}}, recall None where support is 0.
    """
    def group(ent: Span) -> str:
        return "seen" if (ent.text, ent.label_) in seen else "unseen"

    return grouped_recall(gold_docs, pred_docs, group, ("seen", "unseen"))


def vectors_recall(
    gold_docs: Sequence[Doc],
    pred_docs: Sequence[Doc],
    seen: Set[Tuple[str, str]],
    table: Vectors,
) -> Dict[str, Dict[str, Dict]]:
    """Recall on *unseen* test entities, split by whether the static vectors know them.

    Pretrained vectors are what a tagger knows about a name it never saw in
    training, so a table that lacks a test name's tokens is a candidate
    explanation for a missed entity. This split tests that explanation rather
    than assuming it: "in_vectors" holds the unseen entities every token of
    which has a row in the vectors table, "not_in_vectors" the rest. Seen
    entities are left out: memorisation, not the vectors, decides them.

    gold_docs (Sequence[Doc]): Gold docs in the pipeline's vocab (so tokens see
        its vectors), labels already normalized.
    pred_docs (Sequence[Doc]): Predicted docs on the same tokens.
    seen (Set[Tuple[str, str]]): (text, label) pairs from `training_entities`.
    table (Vectors): The keyed vectors table to split by: the pipeline's own,
        or another's (`evaluate --vectors-of`). Keys are string hashes, so a
        table from another pipeline's vocab reads these tokens as is.
    RETURNS (Dict[str, Dict[str, Dict]]): {"in_vectors"|"not_in_vectors":
        {"overall"|label: {"recall", "support"}}}, recall None where support is 0.
    """
    def group(ent: Span) -> Optional[str]:
        if (ent.text, ent.label_) in seen:
            return None
        return "in_vectors" if all(has_row(table, token) for token in ent) else "not_in_vectors"

    return grouped_recall(gold_docs, pred_docs, group, ("in_vectors", "not_in_vectors"))


def grouped_recall(
    gold_docs: Sequence[Doc],
    pred_docs: Sequence[Doc],
    group_of: Callable[[Span], Optional[str]],
    groups: Sequence[str],
) -> Dict[str, Dict[str, Dict]]:
    """Exact-match recall of gold entities, per group and type.

    group_of (Callable[[Span], Optional[str]]): A gold entity's group, or None
        to leave it out.
    groups (Sequence[str]): The groups to report, each present even if empty.
    RETURNS (Dict[str, Dict[str, Dict]]): {group: {"overall"|label: {"recall",
        "support"}}}, recall None where support is 0.
    """
    found: Dict[Tuple[str, str], List[int]] = {}
    for gold, pred in zip(gold_docs, pred_docs):
        predicted = {(e.start, e.end, e.label_) for e in pred.ents}
        for ent in gold.ents:
            group = group_of(ent)
            if group is None:
                continue
            hit = int((ent.start, ent.end, ent.label_) in predicted)
            for key in ((group, "overall"), (group, ent.label_)):
                counts = found.setdefault(key, [0, 0])
                counts[0] += hit
                counts[1] += 1
    result: Dict[str, Dict[str, Dict]] = {group: {} for group in groups}
    for group in result:
        labels = sorted({label for g, label in found if g == group and label != "overall"})
        for label in ["overall"] + labels:
            hits, support = found.get((group, label), [0, 0])
            result[group][label] = {
                "recall": hits / support if support else None, "support": support}
    return result


def spacy_ner_scores(pred_docs: Sequence[Doc], gold_docs: Sequence[Doc]) -> Dict:
    """Score already-predicted docs with spaCy's NER scorer.

    This is the function behind the `ner` (and `rnn_tagger`) component's score,
    i.e. what `nlp.evaluate` reports as ents_p/r/f. `nlp.evaluate` itself is not
    used because it runs the pipeline again: that doubles the cost and would
    undo a `label_map`. Unlike seqeval, spaCy ignores predictions on tokens
    whose gold annotation is missing.

    pred_docs (Sequence[Doc]): Predicted docs.
    gold_docs (Sequence[Doc]): Gold docs, same tokenization.
    RETURNS (Dict): ents_p, ents_r, ents_f (floats in [0, 1], or None if there
        are no entities at all) and ents_per_type.
    """
    examples = [Example(pred, gold) for pred, gold in zip(pred_docs, gold_docs)]
    scores = get_ner_prf(examples)
    return {key: scores.get(key) for key in SPACY_ENT_KEYS}


def metrics_markdown(metrics: Dict) -> str:
    """Render metrics as a Markdown table, scores in percent.

    metrics (Dict): The output of `evaluate_model` (or `seqeval_report`).
    RETURNS (str): The table (overall row, then PER, then the other types),
        followed by a line with spaCy's scorer F1 if present.
    """
    per_type = _person_first(metrics.get("per_type", {}))
    overall = metrics["overall"]
    total_support = sum(scores["support"] for scores in per_type.values())
    lines = [
        "| Type | Precision | Recall | F1 | Support |",
        "| --- | ---: | ---: | ---: | ---: |",
        _markdown_row("**overall**", overall, total_support),
    ]
    for label, scores in per_type.items():
        lines.append(_markdown_row(label, scores, scores["support"]))
    spacy_scores = metrics.get("spacy")
    if spacy_scores:
        lines.append("")
        lines.append(
            "spaCy scorer (for comparison): "
            f"ents_p {_percent(spacy_scores.get('ents_p'))}, "
            f"ents_r {_percent(spacy_scores.get('ents_r'))}, "
            f"ents_f {_percent(spacy_scores.get('ents_f'))}"
        )
    novelty = metrics.get("recall_by_novelty")
    if novelty:
        lines.append("")
        lines.append("Recall on test entities seen in training (same text and type) and unseen:")
        lines.extend(_recall_table(novelty, ("seen", "unseen")))
    by_vectors = metrics.get("unseen_recall_by_vectors")
    if by_vectors:
        lines.append("")
        source = f" in {metrics['vectors_of']}" if metrics.get("vectors_of") else ""
        lines.append("Recall on the unseen test entities, by whether all their tokens "
                     f"have a static vector{source}:")
        lines.extend(_recall_table(by_vectors, ("in_vectors", "not_in_vectors")))
    return "\n".join(lines) + "\n"


def _recall_table(recall: Dict[str, Dict[str, Dict]], groups: Tuple[str, str]) -> List[str]:
    """Markdown rows of two recall groups side by side, overall first, then PER."""
    first, second = groups
    lines = ["", f"| | {first} | support | {second} | support |", "| --- | ---: | ---: | ---: | ---: |"]
    labels = ["overall"] + sorted(
        {label for group in recall.values() for label in group} - {"overall"},
        key=lambda label: (label != PERSON, label))
    empty = {"recall": None, "support": 0}
    for label in labels:
        a = recall[first].get(label, empty)
        b = recall[second].get(label, empty)
        lines.append(
            f"| {label} | {_percent(a['recall'])} | {a['support']} "
            f"| {_percent(b['recall'])} | {b['support']} |")
    return lines


def write_metrics(metrics: Dict, json_path: Union[str, Path], md_path: Union[str, Path]) -> None:
    """Write metrics as JSON and as a Markdown table.

    metrics (Dict): The output of `evaluate_model`.
    json_path (Union[str, Path]): Where to write the JSON.
    md_path (Union[str, Path]): Where to write the Markdown.
    """
    json_path, md_path = Path(json_path), Path(md_path)
    for path in (json_path, md_path):
        path.parent.mkdir(parents=True, exist_ok=True)
    # Each file is written whole or not at all (temp file, then rename): the
    # results step reads every metrics/*.json, and a half-written one from an
    # interrupted run would break it.
    _write_atomic(json_path, json.dumps(metrics, indent=2) + "\n")
    _write_atomic(md_path, metrics_markdown(metrics))


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --- helpers ----------------------------------------------------------------


def _check_aligned(y_true: List[List[str]], y_pred: List[List[str]]) -> None:
    # seqeval would flatten and silently mis-pair tags, or fail with a message
    # that does not say which sequence is off.
    if len(y_true) != len(y_pred):
        problem = f"{len(y_true)} gold vs {len(y_pred)} predicted sequences"
        raise ValueError(Errors.RNN043.format(problem=problem))
    for i, (gold, pred) in enumerate(zip(y_true, y_pred)):
        if len(gold) != len(pred):
            problem = f"sequence {i} has {len(gold)} gold vs {len(pred)} predicted tags"
            raise ValueError(Errors.RNN043.format(problem=problem))


def _person_first(per_type: Dict[str, Dict]) -> Dict[str, Dict]:
    """Order types as PER, then the others alphabetically; add PER if missing."""
    empty = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    ordered = {PERSON: dict(per_type.get(PERSON, empty))}
    for label in sorted(per_type):
        if label != PERSON:
            ordered[label] = per_type[label]
    return ordered


def _make_mapper(label_map: Optional[Dict[str, str]]) -> LabelMapper:
    """Compose the caller's label map with person normalization."""
    label_map = dict(label_map or {})
    for key, value in label_map.items():
        if not isinstance(key, str) or not key or not isinstance(value, str) or not value:
            raise ValueError(Errors.RNN042.format(key=key, value=value))

    def mapper(label: str) -> str:
        label = label_map.get(label, label)
        return label if label == OUTSIDE else normalize_label(label)

    return mapper


def _restrict(mapper: LabelMapper, types: Optional[Sequence[str]]) -> LabelMapper:
    """The mapper, sending every label outside `types` to "O" (None = keep all)."""
    if types is None:
        return mapper
    keep = set(types)
    if not keep or not all(isinstance(t, str) and t for t in keep):
        raise ValueError(Errors.RNN046.format(types=list(types)))

    def restricted(label: str) -> str:
        mapped = mapper(label)
        return mapped if mapped in keep else OUTSIDE

    return restricted


def read_gold_docs(path: Path, vocab: Vocab) -> List[Doc]:
    """The docs of a gold DocBin; a missing or empty file is named (RNN040, RNN041)."""
    if not path.exists():
        raise ValueError(Errors.RNN040.format(path=path))
    docs = list(DocBin().from_disk(path).get_docs(vocab))
    if not docs:
        raise ValueError(Errors.RNN041.format(path=path))
    return docs


def reads_documents(nlp: Language) -> bool:
    """Whether the pipeline uses document context: an rnn_tagger whose model reads
    sentences within documents (`context_width` set)."""
    for name in nlp.pipe_names:
        model = nlp.config["components"].get(name, {}).get("model", {})
        if isinstance(model, dict) and model.get("context_width") is not None:
            return True
    return False


def as_the_model_reads(nlp: Language, gold_docs: List[Doc]) -> List[Doc]:
    """Documents as they are for a model that reads documents; for any other model,
    their sentences, one Doc each (what it was trained on).

    Why: a sentence-level model given a whole document would encode it as one long
    sequence, and score lower than on the sentence files, silently. The scores do
    not depend on the cut otherwise (entities are scored within their sentence).
    """
    if reads_documents(nlp) or not any(doc.has_annotation("SENT_START") for doc in gold_docs):
        return gold_docs
    return [doc[start:end].as_doc() for doc in gold_docs
            for start, end in sentence_bounds(doc)]


def retokenized(nlp: Language, gold: Doc) -> Doc:
    """An unannotated copy of the gold doc's tokens, for the pipeline to predict on;
    a document's sentence starts are copied too, as the CoNLL setting gives them."""
    return with_sentences(nlp, gold)


def by_sentence(
    y_true: List[List[str]], y_pred: List[List[str]], gold_docs: Sequence[Doc]
) -> Tuple[List[List[str]], List[List[str]]]:
    """Cut each document's tag sequences at the gold sentence starts.

    Why: scores on document files then equal scores on the same sentences one
    by one (an entity is scored within its sentence, as on sentence files),
    whatever the model reads. Docs without sentence starts pass unchanged.
    """
    true_cut: List[List[str]] = []
    pred_cut: List[List[str]] = []
    for true, pred, doc in zip(y_true, y_pred, gold_docs):
        if len(true) != len(pred) or len(true) != len(doc):
            # Left whole for seqeval_report to name the misalignment.
            true_cut.append(true)
            pred_cut.append(pred)
            continue
        for start, end in sentence_bounds(doc):
            true_cut.append(true[start:end])
            pred_cut.append(pred[start:end])
    return true_cut, pred_cut


def _relabel_ents(doc: Doc, mapper: LabelMapper) -> None:
    """Rename doc.ents in place; entities mapped to "O" are removed.

    Tokens outside the entities keep their state, so missing gold annotation
    stays missing (spaCy's scorer relies on it).
    """
    keep, drop = [], []
    for ent in doc.ents:
        label = mapper(ent.label_)
        if label == OUTSIDE:
            drop.append(ent)
        elif label == ent.label_:
            keep.append(ent)
        else:
            keep.append(Span(doc, ent.start, ent.end, label=label))
    doc.set_ents(keep, outside=drop, default="unmodified")


def _markdown_row(label: str, scores: Dict, support: int) -> str:
    cells = [_percent(scores.get(key)) for key in ("precision", "recall", "f1")]
    return f"| {label} | " + " | ".join(cells) + f" | {support} |"


def _percent(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}"
