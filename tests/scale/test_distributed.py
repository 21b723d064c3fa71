"""Data-parallel training: gradients averaged exactly, identical weights on every worker."""
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy
import pytest
import spacy
import torch
import torch.distributed as dist
import torch.multiprocessing
from spacy.tokens import DocBin
from thinc.api import SGD, fix_random_seed

from spacy_rnn.scale.distributed import (
    allreduce_mean_gradients,
    checksum,
    data_parallel_step,
    gradient_buffers,
)

from ..conftest import REPO
from ..corpus import TRAIN_DATA, make_examples, make_nlp

WORLD = 2
# Plain SGD: a step linear in the gradient (no clipping, decay, momentum or
# averages), so a gradient twice too large gives a step twice too large.
# (Adam's first step is nearly the same for g and 2g: it could not tell.)
LEARN_RATE = 0.5


@pytest.fixture
def single_process_group(tmp_path):
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0,
                            world_size=1)
    yield
    dist.destroy_process_group()


def test_allreduce_round_trips_every_gradient(single_process_group):
    """World size 1: the flatten / all-reduce / unflatten path must return each gradient as it was."""
    nlp = make_nlp(model={
        "@architectures": "spacy_rnn.BiRNNTagger.v1", "decoder": "crf",
        "embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "width": 16,
                  "vocab_size": 50, "vocab_width": 8, "hash_attrs": ["SHAPE"],
                  "hash_rows": [20], "hash_width": 8, "char_width": 8}})
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    tagger = nlp.get_pipe("rnn_tagger")
    tagger.update(examples, sgd=None)
    before = [numpy.array(g if kind == "thinc" else g.numpy(), copy=True)
              for kind, _, _, g in gradient_buffers(tagger.model)]
    assert len(before) > 10 and any(numpy.abs(b).sum() > 0 for b in before)
    allreduce_mean_gradients(tagger.model, 1)
    after = [numpy.asarray(g if kind == "thinc" else g.numpy())
             for kind, _, _, g in gradient_buffers(tagger.model)]
    for b, a in zip(before, after):
        numpy.testing.assert_array_equal(a, b)


def _small_nlp():
    """A small CRF tagger, dropout off: its gradient depends only on the batch."""
    return make_nlp(model={
        "@architectures": "spacy_rnn.BiRNNTagger.v1", "cell": "lstm", "hidden_width": 16,
        "dropout": 0.0, "decoder": "crf",
        "embed": {"@architectures": "spacy_rnn.TokenEmbed.v1", "width": 16,
                  "vocab_size": 50, "vocab_width": 8, "hash_attrs": ["SHAPE"],
                  "hash_rows": [20], "hash_width": 8, "char_width": 8, "dropout": 0.0}})


def _initialized():
    """The same weights in every process: same seed, same examples."""
    fix_random_seed(0)
    nlp = _small_nlp()
    examples = make_examples(nlp)
    nlp.initialize(lambda: examples)
    return nlp, examples


def _weights(model) -> List[numpy.ndarray]:
    """Every trainable tensor's value, in gradient_buffers' (all-reduce) order."""
    return [numpy.array(owner.get_param(name) if kind == "thinc" else owner.detach().numpy(),
                        copy=True)
            for kind, owner, name, _ in gradient_buffers(model)]


def _sgd():
    return SGD(LEARN_RATE, L2=0.0, grad_clip=0.0, use_averages=False)


def _step_on_shard(rank: int, world: int, store: str, out_dir: str) -> None:
    """One worker of a gloo process group: one data_parallel_step on its shard."""
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        nlp, examples = _initialized()
        tagger = nlp.get_pipe("rnn_tagger")
        before = _weights(tagger.model)
        data_parallel_step([("rnn_tagger", tagger)], examples[rank::world], _sgd(), world)
        moved = [after - b for after, b in zip(_weights(tagger.model), before)]
        numpy.savez(Path(out_dir) / f"rank{rank}.npz", *moved)
    finally:
        dist.destroy_process_group()


