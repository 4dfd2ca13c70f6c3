"""cxlab.report.pdf: print a report page to PDF offline; failures are clear and atomic."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from cxlab.report.pdf import CHROMIUM_ENV, PdfError, chromium_command, find_chromium, write_pdf


def _fake_chromium(tmp_path: Path, body: str) -> str:
    exe = tmp_path / "fake-chromium"
    exe.write_text("#!/bin/sh\n" + body + "\n")
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return str(exe)


def test_the_command_blocks_the_network_and_uses_a_private_profile(tmp_path):
    cmd = chromium_command("chromium", tmp_path / "r.html", tmp_path / "r.pdf", tmp_path / "p")
    assert cmd[-1] == (tmp_path / "r.html").resolve().as_uri()  # a file, never a URL
    # every host name resolves to nothing, every other request goes to a dead proxy (even
    # the machine's own addresses), background services are off
    assert "--host-resolver-rules=MAP * ~NOTFOUND" in cmd
    assert "--proxy-server=http://127.0.0.1:9" in cmd and "--proxy-bypass-list=<-loopback>" in cmd
    assert "--disable-background-networking" in cmd and "--disable-component-update" in cmd
    assert f"--user-data-dir={tmp_path / 'p'}" in cmd
    assert f"--print-to-pdf={tmp_path / 'r.pdf'}" in cmd


def test_a_failing_chromium_leaves_the_previous_pdf_and_no_temporary_file(tmp_path):
    page = tmp_path / "report.html"
    page.write_text("<html><body>hello</body></html>")
    old = tmp_path / "report.pdf"
    old.write_bytes(b"%PDF-old")
    exe = _fake_chromium(tmp_path, "echo 'something broke' >&2; exit 3")
    with pytest.raises(
        PdfError, match=r"exited with code 3 .*something broke.*HTML report is unaffected"
    ):
        write_pdf(page, chromium=exe)
    assert old.read_bytes() == b"%PDF-old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "fake-chromium",
        "report.html",
        "report.pdf",
    ]


def test_a_pdf_is_written_atomically_where_asked(tmp_path):
    # a stand-in chromium that writes its --print-to-pdf argument
    exe = _fake_chromium(
        tmp_path,
        'for a in "$@"; do case "$a" in --print-to-pdf=*) printf "%%PDF-1.4 x" > "${a#*=}";; esac; done',
    )
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    out = write_pdf(page, tmp_path / "out" / "client.pdf", chromium=exe)
    assert out == tmp_path / "out" / "client.pdf" and out.read_bytes() == b"%PDF-1.4 x"
    assert [p.name for p in out.parent.iterdir()] == ["client.pdf"]


def test_no_chromium_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.setenv(CHROMIUM_ENV, str(tmp_path / "no-such-browser"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_chromium() is None
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    with pytest.raises(PdfError, match=r"no Chromium was found.*apt-get install chromium"):
        write_pdf(page)
    with pytest.raises(PdfError, match="does not exist"):
        write_pdf(tmp_path / "missing.html", chromium=_fake_chromium(tmp_path, "exit 0"))


def test_a_chromium_that_hangs_is_stopped(tmp_path):
    page = tmp_path / "report.html"
    page.write_text("<html></html>")
    exe = _fake_chromium(tmp_path, "sleep 30")
    with pytest.raises(PdfError, match="did not finish within 1 s"):
        write_pdf(page, chromium=exe, timeout=1)
    assert not (tmp_path / "report.pdf").exists()


@pytest.mark.browser
@pytest.mark.slow
def test_real_chromium_prints_a_tiny_page(tmp_path):
    exe = find_chromium()
    if exe is None:
        pytest.fail(
            "Debian chromium is missing: run `bash scripts/ensure-chromium.sh` (make test does)."
        )
    page = tmp_path / "report.html"
    # an image on the network must not be fetched (it would hang or fail offline)
    page.write_text('<html><body><h1>Report</h1><img src="http://192.0.2.1/x.png"></body></html>')
    out = write_pdf(page, timeout=60)
    assert out.read_bytes().startswith(b"%PDF")
