"""CRF loss cost: this checkout's crf_nll against an older crf.py, in one process.

The older module must be self-contained (crf.py up to e4df703 imports only
numpy and torch), so take it straight from git:

    git show e4df703:spacy_rnn/models/crf.py > /tmp/crf_old.py
    OMP_NUM_THREADS=1 python scripts/bench_crf_loss.py /tmp/crf_old.py \
        ../../shared/ner-data/conll2003/train.txt

Prints two tables: forward+backward of crf_nll alone on random BILUO problems
(4 labels, a third of the gold tags missing), and `RNNTagger.update` (default
model, decoder "crf") on the first 3,000 CoNLL-2003 training sentences in
70-sentence batches (about 1,000 words). Old and new alternate, best of 5
rounds, so the ratio holds under a steady background load.
"""
import importlib.util
import inspect
import math
import sys
import time
from types import ModuleType
from typing import Callable, Dict, List

import spacy
import torch
from spacy.tokens import Doc
from spacy.training import Example, biluo_tags_to_spans, iob_to_biluo
from spacy.util import minibatch

import spacy_rnn.decoding.losses as losses  # where the component computes the CRF loss
from spacy_rnn.decoding import crf as new_crf
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names


def load_module(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("crf_baseline", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def constrain(module: ModuleType) -> Callable:
    """Learned scores with forbidden entries masked, as `module` expects them: the
    old constrained_scores took a finite penalty as a fifth argument; the new
    crf.py has none (the model masks with -inf in layers/crf_transitions.py)."""
    if not hasattr(module, "constrained_scores"):
        return lambda t, s, e, a: tuple(x.masked_fill(~m, -math.inf) for x, m in zip((t, s, e), a))
    if len(inspect.signature(module.constrained_scores).parameters) == 5:
        return lambda t, s, e, a: module.constrained_scores(t, s, e, a, -1.0e4)
    return module.constrained_scores


def nll_for_layer(module: ModuleType) -> Callable:
    """`module.crf_nll` as the component calls it, with scores the crf_transitions
    layer masked with -inf: an old module that expected a finite penalty gets one."""
    if not hasattr(module, "constrained_scores") or len(
            inspect.signature(module.constrained_scores).parameters) != 5:
        return module.crf_nll

    def nll(emissions, gold, mask, *scores):  # type: ignore[no-untyped-def]
        return module.crf_nll(emissions, gold, mask,
                              *(x.clamp(min=-1.0e4) for x in scores))
    return nll


def best_of(runs: Dict[str, Callable[[], None]], rounds: int = 5) -> Dict[str, float]:
    times: Dict[str, List[float]] = {name: [] for name in runs}
    for run in runs.values():
        run()  # warm-up
    for _ in range(rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def bench_nll(modules: Dict[str, ModuleType]) -> None:
    names = biluo_tag_names(["LOC", "MISC", "ORG", "PER"])
    allowed = tuple(torch.as_tensor(a) for a in allowed_biluo_transitions(names))
    gen = torch.Generator().manual_seed(0)
    print("| batch x longest | old ms | new ms | new / old |\n|---|---:|---:|---:|")
    for batch, length in [(64, 40), (32, 120), (8, 400)]:
        lengths = torch.randint(5, length + 1, (batch,), generator=gen)
        lengths[0] = length
        mask = torch.arange(length)[None] < lengths[:, None]
        emissions = torch.randn(batch, length, len(names), generator=gen) * 3
        gold = torch.zeros(batch, length, dtype=torch.long)
        gold[:, ::3] = -1
        learned = torch.randn(len(names), len(names), generator=gen) * 0.1

        def run(module: ModuleType) -> Callable[[], None]:
            def go() -> None:
                for _ in range(10):
                    em = emissions.clone().requires_grad_(True)
                    zeros = torch.zeros(len(names))
                    scores = constrain(module)(learned.clone().requires_grad_(True),
                                               zeros, zeros, allowed)
                    module.crf_nll(em, gold, mask, *scores).sum().backward()
            return go

        best = best_of({name: run(m) for name, m in modules.items()})
        old, new = best["old"] * 100, best["new"] * 100  # ms per call (10 calls)
        print(f"| {batch} x {length} | {old:.2f} | {new:.2f} | {new / old:.2f} |")


def read_conll(path: str, n: int) -> List[List[List[str]]]:
    sents: List[List[List[str]]] = []
    current: List[List[str]] = []
    for line in open(path, encoding="utf8"):
        line = line.strip()
        if not line or line.startswith("-DOCSTART-"):
            if current:
                sents.append(current)
                current = []
            if len(sents) >= n:
                break
            continue
        parts = line.split(" ")
        current.append([parts[0], parts[-1]])
    return sents


def bench_update(modules: Dict[str, ModuleType], conll_train: str) -> None:
    nlp = spacy.blank("en")
    examples = []
    for sent in read_conll(conll_train, 3000):
        words = [w for w, _ in sent]
        ref = Doc(nlp.vocab, words=words)
        ref.ents = biluo_tags_to_spans(ref, iob_to_biluo([t for _, t in sent]))
        examples.append(Example(Doc(nlp.vocab, words=words), ref))
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"decoder": "crf"}})
    nlp.initialize(lambda: examples)
    batches = list(minibatch(examples, 70))[:40]

    def run(module: ModuleType) -> Callable[[], None]:
        def go() -> None:
            losses.crf_nll = nll_for_layer(module)
            for batch in batches:
                tagger.update(batch, sgd=None)
        return go

    best = best_of({name: run(m) for name, m in modules.items()}, rounds=3)
    old, new = (best[k] / len(batches) * 1000 for k in ("old", "new"))
    print(f"\nRNNTagger.update, ~1,000-word CoNLL batches: old {old:.1f} ms, "
          f"new {new:.1f} ms, new / old {new / old:.2f}")


def main(baseline: str, conll_train: str) -> None:
    torch.set_num_threads(1)
    modules = {"old": load_module(baseline), "new": new_crf}
    bench_nll(modules)
    bench_update(modules, conll_train)


if __name__ == "__main__":
    main(*sys.argv[1:3])
