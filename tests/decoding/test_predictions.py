"""decode_tags: grouping docs by length changes no tag and no confidence."""
import numpy
from thinc.api import NumpyOps

from spacy_rnn.decoding.predictions import decode_tags, empty_predictions
from spacy_rnn.decoding.viterbi import mask_scores
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names, is_valid_biluo

NAMES = biluo_tag_names(["LOC", "PER"])
ALLOWED = allowed_biluo_transitions(NAMES)


def _scores(seed, lengths):
    rng = numpy.random.default_rng(seed)
    return [(rng.standard_normal((n, len(NAMES))) * 3).astype("float32") for n in lengths]


def test_a_batch_decodes_as_its_docs_one_by_one():
    """Docs of very different lengths land in different padded groups: each doc's
    tags and confidences are those it gets alone."""
    scores = _scores(0, [40, 3, 0, 17, 1, 38])
    rng = numpy.random.default_rng(1)
    learned = tuple(numpy.where(a, rng.standard_normal(a.shape), -numpy.inf).astype("float32")
                    for a in ALLOWED)
    for softmax, transitions in ((True, mask_scores(ALLOWED)), (False, learned)):
        batch = decode_tags(NumpyOps(), scores, ALLOWED, transitions, softmax=softmax,
                            confidence_scale=0.5)
        for i, s in enumerate(scores):
            alone = decode_tags(NumpyOps(), [s], ALLOWED, transitions, softmax=softmax,
                                confidence_scale=0.5)
            assert batch[i].tolist() == alone[0].tolist()
            assert numpy.allclose(batch.confidences[i], alone.confidences[0], atol=1e-6)
            assert is_valid_biluo([NAMES[t] for t in batch[i]]) or len(s) == 0


def test_confidences_only_when_asked():
    scores = _scores(2, [5, 0])
    off = decode_tags(NumpyOps(), scores, ALLOWED, mask_scores(ALLOWED), softmax=True,
                      confidence_scale=None)
    assert off.confidences is None and len(off[1]) == 0
    on = decode_tags(NumpyOps(), scores, ALLOWED, mask_scores(ALLOWED), softmax=True,
                     confidence_scale=1.0)
    assert [len(c) for c in on.confidences][1] == 0
    assert all(0.0 < p <= 1.0 for p in on.confidences[0])
    empty = empty_predictions(3, confidence=True)
    assert len(empty) == 3 and all(len(x) == 0 for x in empty) and len(empty.confidences) == 3
