"""The shipped training configs: each builds, and `spacy train` runs it end to end."""
from pathlib import Path

import numpy
import pytest
import spacy
from spacy.cli.train import train as spacy_train
from spacy.tokens import DocBin
from spacy.util import load_config, load_model_from_config

from spacy_rnn.lab.recipes import read_variants, resolve_config

from .conftest import REPO
from .corpus import TRAIN_DATA

CONFIGS_DIR = REPO / "configs"
CONFIG_FILES = sorted(CONFIGS_DIR.glob("*.cfg"))
# Every name a user can train: the files and the named variants of variants.yml.
NAMES = [p.stem for p in CONFIG_FILES] + sorted(read_variants(CONFIGS_DIR))


def test_configs_exist():
    assert {"lstm", "gru", "rnn", "lstm-crf", "lstm-vectors", "lstm-glove-clusters"} <= set(NAMES)
    # Few files: the ablations are variants, not copies.
    assert len(CONFIG_FILES) <= 6


def test_variants_are_small_and_name_real_settings():
    """A variant is a config of this folder plus a few overrides, each of a
    setting its config has (a misspelt key would silently add a new one)."""
    for name, variant in read_variants(CONFIGS_DIR).items():
        base, overrides = resolve_config(name, CONFIGS_DIR)
        assert base.parent == CONFIGS_DIR and 1 <= len(overrides) <= 4, name
        config = load_model_from_config(load_config(base), auto_fill=True).config
        for key in overrides:
            section = config
            *parents, leaf = key.split(".")
            for part in parents:
                section = section[part]
            assert leaf in section, (name, key)


def test_unknown_config_name_is_named():
    with pytest.raises(ValueError, match="RNN096.*'lstm-typo'.*gru"):
        resolve_config("lstm-typo", CONFIGS_DIR)
    # A path to a config that became a variant still works.
    assert resolve_config(CONFIGS_DIR / "gru.cfg", Path("elsewhere"))[1] == {
        "components.rnn_tagger.model.cell": "gru"}


def load_named(name, overrides=None):
    base, variant = resolve_config(name, CONFIGS_DIR)
    return base, load_config(base, overrides={**variant, **(overrides or {})})


@pytest.mark.parametrize("name", NAMES)
def test_config_builds(name, tmp_path):
    base, config = load_named(name)
    if "tok2vec" in config["components"]:
        # Sourced from the vectors' pipeline: give it a (tiny) one.
        source = spacy.blank("en")
        source.add_pipe("tok2vec")
        source.initialize()
        source.to_disk(tmp_path / "source")
        base, config = load_named(name, {"paths.vectors": str(tmp_path / "source")})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    sourced = ["tok2vec"] if "tok2vec" in config["components"] else []
    assert nlp.pipe_names == sourced + ["rnn_tagger"]


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("corpus")
    nlp = spacy.blank("en")
    db = DocBin()
    for text, ents in TRAIN_DATA:
        doc = nlp.make_doc(text)
        doc.ents = [doc.char_span(s, e, label=label) for s, e, label in ents]
        db.add(doc)
    db.to_disk(out / "train.spacy")
    # Tiny static vectors for the vectors config.
    vectors_nlp = spacy.blank("en")
    rng = numpy.random.default_rng(0)
    for word in {w for text, _ in TRAIN_DATA for w in text.split()}:
        vectors_nlp.vocab.set_vector(word, rng.standard_normal(8).astype("float32"))
    vectors_nlp.to_disk(out / "vectors")
    return out


@pytest.mark.parametrize(
    "name", ["lstm", "lstm-crf", "lstm-vectors", "lstm-tuned-vectors-unk", "onehot"])
