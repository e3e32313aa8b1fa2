"""The code in docs/nextjs.md is the code CI type-checks: each TypeScript block is verbatim in a file of examples/."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKS = re.findall(r"```(?:ts|tsx)\n(.*?)```", (ROOT / "docs" / "nextjs.md").read_text(), flags=re.DOTALL)
SOURCES = [
    path.read_text()
    for path in (ROOT / "examples").rglob("*.ts*")
    if not {"node_modules", "generated", "build"} & set(path.parts) and path.suffix in {".ts", ".tsx"}
]


def test_the_guide_has_code():
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("block", BLOCKS, ids=[block.splitlines()[0][:60] for block in BLOCKS])
def test_each_typescript_block_is_checked_code_from_examples(block):
    assert any(block in source for source in SOURCES), "docs/nextjs.md has code that is not in examples/"
