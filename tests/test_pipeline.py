"""The rnn_tagger component, in the manner of spaCy's tests/pipeline/test_tagger.py."""
import itertools
from collections import Counter

import pytest
import spacy
from spacy.lang.en import English
from spacy.tokens import Doc
from spacy.training import Example
from thinc.api import fix_random_seed

from spacy_rnn.pipeline import DEFAULT_MODEL_CONFIG, RNNTagger
from spacy_rnn.tags import is_valid_biluo

from .corpus import (
    PARTIAL_DATA,
    SETTINGS,
    TAG_DATA,
    TRAIN_DATA,
    make_examples,
    make_nlp,
    train,
)


def test_factory_default_config():
    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger")
    assert isinstance(tagger, RNNTagger)
    cfg = nlp.config["components"]["rnn_tagger"]
    assert cfg["model"]["@architectures"] == "spacy_rnn.BiRNNTagger.v1"
    assert cfg["model"]["embed"]["@architectures"] == "spacy_rnn.TokenEmbed.v1"
    assert cfg["target"] == "ents"
    assert "ents_f" in nlp.config["training"]["score_weights"]
    assert "[model]" in DEFAULT_MODEL_CONFIG


@pytest.mark.parametrize("override", SETTINGS + [{"embed": {"char_width": None}}])
def test_partial_overrides(override):
    nlp = make_nlp(model=override)
    cfg = nlp.config["components"]["rnn_tagger"]["model"]
    for key, value in override.items():
        if isinstance(value, dict):
            for k, v in value.items():
                assert cfg[key][k] == v
        else:
            assert cfg[key] == value
    # Everything else keeps its default.
    assert cfg["hidden_width"] == 128


def test_target_tag_override():
    nlp = make_nlp(target="tag")
    assert nlp.get_pipe("rnn_tagger").target == "tag"


@pytest.mark.parametrize(
    "override,setting",
    [
        ({"cell": "transformer"}, "cell"),
        ({"depth": 0}, "depth"),
        ({"hidden_width": -1}, "hidden_width"),
        ({"dropout": 1.5}, "dropout"),
        ({"decoder": "beam"}, "decoder"),
        ({"embed": {"vocab_size": 0}}, "vocab_size"),
        ({"embed": {"hash_attrs": ["NORM", "BOGUS"], "hash_rows": [10, 10]}}, "hash_attrs"),
        ({"embed": {"hash_attrs": ["NORM"], "hash_rows": [10, 10]}}, "hash_rows"),
    ],
)
def test_invalid_settings_fail_at_construction(override, setting):
    with pytest.raises(ValueError, match=setting):
        make_nlp(model=override)


def test_no_features_is_an_error():
    embed = {"vocab_size": None, "hash_attrs": [], "hash_rows": [], "char_width": None}
    with pytest.raises(ValueError, match="no features"):
        make_nlp(model={"embed": embed})


def test_invalid_target():
    with pytest.raises(ValueError, match="target"):
        make_nlp(target="sentiment")


def test_no_label():
    nlp = make_nlp()
    with pytest.raises(ValueError, match="no labels"):
        nlp.initialize()


@pytest.mark.parametrize("call", ["predict", "update"])
def test_labels_without_initialize_is_a_clear_error(call):
    """add_label gives labels but no vocabulary or weights: say initialize() is missing."""
    nlp = make_nlp()
    nlp.get_pipe("rnn_tagger").add_label("PER")
    with pytest.raises(ValueError, match="RNN019.*nlp.initialize"):
        if call == "predict":
            nlp("Harry Potter met Ron")
        else:
            nlp.update(make_examples(nlp)[:2])


def test_tag_target_without_tag_weight_warns_and_weighted_score_counts():
    """spacy train selects model-best by the weighted score: with the factory's ents_f
    weights a tag-target pipeline would score 0 forever, so initialize warns; with
    tag_acc weighted, the score spacy train uses follows tag accuracy."""
    from spacy.training.loop import create_evaluation_callback

    nlp = make_nlp(target="tag")
    examples = [Example.from_dict(nlp.make_doc(t), {"tags": tags}) for t, tags in TAG_DATA]
    with pytest.warns(UserWarning, match="RNNW001.*tag_acc = 1.0"):
        nlp.initialize(lambda: examples)
    nlp = make_nlp(target="tag")
    nlp.config["training"]["score_weights"].update(
        {"tag_acc": 1.0, "ents_f": None, "ents_p": None, "ents_r": None})
    train(nlp, examples, n_iter=50)
    weights = dict(nlp.config["training"]["score_weights"])
    score, other = create_evaluation_callback(nlp, lambda _: examples, weights)()
    assert other["tag_acc"] == 1.0 and score == 1.0


