"""What one training run records (lab/training_run.py): the resolved tokens, budget
and sourced components, the hardware, and the dataset's language and tokenizer."""
import pytest
from spacy.util import load_config, load_model_from_config

from spacy_rnn.lab.training_run import (
    dataset_overrides,
    hardware,
    sourced_components,
    trained_on_gold_tokens,
    training_budget,
)

from ..conftest import REPO


@pytest.mark.parametrize("threads,suffix", [(1, "1 torch thread"), (2, "2 torch threads")])
def test_hardware_string_counts_threads(threads, suffix):
    import torch


    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        assert hardware(-1).endswith(suffix)
    finally:
        torch.set_num_threads(before)


def test_train_meta_records_the_resolved_gold_preproc(tmp_path):
    """From the config, and from an override of it."""
    config = REPO / "configs" / "lstm.cfg"
    assert trained_on_gold_tokens(config, {}) is False
    assert trained_on_gold_tokens(config, {"corpora.train.gold_preproc": True}) is True
    # Only the training corpus counts: the dev reader decides model-best, not the inputs.
    assert trained_on_gold_tokens(config, {"corpora.dev.gold_preproc": True}) is False


@pytest.mark.parametrize("config,expected", [
    ("lstm-crf-unk.cfg", []), ("lstm-vectors-unk-t2v.cfg", ["tok2vec"])])
def test_train_meta_records_the_sourced_components(config, expected):
    overrides = {"paths.vectors": "some/pipeline"}
    assert sourced_components(REPO / "configs" / config, overrides) == expected


@pytest.mark.parametrize("overrides,expected", [
    ({}, {"max_steps": 4000, "max_epochs": 0}),
    ({"training.max_steps": 8000}, {"max_steps": 8000, "max_epochs": 0}),
    ({"training.max_epochs": 3, "training.max_steps": 0}, {"max_steps": 0, "max_epochs": 3}),
])
def test_train_meta_records_the_resolved_budget(overrides, expected):
    assert training_budget(REPO / "configs" / "lstm-crf-unk.cfg", overrides) == expected


def test_a_chinese_dataset_gets_a_character_tokenizer():
    """Raw Chinese text must reach the tagger as characters, as it was trained."""

    path = REPO / "configs" / "lstm-crf-unk.cfg"
    overrides = dataset_overrides(path, "zh", {})
    assert overrides["nlp.lang"] == "zh"
    assert overrides["nlp.tokenizer"]["@tokenizers"] == "spacy.zh.ChineseTokenizer"
    nlp = load_model_from_config(load_config(path, overrides=overrides), auto_fill=True)
    assert [t.text for t in nlp.make_doc("张三在北京市工作。")] == list("张三在北京市工作。")
    # Without the override, spaCy's rule-based tokenizer keeps the clause whole.
    plain = load_model_from_config(load_config(path, overrides={"nlp.lang": "zh"}), auto_fill=True)
    assert len(plain.make_doc("张三在北京市工作。")) == 2


def test_english_and_explicit_tokenizers_are_left_alone():

    path = REPO / "configs" / "lstm.cfg"
    assert dataset_overrides(path, "en", {}) == {"nlp.lang": "en"}
    assert "nlp.tokenizer" not in dataset_overrides(path, "es", {})
    mine = {"@tokenizers": "spacy.Tokenizer.v1"}
    assert dataset_overrides(path, "zh", {"nlp.tokenizer": mine})["nlp.tokenizer"] is mine
