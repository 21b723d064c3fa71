"""Entity confidences: exact against enumeration, batch- and save-invariant, stored the spaCy way."""
import itertools

import numpy
import pytest
import spacy
from thinc.api import fix_random_seed

from spacy_rnn.decoding.confidence import entity_confidences, segment_log_probs
from spacy_rnn.decoding.forward_backward_numpy import make_chain
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names

from ..corpus import make_examples, make_nlp, train

LABELS = ["A", "B"]


def masked(rng, allowed):
    return numpy.where(allowed, rng.standard_normal(allowed.shape), -numpy.inf).astype("float32")


def problem(seed, scale, length=5):
    names = biluo_tag_names(LABELS)
    a_trans, a_start, a_end = allowed_biluo_transitions(names)
    rng = numpy.random.default_rng(seed)
    emissions = (rng.standard_normal((2, length, len(names))) * scale).astype("float32")
    learned = (masked(rng, a_trans), masked(rng, a_start), masked(rng, a_end))
    return names, (a_trans, a_start, a_end), emissions, learned


def enumerate_paths(allowed, length):
    a_trans, a_start, a_end = allowed
    return [p for p in itertools.product(range(len(a_start)), repeat=length)
            if a_start[p[0]] and a_end[p[-1]] and all(a_trans[i, j] for i, j in zip(p, p[1:]))]


def brute_segment_probs(emissions, length, learned, allowed, n_labels=len(LABELS)):
    """{(start, end, label): P} for every possible segment of one row, by enumeration."""
    trans, start, end = (x.astype("float64") for x in learned)
    em = emissions.astype("float64")
    paths = enumerate_paths(allowed, length)
    scores = numpy.array([start[p[0]] + em[0, p[0]] + end[p[-1]]
                          + sum(trans[p[t - 1], p[t]] + em[t, p[t]] for t in range(1, length))
                          for p in paths])
    log_z = numpy.logaddexp.reduce(scores)
    probs = {}
    for s in range(length):
        for e in range(s, length):
            for x in range(n_labels):
                segment = ([4 * x + 4] if s == e
                           else [4 * x + 1] + [4 * x + 2] * (e - s - 1) + [4 * x + 3])
                hits = [i for i, p in enumerate(paths) if list(p[s:e + 1]) == segment]
                probs[s, e, x] = (numpy.exp(numpy.logaddexp.reduce(scores[hits]) - log_z)
                                  if hits else 0.0)
    return probs


@pytest.mark.parametrize("lengths", [[5, 3], [3, 5]])
@pytest.mark.parametrize("scale", [1.0, 30.0, 1e3])
@pytest.mark.parametrize("seed", range(3))
def test_segment_probabilities_equal_enumeration(seed, scale, lengths):
    """Every segment of both rows, shortest first or last, in float32, up to emission
    scale 1e3."""
    names, allowed, emissions, learned = problem(seed, scale)
    lengths = numpy.array(lengths)
    for row, n in enumerate(lengths):
        expected = brute_segment_probs(emissions[row, :n], n, learned, allowed)
        keys = list(expected)
        got = numpy.exp(segment_log_probs(
            emissions, lengths, make_chain(*learned), numpy.full(len(keys), row),
            *(numpy.array(k) for k in zip(*keys))))
        want = numpy.array([expected[k] for k in keys])
        # float32 log-scores of magnitude ~5 x scale carry ~1e-7 relative error.
        assert numpy.allclose(got, want, atol=max(1e-6, 1e-6 * scale)), (got, want)


@pytest.mark.parametrize("seed", range(4))
def test_labelings_of_one_span_never_sum_above_one(seed):
    names, allowed, emissions, learned = problem(seed, scale=3.0, length=6)
    lengths = numpy.array([6, 4])
    for row, n in enumerate(lengths):
        for s in range(n):
            for e in range(s, n):
                log_p = segment_log_probs(emissions, lengths, make_chain(*learned),
                                          numpy.full(len(LABELS), row), numpy.full(2, s),
                                          numpy.full(2, e), numpy.arange(len(LABELS)))
                assert numpy.exp(log_p).sum() <= 1.0 + 1e-5


