"""What the exports hand back: a file to save (Content-Disposition: attachment) and a PDF printed from HTML."""

from __future__ import annotations

from pathlib import Path

from django.http import HttpResponse

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(content: bytes | str, content_type: str, filename: str) -> HttpResponse:
    """A response the browser saves as `filename` instead of showing it."""
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def html_to_pdf(html: str, static_dir: Path) -> bytes:
    """Print a standalone HTML document with WeasyPrint. Relative links in it (stylesheets, the vendored Noto
    Sans that keeps Vietnamese diacritics) resolve against the app's static folder `static_dir`."""
    # loaded only when a PDF is asked for; WeasyPrint ships no type information (no stubs, no py.typed)
    from weasyprint import HTML  # type: ignore[import-untyped]  # noqa: PLC0415 (heavy: only for a PDF)

    pdf: bytes = HTML(string=html, base_url=str(static_dir) + "/").write_pdf()
    return pdf
