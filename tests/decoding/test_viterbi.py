"""Constrained Viterbi (decoding/viterbi.py) against brute-force enumeration: the
best path, always a valid BILUO sequence, and the softmax decoder's shortcut."""
import itertools

import numpy
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spacy_rnn.decoding.viterbi import viterbi_decode_numpy
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names, is_valid_biluo

from .test_crf import constrained_scores, path_score, random_problem


def viterbi_decode(em, mask, trans, start, end):
    return torch.as_tensor(viterbi_decode_numpy(
        em.numpy(), mask.sum(1).numpy(), trans.numpy(), start.numpy(), end.numpy()))


# Unsorted lengths too: the decoder sorts rows by length and must put them back.
@pytest.mark.parametrize("lengths", [[4, 4, 4], [4, 2, 1], [1, 4, 2], [2, 1, 4]])
def test_viterbi_equals_brute_force(lengths):
    em, trans, start, end = random_problem(3)
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    best = viterbi_decode(em, mask, trans, start, end)
    for b, n in enumerate(lengths):
        paths = list(itertools.product(range(3), repeat=n))
        scores = [path_score(em[b], p, trans, start, end).item() for p in paths]
        assert tuple(best[b, :n].tolist()) == paths[int(numpy.argmax(scores))]
        assert best[b, n:].tolist() == [0] * (4 - n)  # positions past the length


@settings(max_examples=60, deadline=None)
@given(
    length=st.integers(1, 12),
    n_labels=st.integers(1, 3),
    seed=st.integers(0, 10_000),
)
def test_constrained_viterbi_is_always_valid_biluo(length, n_labels, seed):
    names = biluo_tag_names([f"L{i}" for i in range(n_labels)])
    allowed = tuple(torch.as_tensor(a) for a in allowed_biluo_transitions(names))
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(2, length, len(names), generator=g) * 5
    zeros = torch.zeros(len(names))
    trans, start, end = constrained_scores(
        torch.randn(len(names), len(names), generator=g), zeros, zeros, allowed)
    mask = torch.ones(2, length, dtype=torch.bool)
    mask[1, max(1, length // 2):] = False
    best = viterbi_decode(em, mask, trans, start, end)
    for b in range(2):
        n = int(mask[b].sum())
        assert is_valid_biluo([names[i] for i in best[b, :n].tolist()])


@settings(max_examples=40, deadline=None)
@given(length=st.integers(1, 15), n_labels=st.integers(1, 3), seed=st.integers(0, 10_000),
       sharp=st.booleans())
def test_softmax_decode_shortcut_equals_full_viterbi(length, n_labels, seed, sharp):
    """The component's greedy shortcut (valid argmax paths skip the loop) changes no tag."""
    from spacy.lang.en import English

    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger")
    for i in range(n_labels):
        tagger.add_label(f"L{i}")
    n_tags = len(tagger.tag_names)
    rng = numpy.random.default_rng(seed)
    # Sharp scores make most argmax paths valid (shortcut taken); flat ones do not.
    scores = [(rng.standard_normal((n, n_tags)) * (8 if sharp else 1)).astype("float32")
              for n in (length, max(1, length // 2), 1)]
    got = tagger.decode(scores)
    trans, start, end = tagger._transition_scores_numpy()
    for s, g in zip(scores, got):
        log_probs = s - numpy.log(numpy.exp(s - s.max(1, keepdims=True)).sum(1, keepdims=True)) \
            - s.max(1, keepdims=True)
        full = viterbi_decode_numpy(log_probs[None], numpy.asarray([len(s)]), trans, start, end)
        assert g.tolist() == full[0].tolist()
        assert is_valid_biluo([tagger.tag_names[i] for i in g.tolist()])


def test_decoding_never_takes_a_forbidden_transition_whatever_the_scores():
    """Emission scores far beyond any finite penalty, as from a diverged model, once
    let Viterbi pick an invalid path, whose entities were then silently dropped.
    Decoding uses -inf for forbidden moves."""
    from spacy.lang.en import English

    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"decoder": "crf"}})
    tagger.add_label("PER")
    names = tagger.tag_names
    # Emissions that favour I-PER everywhere by far more than any finite penalty.
    scores = numpy.zeros((6, len(names)), dtype="float32")
    scores[:, names.index("I-PER")] = 1e6
    tagger.model.initialize(X=None, Y=[numpy.zeros((1, len(names)), dtype="float32")])
    path = [names[i] for i in tagger.decode([scores])[0].tolist()]
    assert is_valid_biluo(path)
    assert path == ["B-PER", "I-PER", "I-PER", "I-PER", "I-PER", "L-PER"]


# --- exactness under the BILUO constraints (float32, large scores, partial gold) ---