def test_explicit_nO_is_checked_against_the_labels():
    """nO may be given in the config; the right value works, a wrong one names nO."""
    n_tags = 1 + 4 * len({label for _, ents in TRAIN_DATA for _, _, label in ents})
    nlp = make_nlp(model={"nO": n_tags})
    nlp.initialize(lambda: make_examples(nlp))
    assert nlp.get_pipe("rnn_tagger").model.get_dim("nO") == n_tags
    nlp = make_nlp(model={"nO": 3})
    with pytest.raises(ValueError, match=f"RNN001.*'nO'.*{n_tags}"):
        nlp.initialize(lambda: make_examples(nlp))


def test_add_label_and_explicit_labels():
    nlp = make_nlp()
    tagger = nlp.get_pipe("rnn_tagger")
    assert tagger.add_label("PER") == 1
    assert tagger.add_label("PER") == 0
    with pytest.raises(ValueError):
        tagger.add_label(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        tagger.add_label("")
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples, )
    # Labels read from all examples, sorted.
    assert tagger.labels == ("LOC", "ORG", "PER")
    with pytest.raises(ValueError, match="already initialized"):
        tagger.add_label("MISC")


def test_initialize_with_labels_setting():
    nlp = make_nlp()
    nlp.config["initialize"]["components"]["rnn_tagger"] = {"labels": ["PER", "LOC", "ORG", "MISC"]}
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    tagger = nlp.get_pipe("rnn_tagger")
    assert tagger.labels == ("LOC", "MISC", "ORG", "PER")
    assert len(tagger.tag_names) == 1 + 4 * 4


def test_label_unseen_at_initialization_is_a_clear_error():
    nlp = make_nlp()
    nlp.config["initialize"]["components"]["rnn_tagger"] = {"labels": ["PER"]}
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    with pytest.raises(ValueError, match="'LOC'"):
        nlp.update(examples, sgd=optimizer)


def test_one_hot_vocabulary_from_all_examples():
    nlp = make_nlp(model={"embed": {"vocab_size": 5}})
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    layer = next(n for n in nlp.get_pipe("rnn_tagger").model.walk() if n.name == "vocab_embed")
    words = layer.attrs["words"]
    assert len(words) == 5
    counts = Counter(t.norm_ for eg in examples for t in eg.predicted)
    expected = sorted(counts, key=lambda w: (-counts[w], w))[:5]
    assert words == expected  # most frequent first, ties alphabetical
    assert layer.get_param("E").shape == (6, layer.get_dim("nO"))  # + UNK


