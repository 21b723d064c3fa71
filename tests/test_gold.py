"""The array fast path for gold tags agrees with spaCy's aligned getters."""
import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.lang.en import English
from spacy.tokens import Doc
from spacy.training import Example

from spacy_rnn.gold import MISSING, gold_indices, gold_indices_aligned
from spacy_rnn.tags import biluo_tag_names

from .corpus import PARTIAL_DATA, TAG_DATA, TRAIN_DATA

LABELS = ["LOC", "ORG", "PER"]
NAMES = biluo_tag_names(LABELS)


def _both(example, target="ents", names=NAMES, labels=LABELS):
    fast = gold_indices(example, names, target, labels, "t")
    slow = gold_indices_aligned(example, names, target, labels, "t")
    return fast, slow


def test_fast_path_matches_on_full_annotation():
    nlp = English()
    for text, ents in TRAIN_DATA:
        eg = Example.from_dict(nlp.make_doc(text), {"entities": ents})
        fast, slow = _both(eg)
        numpy.testing.assert_array_equal(fast, slow)


def test_fast_path_matches_on_partial_and_missing_annotation():
    nlp = English()
    text, tags = PARTIAL_DATA[0]
    eg = Example.from_dict(nlp.make_doc(text), {"entities": tags})
    fast, slow = _both(eg)
    numpy.testing.assert_array_equal(fast, slow)
    assert (fast == MISSING).sum() == 7
    bare = Example(nlp.make_doc(text), nlp.make_doc(text))
    fast, slow = _both(bare)
    assert numpy.all(fast == MISSING) and numpy.array_equal(fast, slow)


def test_fast_path_matches_on_whitespace_tokens():
    nlp = English()
    words = ["Anna", " ", "lives", "\n", "here"]
    pred = Doc(nlp.vocab, words=words)
    eg = Example.from_dict(pred, {"entities": ["U-PER", "-", "O", "-", "-"]})
    fast, slow = _both(eg)
    numpy.testing.assert_array_equal(fast, slow)


def test_fast_path_matches_for_tags():
    nlp = English()
    names = ["J", "N", "V"]
    for text, tags in TAG_DATA:
        eg = Example.from_dict(nlp.make_doc(text), {"tags": tags})
        fast, slow = _both(eg, "tag", names, names)
        numpy.testing.assert_array_equal(fast, slow)
    eg = Example.from_dict(nlp.make_doc("I like eggs"), {"tags": ["N", "", "N"]})
    fast, slow = _both(eg, "tag", names, names)
    assert fast.tolist() == [1, MISSING, 1] and numpy.array_equal(fast, slow)


def test_unknown_label_is_named_on_both_paths():
    nlp = English()
    eg = Example.from_dict(nlp.make_doc("Bob went to Paris"),
                           {"entities": ["U-PER", "O", "O", "U-GPE"]})
    for func in (gold_indices, gold_indices_aligned):
        with pytest.raises(ValueError, match="GPE"):
            func(eg, NAMES, "ents", LABELS, "t")


def test_different_tokenization_uses_the_aligned_path():
    nlp = English()
    pred = Doc(nlp.vocab, words=["New", "York", "is", "big"])
    ref = Doc(nlp.vocab, words=["New York", "is", "big"], spaces=[True, True, False],
              ents=["B-LOC", "O", "O"])
    eg = Example(pred, ref)
    fast, slow = _both(eg)
    assert fast.tolist() == slow.tolist() == [NAMES.index("B-LOC"), NAMES.index("L-LOC"), 0, 0]


@st.composite
def biluo_docs(draw):
    """A valid BILUO/missing sequence over random labels."""
    tags = []
    n = draw(st.integers(1, 12))
    while len(tags) < n:
        kind = draw(st.sampled_from(["O", "-", "U", "span"]))
        label = draw(st.sampled_from(LABELS))
        if kind in ("O", "-"):
            tags.append(kind)
        elif kind == "U":
            tags.append(f"U-{label}")
        else:
            inner = draw(st.integers(0, 3))
            tags += [f"B-{label}"] + [f"I-{label}"] * inner + [f"L-{label}"]
    return tags


@settings(max_examples=200, deadline=None)
@given(biluo_docs())
def test_fast_path_matches_on_random_sequences(tags):
    nlp = English()
    doc = Doc(nlp.vocab, words=[f"w{i}" for i in range(len(tags))])
    eg = Example.from_dict(doc, {"entities": tags})
    fast, slow = _both(eg)
    numpy.testing.assert_array_equal(fast, slow)
