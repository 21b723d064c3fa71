"""Tag schemes: BILUO tag names, allowed transitions, IOB/BMES conversion and repair.

The component predicts BILUO tags internally (what spaCy's
`Example.get_aligned_ner` gives), while datasets and seqeval speak IOB2. All
scheme logic lives here, as pure functions over lists of strings, so it can be
tested exhaustively without a model.
"""
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import numpy

BILUO_PREFIXES = ("B", "I", "L", "U")
# Allowed transitions, starts and ends: bool arrays [K, K], [K], [K] (True = allowed).
Masks = Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]


def split_tag(tag: str) -> Tuple[str, Optional[str]]:
    """Split "B-PER" into ("B", "PER"); "O" into ("O", None)."""
    if tag == "O":
        return "O", None
    prefix, sep, label = tag.partition("-")
    if not sep or not label or prefix == "O":
        raise ValueError(f"Malformed tag {tag!r}: expected 'O' or PREFIX-LABEL.")
    return prefix, label


def biluo_tag_names(labels: Sequence[str]) -> List[str]:
    """The model's output tags for entity labels: "O" first, then B/I/L/U per label.

    labels (Sequence[str]): Entity labels, e.g. ["LOC", "PER"].
    RETURNS (List[str]): ["O", "B-LOC", "I-LOC", "L-LOC", "U-LOC", "B-PER", ...].
    """
    return ["O"] + [f"{p}-{label}" for label in labels for p in BILUO_PREFIXES]


