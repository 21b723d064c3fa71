"""Data-parallel training: gradients averaged exactly, identical weights on every worker."""
import json
import subprocess
import sys

import numpy
import pytest
import spacy
import torch.distributed as dist
from spacy.tokens import DocBin

from spacy_rnn.distributed import allreduce_mean_gradients, checksum, gradient_buffers

from .conftest import REPO
from .corpus import TRAIN_DATA, make_examples, make_nlp


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
           "--output", str(tmp_path / "out"), "--workers", "2", "--cpus-per-worker", "0.5",
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
    assert loaded("Harry Potter met Ron Weasley") is not None
