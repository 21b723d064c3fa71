"""Bad and unusual input: long docs, odd characters, multiprocessing, numerics, labels."""
import json
import subprocess
import sys

import numpy
import pytest
import spacy
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.attrs import ENT_IOB, ENT_TYPE
from spacy.lang.en import English
from spacy.tokens import Doc, Span
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_rnn.lab.evaluate import docs_to_iob, seqeval_report, spacy_ner_scores

from .corpus import TRAIN_DATA, make_examples, make_nlp, train


@pytest.fixture(scope="module")
def trained_nlp():
    fix_random_seed(0)
    nlp = make_nlp()
    train(nlp, make_examples(nlp), n_iter=40)
    return nlp


def test_emoji_mixed_scripts_and_control_characters(trained_nlp):
    texts = [
        "Harry 🧙‍♂️ Potter met Гарри Поттер and 哈利·波特 in 東京",
        "control\x00chars\x07and\x1b[31m escapes \u200b zero-width",
        "\U0001F600" * 50,
        "a" * 5000,  # one enormous token: characters are capped per token
    ]
    for doc in trained_nlp.pipe(texts):
        for ent in doc.ents:
            assert ent.label_ in ("LOC", "ORG", "PER")


@pytest.mark.slow
def test_100k_token_doc_is_tagged(trained_nlp):
    words = ["Harry", "Potter", "lives", "in", "London", "."] * 16_667
    doc = Doc(trained_nlp.vocab, words=words)
    assert len(doc) > 100_000
    doc = trained_nlp.get_pipe("rnn_tagger")(doc)
    assert len(doc.ents) > 0
    assert all(ent.end - ent.start < 10 for ent in doc.ents)


PIPE_SCRIPT = """
import json, sys, spacy, torch
torch.set_num_threads(2)  # the hang needs a multi-threaded pool in the parent
nlp = spacy.load(sys.argv[1])
texts = json.loads(sys.argv[2])
list(nlp.pipe(texts * 10))  # run torch in the parent before forking
docs = nlp.pipe(texts, n_process=2, batch_size=8)
print(json.dumps([[[e.start, e.end, e.label_] for e in d.ents] for d in docs]))
"""


@pytest.mark.parametrize("decoder", ["softmax", "crf"])
def test_decode_memory_follows_tokens_not_batch_times_longest(decoder):
    """One long doc among many short ones must not pad them all to its length: that
    cost 1.4 GB for 20k + 255 x 20 tokens (the flat scores are 1.7 MB), and would
    run out of memory for a 100k-token doc in nlp.pipe's default batch of 1000."""
    import tracemalloc

    from spacy_rnn.pipeline import RNNTagger

    nlp = make_nlp(model={"decoder": decoder})
    tagger = nlp.get_pipe("rnn_tagger")
    for label in ("LOC", "MISC", "ORG", "PER"):
        tagger.add_label(label)
    nlp.initialize(lambda: make_examples(nlp))
    rng = numpy.random.default_rng(0)
    n_tags = len(tagger.tag_names)
    lengths = [20_000] + [20] * 255 + [0]
    scores = [rng.standard_normal((n, n_tags)).astype("float32") for n in lengths]
    tracemalloc.start()
    try:
        got = tagger.decode(scores)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    flat = sum(lengths) * n_tags * 4
    assert peak < 40 * flat  # the padded batch alone was 255 x 20k x K floats: ~800x flat
    # Grouping by length changes no path: each doc decoded alone gives the same tags.
    for i in (0, 1, 255, 256):
        assert got[i].tolist() == RNNTagger.decode(tagger, [scores[i]])[0].tolist()


