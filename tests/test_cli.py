"""Facts about the `python -m zsm` command: it reports the network and backend, and fails in one line."""
import subprocess
import sys

import pytest
import torch

import zsm
from zsm.cli import main


def test_info_reports_network_parameters_and_the_backend_that_ran(capsys):
    assert main(["info", "--preset", "tiny", "--size", "13x18", "--frames", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "parameters: 162,095" in out
    assert "(1, 3, 3, 13, 18) -> (1, 5, 3, 52, 72)" in out
    assert "backends that ran: {'" in out


def test_info_loads_weights(tmp_path, capsys):
    path = tmp_path / "m.pt"
    zsm.save_checkpoint(zsm.ZoomingSlowMo(zsm.ZSMConfig.tiny()), path)
    assert main(["info", "--weights", str(path), "--size", "8x8", "--backend", "pure"]) == 0
    assert "backends that ran: {'pure': " in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["info", "--weights", "/no/such/file.pt"], "no checkpoint file at /no/such/file.pt"),
        (["info", "--frames", "1"], "--frames must be at least 2"),
        (["info", "--device", "cuda:7"] if not torch.cuda.is_available() else ["info", "--device", "tpu"],
         "device"),
    ],
)
def test_errors_are_one_line_on_stderr_with_status_2(argv, fragment, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zsm: error: ") and fragment in err and err.count("\n") == 1


def test_python_dash_m_zsm_runs_as_a_module():
    result = subprocess.run([sys.executable, "-m", "zsm", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("zsm ")
