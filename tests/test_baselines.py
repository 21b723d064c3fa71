"""spaCy's own ner as the baseline: its default config, and the one named variant."""
import pytest
from spacy.cli.init_config import init_config

from spacy_rnn.baselines import VARIANTS, spacy_ner_config
from spacy_rnn.cli import main


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
    assert set(VARIANTS) == {"efficiency", "accuracy", "efficiency-vectors"}


def test_unknown_variant_is_named(tmp_path, capsys):
    assert main(["baseline-config", "fast", str(tmp_path / "x.cfg")]) == 1
    assert "'fast'" in capsys.readouterr().err and not (tmp_path / "x.cfg").exists()