def test_one_hot_vocabulary_from_file(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("harry\npotter\n", encoding="utf8")
    nlp = make_nlp()
    nlp.config["initialize"]["components"]["rnn_tagger"] = {"vocab": str(path)}
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    layer = next(n for n in nlp.get_pipe("rnn_tagger").model.walk() if n.name == "vocab_embed")
    assert layer.attrs["words"] == ["harry", "potter"]


@pytest.mark.parametrize("override", SETTINGS)
def test_overfitting_IO(override, tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(model=override)
    data = TRAIN_DATA
    if override.get("bidirectional") is False:
        # "Teddy" is PER or not depending on the *next* word: a forward-only
        # reader cannot know (see test_forward_only_cannot_see_the_right_context).
        data = [(t, e) for t, e in TRAIN_DATA if not t.startswith("Teddy")]
    examples = make_examples(nlp, data)
    losses = train(nlp, examples, n_iter=80)
    assert losses["rnn_tagger"] < 1.0
    texts = [text for text, _ in data]
    for text, ents in data:
        doc = nlp(text)
        assert [(e.start_char, e.end_char, e.label_) for e in doc.ents] == ents
    # Save, reload without training data, predict identically.
    nlp.to_disk(tmp_path)
    nlp2 = spacy.load(tmp_path)
    for doc1, doc2 in zip(nlp.pipe(texts), nlp2.pipe(texts)):
        assert [(e.start, e.end, e.label_) for e in doc1.ents] == [
            (e.start, e.end, e.label_) for e in doc2.ents
        ]
    # nlp.pipe == nlp(text), for any batch size.
    single = [[(e.start, e.end, e.label_) for e in nlp(t).ents] for t in texts]
    for batch_size in (1, 3, 64):
        piped = [[(e.start, e.end, e.label_) for e in d.ents]
                 for d in nlp.pipe(texts, batch_size=batch_size)]
        assert piped == single


@pytest.mark.parametrize("decoder", ["softmax", "crf"])
def test_overfitting_tag_target(decoder):
    fix_random_seed(0)
    nlp = make_nlp(model={"decoder": decoder}, target="tag")
    nlp.config["training"]["score_weights"].update({"tag_acc": 1.0, "ents_f": None})
    examples = [Example.from_dict(nlp.make_doc(t), {"tags": tags}) for t, tags in TAG_DATA]
    train(nlp, examples, n_iter=50)
    for text, tags in TAG_DATA:
        assert [t.tag_ for t in nlp(text)] == tags
    scores = nlp.evaluate(examples)
    assert scores["tag_acc"] == 1.0


def test_incomplete_data_is_masked_not_read_as_O():
    """Tokens annotated "-" must not be learned as O: train only on partial data,
    whose annotated tokens are an entity, and the loss must still reach ~0."""
    fix_random_seed(0)
    nlp = make_nlp()
    examples = []
    for text, tags in PARTIAL_DATA:
        doc = nlp.make_doc(text)
        examples.append(Example.from_dict(doc, {"entities": tags}))
    tagger = nlp.get_pipe("rnn_tagger")
    tagger.add_label("PER")
    nlp.initialize(get_examples=lambda: examples)
    gold = tagger._gold_indices(examples[0])
    assert (gold[2:] == -1).all() and (gold[:2] >= 0).all()
    optimizer = nlp.create_optimizer()
    for _ in range(30):
        losses = nlp.update(examples, sgd=optimizer)
    assert losses["rnn_tagger"] < 0.05
    assert nlp(PARTIAL_DATA[0][0]).ents[0].text == "Harry Potter"


def test_tokenization_mismatch_uses_aligned_gold():
    """Gold tokens differ from the pipeline's: learning goes through alignment."""
    fix_random_seed(0)
    nlp = make_nlp()
    text = "Harry Potter and Hermione-Granger invented a new spell"
    predicted = nlp.make_doc(text)  # "Hermione", "-", "Granger": 3 tokens
    words = ["Harry", "Potter", "and", "Hermione-Granger", "invented", "a", "new", "spell"]
    spaces = [True, True, True, True, True, True, True, False]
    reference = Doc(nlp.vocab, words=words, spaces=spaces)
    reference.ents = [reference.char_span(0, 12, label="PER"),
                      reference.char_span(17, 33, label="PER")]
    example = Example(predicted, reference)
    assert example.get_aligned_ner()[3:6] == ["B-PER", "I-PER", "L-PER"]
    train(nlp, [example], n_iter=40)
    assert [e.text for e in nlp(text).ents] == ["Harry Potter", "Hermione-Granger"]


@pytest.mark.parametrize("decoder", ["softmax", "crf"])
def test_batch_invariance(decoder):
    """A doc tagged alone and inside a batch of longer docs gets identical scores."""
    fix_random_seed(1)
    nlp = make_nlp(model={"decoder": decoder})
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=5)
    tagger = nlp.get_pipe("rnn_tagger")
    short = nlp.make_doc("Harry Potter")
    long_docs = [nlp.make_doc(text) for text, _ in TRAIN_DATA]
    alone = tagger.model.predict([short])[0]
    batched = tagger.model.predict(long_docs + [short] + long_docs)[len(long_docs)]
    assert alone.shape == batched.shape
    assert abs(alone - batched).max() < 1e-5
    assert list(tagger.predict([short])[0]) == list(tagger.predict(long_docs + [short])[-1])


@pytest.mark.parametrize("text", ["", " ", "   \n\t ", "Harry"])
def test_empty_whitespace_and_single_token_docs(text):
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=2)
    tagger = nlp.get_pipe("rnn_tagger")
    doc = nlp(text)
    (ids,) = tagger.predict([nlp.make_doc(text)])
    assert len(ids) == len(doc)  # one tag per token, none for an empty doc
    assert is_valid_biluo([tagger.tag_names[i] for i in ids])
    if not text.strip():
        # Whitespace is "O" in every gold sequence, so never an entity.
        assert doc.ents == ()
    # Empty and whitespace docs in a batch change nothing for their neighbours.
    texts = [text, "Harry Potter and Ron", text, ""]
    batched = [[(e.start, e.end, e.label_) for e in d.ents] for d in nlp.pipe(texts)]
    assert batched == [[(e.start, e.end, e.label_) for e in nlp(t).ents] for t in texts]
    assert batched[3] == []