def test_two_workers_step_like_one_process_on_the_union_batch(tmp_path):
    """2 processes, each on half the examples = 1 process on all of them, loss / 2.

    The tagger's loss is a sum over sentences (CRF), so the union batch's
    gradient is the sum of the workers' gradients and the all-reduce mean is
    half of it (see the distributed module docstring). A sum instead of a mean
    (no division by the world size) gives steps twice as long here.
    """
    torch.multiprocessing.spawn(_step_on_shard, nprocs=WORLD, join=True,
                                args=(WORLD, str(tmp_path / "store"), str(tmp_path)))
    steps = []
    for rank in range(WORLD):
        with numpy.load(tmp_path / f"rank{rank}.npz") as saved:
            steps.append([saved[f"arr_{i}"] for i in range(len(saved.files))])
    nlp, examples = _initialized()
    tagger = nlp.get_pipe("rnn_tagger")
    before = _weights(tagger.model)
    tagger.update(examples, sgd=None)  # the union of the shards
    for kind, owner, name, grad in gradient_buffers(tagger.model):
        if kind == "thinc":
            owner.set_grad(name, grad / WORLD)
        else:
            owner.grad = grad / WORLD
    tagger.finish_update(_sgd())
    expected = [after - b for after, b in zip(_weights(tagger.model), before)]
    assert len(expected) > 10 and sum(float(numpy.abs(e).sum()) for e in expected) > 1.0
    for a, b in zip(*steps):  # the workers took the same step
        numpy.testing.assert_array_equal(a, b)
    errors = [float(numpy.linalg.norm(got - want) / (numpy.linalg.norm(want) + 1e-12))
              for got, want in zip(steps[0], expected) if numpy.abs(want).max() > 0]
    assert len(errors) > 10 and max(errors) < 1e-4, errors
    for got, want in zip(steps[0], expected):
        if not numpy.abs(want).max() > 0:
            numpy.testing.assert_array_equal(got, want)


def test_checksum_tracks_the_weights():
    nlp = make_nlp()
    examples = make_examples(nlp)
    optimizer = nlp.initialize(lambda: examples)
    first = checksum(nlp)
    assert checksum(nlp) == first
    nlp.update(examples, sgd=optimizer)
    assert checksum(nlp) != first


@pytest.mark.slow
def test_two_ray_workers_end_with_identical_weights(tmp_path):
    pytest.importorskip("ray")
    nlp = spacy.blank("en")
    db = DocBin()
    for text, ents in TRAIN_DATA * 4:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
        db.add(doc)
    db.to_disk(tmp_path / "train.spacy")
    cmd = [sys.executable, "-m", "spacy_rnn", "train-distributed", str(REPO / "configs" / "gru.cfg"),
           "--output", str(tmp_path / "out"), "--workers", "2",  # default CPUs per worker
           "--max-steps", "4", "--paths.train", str(tmp_path / "train.spacy"),
           "--paths.dev", str(tmp_path / "train.spacy"), "--training.batcher.size", "100"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    meta = json.loads((tmp_path / "out" / "distributed.json").read_text())
    assert meta["workers"] == 2 and meta["step"] == 4
    assert len(meta["checksums"]) == 2 and meta["checksums"][0] == meta["checksums"][1]
    assert meta["checksums"][0] != meta["initial_checksum"]  # training changed the weights
    loaded = spacy.load(tmp_path / "out")
    assert loaded.pipe_names == ["rnn_tagger"]
    # Rank 0 saved the optimizer's parameter averages, which every worker holds
    # identically; the loaded pipeline has exactly those weights.
    saved = meta["saved_checksums"]
    assert len(saved) == 2 and saved[0] == saved[1]
    assert checksum(loaded) == saved[0]


def test_resources_the_cluster_cannot_hold_fail_at_once(tmp_path):
    """No hang: 2 workers x 1000 CPUs is refused before training, naming the fix."""
    pytest.importorskip("ray")
    cmd = [sys.executable, "-m", "spacy_rnn", "train-distributed",
           str(REPO / "configs" / "gru.cfg"), "--output", str(tmp_path / "out"),
           "--workers", "2", "--cpus-per-worker", "1000", "--max-steps", "1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "RNN056" in proc.stderr and "2 Ray workers x 1000 CPU(s) = 2000 CPUs" in proc.stderr
    assert "--cpus-per-worker" in proc.stderr
