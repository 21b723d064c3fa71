"""Command line entry point: `python -m spacy_rnn ...` (what project.yml calls)."""
import sys
from typing import List, Optional


def main(argv: Optional[List[str]] = None) -> int:
    """Placeholder until the project commands land (issue 3)."""
    print("spacy-rnn: no commands yet", file=sys.stderr)
    return 2
