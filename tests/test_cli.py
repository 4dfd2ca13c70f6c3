"""The command line: --version, refused parameters and sections, and --out errors.

Every refusal here happens before anything runs: exit code 2, one line on stderr naming the
problem and the fix, no traceback, and no report written.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

import cxlab
from cxlab.cli import main
from cxlab.errors import ConfigError, ParameterError
from cxlab.report import SECTIONS
from cxlab.report.batch import DEFAULT_NOTEBOOK, render_client, run_batch
from cxlab.report.execute import check_parameters, notebook_parameters


@pytest.fixture
def client(tmp_path: Path) -> Path:
    folder = tmp_path / "clients" / "shop"
    folder.mkdir(parents=True)
    (folder / "client.toml").write_text('name = "Shop"\n[files]\nevents = "events.csv"\n')
    return folder


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"cxlab {cxlab.__version__}"


def test_the_notebook_declares_the_package_section_list():
    # one list: the CLI/API check against SECTIONS, the notebook's default must be the same
    assert notebook_parameters(DEFAULT_NOTEBOOK)["sections"] == list(SECTIONS)


def test_notebook_parameters_are_all_found():
    # papermill's inspect_notebook skips max_customers (it cannot parse its comment)
    assert list(notebook_parameters(DEFAULT_NOTEBOOK)) == [
        "client_dir",
        "start_date",
        "end_date",
        "sections",
        "pseudonymize",
        "salt_file",
        "max_customers",
        "max_comments",
        "seed",
    ]


@pytest.mark.parametrize("command", ["report", "batch"])
def test_mistyped_parameter_is_refused_with_the_valid_list(capsys, client, tmp_path, command):
    target = str(client) if command == "report" else str(client.parent)
    out = tmp_path / "out"
    code, stdout, stderr = _run(capsys, command, target, "--out", str(out), "-p", "max_custmers=10")
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "Traceback" not in stderr
    assert (
        f"cxlab {command}: Unknown report parameter 'max_custmers'. Did you mean 'max_customers'?"
        in stderr
    )
    assert (
        "client_dir, start_date, end_date, sections, pseudonymize, salt_file, max_customers"
        in stderr
    )
    assert not out.exists()  # refused before anything ran


def test_mistyped_section_is_refused_with_the_valid_list(capsys, client, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = _run(
        capsys, "report", str(client), "--out", str(out), "-p", 'sections=["funnel", "funel"]'
    )
    assert code == 2 and stderr.count("\n") == 1
    assert (
        "Unknown report section 'funel' in the 'sections' parameter. Did you mean 'funnel'?"
        in stderr
    )
    assert ", ".join(SECTIONS) in stderr
    assert not out.exists()


def test_sections_must_be_a_list_of_names(capsys, client, tmp_path):
    code, _, stderr = _run(
        capsys, "report", str(client), "--out", str(tmp_path / "o"), "-p", "sections=3"
    )
    assert code == 2 and "The 'sections' parameter must be a list of section names" in stderr


def test_valid_parameters_pass_and_one_text_of_sections_becomes_a_list():
    got = check_parameters(
        DEFAULT_NOTEBOOK, {"sections": "funnel, churn", "max_customers": 10, "seed": 1}
    )
    assert got == {"sections": ["funnel", "churn"], "max_customers": 10, "seed": 1}
    assert check_parameters(DEFAULT_NOTEBOOK, {"sections": []}) == {"sections": []}


def test_python_api_refuses_the_same_as_parameter_error(client, tmp_path):
    with pytest.raises(ParameterError, match="Did you mean 'max_customers'"):
        render_client(client, tmp_path / "out", parameters={"max_custmers": 10})
    with pytest.raises(ParameterError, match="Did you mean 'churn'"):
        run_batch(
            client.parent, tmp_path / "out", parameters={"sections": ["chrun"]}, progress=False
        )
    assert not (tmp_path / "out").exists()


def test_missing_notebook_is_one_clear_error(capsys, client, tmp_path):
    code, _, stderr = _run(
        capsys,
        "report",
        str(client),
        "--out",
        str(tmp_path / "o"),
        "--notebook",
        str(tmp_path / "nope.ipynb"),
    )
    assert code == 2 and stderr.count("\n") == 1
    assert "Cannot read the report notebook" in stderr and "--notebook" in stderr


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write into (chmod, or a read-only system folder as root)."""
    if os.geteuid() != 0:
        folder = tmp_path / "readonly"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    for candidate in (Path("/sys/fs"), Path("/proc/1")):
        try:
            fd, name = tempfile.mkstemp(dir=candidate)
        except OSError:
            return candidate
        os.close(fd)
        os.unlink(name)
    pytest.skip("running as root with no read-only folder to test with")


@pytest.mark.parametrize(
    "case", ["missing parent", "file in place", "parent is a file", "read-only", "read-only parent"]
)
def test_bad_out_is_one_clear_error(capsys, client, tmp_path, case):
    (tmp_path / "a-file").write_text("x")
    out, expected = {
        "missing parent": (tmp_path / "no" / "such" / "reports", "its parent folder"),
        "file in place": (tmp_path / "a-file", "is a file, not a folder"),
        "parent is a file": (tmp_path / "a-file" / "reports", "is a file, not a folder"),
        "read-only": (None, "Cannot write into the reports folder"),
        "read-only parent": (None, "cannot be created in"),
    }[case]
    if case == "read-only":
        out = _unwritable_folder(tmp_path)
    elif case == "read-only parent":
        out = _unwritable_folder(tmp_path) / "reports"
    code, stdout, stderr = _run(capsys, "report", str(client), "--out", str(out))
    assert code == 2 and stdout == ""
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    assert stderr.startswith("cxlab report: ") and expected in stderr and "--out" in stderr
    with pytest.raises(ConfigError, match=expected):
        run_batch(client.parent, out, progress=False)