def test_empty_docs_in_update():
    nlp = make_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    empty = Example.from_dict(nlp.make_doc(""), {"entities": []})
    losses = nlp.update([empty], sgd=optimizer)
    assert losses["rnn_tagger"] == 0.0
    losses = nlp.update([empty] + examples[:2], sgd=optimizer)
    assert losses["rnn_tagger"] > 0.0


def test_existing_ents_are_overwritten():
    fix_random_seed(0)
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=60)
    doc = nlp.make_doc("Nobody was at home")
    doc.ents = [doc.char_span(0, 6, label="PER")]
    doc = nlp.get_pipe("rnn_tagger")(doc)
    assert [e.text for e in doc.ents] == []


def test_decoded_sequences_are_valid_even_untrained():
    from spacy_rnn.tags import is_valid_biluo

    fix_random_seed(3)
    nlp = make_nlp()
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    tagger = nlp.get_pipe("rnn_tagger")
    docs = [nlp.make_doc(text) for text, _ in TRAIN_DATA]
    for doc, ids in zip(docs, tagger.predict(docs)):
        assert is_valid_biluo([tagger.tag_names[i] for i in ids])


def test_scores_reported_by_evaluate():
    fix_random_seed(0)
    nlp = make_nlp()
    examples = make_examples(nlp)
    train(nlp, examples, n_iter=60)
    scores = nlp.evaluate(examples)
    assert scores["ents_f"] == 1.0
    assert set(scores["ents_per_type"]) == {"LOC", "ORG", "PER"}


def test_nan_loss_stops_with_clear_message():
    import numpy

    nlp = make_nlp()
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    tagger = nlp.get_pipe("rnn_tagger")
    scores = tagger.model.predict([eg.predicted for eg in examples])
    scores[0][0, 0] = numpy.nan
    with pytest.raises(ValueError, match="NaN"):
        tagger.get_loss(examples, scores)


def test_update_is_deterministic_with_seed():
    def weights():
        fix_random_seed(7)
        nlp = make_nlp(model={"decoder": "crf"})
        train(nlp, make_examples(nlp), n_iter=3)
        return nlp.get_pipe("rnn_tagger").model.to_bytes()

    def untrained():
        fix_random_seed(7)
        nlp = make_nlp(model={"decoder": "crf"})
        examples = make_examples(nlp)
        nlp.initialize(lambda: examples)
        return nlp.get_pipe("rnn_tagger").model.to_bytes()

    trained = weights()
    assert trained == weights()
    # Training moved the weights away from the (seeded, identical) initial ones.
    assert trained != untrained()


def test_combinations_of_settings_train():
    """Each cell x decoder x direction trains a step without error."""
    nlp_texts = [text for text, _ in TRAIN_DATA[:3]]
    for cell, decoder, bidirectional in itertools.product(
        ["rnn", "lstm", "gru"], ["softmax", "crf"], [True, False]
    ):
        nlp = make_nlp(model={"cell": cell, "decoder": decoder, "bidirectional": bidirectional})
        train(nlp, make_examples(nlp), n_iter=1)
        assert len(list(nlp.pipe(nlp_texts))) == 3


@pytest.mark.parametrize("bidirectional", [True, False])
def test_forward_only_cannot_see_the_right_context(bidirectional):
    """The seeds' case: "Teddy Roosevelt was..." vs "Teddy bears are...". A
    forward-only RNN scores the first token from the left context alone, so it
    must give "Teddy" identical scores in both; a bidirectional one must not."""
    fix_random_seed(0)
    nlp = make_nlp(model={"bidirectional": bidirectional})
    train(nlp, make_examples(nlp), n_iter=3)
    model = nlp.get_pipe("rnn_tagger").model
    scores = model.predict([nlp.make_doc("Teddy Roosevelt was a great President"),
                            nlp.make_doc("Teddy bears are on sale")])
    same = abs(scores[0][0] - scores[1][0]).max() < 1e-6
    assert same == (not bidirectional)
