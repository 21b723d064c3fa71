"""Inference and training cost of one checkout, for comparing two revisions.

Run it once per checkout, alternating, each in a fresh process, with that
checkout first on PYTHONPATH (a `git worktree` of the older revision):

    OMP_NUM_THREADS=1 PYTHONPATH=OLD python scripts/bench_revision.py MODEL CORPUS_DIR
    OMP_NUM_THREADS=1 PYTHONPATH=NEW python scripts/bench_revision.py MODEL CORPUS_DIR

Prints one JSON line: µs per token of `nlp.pipe` at batch sizes 1/10/100/1,000
(`spacy_rnn.lab.speed.batch_scaling`, first 1,000 test sentences) and µs per
word of `nlp.update` over the first 3,000 training sentences in 1,000-word
batches. Ratios between checkouts measured side by side are what it is for;
its absolute numbers depend on the machine's load.
"""
import json
import sys
import time
from pathlib import Path

import spacy
import torch
from spacy.tokens import DocBin
from spacy.training import Example

from spacy_rnn.lab.speed import batch_scaling


def main(model: str, corpus: str) -> None:
    torch.set_num_threads(1)
    nlp = spacy.load(model)
    test = list(DocBin().from_disk(Path(corpus) / "test.spacy").get_docs(nlp.vocab))[:1000]
    result = {"pipe_us_per_token": batch_scaling(nlp, [doc.text for doc in test])}
    train = list(DocBin().from_disk(Path(corpus) / "train.spacy").get_docs(nlp.vocab))[:3000]
    batches, batch, n_words = [], [], 0
    for doc in train:
        batch.append(Example(nlp.make_doc(doc.text), doc))
        n_words += len(doc)
        if n_words >= 1000:
            batches.append(batch)
            batch, n_words = [], 0
    optimizer = nlp.resume_training()
    nlp.update(batches[0], sgd=optimizer)  # warm-up
    words = sum(len(eg.reference) for batch in batches[1:] for eg in batch)
    start = time.perf_counter()
    for batch in batches[1:]:
        nlp.update(batch, sgd=optimizer)
    result["train_us_per_word"] = 1e6 * (time.perf_counter() - start) / words
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
