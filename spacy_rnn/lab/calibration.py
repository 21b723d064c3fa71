"""How far to trust an entity confidence: reliability, expected calibration error, and
precision/recall by threshold, on a gold test set.

The unit is the predicted entity: its confidence (rnn_tagger's exact
P(this span with this label), in doc.spans[key].attrs["scores"]) against
whether the gold has exactly that span with that label. A calibrated tagger's
entities of confidence ~0.8 are right ~80% of the time; the expected
calibration error (ECE) is the gap, averaged over equal-width confidence bins
weighted by how many entities fall in each (Guo et al. 2017). The
precision/recall curve by threshold is what a user reads a `threshold`
setting off: keep entities with confidence >= t.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
from spacy.tokens import Doc

from ..errors import Errors

N_BINS = 10


def confidence_pairs(
    pred_docs: Sequence[Doc], gold_docs: Sequence[Doc], key: str,
    mapper: Callable[[str], str], gold_mapper: Callable[[str], str],
) -> Tuple[numpy.ndarray, numpy.ndarray, List[str], Dict[str, int]]:
    """Every scored predicted entity: (confidence, exactly right?, label).

    mapper / gold_mapper: label normalisation for predictions / gold, as in
        evaluate_model ("O" drops an entity).
    RETURNS: confidences (ndarray[E]), correct (bool ndarray[E]), labels, and
        the number of gold entities per label (the recall denominators).
    """
    confidences: List[float] = []
    correct: List[bool] = []
    labels: List[str] = []
    n_gold: Dict[str, int] = {}
    for pred, gold in zip(pred_docs, gold_docs):
        if key not in pred.spans or "scores" not in pred.spans[key].attrs:
            raise ValueError(Errors.RNN063.format(key=key))
        truth = set()
        for ent in gold.ents:
            label = gold_mapper(ent.label_)
            if label != "O":
                truth.add((ent.start, ent.end, label))
                n_gold[label] = n_gold.get(label, 0) + 1
        group = pred.spans[key]
        for span, score in zip(group, group.attrs["scores"]):
            label = mapper(span.label_)
            if label == "O":
                continue
            confidences.append(float(score))
            correct.append((span.start, span.end, label) in truth)
            labels.append(label)
    return (numpy.asarray(confidences, dtype="float64"), numpy.asarray(correct, dtype=bool),
            labels, n_gold)


def reliability(confidences: numpy.ndarray, correct: numpy.ndarray,
                n_bins: int = N_BINS) -> Dict:
    """Equal-width confidence bins: count, mean confidence and accuracy per bin, and the ECE.

    RETURNS (Dict): {"ece", "n", "bins": [{"low", "high", "count",
        "confidence", "accuracy"}]}; empty bins have null confidence/accuracy.
    """
    edges = numpy.linspace(0.0, 1.0, n_bins + 1)
    # Bin i holds (edges[i], edges[i+1]]; a confidence of exactly 0 goes to bin 0.
    index = numpy.clip(numpy.searchsorted(edges, confidences, side="left") - 1, 0, n_bins - 1)
    bins = []
    ece = 0.0
    for i in range(n_bins):
        members = index == i
        count = int(members.sum())
        conf = float(confidences[members].mean()) if count else None
        acc = float(correct[members].mean()) if count else None
        if count:
            ece += count / len(confidences) * abs(acc - conf)  # type: ignore[operator]
        bins.append({"low": float(edges[i]), "high": float(edges[i + 1]), "count": count,
                     "confidence": conf, "accuracy": acc})
    return {"ece": ece if len(confidences) else None, "n": int(len(confidences)), "bins": bins}


def precision_recall_curve(confidences: numpy.ndarray, correct: numpy.ndarray,
                           n_gold: int) -> Dict[str, List[float]]:
    """Precision and recall of the entities kept at each threshold (confidence >= t).

    One point per distinct confidence, highest first, so the curve is exact.
    RETURNS (Dict): {"threshold", "precision", "recall"}, lists of floats.
    """
    order = numpy.argsort(-confidences, kind="stable")
    conf, hits = confidences[order], correct[order].astype("float64")
    true_pos = numpy.cumsum(hits)
    kept = numpy.arange(1, len(conf) + 1)
    # The last entity of each run of equal confidences: a threshold keeps them all.
    last = numpy.r_[conf[1:] != conf[:-1], True] if len(conf) else numpy.zeros(0, dtype=bool)
    return {
        "threshold": conf[last].tolist(),
        "precision": (true_pos / kept)[last].tolist(),
        "recall": (true_pos / max(n_gold, 1))[last].tolist(),
    }


def threshold_for_precision(curve: Dict[str, List[float]], target: float) -> Optional[Dict]:
    """The lowest threshold whose kept entities reach `target` precision (most recall).

    RETURNS (Optional[Dict]): {"threshold", "precision", "recall"}, or None if none does.
    """
    best = None
    for t, p, r in zip(curve["threshold"], curve["precision"], curve["recall"]):
        if p >= target:
            best = {"threshold": t, "precision": p, "recall": r}
    return best


def calibration_report(
    pred_docs: Sequence[Doc], gold_docs: Sequence[Doc], key: str,
    mapper: Callable[[str], str], gold_mapper: Callable[[str], str],
    label: str = "PER", precision_targets: Sequence[float] = (0.95, 0.99),
) -> Dict:
    """Reliability and ECE over all entities; the precision/recall curve of `label`.

    RETURNS (Dict): {"key", "all": reliability(...), "label", "per_label":
        reliability of `label`'s entities, "curve": precision_recall_curve,
        "thresholds": {str(target): threshold_for_precision or None}}.
    """
    conf, correct, labels, n_gold = confidence_pairs(pred_docs, gold_docs, key, mapper,
                                                     gold_mapper)
    mine = numpy.asarray([lab == label for lab in labels], dtype=bool)
    curve = precision_recall_curve(conf[mine], correct[mine], n_gold.get(label, 0))
    return {
        "key": key,
        "all": reliability(conf, correct),
        "label": label,
        "per_label": reliability(conf[mine], correct[mine]),
        "curve": curve,
        "thresholds": {f"{t:g}": threshold_for_precision(curve, t) for t in precision_targets},
    }
