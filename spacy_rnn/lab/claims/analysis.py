"""What a trained CoNLL run is worth: test F1, PER F1, unseen-word recall, the Teddy pair."""
from pathlib import Path
from typing import Dict, List, Sequence, Set, Union

import spacy
from spacy.attrs import NORM
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from ...training.parameters import model_parameters
from ..evaluate import PERSON, evaluate_model, normalize_label
from ..run_report import best_row

TEDDY = ("Teddy Roosevelt was a great President.", "Teddy bears are on sale.")


def training_words(train_path: Union[str, Path], nlp: Language) -> Set[str]:
    """The NORMs of every training token: a word outside this set is unseen."""
    words: Set[str] = set()
    for doc in DocBin().from_disk(train_path).get_docs(nlp.vocab):
        words.update(nlp.vocab.strings[key] for key in doc.to_array(NORM).tolist())
    return words


def recall_by_novelty(nlp: Language, test_path: Union[str, Path], seen: Set[str]) -> Dict:
    """Exact-match recall of gold entities with and without a word unseen in training.

    One-hot inputs map every unseen word to UNK; subword, character and
    pretrained-vector features do not. This is where that difference shows.
    """
    gold_docs = list(DocBin().from_disk(test_path).get_docs(nlp.vocab))
    inputs = (Doc(nlp.vocab, words=[t.text for t in d], spaces=[bool(t.whitespace_) for t in d])
              for d in gold_docs)
    counts = {"seen": [0, 0], "unseen": [0, 0]}
    for gold, pred in zip(gold_docs, nlp.pipe(inputs, batch_size=256)):
        predicted = {(e.start, e.end, normalize_label(e.label_)) for e in pred.ents}
        for ent in gold.ents:
            group = "unseen" if any(t.norm_ not in seen for t in ent) else "seen"
            counts[group][1] += 1
            counts[group][0] += (ent.start, ent.end, normalize_label(ent.label_)) in predicted
    return {group: {"recall": hit / total if total else None, "support": total}
            for group, (hit, total) in counts.items()}


def teddy_pair(nlp: Language) -> List[Dict]:
    """The entities the model finds in the seeds' two "Teddy" sentences."""
    return [{"text": text, "ents": [[e.text, e.label_] for e in doc.ents]}
            for text, doc in zip(TEDDY, nlp.pipe(TEDDY))]


def analyze_run(model_path: Union[str, Path], corpus: Union[str, Path],
                seen: Set[str] = None) -> Dict:
    nlp = spacy.load(model_path)
    corpus = Path(corpus)
    metrics = evaluate_model(nlp, corpus / "test.spacy", dataset="conll2003")
    if seen is None:
        seen = training_words(corpus / "train.spacy", nlp)
    return {
        "test_f1": metrics["overall"]["f1"],
        "test_per_f1": metrics["per_type"].get(PERSON, {}).get("f1"),
        "words_per_second": metrics.get("words_per_second"),
        "novelty": recall_by_novelty(nlp, corpus / "test.spacy", seen),
        "teddy": teddy_pair(nlp),
        "n_params": count_params(nlp),
    }


def count_params(nlp: Language) -> int:
    """Trainable numbers in the rnn_tagger: Thinc params plus the torch module's."""
    return sum(param.size for param in model_parameters(nlp.get_pipe("rnn_tagger").model))


def best_dev(log_rows: Sequence[Dict]) -> Dict:
    """The best dev F1 of a run and its step ({} before any evaluation)."""
    best = best_row(log_rows)
    return {"dev_f1": best["scores"]["ents_f"], "step": best["step"]} if best else {}
