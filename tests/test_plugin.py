"""The plugin as users install it: what it registers, and what it imports."""
import configparser

from spacy.util import registry

import spacy_rnn  # noqa: F401  (registers everything through the decorators)

from .conftest import REPO, optional_dependencies_imported_by

SETUP_CFG = REPO / "setup.cfg"
# setup.cfg entry-point group -> spaCy registry.
GROUPS = {
    "spacy_factories": "factories",
    "spacy_architectures": "architectures",
    "spacy_readers": "readers",
    "spacy_loggers": "loggers",
    "spacy_scorers": "scorers",
}


def entry_points():
    parser = configparser.ConfigParser()
    parser.read(SETUP_CFG)
    section = parser["options.entry_points"]
    found = {}
    for group in GROUPS:
        lines = [line.strip() for line in section.get(group, "").splitlines() if line.strip()]
        found[group] = dict(tuple(part.strip() for part in line.split("=", 1))
                            for line in lines)
    return found


def test_every_registered_name_has_an_entry_point():
    """`spacy.load` and `spacy train` find a name without `--code` only through an
    entry point: a name registered by decorator alone works in the tests (which
    import the package) and fails for users."""
    points = entry_points()
    for group, registry_name in GROUPS.items():
        table = getattr(registry, registry_name)
        ours = {name for name in table.get_all()
                if name.startswith("spacy_rnn.") or name == "rnn_tagger"}
        if registry_name == "factories":
            ours = {name for name in ours if name == "rnn_tagger"}
        assert ours == set(points[group]), group
        for name, target in points[group].items():
            module, _, attr = target.partition(":")
            imported = __import__(module, fromlist=[attr])
            assert getattr(imported, attr) is not None, (group, name)


def test_import_pulls_no_lab_dependencies():
    """The component needs spacy, thinc and torch alone: datasets, seqeval,
    matplotlib, pyarrow and ray belong to the project's extras."""
    assert optional_dependencies_imported_by("spacy_rnn") == set()
