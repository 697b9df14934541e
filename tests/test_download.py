"""Facts about fetching the authors' checkpoint: only the published bytes are kept, nothing is left behind otherwise,
a verified file is reused, and no network ends in one clear error within the timeout. Served from 127.0.0.1."""
import http.server
import shutil
import socket
import subprocess
import threading
import time
import warnings
from pathlib import Path

import pytest
import torch

import zsm
from zsm.weights import download
from zsm.weights.download import (OFFICIAL_CHECKPOINT_NAME, UnpublishedCheckpointWarning, download_official_checkpoint,
                                  git_blob_sha1, is_official_checkpoint)

from test_checkpoint import random_reference_state_dict


class Server:
    """A file server on 127.0.0.1 that counts its requests; ``behaviour`` can make it lie about a file's length."""

    def __init__(self, root: Path):
        self.requests = []
        self.short = False  # announce more bytes than are sent, then close
        server = self

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):
                super().__init__(*args, directory=str(root), **kwargs)

            def do_GET(self):
                server.requests.append(self.path)
                if server.short and (root / self.path.lstrip("/")).is_file():
                    data = (root / self.path.lstrip("/")).read_bytes()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data[: len(data) // 2])
                    return
                super().do_GET()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def served(tmp_path):
    """A checkpoint in the authors' layout (random weights of the tiny configuration), served over HTTP."""
    root = tmp_path / "server"
    root.mkdir()
    torch.save(random_reference_state_dict(zsm.ZSMConfig.tiny()), root / OFFICIAL_CHECKPOINT_NAME)
    server = Server(root)
    yield server, root / OFFICIAL_CHECKPOINT_NAME
    server.close()


def test_the_git_blob_sha1_is_what_git_computes(tmp_path):
    path = tmp_path / "some.bin"
    path.write_bytes(bytes(range(256)) * 5000)  # more than one 1 MB piece
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    expected = subprocess.run(["git", "hash-object", str(path)], capture_output=True, text=True, check=True).stdout.strip()
    assert git_blob_sha1(path) == expected
    (tmp_path / "empty").write_bytes(b"")
    assert git_blob_sha1(tmp_path / "empty") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_a_download_with_the_published_digest_is_kept_and_then_reused_without_a_request(tmp_path, served):
    server, source = served
    blob = git_blob_sha1(source)
    dest = tmp_path / "weights"
    got = download_official_checkpoint(dest, server.url + "/" + OFFICIAL_CHECKPOINT_NAME, blob=blob, progress=False)
    assert got == dest / OFFICIAL_CHECKPOINT_NAME and got.read_bytes() == source.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == [OFFICIAL_CHECKPOINT_NAME]  # no temporary left
    said = []
    again = download_official_checkpoint(dest, server.url + "/" + OFFICIAL_CHECKPOINT_NAME, blob=blob, progress=False,
                                         say=said.append)
    assert again == got and len(server.requests) == 1 and "already" in said[0]
    named = download_official_checkpoint(tmp_path / "mine.pth", server.url + "/" + OFFICIAL_CHECKPOINT_NAME,
                                         blob=blob, progress=False)
    assert named == tmp_path / "mine.pth" and is_official_checkpoint(named, blob)
    with pytest.warns(UnpublishedCheckpointWarning):  # random weights: not the published network
        model = zsm.load_checkpoint(got)
    assert model.config == zsm.ZSMConfig.tiny()


def test_another_file_is_refused_and_nothing_is_left_behind(tmp_path, served):
    server, _ = served
    dest = tmp_path / "weights"
    dest.mkdir()
    with pytest.raises(ValueError, match="is not the published checkpoint: its git blob SHA-1 is"):
        download_official_checkpoint(dest, server.url + "/" + OFFICIAL_CHECKPOINT_NAME, progress=False)
    assert list(dest.iterdir()) == []


def test_a_truncated_download_is_refused_and_removed(tmp_path, served):
    server, source = served
    server.short = True
    dest = tmp_path / "weights"
    dest.mkdir()
    with pytest.raises(ConnectionError, match="stopped after"):
        download_official_checkpoint(dest, server.url + "/" + OFFICIAL_CHECKPOINT_NAME, blob=git_blob_sha1(source),
                                     progress=False)
    assert list(dest.iterdir()) == []


def test_a_file_already_there_that_is_not_the_published_one_is_never_replaced(tmp_path, served):
    server, source = served
    dest = tmp_path / OFFICIAL_CHECKPOINT_NAME
    dest.write_bytes(b"my own network")
    with pytest.raises(FileExistsError, match="is not the published checkpoint"):
        download_official_checkpoint(tmp_path, server.url + "/" + OFFICIAL_CHECKPOINT_NAME, blob=git_blob_sha1(source),
                                     progress=False)
    assert dest.read_bytes() == b"my own network" and server.requests == []


def test_http_errors_and_no_network_end_in_one_clear_error_within_the_timeout(tmp_path, served):
    server, _ = served
    with pytest.raises(ConnectionError, match="HTTP 404"):
        download_official_checkpoint(tmp_path, server.url + "/nothing.pth", progress=False)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there
    with pytest.raises(ConnectionError, match="could not download"):
        download_official_checkpoint(tmp_path, f"http://127.0.0.1:{port}/x.pth", progress=False)
    silent = socket.socket()  # accepts connections (the backlog) and never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        start = time.monotonic()
        with pytest.raises(ConnectionError, match="0.5 s"):
            download_official_checkpoint(tmp_path, f"http://127.0.0.1:{silent.getsockname()[1]}/x.pth", timeout=0.5,
                                         progress=False)
        assert time.monotonic() - start < 10
    finally:
        silent.close()
    assert list(tmp_path.iterdir()) == [tmp_path / "server"]


def test_loading_a_file_in_the_authors_layout_warns_unless_it_is_the_published_one(served, monkeypatch):
    _, source = served
    with pytest.warns(UnpublishedCheckpointWarning, match="not their published checkpoint"):
        zsm.load_official_checkpoint(source)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        zsm.load_official_checkpoint(source, warn_unpublished=False)
        monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_BLOB", git_blob_sha1(source))
        zsm.load_official_checkpoint(source)  # "the published one": no warning


def test_the_command_line_downloads_checks_and_reports_in_one_line(tmp_path, served, capsys, monkeypatch):
    from zsm.cli import main

    server, source = served
    url = server.url + "/" + OFFICIAL_CHECKPOINT_NAME
    assert main(["download", "--dest", str(tmp_path / "w"), "--url", url, "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("zsm: error: the file downloaded from") and "\n" not in err
    assert not (tmp_path / "w" / OFFICIAL_CHECKPOINT_NAME).exists()
    assert main(["info", "--weights", str(source), "--size", "8x8"]) == 0
    warned = capsys.readouterr().err  # random weights in the authors' layout: not the published ones
    assert warned.startswith("zsm: warning: ") and warned.count("\n") == 1
    monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_BLOB", git_blob_sha1(source))
    assert main(["download", "--dest", str(tmp_path / "w"), "--url", url, "--no-progress"]) == 0
    assert "published checkpoint" in capsys.readouterr().out
    assert main(["download", "--dest", str(tmp_path), "--url", "http://127.0.0.1:9/x.pth", "--timeout", "0"]) == 2
    assert capsys.readouterr().err.startswith("zsm: error: --timeout must be")


def test_load_model_gives_the_shipped_model_the_authors_downloaded_once_or_a_file(tmp_path, served, monkeypatch):
    server, source = served
    assert zsm.load_model("shipped").config == zsm.load_default_model().config
    monkeypatch.setenv("ZSM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_URL", server.url + "/" + OFFICIAL_CHECKPOINT_NAME)
    monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_BLOB", git_blob_sha1(source))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the served file is "the published one" here: no warning
        authors = zsm.load_model("authors", progress=False)
        again = zsm.load_model("authors", progress=False)
    assert authors.config == again.config == zsm.ZSMConfig.tiny() and not authors.training
    assert len(server.requests) == 1 and (tmp_path / "cache" / OFFICIAL_CHECKPOINT_NAME).is_file()
    zsm.save_checkpoint(authors, tmp_path / "mine.pt")
    assert zsm.load_model(tmp_path / "mine.pt").config == zsm.ZSMConfig.tiny()
    with pytest.raises(FileNotFoundError):
        zsm.load_model("shiped")  # a typo is a missing file, not a silent default
