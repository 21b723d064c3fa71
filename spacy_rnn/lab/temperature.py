"""Temperature scaling of entity confidences, fitted on dev data (Guo et al. 2017).

A tagger trained to fit its training set is over-confident on new text: on
CoNLL-2003 test, entities it gave 0.5-0.9 were right well under half the
time. Dividing every score (emissions and transitions) by one temperature
T > 1 before the forward-backward softens the distribution without moving
its best path, so the predicted entities stay exactly the same and only
their confidences change. T is chosen on the dev split (never on test) to
minimise the log loss of "this predicted entity is exactly right", and is
saved with the component (its cfg), so `spacy.load` gives calibrated scores.
"""
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import numpy
import spacy
from spacy.language import Language
from spacy.tokens import Doc

from ..errors import Errors
from ..tags import biluo_entities
from .calibration import reliability
from .evaluate import as_the_model_reads, read_gold_docs, retokenized

# Temperatures tried: 0.25 to 8, evenly on a log scale (61 points, ~6% apart).
GRID = numpy.exp(numpy.linspace(numpy.log(0.25), numpy.log(8.0), 61))


def confidence_pipe(nlp: Language):
    """The pipeline's rnn_tagger with confidences on, or a clear error (RNN066)."""
    for name, pipe in nlp.pipeline:
        if getattr(pipe, "scores_entities", False):
            return name, pipe
    raise ValueError(Errors.RNN066.format(pipes=nlp.pipe_names))


def has_confidence_pipe(nlp: Language) -> bool:
    return any(getattr(pipe, "scores_entities", False) for _, pipe in nlp.pipeline)


def _scores_and_truth(nlp: Language, gold_docs: Sequence[Doc],
                      batch_size: int) -> Tuple[List, numpy.ndarray]:
    """The tagger's scores for the gold-tokenized docs, and whether each entity its
    best path predicts (in decode's order) is exactly a gold entity."""
    name, tagger = confidence_pipe(nlp)
    docs = [retokenized(nlp, doc) for doc in gold_docs]
    # Components before the tagger (a sourced tok2vec, say) must run first.
    for upstream, pipe in nlp.pipeline:
        if upstream == name:
            break
        docs = list(pipe.pipe(docs, batch_size=batch_size))
    scores: List = []
    for i in range(0, len(docs), batch_size):
        batch = docs[i:i + batch_size]
        scores.extend(tagger.model.predict(batch) if any(len(d) for d in batch)
                      else [tagger.model.ops.alloc2f(0, len(tagger.tag_names))] * len(batch))
    preds = tagger.decode(scores, temperature=1.0)
    names = tagger.tag_names
    truth: List[bool] = []
    for gold, ids in zip(gold_docs, preds):
        gold_spans = {(e.start, e.end, e.label_) for e in gold.ents}
        truth.extend(entity in gold_spans for entity in biluo_entities(ids, names))
    return scores, numpy.asarray(truth, dtype=bool)


def log_loss(confidences: numpy.ndarray, correct: numpy.ndarray) -> float:
    """Mean binary log loss of the confidences against exact correctness."""
    p = numpy.clip(confidences.astype("float64"), 1e-12, 1 - 1e-12)
    return float(-numpy.mean(numpy.where(correct, numpy.log(p), numpy.log1p(-p))))


def fit_temperature(nlp: Language, gold_docs: Sequence[Doc], *,
                    grid: Sequence[float] = tuple(GRID), batch_size: int = 256) -> Dict:
    """The grid temperature with the lowest log loss on `gold_docs` (the dev split).

    RETURNS (Dict): {"temperature", "n_entities", "log_loss": {"before",
        "after"}, "ece": {"before", "after"}}; "before" is temperature 1. With no
        predicted entity the temperature stays 1 and the scores are None.
    """
    _, tagger = confidence_pipe(nlp)
    scores, correct = _scores_and_truth(nlp, gold_docs, batch_size)

    def confidences(t: float) -> numpy.ndarray:
        found = tagger.decode(scores, temperature=t).confidences
        return numpy.concatenate(found) if found else numpy.zeros(0)

    if not len(correct):
        # Nothing predicted (a barely trained model): nothing to fit, keep 1.
        return {"temperature": 1.0, "n_entities": 0, "log_loss": None, "ece": None}
    losses = [log_loss(confidences(t), correct) for t in grid]
    best = float(grid[int(numpy.argmin(losses))])
    before, after = confidences(1.0), confidences(best)
    return {
        "temperature": best,
        "n_entities": int(len(correct)),
        "log_loss": {"before": log_loss(before, correct), "after": log_loss(after, correct)},
        "ece": {"before": reliability(before, correct)["ece"],
                "after": reliability(after, correct)["ece"]},
    }


def calibrate_model(model_dir: Union[str, Path], dev_path: Union[str, Path]) -> Dict:
    """Fit the temperature on a dev DocBin and save it into the pipeline folder."""
    nlp = spacy.load(model_dir)
    dev_docs = as_the_model_reads(nlp, read_gold_docs(Path(dev_path), nlp.vocab))
    result = fit_temperature(nlp, dev_docs)
    name, tagger = confidence_pipe(nlp)
    tagger.cfg["temperature"] = result["temperature"]
    nlp.to_disk(model_dir)
    return {"component": name, "dev": str(dev_path), **result}