def test_entity_confidences_follow_the_best_path_order():
    names, allowed, emissions, learned = problem(0, scale=2.0)
    best = numpy.array([[1, 3, 0, 8, 0], [4, 0, 0, 0, 0]])  # B-A L-A O U-B O | U-A
    lengths = numpy.array([5, 1])
    probs = entity_confidences(emissions, lengths, best, make_chain(*learned))
    assert [len(p) for p in probs] == [2, 1]
    direct = numpy.exp(segment_log_probs(emissions, lengths, make_chain(*learned),
                                         numpy.array([0, 0, 1]),
                                         numpy.array([0, 3, 0]), numpy.array([1, 3, 0]),
                                         numpy.array([0, 1, 0])))
    assert numpy.allclose(numpy.concatenate(probs), direct)


@pytest.fixture(scope="module", params=["softmax", "crf"])
def trained(request):
    fix_random_seed(0)
    nlp = make_nlp(model={"decoder": request.param})
    train(nlp, make_examples(nlp), n_iter=25)
    return nlp


TEXTS = ["Harry Potter met Hermione Granger in London", "", "Teddy bears are on sale",
         "Ron Weasley and Luna Lovegood left Hogwarts for London"]


def scored(doc, key="rnn_ents"):
    group = doc.spans[key]
    return [(s.start, s.end, s.label_, p) for s, p in zip(group, group.attrs["scores"])]


@pytest.mark.parametrize("temperature", [1.0, 2.5])
def test_component_confidences_equal_enumeration(trained, temperature):
    """Through the component: the CRF's learned transitions, or the softmax decoder's
    log-probabilities with the mask alone, give what enumeration gives; with a
    temperature, enumeration over every score divided by it."""
    tagger = trained.get_pipe("rnn_tagger")
    doc = trained.make_doc("Harry Potter met Ron")
    (scores,) = tagger.model.predict([doc])
    emissions = numpy.asarray(scores, dtype="float32")
    if tagger.decoder == "softmax":
        emissions = emissions - numpy.logaddexp.reduce(emissions, axis=1, keepdims=True)
    emissions = emissions / temperature
    learned = tuple(x / temperature for x in tagger._transition_scores_numpy())
    tagger.cfg["temperature"] = temperature
    expected = brute_segment_probs(emissions, len(doc), learned,
                                   tuple(numpy.asarray(a) for a in tagger._allowed()),
                                   n_labels=len(tagger.labels))
    try:
        got = scored(tagger(doc))
    finally:
        tagger.cfg["temperature"] = 1.0
    assert got
    for s, e, label, p in got:
        assert 0.0 <= p <= 1.0
        assert p == pytest.approx(expected[s, e - 1, tagger.labels.index(label)], abs=1e-5)


def test_confidences_are_batch_invariant(trained):
    alone = [scored(trained(text)) for text in TEXTS]
    batched = [scored(doc) for doc in trained.pipe(TEXTS, batch_size=4)]
    assert [[x[:3] for x in d] for d in alone] == [[x[:3] for x in d] for d in batched]
    for a, b in zip(alone, batched):
        assert numpy.allclose([x[3] for x in a], [x[3] for x in b], atol=1e-6)


def test_confidences_survive_a_disk_round_trip(trained, tmp_path):
    trained.to_disk(tmp_path)
    loaded = spacy.load(tmp_path)
    for text in TEXTS:
        assert scored(loaded(text)) == scored(trained(text))


def test_threshold_keeps_scored_spans_and_filters_ents(trained):
    doc = trained(TEXTS[0])
    spans = scored(doc)
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [s[:3] for s in spans]
    cut = sorted(s[3] for s in spans)[len(spans) // 2]
    tagger = trained.get_pipe("rnn_tagger")
    tagger.threshold = cut
    try:
        doc = trained(TEXTS[0])
    finally:
        tagger.threshold = 0.0
    assert scored(doc) == spans
    assert [(e.start, e.end, e.label_) for e in doc.ents] == [s[:3] for s in spans if s[3] >= cut]


def test_confidence_off_stores_no_span_group():
    nlp = make_nlp(confidence=False)
    train(nlp, make_examples(nlp), n_iter=2)
    doc = nlp(TEXTS[0])
    assert "rnn_ents" not in doc.spans


@pytest.mark.parametrize("setting,value", [("threshold", 1.5), ("threshold", -0.1),
                                           ("spans_key", "")])
def test_invalid_confidence_settings(setting, value):
    with pytest.raises(ValueError, match=f"RNN001.*{setting}"):
        make_nlp(**{setting: value})