def test_spacy_train_runs_config(name, tiny_corpus, tmp_path):
    """`spacy train` with the plugin found through its entry points, then spacy.load."""
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "paths.log": str(tmp_path / "log.jsonl"),
        "training.max_steps": 6,
        "training.eval_frequency": 3,
    }
    if "vectors" in name:
        overrides["paths.vectors"] = str(tiny_corpus / "vectors")
    if name == "lstm-tuned-vectors-unk":
        # The vocabulary rows start from the vectors, so they share their width.
        overrides["components.rnn_tagger.model.embed.vocab_width"] = 8
    base, variant = resolve_config(name, CONFIGS_DIR)
    spacy_train(base, tmp_path / "out", overrides={**variant, **overrides})
    nlp = spacy.load(tmp_path / "out" / "model-last")
    assert nlp.get_pipe("rnn_tagger").labels == ("LOC", "ORG", "PER")
    assert (tmp_path / "log.jsonl").read_text().count("\n") >= 2
    nlp("Harry Potter went to London")


@pytest.mark.parametrize("name", ["lstm-glove-clusters", "lstm-glove-docs"])
def test_spacy_train_runs_the_headline(name, tiny_corpus, tmp_path):
    """The headline config with tiny stand-ins for its inputs: vectors, a Brown
    cluster file, and (switched on, as the lexicon ablation does) a folder of name
    lists; the saved model carries the tables."""
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "first_names.txt").write_text("harry\nron\nluna\n", encoding="utf8")
    (tmp_path / "lists" / "surnames.txt").write_text("potter\nweasley\n", encoding="utf8")
    (tmp_path / "paths.txt").write_text("0110\tHarry\t9\n0111\tRon\t5\n10\tLondon\t4\n",
                                        encoding="utf8")
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "paths.vectors": str(tiny_corpus / "vectors"),
        "paths.lexicons": str(tmp_path / "lists"),
        "initialize.components.rnn_tagger.clusters": str(tmp_path / "paths.txt"),
        "components.rnn_tagger.model.embed.lexicon_width": 8,
        "training.max_steps": 6,
        "training.eval_frequency": 3,
    }
    spacy_train(REPO / "configs" / f"{name}.cfg", tmp_path / "out", overrides=overrides)
    (tmp_path / "paths.txt").unlink()
    for path in (tmp_path / "lists").iterdir():
        path.unlink()
    nlp = spacy.load(tmp_path / "out" / "model-last")
    doc = nlp("Harry Potter went to London")
    assert len(doc.spans["rnn_ents"]) == len(doc.ents)


def test_spacy_train_is_deterministic_for_a_seed(tiny_corpus, tmp_path):
    """Two CPU trainings with the same seed: identical weights and identical scores."""
    overrides = {
        "paths.train": str(tiny_corpus / "train.spacy"),
        "paths.dev": str(tiny_corpus / "train.spacy"),
        "training.max_steps": 4,
        "training.eval_frequency": 2,
        "components.rnn_tagger.model.decoder": "crf",
    }
    outputs = []
    for run in ("a", "b"):
        spacy_train(REPO / "configs" / "lstm.cfg", tmp_path / run, overrides=overrides)
        nlp = spacy.load(tmp_path / run / "model-last")
        outputs.append(nlp.get_pipe("rnn_tagger").model.to_bytes())
        outputs.append(nlp.meta["performance"])
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]


@pytest.mark.parametrize("old", ["spacy_rnn.TokenEmbed.v2", "spacy_rnn.TokenEmbed.v4"])
def test_configs_saved_before_the_fold_still_build(old):
    """Pipelines saved with 0.2.x name TokenEmbed.v2..v4 in their config: they must
    still load, as the same architecture with the same weights layout."""
    base = load_config(CONFIGS_DIR / "lstm-glove-clusters.cfg")
    current = load_model_from_config(base, auto_fill=True)
    base["components"]["rnn_tagger"]["model"]["embed"]["@architectures"] = old
    if old.endswith("v2"):
        for key in ("bigram_width", "bigram_rows", "vocab_from_vectors", "cluster_width",
                    "cluster_prefixes", "lexicon_width", "lexicon_dropout", "lexicon_case"):
            base["components"]["rnn_tagger"]["model"]["embed"].pop(key)
    legacy = load_model_from_config(base, auto_fill=True)
    names = [node.name for node in legacy.get_pipe("rnn_tagger").model.walk()]
    if old.endswith("v4"):
        assert names == [node.name for node in current.get_pipe("rnn_tagger").model.walk()]
    assert "vocab_embed" in names
