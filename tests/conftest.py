"""Shared fixtures and paths. Tests are CPU-only and fast unless marked `slow`."""
from pathlib import Path

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
