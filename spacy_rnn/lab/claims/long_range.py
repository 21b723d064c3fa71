"""Long-range memory: can the cell carry a token's identity k steps forward?

The task (a sequence-labelling version of the classic "remember the first
symbol" test): each sequence holds one key token (one of N_KEYS), then k - 1
random filler tokens, then a query token "?" whose tag is the key's class.
Only the query is annotated (every other tag is missing, so masked out of the
loss), and a few random fillers before the key stop the model from counting
positions. The model is the product itself, `rnn_tagger` with target "tag",
forward-only (the backward direction at the query has only seen the query, so
the forward memory is all that can solve it) and the one-hot vocabulary as
its only input. Chance accuracy is 1 / N_KEYS.
"""
import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy
import torch
from spacy.lang.en import English
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import Adam, fix_random_seed

N_KEYS = 4
N_FILLERS = 50
MAX_PREFIX = 5
KEYS = [f"key{i}" for i in range(N_KEYS)]
CLASSES = [f"C{i}" for i in range(N_KEYS)]
QUERY = "?"


def make_examples(nlp: Language, n: int, distance: int, rng: numpy.random.RandomState
                  ) -> List[Example]:
    """`n` sequences whose query is `distance` tokens after its key."""
    examples = []
    for _ in range(n):
        key = int(rng.randint(N_KEYS))
        prefix = [f"w{j}" for j in rng.randint(N_FILLERS, size=rng.randint(MAX_PREFIX + 1))]
        middle = [f"w{j}" for j in rng.randint(N_FILLERS, size=distance - 1)]
        words = prefix + [KEYS[key]] + middle + [QUERY]
        tags = [""] * (len(words) - 1) + [CLASSES[key]]
        doc = Doc(nlp.vocab, words=words)
        examples.append(Example.from_dict(doc, {"tags": tags}))
    return examples


def build_nlp(cell: str, hidden_width: int = 32) -> Language:
    nlp = English()
    nlp.add_pipe("rnn_tagger", config={"target": "tag", "model": {
        "@architectures": "spacy_rnn.BiRNNTagger.v1",
        "cell": cell, "hidden_width": hidden_width, "bidirectional": False,
        "dropout": 0.0, "decoder": "softmax",
        "embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "width": 16,
                  "vocab_size": 100, "vocab_width": 16, "vocab_attr": "ORTH",
                  "hash_attrs": [], "hash_rows": [], "char_width": None,
                  "dropout": 0.0},
    }})
    # Score by tag accuracy (the factory's defaults weight doc.ents scores).
    nlp.config["training"]["score_weights"].update(
        {"tag_acc": 1.0, "ents_f": None, "ents_p": None, "ents_r": None})
    return nlp


def query_accuracy(nlp: Language, examples: Sequence[Example]) -> float:
    """Share of test sequences whose query gets its key's class."""
    docs = nlp.pipe(Doc(nlp.vocab, words=[t.text for t in eg.reference]) for eg in examples)
    right = sum(doc[-1].tag_ == eg.reference[-1].tag_ for doc, eg in zip(docs, examples))
    return right / len(examples)


def run_one(cell: str, distance: int, seed: int, *, n_test: int = 500, steps: int = 2000,
            batch_size: int = 32, learn_rate: float = 0.005, grad_clip: float = 5.0,
            eval_every: int = 250) -> Dict:
    """Train on fresh sequences at one distance; accuracy on held-out sequences.

    Every batch is newly drawn (no sequence is seen twice, so no memorising),
    and training stops early once a held-out check set reaches 100%.
    """
    fix_random_seed(seed)
    rng = numpy.random.RandomState(seed)
    nlp = build_nlp(cell)
    check = make_examples(nlp, 200, distance, rng)
    test = make_examples(nlp, n_test, distance, rng)
    optimizer = nlp.initialize(lambda: make_examples(nlp, 64, distance, rng),
                               sgd=Adam(learn_rate, grad_clip=grad_clip))
    start = time.time()
    curve = []
    step = 0
    while step < steps:
        step += 1
        nlp.update(make_examples(nlp, batch_size, distance, rng), sgd=optimizer)
        if step % eval_every == 0 or step == steps:
            curve.append((step, query_accuracy(nlp, check)))
            if curve[-1][1] == 1.0:
                break
    return {"cell": cell, "distance": distance, "seed": seed, "steps": step,
            "max_steps": steps, "batch_size": batch_size, "learn_rate": learn_rate,
            "seconds": round(time.time() - start, 1), "curve": curve,
            "accuracy": query_accuracy(nlp, test), "chance": 1 / N_KEYS}


def _run_job(args: Tuple[str, int, int, Dict]) -> Dict:
    torch.set_num_threads(1)
    cell, distance, seed, settings = args
    return run_one(cell, distance, seed, **settings)


def run_grid(cells: Sequence[str], distances: Sequence[int], seeds: Sequence[int],
             log: Optional[Callable] = print, jobs: int = 1, **settings) -> List[Dict]:
    """Every (cell, distance, seed), longest first over `jobs` processes (one torch thread each)."""
    grid = [(c, k, s, settings) for k in sorted(distances, reverse=True) for c in cells
            for s in seeds]
    if jobs > 1:
        context = multiprocessing.get_context("spawn")  # no fork after torch has run
        with ProcessPoolExecutor(jobs, mp_context=context) as pool:
            results = list(pool.map(_run_job, grid))
    else:
        results = [_run_job(job) for job in grid]
    for result in results:
        if log:
            log(f"long-range {result['cell']} k={result['distance']} seed={result['seed']}: "
                f"{100 * result['accuracy']:.1f}% ({result['steps']} steps, "
                f"{result['seconds']}s)")
    return sorted(results, key=lambda r: (r["distance"], r["cell"], r["seed"]))
