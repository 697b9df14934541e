"""book/tools/run_like_colab.py (CI's `make test-colab`) changes one line of each chapter, and only that line."""
import difflib
import json
import sys
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parents[1] / "book"
sys.path.insert(0, str(BOOK / "tools"))
import run_like_colab  # noqa: E402

CHAPTERS = run_like_colab.toc_notebooks()


def _lines(nb: dict) -> list:
    return [line for cell in nb["cells"] for line in "".join(cell["source"]).splitlines()]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.name)
def test_the_colab_copy_differs_only_in_the_install_cells_repository(chapter, tmp_path):
    url = (tmp_path / "clone").as_uri()
    copy = run_like_colab.colab_copy(chapter, url, tmp_path)
    before, after = json.loads(chapter.read_text()), json.loads(copy.read_text())
    changed = [d for d in difflib.ndiff(_lines(before), _lines(after)) if d[:2] in ("- ", "+ ")]
    assert changed[0].startswith('- REPO_URL = "https://') and changed[1:] == [f'+ REPO_URL = "{url}"'], changed
    assert [c.get("metadata") for c in before["cells"]] == [c.get("metadata") for c in after["cells"]]
    install = next(c for c in after["cells"] if f'REPO_URL = "{url}"' in "".join(c["source"]))
    assert 'f"git+{REPO_URL}"' in "".join(install["source"])  # so pip installs git+file:// of the clone


def test_a_chapter_without_one_install_cell_is_refused(tmp_path):
    nb = json.loads(CHAPTERS[0].read_text())
    nb["cells"] = [c for c in nb["cells"] if "REPO_URL =" not in "".join(c["source"])]
    broken = tmp_path / "book" / "00_x.ipynb"
    broken.parent.mkdir()
    broken.write_text(json.dumps(nb))
    with pytest.raises(SystemExit, match="0 install cells"):
        run_like_colab.colab_copy(broken, "file:///x", tmp_path)


def test_an_environment_made_ahead_is_refused_when_it_is_none_or_already_has_zsm(tmp_path):
    with pytest.raises(SystemExit, match="not an environment"):
        run_like_colab.checked_environment(tmp_path / "nothing")
    # A "python" that imports anything (here: exits 0 for every command, as an environment with zsm would).
    fake = tmp_path / "env" / "bin" / "python"
    fake.parent.mkdir(parents=True)
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    with pytest.raises(SystemExit, match="zsm is importable"):
        run_like_colab.checked_environment(tmp_path / "env")
