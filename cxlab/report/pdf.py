"""Print a rendered HTML report to PDF with headless Chromium, offline.

:func:`write_pdf` runs the Chromium that the project installs (Debian's ``chromium``, see
``scripts/ensure-chromium.sh``) as ``chromium --headless --print-to-pdf``: no Python browser
driver is needed at run time. The page is printed with the report's print stylesheet (A4,
one section per page, charts never cut; see :mod:`cxlab.report.html`).

Nothing is loaded from the network: every host name resolves to nothing
(``--host-resolver-rules``), every request that still leaves the page (an IP address, even
the machine's own) is sent to a proxy that does not exist, and background services
(updates, sync, metrics) are off. The report itself embeds everything it shows.

The PDF is written atomically (a temporary file, then a rename): an interrupted or failed
print never leaves a half-written ``report.pdf``, and never touches the HTML.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from cxlab.errors import CxlabError

__all__ = ["CHROMIUM_ENV", "PdfError", "chromium_command", "find_chromium", "write_pdf"]

#: Environment variable naming the Chromium (or Chrome) executable to print with.
CHROMIUM_ENV = "CXLAB_CHROMIUM"
_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Flags that keep a headless print offline and quiet.
_OFFLINE_FLAGS = (
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--metrics-recording-only",
    "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--no-pdf-header-footer",
    "--virtual-time-budget=5000",
)


class PdfError(CxlabError):
    """The PDF could not be printed (no Chromium, a crash, a timeout)."""


def find_chromium() -> str | None:
    """The Chromium executable: ``$CXLAB_CHROMIUM``, else the first of chromium, chrome on PATH.

    Examples
    --------
    >>> find_chromium() is None or os.path.exists(find_chromium())
    True
    """
    named = os.environ.get(CHROMIUM_ENV)
    if named:
        return named if Path(named).exists() else shutil.which(named)
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(chromium: str, html_path: Path, pdf_path: Path, profile: Path) -> list[str]:
    """The command line that prints ``html_path`` to ``pdf_path`` (offline flags included).

    Examples
    --------
    >>> cmd = chromium_command("chromium", Path("/r/a.html"), Path("/r/a.pdf"), Path("/tmp/p"))
    >>> cmd[-1], "--host-resolver-rules=MAP * ~NOTFOUND" in cmd
    ('file:///r/a.html', True)
    """
    flags = list(_OFFLINE_FLAGS)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to start sandboxed as root
    return [
        chromium,
        *flags,
        f"--user-data-dir={profile}",
        f"--print-to-pdf={pdf_path}",
        Path(html_path).resolve().as_uri(),
    ]


def write_pdf(
    html_path: str | os.PathLike[str],
    pdf_path: str | os.PathLike[str] | None = None,
    *,
    timeout: float = 120,
    chromium: str | None = None,
) -> Path:
    """Print the report page ``html_path`` to ``pdf_path`` (default: ``report.pdf`` beside it).

    Parameters
    ----------
    html_path : path
        A report page written by :func:`cxlab.report.html.export_html`.
    pdf_path : path, optional
        Where the PDF goes (default: same folder and name, ``.pdf``).
    timeout : float
        Seconds Chromium may take.
    chromium : str, optional
        The Chromium executable (default: :func:`find_chromium`).

    Returns
    -------
    Path
        The PDF written.

    Raises
    ------
    PdfError
        No Chromium found, Chromium failed or timed out, or it wrote no PDF. The message says
        how to fix it; a previous ``report.pdf`` is left as it was.
    """
    html_path = Path(html_path).resolve()
    target = Path(pdf_path) if pdf_path is not None else html_path.with_suffix(".pdf")
    exe = chromium or find_chromium()
    if not exe:
        raise PdfError(
            "Cannot write the PDF: no Chromium was found (looked for "
            f"{', '.join(_CANDIDATES)} on PATH and ${CHROMIUM_ENV}). Install Debian's chromium "
            "(bash scripts/ensure-chromium.sh, or apt-get install chromium), or set "
            f"{CHROMIUM_ENV}=/path/to/chromium. The HTML report is unaffected."
        )
    if not html_path.is_file():
        raise PdfError(f"Cannot write the PDF: the report page {html_path} does not exist.")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="cxpdf-"))
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        cmd = chromium_command(exe, html_path, partial, work / "profile")
        started = time.monotonic()
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                text=True,
                timeout=timeout,
                cwd=work,
                env={**os.environ, "HOME": str(work)},
            )
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"Cannot write the PDF of {html_path.name}: Chromium did not finish within "
                f"{timeout:.0f} s. Try again on a less busy machine, or raise the timeout."
            ) from None
        except OSError as exc:
            raise PdfError(
                f"Cannot write the PDF: Chromium ({exe}) could not be started: {exc.strerror or exc}. "
                f"Install Debian's chromium or set {CHROMIUM_ENV}."
            ) from None
        if done.returncode != 0 or not partial.is_file() or partial.stat().st_size == 0:
            last = [
                ln for ln in (done.stderr or "").splitlines() if ln.strip() and "dbus" not in ln
            ]
            raise PdfError(
                f"Cannot write the PDF of {html_path.name}: Chromium exited with code "
                f"{done.returncode} after {time.monotonic() - started:.1f} s and wrote no PDF"
                + (f" ({last[-1].strip()[:200]})" if last else "")
                + ". The HTML report is unaffected."
            )
        os.replace(partial, target)
        return target
    finally:
        partial.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
