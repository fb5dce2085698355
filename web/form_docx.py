"""An item's application form as a Word file (.docx) that people fill in on a PC.

Why .docx (python-docx) and not .xlsx: an application form is a document (blanks in ruled tables, a
declaration paragraph, signature and date lines) that is typed into and then printed and signed;
Word and WPS, on every office and village PC here, fill and print a .docx page as laid out, where a
spreadsheet's print area, page breaks and wrapped text depend on the program that opens it. The
government download pages people know offer Word forms for the same reason.

The content is `casework.catalogue.application_form.ApplicationForm`, the same object the printable
page (web/templates/guide/form.html) lays out, so both say the same thing.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from casework.catalogue.application_form import ApplicationForm, Blank, Block

BODY_FONT = "宋体"  # SimSun: the body face of Chinese official forms, on every Windows PC
TITLE_FONT = "黑体"  # SimHei
WIDTH_CM = 17.0  # A4 (21 cm) less 2 cm margins on each side
DOCX_MIMETYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def _font(run: Run, name: str = BODY_FONT, size: float = 10.5, bold: bool = False) -> None:
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    fonts = run._element.get_or_add_rPr().get_or_add_rFonts()
    fonts.set(qn("w:eastAsia"), name)  # python-docx sets only the Latin face; CJK text reads eastAsia


def _para(
    container: Any,
    text: str = "",
    *,
    size: float = 10.5,
    bold: bool = False,
    align: Any = None,
    font: str = BODY_FONT,
    space_after: float = 2,
) -> Paragraph:
    p = container.add_paragraph()
    if text:
        _font(p.add_run(text), font, size, bold)
    if align is not None:
        p.alignment = align
    p.paragraph_format.space_after = Pt(space_after)
    p.paragraph_format.space_before = Pt(0)
    return p


def _cell_text(
    cell: _Cell, text: str, *, bold: bool = False, size: float = 10.5, center: bool = False
) -> None:
    p = cell.paragraphs[0]
    p.paragraph_format.space_after = Pt(0)
    if text:
        _font(p.add_run(text), size=size, bold=bold)
    if center:
        p.alignment = WD_ALIGN_PARAGRAPH.CENTER


def _shade(cell: _Cell, fill: str = "E8E8E8") -> None:
    props = cell._tc.get_or_add_tcPr()
    shading = OxmlElement("w:shd")
    shading.set(qn("w:val"), "clear")
    shading.set(qn("w:color"), "auto")
    shading.set(qn("w:fill"), fill)
    props.append(shading)


def _table(doc: Any, rows: int, widths_cm: list[float]) -> Table:
    table = doc.add_table(rows=rows, cols=len(widths_cm))
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    for column, width in zip(table.columns, widths_cm, strict=True):
        column.width = Cm(width)  # the table grid: what LibreOffice and WPS lay out by
    for row in table.rows:
        row.height = Cm(0.8)
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)
    return table


def _block(doc: Any, block: Block) -> None:
    """A block as a four-column grid (label, blank, label, blank); wide blanks take a whole row."""
    rows: list[list[Blank]] = []
    for blank in block.blanks:
        if blank.wide or not rows or len(rows[-1]) == 2 or rows[-1][0].wide:
            rows.append([blank])
        else:
            rows[-1].append(blank)
    widths = [4.0, 4.5, 4.0, 4.5]
    table = _table(doc, len(rows) + 1, widths)
    head = table.rows[0].cells[0].merge(table.rows[0].cells[3])
    _cell_text(head, block.title, bold=True)
    _shade(head)
    for row, blanks in zip(table.rows[1:], rows, strict=True):
        cells = row.cells
        _cell_text(cells[0], blanks[0].label, bold=True)
        if blanks[0].wide or len(blanks) == 1:
            cells[1].merge(cells[3])
        else:
            _cell_text(cells[2], blanks[1].label, bold=True)
    if block.note:
        _para(doc, block.note, size=9)


def _ticks(options: tuple[str, ...]) -> str:
    return "　".join(f"□ {o}" for o in options)


def form_docx(form: ApplicationForm) -> bytes:
    """The form as the bytes of a .docx file: A4, one or two pages, blanks in ruled tables."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin, section.bottom_margin = Cm(1.8), Cm(1.6)
    doc.core_properties.title = form.title
    doc.core_properties.subject = f"{form.code} {form.item_name}"
    doc.core_properties.author = form.issuer

    _para(doc, form.issuer, size=10.5, align=WD_ALIGN_PARAGRAPH.CENTER)
    _para(
        doc, form.title, size=18, bold=True, font=TITLE_FONT, align=WD_ALIGN_PARAGRAPH.CENTER, space_after=6
    )
    _para(doc, f"事项名称：{form.item_name}　　事项编码：{form.code}", size=10.5)
    _para(doc, f"实施部门：{form.department}　　办件类型：{form.kind_label}", size=10.5, space_after=4)
    if form.applicant_choice:
        _para(doc, form.applicant_choice, bold=True)
    for block in form.applicants:
        _block(doc, block)
        _para(doc, space_after=0)
    _block(doc, form.proxy)
    _para(doc, "委托方式：" + _ticks(form.authorisation), space_after=4)

    request = _table(doc, 1, [4.0, 13.0])
    _cell_text(request.rows[0].cells[0], form.request_label, bold=True)
    request.rows[0].height = Cm(2.0)
    _para(doc, space_after=0)

    _para(doc, "申请材料清单（请在“提交”栏打 √）", bold=True)
    widths = [1.2, 6.0, 2.2, 1.1, 2.5, 1.1, 2.9]
    materials = _table(doc, len(form.materials) + 1, widths)
    for cell, text in zip(
        materials.rows[0].cells, ("序号", "材料名称", "形式", "份数", "要求", "提交", "说明"), strict=True
    ):
        _cell_text(cell, text, bold=True, center=True, size=9.5)
        _shade(cell)
    for row, line in zip(materials.rows[1:], form.materials, strict=True):
        values = (str(line.number), line.name, line.form, str(line.count), line.need, "□", line.notes)
        for i, (cell, text) in enumerate(zip(row.cells, values, strict=True)):
            _cell_text(cell, text, size=9.5, center=i in (0, 3, 5))
        row.height = Cm(0.7)

    _para(doc, f"{form.delivery_label}：" + _ticks(form.delivery), space_after=4)
    _para(doc, form.declaration, space_after=6)
    for label in form.signatures:
        _para(doc, f"{label}：____________________　　　　　年　　月　　日", space_after=6)

    _para(doc, "办理须知", bold=True, space_after=1)
    for label, text in form.receiving:
        _para(doc, f"{label}：{text}", size=9, space_after=0)
    _para(doc, space_after=0)
    office = _table(doc, 2, [4.25] * 4)
    head = office.rows[0].cells[0].merge(office.rows[0].cells[3])
    _cell_text(head, form.office_label, bold=True, size=9.5)
    _shade(head)
    for cell, label in zip(office.rows[1].cells, form.office, strict=True):
        _cell_text(cell, f"{label}：", size=9.5)

    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
