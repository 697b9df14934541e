"""The chapters' WEIGHTS switch: with WEIGHTS = "authors" a chapter downloads the authors' checkpoint through
zsm.load_model (served here from 127.0.0.1, with the digest set to the served file's), and its cells run with that
network instead of the shipped one.

The served file is in the authors' layout but holds random weights of the tiny configuration (no global skip, unlike
the shipped model), not the paper's: the paper's network would take minutes per chapter on CI's two cores. So this
checks the path (download, check, load) and that the cells assume nothing of the shipped network; it does not run
the paper-size network through every cell. Each chapter runs up to a cell that needs the model's outputs (and, for
chapter 7, to its end).
"""
import warnings

import pytest
import torch

import zsm
from zsm.weights import download
from zsm.weights.download import OFFICIAL_CHECKPOINT_NAME, git_blob_sha1

from chapter_code import BOOK, _run, chapter_cells
from test_checkpoint import random_reference_state_dict
from test_download import Server

WEIGHTS_CELL = 'WEIGHTS = "shipped"'
# chapter -> the first code cell (by its text) that runs last
THROUGH = {
    "03_feature_interpolation.ipynb": "half_flow = {1:",  # records, figures and the flow comparison, before the toy run
    "04_deformable_convlstm.ipynb": "lstm_records = viz.OffsetRecords(",
    "07_full_model.ipynb": "paper_fps = frames_per_second(",  # everything model-dependent in the chapter
}


@pytest.fixture(scope="module")
def authors_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("authors")
    torch.manual_seed(0)
    torch.save(random_reference_state_dict(zsm.ZSMConfig.tiny(), seed=3), root / OFFICIAL_CHECKPOINT_NAME)
    server = Server(root)
    yield server, root / OFFICIAL_CHECKPOINT_NAME
    server.close()


@pytest.mark.parametrize("chapter", sorted(THROUGH))
def test_a_chapter_switched_to_the_authors_network_runs_with_it(chapter, authors_server, tmp_path, monkeypatch):
    server, served = authors_server
    monkeypatch.setenv("ZSM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_URL", f"{server.url}/{OFFICIAL_CHECKPOINT_NAME}")
    monkeypatch.setattr(download, "OFFICIAL_CHECKPOINT_BLOB", git_blob_sha1(served))
    notebook = BOOK / chapter
    sources = chapter_cells(notebook, THROUGH[chapter])
    switches = [i for i, s in enumerate(sources) if s.startswith(WEIGHTS_CELL)]
    assert len(switches) == 1, f"{chapter} must have one visible {WEIGHTS_CELL!r} cell"
    sources[switches[0]] = sources[switches[0]].replace(WEIGHTS_CELL, 'WEIGHTS = "authors"')
    namespace = {"__name__": "__chapter__"}
    requests = len(server.requests)
    with warnings.catch_warnings():
        warnings.simplefilter("error", download.UnpublishedCheckpointWarning)  # the served file is "the published"
        _run(notebook, sources, namespace, 0)
    model = namespace["model"]
    assert model.config == zsm.ZSMConfig.tiny() and not model.config.global_skip  # the served network, not shipped
    assert len(server.requests) == requests + 1  # downloaded once, into the cache
    assert (tmp_path / "cache" / OFFICIAL_CHECKPOINT_NAME).is_file()
