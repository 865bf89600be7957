"""The README's library example runs as written (on the packaged demo data), from any folder."""

from __future__ import annotations

import os
import re

from suite_paths import ROOT


def test_the_readme_library_example_runs(tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    [example] = [
        b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "import sales_rca" in b
    ]
    session_file = tmp_path / "acme.session"
    code = example.replace('"out/acme.session"', repr(str(session_file)))
    cwd = os.getcwd()
    os.chdir(tmp_path)  # the packaged demo data is found wherever the example runs
    try:
        scope: dict = {}
        exec(compile(code, "README.md", "exec"), scope)
    finally:
        os.chdir(cwd)
    assert scope["crm"].report.rows_accepted == 3000
    assert len(scope["session"].state().problems) == 1
    assert session_file.is_file()
