"""Shared fixtures and paths. Tests are CPU-only and fast unless marked `slow`."""
import subprocess
import sys
from pathlib import Path
from typing import Set

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
NER_DATA = SHARED / "ner-data"


@pytest.fixture(autouse=True, scope="session")
def _torch_threads():
    # Two cores, shared with the test runner: one torch thread is both faster
    # and deterministic here (see STYLE.md's torch-threads trap).
    torch.set_num_threads(1)
    yield


def require_ner_data() -> Path:
    if not NER_DATA.exists():
        pytest.skip(f"benchmark mirror not found at {NER_DATA}")
    return NER_DATA


OPTIONAL_DEPENDENCIES = {"datasets", "seqeval", "matplotlib", "ray", "pyarrow"}


def optional_dependencies_imported_by(module: str) -> Set[str]:
    """Which of the lab's optional dependencies a fresh interpreter has loaded
    after `import module` (a subprocess, since this one has them all)."""
    code = ("import sys, importlib\n"
            f"importlib.import_module({module!r})\n"
            "print(','.join(sorted({m.split('.')[0] for m in sys.modules})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    return OPTIONAL_DEPENDENCIES & set(out.split(","))
