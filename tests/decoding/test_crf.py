"""The CRF likelihood and its gradients against brute-force enumeration (allennlp's approach)."""
import itertools
import math
from typing import Tuple

import numpy
import pytest
import torch

from spacy_rnn.decoding.crf import crf_nll
from spacy_rnn.decoding.forward_backward import shift_groups
from spacy_rnn.decoding.losses import crf_loss
from spacy_rnn.tags import allowed_biluo_transitions, biluo_tag_names


def constrained_scores(
    trans: torch.Tensor,
    start: torch.Tensor,
    end: torch.Tensor,
    allowed: Tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Learned transition scores with the forbidden entries set to -inf (in torch,
    so the brute force gets gradients; the model does it in layers/crf_transitions.py).

    trans (Tensor[K, K]), start, end (Tensor[K]): learned scores.
    allowed: boolean masks of the same shapes (see tags.allowed_biluo_transitions).
    RETURNS: the three score tensors; gradients reach the allowed entries only.
    """
    a_trans, a_start, a_end = allowed
    return (
        trans.masked_fill(~a_trans, -math.inf),
        start.masked_fill(~a_start, -math.inf),
        end.masked_fill(~a_end, -math.inf),
    )


def path_score(em, tags, trans, start, end):
    score = start[tags[0]] + em[0, tags[0]]
    for t in range(1, len(tags)):
        score = score + trans[tags[t - 1], tags[t]] + em[t, tags[t]]
    return score + end[tags[-1]]


def random_problem(seed, batch=3, length=4, n_tags=3):
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(batch, length, n_tags, generator=g, dtype=torch.float64)
    trans = torch.randn(n_tags, n_tags, generator=g, dtype=torch.float64)
    start = torch.randn(n_tags, generator=g, dtype=torch.float64)
    end = torch.randn(n_tags, generator=g, dtype=torch.float64)
    return em, trans, start, end


@pytest.mark.parametrize("lengths", [[4, 4, 4], [4, 2, 1], [1, 3, 4]])
def test_crf_nll_equals_brute_force(lengths):
    em, trans, start, end = random_problem(0)
    mask = torch.arange(4).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
    gold = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0], [1, 0, 0, 2]])
    nll = crf_nll(em, gold, mask, trans, start, end)
    for b, n in enumerate(lengths):
        scores = [path_score(em[b], p, trans, start, end)
                  for p in itertools.product(range(3), repeat=n)]
        log_z = torch.logsumexp(torch.stack(scores), 0)
        expected = log_z - path_score(em[b], gold[b, :n].tolist(), trans, start, end)
        assert nll[b].item() == pytest.approx(expected.item(), rel=1e-9, abs=1e-9)


def test_crf_nll_with_missing_tags_marginalises():
    em, trans, start, end = random_problem(1, batch=1, length=4)
    mask = torch.ones(1, 4, dtype=torch.bool)
    gold = torch.tensor([[0, -1, 2, -1]])
    nll = crf_nll(em, gold, mask, trans, start, end)
    paths = list(itertools.product(range(3), repeat=4))
    all_scores = torch.stack([path_score(em[0], p, trans, start, end) for p in paths])
    consistent = torch.stack([path_score(em[0], p, trans, start, end)
                              for p in paths if p[0] == 0 and p[2] == 2])
    expected = torch.logsumexp(all_scores, 0) - torch.logsumexp(consistent, 0)
    assert nll.item() == pytest.approx(expected.item(), rel=1e-9)
    # Fully missing annotation contributes nothing.
    unannotated = crf_nll(em, torch.full((1, 4), -1), mask, trans, start, end)
    assert unannotated.item() == pytest.approx(0.0, abs=1e-9)


def test_crf_nll_gradient_is_marginals_minus_gold():
    em, trans, start, end = random_problem(2, batch=1, length=3)
    em.requires_grad_(True)
    mask = torch.ones(1, 3, dtype=torch.bool)
    gold = torch.tensor([[1, 0, 2]])
    crf_nll(em, gold, mask, trans, start, end).sum().backward()
    paths = list(itertools.product(range(3), repeat=3))
    scores = torch.stack([path_score(em[0].detach(), p, trans, start, end) for p in paths])
    probs = torch.softmax(scores, 0)
    marginals = torch.zeros(3, 3, dtype=torch.float64)
    for p, prob in zip(paths, probs):
        for t, tag in enumerate(p):
            marginals[t, tag] += prob
    expected = marginals - torch.nn.functional.one_hot(gold[0], 3)
    assert torch.allclose(em.grad[0], expected, atol=1e-9)


def valid_paths(allowed, length):
    """Every tag path of `length` that the boolean (trans, start, end) masks allow."""
    a_trans, a_start, a_end = (numpy.asarray(a) for a in allowed)
    n_tags = len(a_start)
    return [p for p in itertools.product(range(n_tags), repeat=length)
            if a_start[p[0]] and a_end[p[-1]]
            and all(a_trans[i, j] for i, j in zip(p, p[1:]))]


def brute_force(em, gold, learned, allowed):
    """NLL and its gradients (emissions, trans, start, end) by enumeration, in float64.

    Gradient of log Z over a path set = expected counts under that set, so
    d NLL = E_all[counts] - E_gold[counts].
    """
    em = em.double()
    trans, start, end = (x.double() for x in learned)
    length, n_tags = em.shape
    paths = valid_paths(allowed, length)
    agree = [p for p in paths if all(g < 0 or g == t for g, t in zip(gold, p))]

    def expectations(subset):
        scores = torch.stack([path_score(em, p, trans, start, end) for p in subset])
        probs = torch.softmax(scores, 0)
        d_em = torch.zeros(length, n_tags, dtype=torch.float64)
        d_trans = torch.zeros(n_tags, n_tags, dtype=torch.float64)
        d_start = torch.zeros(n_tags, dtype=torch.float64)
        d_end = torch.zeros(n_tags, dtype=torch.float64)
        for p, prob in zip(subset, probs):
            d_start[p[0]] += prob
            d_end[p[-1]] += prob
            for t, tag in enumerate(p):
                d_em[t, tag] += prob
            for i, j in zip(p, p[1:]):
                d_trans[i, j] += prob
        return torch.logsumexp(scores, 0), (d_em, d_trans, d_start, d_end)

    log_z, e_all = expectations(paths)
    log_z_gold, e_gold = expectations(agree)
    return (log_z - log_z_gold).item(), [a - b for a, b in zip(e_all, e_gold)]


def biluo_problem(seed, length, scale, n_labels=1, known=0.6):
    names = biluo_tag_names([f"L{i}" for i in range(n_labels)])
    allowed = tuple(torch.as_tensor(a) for a in allowed_biluo_transitions(names))
    g = torch.Generator().manual_seed(seed)
    em = torch.randn(1, length, len(names), generator=g) * scale
    learned = [torch.randn(*shape, generator=g) for shape in
               ((len(names), len(names)), (len(names),), (len(names),))]
    # Gold: a valid path, with each tag kept with probability `known`.
    path = valid_paths(allowed, length)[int(torch.randint(0, 10 ** 6, (1,), generator=g))
                                        % len(valid_paths(allowed, length))]
    keep = torch.rand(length, generator=g) < known
    gold = torch.tensor([[t if k else -1 for t, k in zip(path, keep.tolist())]])
    return names, allowed, em, learned, gold


def run_crf(em, gold, learned, allowed):
    em = em.clone().requires_grad_(True)
    leaves = [x.clone().requires_grad_(True) for x in learned]
    trans, start, end = constrained_scores(*leaves, allowed)
    mask = torch.ones(gold.shape, dtype=torch.bool)
    nll = crf_nll(em, gold, mask, trans, start, end)
    nll.sum().backward()
    return nll[0].item(), [em.grad[0]] + [leaf.grad for leaf in leaves]


def test_issue_repro_forbidden_path_cannot_dominate_log_z():
    """The reported case: I-X reachable only from B-X, which scores 40 below; the old
    shared-shift forward read I-X as unreachable (NLL 69.77, gradient 0)."""
    names = biluo_tag_names(["X"])
    allowed = tuple(torch.as_tensor(a) for a in allowed_biluo_transitions(names))
    em = torch.zeros(1, 4, len(names))
    em[0, 1, names.index("B-X")] = -40
    em[0, 1, names.index("I-X")] = 40
    em[0, 2, names.index("L-X")] = 40
    gold = torch.tensor([[0, -1, -1, 0]])
    zeros = [torch.zeros(len(names), len(names)), torch.zeros(len(names)), torch.zeros(len(names))]
    nll, grads = run_crf(em, gold, zeros, allowed)
    expected, expected_grads = brute_force(em[0], gold[0].tolist(), zeros, allowed)
    assert nll == pytest.approx(expected, abs=1e-3)  # 79.08
    assert grads[0][1, names.index("I-X")].item() == pytest.approx(1.0, abs=1e-4)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got.double(), want, atol=1e-4)


@pytest.mark.parametrize("scale", [1.0, 20.0, 30.0, 1e3])
@pytest.mark.parametrize("seed", range(12))
def test_constrained_partial_float32_nll_and_gradients_equal_brute_force(seed, scale):
    """float32, BILUO-constrained, 60% of tags known, emission std up to 1e3: NLL and
    every gradient (emissions, transitions, start, end) as enumeration gives them."""
    names, allowed, em, learned, gold = biluo_problem(seed, length=5, scale=scale,
                                                      n_labels=1 + seed % 2)
    nll, grads = run_crf(em, gold, learned, allowed)
    expected, expected_grads = brute_force(em[0], gold[0].tolist(), learned, allowed)
    # float32 keeps ~7 digits of scores that reach 5 x scale.
    assert nll == pytest.approx(expected, rel=1e-5, abs=1e-5 * scale * 5)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got.double(), want, atol=1e-3), (got, want)


def test_no_gold_path_is_an_infinite_loss_with_no_nan_gradient():
    """Gold that no allowed path agrees with (I-X after O) cannot be explained: the
    loss is +inf (the component turns that into an error), never NaN."""
    names = biluo_tag_names(["X"])
    allowed = tuple(torch.as_tensor(a) for a in allowed_biluo_transitions(names))
    em = torch.randn(2, 3, len(names))
    gold = torch.tensor([[0, names.index("I-X"), -1], [0, -1, 0]])
    zeros = [torch.zeros(len(names), len(names)), torch.zeros(len(names)), torch.zeros(len(names))]
    em.requires_grad_(True)
    nll = crf_nll(em, gold, torch.ones(2, 3, dtype=torch.bool),
                  *constrained_scores(*zeros, allowed))
    assert nll[0].item() == float("inf") and numpy.isfinite(nll[1].item())
    nll[1].backward()
    assert torch.isfinite(em.grad).all()


def test_shift_groups_partition_biluo_and_full_masks():
    names = biluo_tag_names(["A", "B"])
    a_trans = torch.as_tensor(allowed_biluo_transitions(names)[0])
    groups = shift_groups(a_trans)
    assert groups is not None and groups.n_groups == 1 + 2 + 1  # outside, A, B, spare
    i = names.index
    assert groups.of_target[i("I-A")] == groups.of_target[i("L-A")] == groups.of_source[i("B-A")]
    assert groups.of_target[i("O")] == groups.of_source[i("U-B")] == groups.of_source[i("L-A")]
    assert shift_groups(torch.ones(4, 4, dtype=torch.bool)).n_groups == 2
    # Overlapping predecessor sets: no per-group shift can be exact.
    overlapping = torch.tensor([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=torch.bool)
    assert shift_groups(overlapping) is None


@pytest.mark.parametrize("seed", range(4))
def test_overlapping_constraints_use_the_exact_dense_path(seed):
    """A mask without the grouped structure falls back to the dense step, also exact."""
    g = torch.Generator().manual_seed(seed)
    a_trans = torch.tensor([[1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype=torch.bool)
    allowed = (a_trans, torch.ones(3, dtype=torch.bool), torch.ones(3, dtype=torch.bool))
    em = torch.randn(1, 4, 3, generator=g) * 50
    learned = [torch.randn(3, 3, generator=g), torch.randn(3, generator=g),
               torch.randn(3, generator=g)]
    gold = torch.tensor([[-1, 1, -1, -1]])
    nll, grads = run_crf(em, gold, learned, allowed)
    expected, expected_grads = brute_force(em[0], gold[0].tolist(), learned, allowed)
    assert nll == pytest.approx(expected, rel=1e-5, abs=1e-3)
    for got, want in zip(grads, expected_grads):
        assert torch.allclose(got.double(), want, atol=1e-3)


@pytest.mark.parametrize("seed", range(3))
def test_component_crf_loss_fills_transition_gradients_like_brute_force(seed):
    """The component's path: emissions -> crf_nll -> the crf_transitions layer's backprop."""
    from spacy.lang.en import English

    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"decoder": "crf"}})
    tagger.add_label("PER")
    names = tagger.tag_names
    tagger.model.initialize(X=None, Y=[numpy.zeros((1, len(names)), dtype="float32")])
    crf = tagger.model.get_ref("crf")
    rng = numpy.random.default_rng(seed)
    for name in ("T", "start", "end"):
        crf.set_param(name, rng.standard_normal(crf.get_param(name).shape).astype("float32"))
        crf.set_grad(name, numpy.zeros_like(crf.get_param(name)))
    allowed = tuple(torch.as_tensor(a) for a in tagger._allowed())
    scores = [(rng.standard_normal((n, len(names))) * 25).astype("float32") for n in (4, 2)]
    gold = [numpy.array([0, -1, names.index("L-PER"), -1]), numpy.array([-1, 0])]
    loss, d_scores = crf_loss(tagger.model.ops, scores, gold, crf, tagger._allowed(),
                              names, tagger.name)
    learned = [torch.as_tensor(crf.get_param(name)) for name in ("T", "start", "end")]
    total = 0.0
    expected_learned = [torch.zeros_like(x, dtype=torch.float64) for x in learned]
    for s, g, d in zip(scores, gold, d_scores):
        nll, grads = brute_force(torch.as_tensor(s), g.tolist(), learned, allowed)
        total += nll
        assert numpy.allclose(d, grads[0].numpy(), atol=1e-4)
        expected_learned = [a + b for a, b in zip(expected_learned, grads[1:])]
    assert loss == pytest.approx(total, rel=1e-5)
    for name, want in zip(("T", "start", "end"), expected_learned):
        assert numpy.allclose(crf.get_grad(name), want.numpy(), atol=1e-4), name


def test_component_names_gold_that_breaks_the_scheme():
    """Gold no valid path agrees with gives an infinite NLL: the component names the
    doc and its tags (RNN060) instead of blaming the learning rate (RNN015)."""
    from spacy.lang.en import English

    nlp = English()
    tagger = nlp.add_pipe("rnn_tagger", config={"model": {"decoder": "crf"}})
    tagger.add_label("PER")
    names = tagger.tag_names
    tagger.model.initialize(X=None, Y=[numpy.zeros((1, len(names)), dtype="float32")])
    scores = [numpy.zeros((0, len(names)), dtype="float32"),
              numpy.zeros((2, len(names)), dtype="float32")]
    gold = [numpy.zeros((0,), dtype="int64"), numpy.array([0, names.index("I-PER")])]
    with pytest.raises(ValueError, match=r"RNN060.*doc 1 .*O I-PER"):
        crf_loss(tagger.model.ops, scores, gold, tagger.model.get_ref("crf"),
                 tagger._allowed(), names, tagger.name)
