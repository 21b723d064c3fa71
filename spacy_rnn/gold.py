"""Gold tag indices for training, read from the reference doc's arrays.

spaCy's `Example.get_aligned_ner()` builds Python strings token by token (and
spans, and a BILUO conversion): on long docs it cost a quarter of a training
step (profiled: 175 ms of 640 ms per 32 x 200-token batch). When the predicted
and reference tokenizations are the same, which is the normal case for
DocBins, the alignment is the identity and the tags can be read straight off
the reference's ENT_IOB / ENT_TYPE (or TAG) arrays with numpy. Any other
alignment falls back to spaCy's own aligned getters, so behaviour is the same
(tests compare the two paths).
"""
from typing import Iterable, Sequence, Set

import numpy
from spacy.attrs import ENT_IOB, ENT_TYPE, IS_SPACE, ORTH, TAG
from spacy.training import Example

from .errors import Errors
from .tags import BILUO_PREFIXES

MISSING = -1  # gold index of tokens without annotation
IOB_MISSING, IOB_I, IOB_O, IOB_B = 0, 1, 2, 3


def gold_indices(example: Example, tag_names: Sequence[str], target: str,
                 labels: Sequence[str], name: str) -> numpy.ndarray:
    """One gold index per predicted token (MISSING where unannotated)."""
    if _identity_alignment(example):
        if target == "ents":
            return _ents_fast(example, tag_names, labels, name)
        return _tags_fast(example, tag_names, labels, name)
    return gold_indices_aligned(example, tag_names, target, labels, name)


def labels_in(examples: Iterable[Example], target: str) -> Set[str]:
    """Every entity label (target "ents") or tag value (target "tag") in the gold."""
    found: Set[str] = set()
    for eg in examples:
        if target == "ents":
            found.update(ent.label_ for ent in eg.reference.ents)
        else:
            found.update(token.tag_ for token in eg.reference if token.tag_)
    return found


def gold_indices_aligned(example: Example, tag_names: Sequence[str], target: str,
                         labels: Sequence[str], name: str) -> numpy.ndarray:
    """The general path, through spaCy's aligned getters (any tokenization)."""
    index = {tag: i for i, tag in enumerate(tag_names)}
    if target == "ents":
        tags = example.get_aligned_ner()
    else:
        tags = example.get_aligned("TAG", as_string=True)
    gold = numpy.full((len(tags),), MISSING, dtype="int64")
    for i, tag in enumerate(tags):
        if tag is None or tag in ("", "-"):
            continue
        found = index.get(tag)
        if found is None:
            label = tag[2:] if target == "ents" else tag
            raise ValueError(Errors.RNN017.format(name=name, label=label, labels=list(labels)))
        gold[i] = found
    return gold


def _identity_alignment(example: Example) -> bool:
    """Same tokens in the same order: the alignment is the identity (no need to build it)."""
    x, y = example.predicted, example.reference
    if len(x) != len(y):
        return False
    return bool(numpy.array_equal(x.to_array(ORTH), y.to_array(ORTH)))


def _ents_fast(example: Example, tag_names: Sequence[str], labels: Sequence[str],
               name: str) -> numpy.ndarray:
    ref = example.reference
    n = len(ref)
    if not ref.has_annotation("ENT_IOB"):
        return numpy.full((n,), MISSING, dtype="int64")
    arr = ref.to_array([ENT_IOB, ENT_TYPE]).astype("uint64")
    iob, types = arr[:, 0].astype("int64"), arr[:, 1]
    _check_iob(ref, iob, types, name)
    next_inside = numpy.append(iob[1:] == IOB_I, False)
    prefix = numpy.full((n,), -1, dtype="int64")  # index into BILUO_PREFIXES
    for code, (first, cont) in {"B": (True, True), "I": (False, True),
                                "L": (False, False), "U": (True, False)}.items():
        starts = iob == (IOB_B if first else IOB_I)
        prefix[starts & (next_inside == cont)] = BILUO_PREFIXES.index(code)
    gold = numpy.full((n,), MISSING, dtype="int64")
    gold[iob == IOB_O] = tag_names.index("O")
    # Like get_aligned_ner: unannotated whitespace tokens are "O".
    space = example.predicted.to_array(IS_SPACE).astype(bool)
    gold[(iob == IOB_MISSING) & space] = tag_names.index("O")
    in_ent = prefix >= 0
    if in_ent.any():
        index = {tag: i for i, tag in enumerate(tag_names)}
        strings = ref.vocab.strings
        for key in numpy.unique(types[in_ent]):
            label = strings[int(key)]
            rows = in_ent & (types == key)
            for p in numpy.unique(prefix[rows]):
                found = index.get(f"{BILUO_PREFIXES[p]}-{label}")
                if found is None:
                    raise ValueError(Errors.RNN017.format(
                        name=name, label=label, labels=list(labels)))
                gold[rows & (prefix == p)] = found
    return gold


def _check_iob(doc, iob: numpy.ndarray, types: numpy.ndarray, name: str) -> None:
    """Every I continues a B or I of its own type, as spaCy's `doc.ents` demands (E093).

    The array path does not go through `doc.ents`, so without this an "I without
    B" (from a DocBin built by hand) would be learned as an I- tag after O, a
    sequence the decoder can never produce.
    """
    prev_iob = numpy.append(IOB_O, iob[:-1])
    prev_type = numpy.append(0, types[:-1])
    bad = numpy.flatnonzero(
        (iob == IOB_I) & ~(((prev_iob == IOB_B) | (prev_iob == IOB_I)) & (prev_type == types)))
    if len(bad):
        i = int(bad[0])
        raise ValueError(Errors.RNN062.format(name=name, i=i, token=doc[i].text,
                                              context=doc[max(0, i - 3): i + 3].text))


def _tags_fast(example: Example, tag_names: Sequence[str], labels: Sequence[str],
               name: str) -> numpy.ndarray:
    ref = example.reference
    keys = ref.to_array(TAG).astype("uint64")
    gold = numpy.full((len(keys),), MISSING, dtype="int64")
    index = {tag: i for i, tag in enumerate(tag_names)}
    strings = ref.vocab.strings
    for key in numpy.unique(keys):
        tag = strings[int(key)] if key else ""
        if tag in ("", "-"):
            continue
        found = index.get(tag)
        if found is None:
            raise ValueError(Errors.RNN017.format(name=name, label=tag, labels=list(labels)))
        gold[keys == key] = found
    return gold
