"""The README's Python examples run, in order, as written (so the README stays true)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert len(blocks) >= 6
    monkeypatch.chdir(tmp_path)  # a fresh folder: the blocks create what they need
    namespace: dict = {}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md block {i}", "exec"), namespace)
    out = capsys.readouterr().out
    assert "715.0000000000001" in out
    assert "[2.2, 110.0, 3.3, 165.0, 650.0]" in out
