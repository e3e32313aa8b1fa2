"""The repository stands alone: nothing in a clone points at files outside it (the spec folder it was built from)."""

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_OURS = {".git", ".venv", "node_modules", "results", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}
OUTSIDE = re.compile(r"\.\./shared\b|\bshared/(?:peers|CONTRACT)")


def repository_texts():
    for folder, subfolders, files in os.walk(ROOT):
        subfolders[:] = [name for name in subfolders if name not in NOT_OURS]
        for name in files:
            path = Path(folder, name)
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:  # images and other binaries
                continue


def test_nothing_points_outside_the_repository():
    pointing = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path, text in repository_texts()
        for number, line in enumerate(text.splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert pointing == [], "These lines point outside the repository, which a clone does not have:\n" + "\n".join(
        pointing
    )