def allowed_biluo_transitions(
    tag_names: Sequence[str],
) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Which BILUO transitions can occur in a valid sequence.

    tag_names (Sequence[str]): Tags as given by `biluo_tag_names`.
    RETURNS (Tuple[ndarray, ndarray, ndarray]): boolean `trans` (n_tags, n_tags)
        where trans[i, j] says tag j may follow tag i; `start` (n_tags,) the tags
        a sequence may begin with; `end` (n_tags,) the tags it may end with.
    """
    parsed = [split_tag(tag) for tag in tag_names]
    n = len(tag_names)
    trans = numpy.zeros((n, n), dtype=bool)
    start = numpy.zeros((n,), dtype=bool)
    end = numpy.zeros((n,), dtype=bool)
    for j, (p_to, l_to) in enumerate(parsed):
        start[j] = p_to in ("O", "B", "U")
        end[j] = p_to in ("O", "L", "U")
        for i, (p_from, l_from) in enumerate(parsed):
            if p_from in ("B", "I"):
                # Inside an entity: only continue or close the same entity.
                trans[i, j] = p_to in ("I", "L") and l_to == l_from
            else:
                # Outside an entity (O, L, U): only O or a new entity.
                trans[i, j] = p_to in ("O", "B", "U")
    return trans, start, end


def all_transitions(n_tags: int) -> Tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    """Unconstrained transitions, for plain tagging (target="tag")."""
    return (
        numpy.ones((n_tags, n_tags), dtype=bool),
        numpy.ones((n_tags,), dtype=bool),
        numpy.ones((n_tags,), dtype=bool),
    )


def is_valid_biluo(tags: Sequence[str]) -> bool:
    """Whether a BILUO sequence is well formed (every entity opened and closed)."""
    inside: Optional[str] = None
    for tag in tags:
        prefix, label = split_tag(tag)
        if inside is not None:
            if prefix not in ("I", "L") or label != inside:
                return False
            if prefix == "L":
                inside = None
        elif prefix in ("I", "L"):
            return False
        elif prefix == "B":
            inside = label
    return inside is None


def biluo_entities(ids: numpy.ndarray, tag_names: Sequence[str]) -> List[Tuple[int, int, str]]:
    """(start, end, label) of each entity in a valid BILUO index sequence, in
    order, without a per-token loop (end is exclusive, as in spaCy's spans).

    Decoding guarantees validity, so entity starts (B/U) and ends (L/U) pair up.
    """
    ids = numpy.asarray(ids, dtype="int64")
    if len(ids) == 0:
        return []
    prefixes = numpy.asarray([name[0] for name in tag_names])[ids]
    starts = numpy.flatnonzero((prefixes == "B") | (prefixes == "U"))
    ends = numpy.flatnonzero((prefixes == "L") | (prefixes == "U"))
    return [(int(s), int(e) + 1, tag_names[ids[s]][2:]) for s, e in zip(starts, ends)]


def biluo_to_iob(tags: Iterable[str]) -> List[str]:
    """BILUO -> IOB2 (L- becomes I-, U- becomes B-)."""
    out = []
    for tag in tags:
        if tag.startswith("L-"):
            out.append("I-" + tag[2:])
        elif tag.startswith("U-"):
            out.append("B-" + tag[2:])
        else:
            out.append(tag)
    return out


# What `normalize_to_iob2` repairs, as counted in `TagRepairs` (and so in the
# statistics `data.preprocess` prints and writes).
REPAIR_STRAY_I = "stray I- converted to B-"
REPAIR_BMES_UNCLOSED = "BMES entity without E- ended at its last token"
REPAIR_BMES_NO_B = "BMES M-/E- without an open entity converted to B-"
REPAIR_BMES_LABEL_CHANGE = "BMES M-/E- of another type ended the entity and started its own"


class TagRepairs:
    """Counts of what `normalize_to_iob2` changed, so repairs are reported, not silent."""

    def __init__(self) -> None:
        self.counts: Dict[str, int] = {}

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    def __bool__(self) -> bool:
        return bool(self.counts)


def normalize_to_iob2(
    tags: Sequence[str],
    scheme: str,
    *,
    repairs: Optional[TagRepairs] = None,
) -> List[str]:
    """Convert one sentence's tags from a dataset's scheme to strict IOB2.

    scheme (str): "iob2" (already IOB2; stray I- after O/another type is
        repaired to B- and counted), "iob1" (I- starts entities unless it
        continues the same type), or "bmes" (B/M/E/S, as the Resume set uses;
        malformed entities are repaired and counted, see `_bmes_to_iob2`).
    repairs (TagRepairs): Optional counter of repairs made.
    RETURNS (List[str]): IOB2 tags, same length as `tags`.
    """
    if scheme == "bmes":
        return _bmes_to_iob2(tags, repairs)
    if scheme not in ("iob1", "iob2"):
        raise ValueError(f"Unknown tag scheme {scheme!r}: expected iob1, iob2 or bmes.")
    out: List[str] = []
    prev_label: Optional[str] = None
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix not in ("O", "B", "I"):
            raise ValueError(f"Tag {tag!r} is not an IOB tag (O, B-X, I-X).")
        if prefix == "I" and label != prev_label:
            if scheme == "iob2":
                _count(repairs, REPAIR_STRAY_I)
            out.append("B-" + label)  # type: ignore[operator]
        else:
            out.append(tag)
        prev_label = label
    return out


def _bmes_to_iob2(tags: Sequence[str], repairs: Optional[TagRepairs]) -> List[str]:
    """BMES -> IOB2, keeping every tagged token in an entity and counting repairs.

    A well-formed BMES entity is S-X, or B-X (M-X)* E-X. Real data breaks this
    (Resume's train split has two entities cut by a sentence break: one
    sentence ends in B-ORG M-ORG..., the next starts M-ORG... E-ORG), and IOB2
    cannot express the difference, so a plain prefix mapping would hide it, or
    merge "B-X E-X M-X E-X" into one entity. Repairs, as for a stray IOB2 I-:
    an entity not closed by E- ends at its last token (REPAIR_BMES_UNCLOSED);
    an M-/E- with no open entity starts one (REPAIR_BMES_NO_B); an M-/E- of
    another type inside an entity ends it and starts its own
    (REPAIR_BMES_LABEL_CHANGE). I- is read as M- (the BIOES spelling).

    tags (Sequence[str]): One sentence's BMES tags.
    repairs (Optional[TagRepairs]): Counter of repairs made.
    RETURNS (List[str]): IOB2 tags, same length as `tags`.
    """
    out: List[str] = []
    inside: Optional[str] = None  # type of the entity a B-/M- left open
    for tag in tags:
        prefix, label = split_tag(tag)
        if prefix not in ("O", "B", "M", "E", "S", "I"):
            raise ValueError(f"Tag {tag!r} is not a BMES tag (B-, M-, E-, S-, O).")
        is_middle = prefix in ("M", "E", "I")
        continues = inside is not None and is_middle and label == inside
        if inside is not None and not continues:
            _count(repairs, REPAIR_BMES_LABEL_CHANGE if is_middle else REPAIR_BMES_UNCLOSED)
        elif inside is None and is_middle:
            _count(repairs, REPAIR_BMES_NO_B)
        if prefix == "O":
            out.append("O")
        else:
            out.append(f"{'I' if continues else 'B'}-{label}")
        inside = label if prefix in ("B", "M", "I") else None
    if inside is not None:
        _count(repairs, REPAIR_BMES_UNCLOSED)
    return out


def _count(repairs: Optional[TagRepairs], kind: str) -> None:
    if repairs is not None:
        repairs.add(kind)
