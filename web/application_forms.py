"""Application forms (表格下载) as pages and downloads, for every app that shows the guide.

A village clerk prints a blank form for a villager at the counter; a citizen downloads it from the
public site and fills it in at home; a kiosk in the centre's hall prints it. All three lay out one
`casework.catalogue.application_form.ApplicationForm`: as an A4 page (print CSS, one or two
pages) or as a .docx (web/form_docx.py says why Word).
"""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response, render_template, send_file

from casework.catalogue.application_form import ApplicationForm


def render_application_form(
    form: ApplicationForm,
    *,
    layout: str = "public_layout.html",
    back_url: str | None = None,
    back_label: str | None = None,
    docx_url: str | None = None,
) -> str:
    """The form as an A4 page with a print button; `layout` is the template it sits in (the kiosk
    passes its own, so the page keeps the kiosk's frame and idle reset), `docx_url` adds the
    Word download, `back_url` a way back (not printed)."""
    return render_template(
        "guide/form.html",
        form=form,
        layout=layout,
        back_url=back_url,
        back_label=back_label,
        docx_url=docx_url,
    )


def docx_download(form: ApplicationForm) -> Response:
    """The form as a .docx attachment named `<code>-<title>.docx` (UTF-8 name, RFC 6266)."""
    # python-docx and lxml cost a village PC ~10 MB of memory: loaded on the first download only
    from web.form_docx import DOCX_MIMETYPE, form_docx

    response = send_file(io.BytesIO(form_docx(form)), mimetype=DOCX_MIMETYPE)
    # the plain name is the code alone: an old browser that ignores filename* gets SCJG001.docx, not "SCJG001-().docx"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{form.code}.docx\"; filename*=UTF-8''{quote(form.filename + '.docx')}"
    )
    return response
