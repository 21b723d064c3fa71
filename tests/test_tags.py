"""Tag-scheme logic: BILUO names, transitions, IOB conversion, repairs (with hypothesis)."""
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.lang.en import English
from spacy.tokens import Span
from spacy.training import biluo_tags_to_spans, offsets_to_biluo_tags

from spacy_rnn.tags import (
    TagRepairs,
    allowed_biluo_transitions,
    biluo_tag_names,
    biluo_to_iob,
    is_valid_biluo,
    normalize_to_iob2,
)

LABELS = ["LOC", "PER"]


def test_biluo_tag_names():
    assert biluo_tag_names(["PER"]) == ["O", "B-PER", "I-PER", "L-PER", "U-PER"]


def test_allowed_transitions():
    names = biluo_tag_names(LABELS)
    trans, start, end = allowed_biluo_transitions(names)
    i = names.index
    assert trans[i("B-PER"), i("I-PER")] and trans[i("B-PER"), i("L-PER")]
    assert not trans[i("B-PER"), i("L-LOC")]
    assert not trans[i("O"), i("I-PER")]
    assert trans[i("U-PER"), i("B-LOC")]
    assert start[i("B-PER")] and not start[i("L-PER")]
    assert end[i("L-PER")] and not end[i("B-PER")]


def test_normalize_iob_schemes():
    assert normalize_to_iob2(["I-PER", "I-PER", "O", "I-LOC"], "iob1") == [
        "B-PER", "I-PER", "O", "B-LOC"]
    repairs = TagRepairs()
    assert normalize_to_iob2(["O", "I-PER", "I-PER"], "iob2", repairs=repairs) == [
        "O", "B-PER", "I-PER"]
    assert repairs.counts == {"stray I- converted to B-": 1}
    assert normalize_to_iob2(["B-NAME", "M-NAME", "E-NAME", "S-ORG", "O"], "bmes") == [
        "B-NAME", "I-NAME", "I-NAME", "B-ORG", "O"]
    with pytest.raises(ValueError, match="X-PER"):
        normalize_to_iob2(["X-PER"], "iob2")
    with pytest.raises(ValueError, match="scheme"):
        normalize_to_iob2(["O"], "bilou2")


# Random entity layouts over a short text: non-overlapping token spans.
@st.composite
def entity_layouts(draw):
    n = draw(st.integers(1, 10))
    spans, i = [], 0
    while i < n:
        if draw(st.booleans()):
            length = draw(st.integers(1, n - i))
            spans.append((i, i + length, draw(st.sampled_from(LABELS))))
            i += length
        else:
            i += 1
    return n, spans


# No deadline: on a busy 2-core machine one example took 329 ms against the
# default 200 ms; timing is not what this test checks.
@settings(deadline=None)
@given(entity_layouts())
def test_spans_biluo_round_trip(layout):
    n, spans = layout
    nlp = English()
    doc = nlp.make_doc(" ".join(f"w{i}" for i in range(n)))
    doc.ents = [Span(doc, s, e, label=label) for s, e, label in spans]
    tags = offsets_to_biluo_tags(doc, [(e.start_char, e.end_char, e.label_) for e in doc.ents])
    assert is_valid_biluo(tags)
    assert all(tag in biluo_tag_names(LABELS) for tag in tags)
    back = biluo_tags_to_spans(doc, tags)
    assert [(s.start, s.end, s.label_) for s in back] == spans
    # BILUO -> IOB2 gives a sequence that IOB2 normalisation leaves unchanged.
    iob = biluo_to_iob(tags)
    repairs = TagRepairs()
    assert normalize_to_iob2(iob, "iob2", repairs=repairs) == iob
    assert not repairs
