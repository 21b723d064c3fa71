"""Tiny in-test corpora and helpers shared by the component tests."""
from spacy.lang.en import English
from spacy.tokens import Doc, DocBin
from spacy.training import Example

# The seeds' example, and a dozen like it.
TRAIN_DATA = [
    ("Harry Potter and Hermione Granger invented a new spell",
     [(0, 12, "PER"), (17, 33, "PER")]),
    ("Ron Weasley lives in Ottery St Catchpole", [(0, 11, "PER"), (21, 40, "LOC")]),
    ("Albus Dumbledore teaches at Hogwarts", [(0, 16, "PER"), (28, 36, "ORG")]),
    ("The Ministry of Magic is in London", [(4, 21, "ORG"), (28, 34, "LOC")]),
    ("Luna Lovegood reads the Quibbler", [(0, 13, "PER"), (24, 32, "ORG")]),
    ("Neville met Ginny in Hogsmeade", [(0, 7, "PER"), (12, 17, "PER"), (21, 30, "LOC")]),
    ("Nobody was at home", []),
    ("Severus Snape brews potions", [(0, 13, "PER")]),
    ("Gringotts is a bank in London", [(0, 9, "ORG"), (23, 29, "LOC")]),
    ("Draco Malfoy and Vincent Crabbe left", [(0, 12, "PER"), (17, 31, "PER")]),
    ("Minerva McGonagall flew to Scotland", [(0, 18, "PER"), (27, 35, "LOC")]),
    ("Teddy Roosevelt was a great President", [(0, 15, "PER")]),
    ("Teddy bears are on sale", []),
]

# Missing annotation: "-" for tokens whose annotation is unknown.
PARTIAL_DATA = [
    ("Harry Potter and Hermione Granger invented a new spell",
     ["B-PER", "L-PER", "-", "-", "-", "-", "-", "-", "-"]),
]

TAG_DATA = [
    ("I like green eggs", ["N", "V", "J", "N"]),
    ("Eat blue ham", ["V", "J", "N"]),
]

SETTINGS = [
    {"cell": "lstm"},
    {"cell": "gru"},
    {"cell": "rnn"},
    {"bidirectional": False},
    {"depth": 2},
    {"decoder": "crf"},
]


def make_examples(nlp, data=TRAIN_DATA):
    return [Example.from_dict(nlp.make_doc(text), {"entities": ents}) for text, ents in data]


def make_nlp(model=None, **config):
    nlp = English()
    cfg = dict(config)
    if model:
        cfg["model"] = model
    nlp.add_pipe("rnn_tagger", config=cfg)
    return nlp


def train(nlp, examples, n_iter=60):
    optimizer = nlp.initialize(get_examples=lambda: examples)
    for _ in range(n_iter):
        losses = {}
        nlp.update(examples, sgd=optimizer, losses=losses)
    return losses




def predict_in_fresh_process(model_dir, texts, scores_path, preamble=""):
    """Load `model_dir` in a new Python process (after `preamble`, e.g. one that blocks
    an import), check its scores for `texts` against the array saved at `scores_path`,
    and return its entities: what a user who has only the saved folder gets."""
    import json
    import subprocess
    import sys

    script = (
        "import sys, json, numpy\n"
        f"{preamble}\n"
        "import spacy, torch\n"
        "torch.set_num_threads(1)\n"
        f"nlp = spacy.load({str(model_dir)!r})\n"
        f"texts = {list(texts)!r}\n"
        "scores = nlp.get_pipe('rnn_tagger').model.predict([nlp.make_doc(t) for t in texts])\n"
        f"saved = numpy.load({str(scores_path)!r})\n"
        "assert numpy.allclose(numpy.concatenate(scores), saved, atol=1e-5)\n"
        "print(json.dumps([[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return [[tuple(e) for e in doc] for doc in json.loads(result.stdout.strip().splitlines()[-1])]


def doc_with_sentences(nlp, n_words, starts):
    words = [f"w{i}" for i in range(n_words)]
    sent_starts = [i in starts for i in range(n_words)]
    return Doc(nlp.vocab, words=words, sent_starts=sent_starts)


def write_documents(path, nlp):
    words = ["EU", "rejects", ".", "Peter", "Blackburn", "said", "."]
    starts = [True, False, False, True, False, False, False]
    ents = ["B-ORG", "O", "O", "B-PER", "I-PER", "O", "O"]
    docs = [Doc(nlp.vocab, words=words, sent_starts=starts, ents=ents),
            Doc(nlp.vocab, words=["Japan", "wins"], ents=["B-LOC", "O"])]
    DocBin(docs=docs).to_disk(path)
    return docs
