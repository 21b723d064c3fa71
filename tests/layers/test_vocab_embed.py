"""The one-hot vocabulary layer: unk_dropout trains the UNK row and leaves prediction
untouched; rows started from static vectors."""
import numpy
import pytest
import spacy
from spacy.tokens import Doc
from spacy.vocab import Vocab
from thinc.api import fix_random_seed

from spacy_rnn.layers.vocab_embed import VocabEmbed, set_vocab_words

from ..corpus import make_examples, make_nlp, train

WORDS = ["harry", "potter", "met", "ron"]


def _layer(unk_dropout):
    layer = VocabEmbed(8, 10, "ORTH", unk_dropout)
    set_vocab_words(layer, WORDS)
    layer.initialize()
    return layer


def _unk_share(layer, docs, is_train):
    out, backprop = layer(docs, is_train=is_train)
    unk = layer.get_param("E")[0]
    return float(numpy.all(out.data == unk, axis=1).mean()), out, backprop


def test_unk_dropout_reads_tokens_as_unk_in_training_only():
    fix_random_seed(0)
    layer = _layer(0.3)
    docs = [Doc(Vocab(), words=WORDS * 500)]  # every word is in the vocabulary
    share, out, backprop = _unk_share(layer, docs, is_train=True)
    assert 0.27 < share < 0.33
    assert _unk_share(layer, docs, is_train=False)[0] == 0.0
    # The dropped tokens' gradient trains the UNK row.
    backprop(out.__class__(numpy.ones_like(out.data), out.lengths))
    dE = layer.get_grad("E")
    assert dE[0, 0] == pytest.approx(share * len(WORDS) * 500)


def test_unk_dropout_zero_is_the_plain_lookup():
    fix_random_seed(0)
    layer = _layer(0.0)
    docs = [Doc(Vocab(), words=WORDS * 50)]
    assert _unk_share(layer, docs, is_train=True)[0] == 0.0


def test_unk_dropout_is_seeded():
    docs = [Doc(Vocab(), words=WORDS * 50)]
    layer = _layer(0.5)
    fix_random_seed(1)
    first = layer(docs, is_train=True)[0].data.copy()
    fix_random_seed(1)
    assert numpy.array_equal(layer(docs, is_train=True)[0].data, first)


@pytest.mark.parametrize("value", [1.0, -0.1, "0.2", True])
def test_bad_unk_dropout_is_named(value):
    with pytest.raises(ValueError, match="unk_dropout"):
        make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                  "unk_dropout": value}})


def test_token_embed_unk_dropout_trains_and_round_trips(tmp_path):
    fix_random_seed(0)
    nlp = make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                    "unk_dropout": 0.2}})
    train(nlp, make_examples(nlp), n_iter=20)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    layer = next(n for n in loaded.get_pipe("rnn_tagger").model.walk() if n.name == "vocab_embed")
    assert layer.attrs["unk_dropout"] == 0.2
    text = "Harry Potter met Ron Weasley"
    assert [(e.text, e.label_) for e in loaded(text).ents] == [
        (e.text, e.label_) for e in nlp(text).ents]


def _vectors_nlp(width=8, **embed):
    """An nlp with TokenEmbed starting its vocabulary from `width`-wide vectors
    that cover "harry" and "potter" only."""
    nlp = make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                    "vocab_width": width, "vocab_from_vectors": True,
                                    **embed}})
    rng = numpy.random.default_rng(0)
    for word in ("harry", "potter"):
        nlp.vocab.set_vector(word, (3.0 * rng.standard_normal(8)).astype("float32"))
    return nlp


def _vocab_layer(nlp):
    return next(n for n in nlp.get_pipe("rnn_tagger").model.walk() if n.name == "vocab_embed")


def test_vocab_from_vectors_starts_covered_rows_from_their_vectors(tmp_path):
    fix_random_seed(0)
    nlp = _vectors_nlp()
    examples = make_examples(nlp)
    nlp.initialize(get_examples=lambda: examples)
    layer = _vocab_layer(nlp)
    words, E = layer.attrs["words"], layer.get_param("E").copy()
    for word in ("harry", "potter"):
        assert numpy.array_equal(E[words.index(word) + 1], nlp.vocab.get_vector(word))
    # Uncovered rows (and UNK, row 0) are random at the vectors' scale, not 0.1.
    uncovered = [i + 1 for i, w in enumerate(words) if w not in ("harry", "potter")]
    assert 1.5 < E[[0] + uncovered].std() < 4.5
    assert not numpy.any(numpy.all(E[uncovered] == 0, axis=1))
    # Training fine-tunes the copy; the frozen table stays as it was.
    frozen = nlp.vocab.get_vector("harry").copy()
    train(nlp, examples, n_iter=5)
    harry = words.index("harry") + 1
    assert not numpy.allclose(layer.get_param("E")[harry], E[harry])
    assert numpy.array_equal(nlp.vocab.get_vector("harry"), frozen)
    nlp.to_disk(tmp_path / "model")
    loaded = spacy.load(tmp_path / "model")
    assert numpy.array_equal(_vocab_layer(loaded).get_param("E"), layer.get_param("E"))


def test_vocab_from_vectors_without_vectors_is_named():
    nlp = make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                    "vocab_width": 8, "vocab_from_vectors": True}})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="RNN004.*no static vectors"):
        nlp.initialize(get_examples=lambda: examples)


def test_static_vectors_without_vectors_is_named():
    """include_static_vectors with an empty vectors table failed inside spaCy's
    StaticVectors with an IndexError; name the setting and the fix instead."""
    nlp = make_nlp(model={"embed": {"include_static_vectors": True}})
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match="RNN005.*include_static_vectors.*--paths.vectors"):
        nlp.initialize(get_examples=lambda: examples)


def test_vocab_from_vectors_width_mismatch_is_named():
    nlp = _vectors_nlp(width=16)
    examples = make_examples(nlp)
    with pytest.raises(ValueError, match=r"vocab_width.*width of the static vectors \(8\)"):
        nlp.initialize(get_examples=lambda: examples)


def test_vocab_from_vectors_needs_a_vocabulary():
    with pytest.raises(ValueError, match="vocab_from_vectors"):
        make_nlp(model={"embed": {"@architectures": "spacy_rnn.TokenEmbed.v1",
                                  "vocab_size": None, "vocab_from_vectors": True}})


def test_vocab_from_floret_vectors_uses_their_subword_vectors():
    """Floret tables have a vector for every word, built from its character n-grams."""
    from spacy.vectors import Vectors

    from spacy_rnn.layers.vocab_embed import vectors_table

    vocab = Vocab()
    data = numpy.random.default_rng(0).standard_normal((20, 8)).astype("float32")
    vocab.vectors = Vectors(strings=vocab.strings, data=data, mode="floret",
                            hash_count=1, minn=2, maxn=3)
    table = vectors_table(["harry", "potter"], vocab, 8)
    assert table.shape == (3, 8)
    assert numpy.allclose(table[1], vocab.get_vector("harry"))
    assert numpy.allclose(table[2], vocab.get_vector("potter"))
    assert not numpy.allclose(table[1], table[2])