@pytest.mark.slow
def test_nlp_pipe_with_two_processes(trained_nlp, tmp_path):
    """Forked workers after torch ran in the parent used to hang (STYLE.md): the
    component pins torch to one thread in forked children. Run in a subprocess
    with a timeout, so a regression fails instead of hanging CI."""
    texts = [text for text, _ in TRAIN_DATA] * 4
    expected = [[[e.start, e.end, e.label_] for e in d.ents] for d in trained_nlp.pipe(texts)]
    trained_nlp.to_disk(tmp_path)
    result = subprocess.run(
        [sys.executable, "-c", PIPE_SCRIPT, str(tmp_path), json.dumps(texts)],
        capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == expected


def test_label_set_change_on_resume_is_a_clear_error(trained_nlp, tmp_path):
    """Resuming training of a saved model on data with a new label."""
    trained_nlp.to_disk(tmp_path)
    nlp = spacy.load(tmp_path)
    doc = nlp.make_doc("Hedwig is an owl")
    example = Example.from_dict(doc, {"entities": [(0, 6, "ANIMAL")]})
    optimizer = nlp.resume_training()
    with pytest.raises(ValueError, match="'ANIMAL'.*re-initialize"):
        nlp.update([example], sgd=optimizer)


@pytest.mark.parametrize("decoder", ["softmax", "crf"])
@pytest.mark.parametrize("rows", [
    [[2, "-"], [1, "PER"], [1, "PER"], [2, "-"]],  # I after O
    [[3, "LOC"], [1, "PER"], [2, "-"], [2, "-"]],  # I of another type
])
def test_gold_that_breaks_the_iob_scheme_is_a_clear_error(decoder, rows):
    """A DocBin built from arrays can hold "I without B", which spaCy's doc.ents
    refuses (E093) but the gold arrays would pass on as an I- tag after O: both
    decoders must name the token instead of training on an impossible sequence."""
    nlp = make_nlp(model={"decoder": decoder})
    text = "Harry Potter lives here"
    ref = nlp.make_doc(text)
    keys = [nlp.vocab.strings.add(label) if label != "-" else 0 for _, label in rows]
    ref.from_array([ENT_IOB, ENT_TYPE],
                   numpy.array([[iob, key] for (iob, _), key in zip(rows, keys)], dtype="uint64"))
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    with pytest.raises(ValueError, match=r"RNN062.*token 1 \('Potter'"):
        nlp.update([Example(nlp.make_doc(text), ref)], sgd=optimizer)


def test_examples_without_entities_train():
    nlp = make_nlp()
    nlp.get_pipe("rnn_tagger").add_label("PER")
    examples = [Example.from_dict(nlp.make_doc(t), {"entities": []})
                for t in ("nothing here", "still nothing")]
    optimizer = nlp.initialize(lambda: examples)
    losses = nlp.update(examples, sgd=optimizer)
    assert losses["rnn_tagger"] > 0
    assert nlp("nothing here").ents == ()


@pytest.mark.parametrize("learn_rate", [1e-9, 50.0])
def test_extreme_learning_rates_never_leave_silent_nans(learn_rate):
    """With gradient clipping (the configs' default) weights stay finite, or
    training stops with the NaN message; never NaN weights in silence."""
    from thinc.api import Adam

    fix_random_seed(0)
    nlp = make_nlp(model={"decoder": "crf"})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    optimizer = Adam(learn_rate=learn_rate, grad_clip=5.0)
    try:
        for _ in range(20):
            nlp.update(examples, sgd=optimizer)
    except ValueError as err:
        assert "NaN" in str(err)
        return
    model = nlp.get_pipe("rnn_tagger").model
    for node in model.walk():
        for name in node.param_names:
            if node.has_param(name):
                assert numpy.isfinite(node.get_param(name)).all(), (node.name, name)
    for param in model.get_ref("encoder").shims[0]._model.parameters():
        assert bool(param.isfinite().all())


LABELS = ["LOC", "PER"]


@st.composite
def doc_pairs(draw):
    """Two entity layouts (gold, predicted) over the same random tokens."""
    n = draw(st.integers(1, 12))

    def layout():
        spans, i = [], 0
        while i < n:
            if draw(st.booleans()):
                length = draw(st.integers(1, min(3, n - i)))
                spans.append((i, i + length, draw(st.sampled_from(LABELS))))
                i += length
            else:
                i += 1
        return spans

    return n, layout(), layout()


@settings(max_examples=80, deadline=None)
@given(st.lists(doc_pairs(), min_size=1, max_size=4))
def test_seqeval_and_spacy_scorer_agree_on_valid_sequences(batch):
    nlp = English()
    golds, preds = [], []
    for n, gold_spans, pred_spans in batch:
        for spans, out in ((gold_spans, golds), (pred_spans, preds)):
            doc = Doc(nlp.vocab, words=[f"w{i}" for i in range(n)])
            doc.ents = [Span(doc, s, e, label=label) for s, e, label in spans]
            out.append(doc)
    ours = seqeval_report(docs_to_iob(golds), docs_to_iob(preds))["overall"]
    theirs = spacy_ner_scores(preds, golds)
    n_gold = sum(len(d.ents) for d in golds)
    n_pred = sum(len(d.ents) for d in preds)
    if n_gold and n_pred:
        assert ours["precision"] == pytest.approx(theirs["ents_p"])
        assert ours["recall"] == pytest.approx(theirs["ents_r"])
        assert ours["f1"] == pytest.approx(theirs["ents_f"])
