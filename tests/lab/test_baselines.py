"""spaCy's own ner as the baseline: its default config, and the one named variant."""
import pytest
import spacy
from spacy.cli.init_config import init_config

from spacy_rnn.lab.baselines import VARIANTS, spacy_ner_config
from spacy_rnn.lab.cli import main

from ..corpus import make_examples


def _settings(config, prefix=()):
    """Flatten a config to {(section, ..., key): value}."""
    flat = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update(_settings(value, prefix + (key,)))
        else:
            flat[prefix + (key,)] = value
    return flat


@pytest.mark.parametrize("optimize", ["efficiency", "accuracy"])
def test_default_variants_are_spacys_own(optimize):
    ours = spacy_ner_config(optimize)
    assert _settings(ours) == _settings(init_config(pipeline=["ner"], optimize=optimize))


def test_vectors_variant_changes_exactly_one_setting():
    plain = _settings(spacy_ner_config("efficiency"))
    vectors = _settings(spacy_ner_config("efficiency-vectors"))
    changed = {key for key in plain if plain[key] != vectors.get(key)}
    assert changed == {("components", "tok2vec", "model", "embed", "include_static_vectors")}
    assert vectors[next(iter(changed))] is True
    assert set(VARIANTS) == {"efficiency", "accuracy", "efficiency-vectors", "efficiency-t2v"}


def test_t2v_variant_sources_the_vectors_pipelines_tok2vec(tmp_path):
    """Only the tok2vec block (now `source = ${paths.vectors}`) and the width its
    listener reads change; the config builds with a pipeline that has a tok2vec."""
    from spacy.util import load_config, load_model_from_config

    plain = _settings(spacy_ner_config("efficiency"))
    t2v = _settings(spacy_ner_config("efficiency-t2v"))
    changed = {key for key in set(plain) | set(t2v) if plain.get(key) != t2v.get(key)}
    assert {key for key in changed if key[:2] != ("components", "tok2vec")} == {
        ("components", "ner", "model", "tok2vec", "width")}
    assert {key for key in t2v if key[:2] == ("components", "tok2vec")} == {
        ("components", "tok2vec", "source")}
    source = spacy.blank("en")
    source.add_pipe("tok2vec")  # spaCy's default: the 96-wide tok2vec of en_core_web_*
    source.initialize()
    source.to_disk(tmp_path / "source")
    spacy_ner_config("efficiency-t2v").to_disk(tmp_path / "t2v.cfg")
    config = load_config(tmp_path / "t2v.cfg", overrides={"paths.vectors": str(tmp_path / "source")})
    nlp = load_model_from_config(config, auto_fill=True, validate=True)
    assert nlp.pipe_names == ["tok2vec", "ner"]
    assert nlp.get_pipe("tok2vec").listening_components == ["ner"]
    # The listener's width matches the sourced tok2vec: an update runs.
    examples = make_examples(nlp)
    optimizer = nlp.initialize(get_examples=lambda: examples)
    nlp.update(examples, sgd=optimizer)


def test_unknown_variant_is_named(tmp_path, capsys):
    assert main(["baseline-config", "fast", str(tmp_path / "x.cfg")]) == 1
    assert "'fast'" in capsys.readouterr().err and not (tmp_path / "x.cfg").exists()
