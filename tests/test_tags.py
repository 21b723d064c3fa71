"""Tag-scheme logic: BILUO names, transitions, IOB conversion, repairs (with hypothesis)."""
import re

import numpy
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from spacy.lang.en import English
from spacy.tokens import Span
from spacy.training import biluo_tags_to_spans, offsets_to_biluo_tags

from spacy_rnn.tags import (
    REPAIR_BMES_LABEL_CHANGE,
    REPAIR_BMES_NO_B,
    REPAIR_BMES_UNCLOSED,
    TagRepairs,
    allowed_biluo_transitions,
    biluo_entities,
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


UNCLOSED, NO_B, CHANGE = REPAIR_BMES_UNCLOSED, REPAIR_BMES_NO_B, REPAIR_BMES_LABEL_CHANGE


@pytest.mark.parametrize(
    "bmes,iob2,counts",
    [
        # Well formed: a plain prefix mapping, nothing counted.
        (["S-PER", "B-LOC", "M-LOC", "M-LOC", "E-LOC", "O"],
         ["B-PER", "B-LOC", "I-LOC", "I-LOC", "I-LOC", "O"], {}),
        (["B-PER", "E-PER", "S-PER"], ["B-PER", "I-PER", "B-PER"], {}),
        # An entity not closed by E- ends at its last token (Resume train,
        # sentences 1835 and 1892: ... B-ORG M-ORG M-ORG M-ORG).
        (["O", "B-ORG", "M-ORG", "M-ORG"], ["O", "B-ORG", "I-ORG", "I-ORG"], {UNCLOSED: 1}),
        (["B-NAME", "O", "B-NAME", "B-NAME", "E-NAME"],
         ["B-NAME", "O", "B-NAME", "B-NAME", "I-NAME"], {UNCLOSED: 2}),
        (["B-PER", "S-PER"], ["B-PER", "B-PER"], {UNCLOSED: 1}),
        # M-/E- with no open entity starts one (Resume train, sentences 1836 and
        # 1893: M-ORG M-ORG ... E-ORG), also right after an E- or S-: a plain
        # mapping would merge "B E M E" into one entity.
        (["M-ORG", "M-ORG", "E-ORG", "O"], ["B-ORG", "I-ORG", "I-ORG", "O"], {NO_B: 1}),
        (["O", "E-PER"], ["O", "B-PER"], {NO_B: 1}),
        (["B-PER", "E-PER", "M-PER", "E-PER"], ["B-PER", "I-PER", "B-PER", "I-PER"], {NO_B: 1}),
        (["S-PER", "E-PER"], ["B-PER", "B-PER"], {NO_B: 1}),
        # A label change inside an entity ends it and starts the new type's.
        (["B-PER", "M-LOC", "E-LOC"], ["B-PER", "B-LOC", "I-LOC"], {CHANGE: 1}),
        (["B-PER", "M-PER", "E-LOC"], ["B-PER", "I-PER", "B-LOC"], {CHANGE: 1}),
    ],
)
def test_normalize_bmes_repairs(bmes, iob2, counts):
    repairs = TagRepairs()
    assert normalize_to_iob2(bmes, "bmes", repairs=repairs) == iob2
    assert repairs.counts == counts
    assert normalize_to_iob2(bmes, "bmes") == iob2  # the counter is optional


BMES_TAGS = ["O"] + [f"{p}-{label}" for label in LABELS for p in "BMES"]
# Independent reference: a well-formed BMES sequence, written as one string.
BMES_VALID = re.compile(r"(?:O |S-\w+ |B-(\w+) (?:M-\1 )*E-\1 )*")


def bmes_spans(tags):
    """Entities of a well-formed BMES sequence, as (start, end, label)."""
    spans, start = [], 0
    for i, tag in enumerate(tags):
        if tag[0] in "BS":
            start = i
        if tag[0] in "ES":
            spans.append((start, i + 1, tag[2:]))
    return spans


def iob2_spans(tags):
    spans = []
    for i, tag in enumerate(tags):
        if tag.startswith("B-"):
            spans.append([i, i + 1, tag[2:]])
        elif tag.startswith("I-"):
            assert spans and spans[-1][1] == i and spans[-1][2] == tag[2:], tags
            spans[-1][1] = i + 1
    return [tuple(span) for span in spans]


@settings(deadline=None)
@given(st.lists(st.sampled_from(BMES_TAGS), max_size=8))
def test_normalize_bmes_against_reference(tags):
    """Strict IOB2 out, every tagged token still in an entity of its type; the
    same entities and no repair for well-formed input, a counted one otherwise."""
    repairs = TagRepairs()
    iob = normalize_to_iob2(tags, "bmes", repairs=repairs)
    assert [t[2:] for t in iob] == [t[2:] for t in tags]
    spans = iob2_spans(iob)  # asserts strict IOB2 (no I- without its B-)
    if BMES_VALID.fullmatch("".join(f"{tag} " for tag in tags)):
        assert spans == bmes_spans(tags) and not repairs
    else:
        assert repairs


@pytest.mark.parametrize(
    "tags",
    [
        [], ["O"], ["U-PER"], ["B-PER", "L-PER"], ["U-PER", "U-PER"],
        ["B-PER", "I-PER", "I-PER", "L-PER", "U-LOC", "O", "B-LOC", "L-LOC"],
    ],
)
def test_is_valid_biluo_accepts(tags):
    assert is_valid_biluo(tags)


@pytest.mark.parametrize(
    "tags",
    [
        ["I-PER"],  # I- with no B-
        ["O", "I-PER", "L-PER"],  # I- after O
        ["L-PER"],  # L- with no B-
        ["U-PER", "L-PER"],  # L- after a closed entity
        ["B-PER"],  # B- unclosed at the end
        ["O", "B-PER", "I-PER"],  # I- unclosed at the end
        ["B-PER", "O", "L-PER"],  # O inside an entity
        ["B-PER", "L-LOC"],  # label change inside an entity
        ["B-PER", "I-LOC", "L-LOC"],
        ["B-PER", "U-PER", "L-PER"],  # U- inside an entity
        ["B-PER", "B-PER", "L-PER"],  # B- inside an entity
    ],
)
def test_is_valid_biluo_rejects(tags):
    assert not is_valid_biluo(tags)


BILUO_VALID = re.compile(r"(?:O |U-\w+ |B-(\w+) (?:I-\1 )*L-\1 )*")


@settings(deadline=None)
@given(st.lists(st.sampled_from(biluo_tag_names(LABELS)), max_size=6))
def test_is_valid_biluo_against_regex(tags):
    """Random (mostly invalid) sequences against an independent regex."""
    expected = BILUO_VALID.fullmatch("".join(f"{tag} " for tag in tags)) is not None
    assert is_valid_biluo(tags) == expected


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


@pytest.mark.parametrize("seed", range(20))
def test_biluo_entities_equal_spacys_spans_on_random_valid_sequences(seed):
    """The vectorised reading of entities (what set_annotations writes) agrees with
    spaCy's own BILUO-to-spans on valid sequences, empty ones included."""
    names = biluo_tag_names(["LOC", "PER"])
    a_trans, a_start, a_end = allowed_biluo_transitions(names)
    rng = numpy.random.default_rng(seed)
    length = int(rng.integers(0, 12))
    ids: list = []
    while len(ids) < length:
        ids = []
        for t in range(length):
            ok = a_start if t == 0 else a_trans[ids[-1]]
            if t == length - 1:
                ok = ok & a_end
            choices = numpy.flatnonzero(ok)
            if not len(choices):
                break
            ids.append(int(rng.choice(choices)))
    doc = English().make_doc(" ".join(f"w{i}" for i in range(length)))
    expected = [(s.start, s.end, s.label_)
                for s in biluo_tags_to_spans(doc, [names[i] for i in ids])]
    assert biluo_entities(numpy.asarray(ids, dtype="int64"), names) == expected
