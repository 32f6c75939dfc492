"""Word (``.docx``) versions of the package's tables: booktabs-like rules, A4 (or Letter)
pages, fixed document dates and zip timestamps so a rerun writes the same bytes."""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path


import datetime as dt
import zipfile

import docx

from regrowth.files import write_bytes
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

#: Date written into a .docx's core properties and zip entries (no run-time timestamps).
DOCX_EPOCH = (1980, 1, 1, 0, 0, 0)


def _docx_rule(cell, edge: str, size: int) -> None:
    """A horizontal rule on one edge (``top``/``bottom``) of a table cell (size in 1/8 pt)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = tc_pr.find(qn("w:tcBorders"))
    if borders is None:
        borders = OxmlElement("w:tcBorders")
        tc_pr.append(borders)
    el = OxmlElement(f"w:{edge}")
    el.set(qn("w:val"), "single")
    el.set(qn("w:sz"), str(size))
    el.set(qn("w:space"), "0")
    el.set(qn("w:color"), "000000")
    borders.append(el)


#: Paper sizes of the Word output (width, height in millimetres) and the margins used.
PAPER_SIZES: Mapping[str, tuple[float, float]] = {"a4": (210.0, 297.0), "letter": (215.9, 279.4)}


_DOCX_MARGIN_MM = 25.0


def write_docx(table, path: str | Path | None = None, *,
               paper: str = "a4") -> bytes:
    """Render ``table`` as a Word document; return its bytes (and write them to ``path``,
    atomically, if given).

    Layout as in a journal: title paragraph, a borderless table with rules above and below
    the header and above and below the statistics block (booktabs style), equation panels in
    italics, numbers centred, then the notes and the significance legend in small type.

    The page is A4 (210 x 297 mm) by default, US Letter with ``paper="letter"``, portrait
    with 25 mm margins (python-docx's template is Letter with 1-inch margins).

    Deterministic: python-docx's document properties (author, dates, revision) are fixed,
    and the zip archive is rewritten with every entry dated :data:`DOCX_EPOCH`, in
    python-docx's own (fixed) order, so the same table gives the same bytes on every run.
    """

    if paper not in PAPER_SIZES:
        raise ValueError(f"write_docx: paper must be one of {sorted(PAPER_SIZES)}, "
                         f"not {paper!r}")
    doc = docx.Document()
    width, height = PAPER_SIZES[paper]
    for section in doc.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(width), Mm(height)
        section.left_margin = section.right_margin = Mm(_DOCX_MARGIN_MM)
        section.top_margin = section.bottom_margin = Mm(_DOCX_MARGIN_MM)
    props = doc.core_properties
    fixed = dt.datetime(*DOCX_EPOCH)
    props.author = props.last_modified_by = "regrowth"
    props.created = props.modified = props.last_printed = fixed
    props.revision = 1
    props.title = table.title
    normal = doc.styles["Normal"]
    normal.font.name = "Times New Roman"
    normal.font.size = Pt(10)

    title = doc.add_paragraph()
    title.add_run(table.title).bold = True

    header_rows = 2 if table.titles is not None else 1
    grid = doc.add_table(rows=header_rows + len(table.rows), cols=table.ncol + 1)
    grid.autofit = True
    heads = [("",) + tuple(table.columns)]
    if table.titles is not None:
        heads.append(("",) + tuple(table.titles))
    for i, head in enumerate(heads):
        cells = grid.rows[i].cells  # (grid.cell(i, j) rebuilds the whole grid every call)
        for j, text in enumerate(head):
            para = cells[j].paragraphs[0]
            para.text = str(text)
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    first_stat = None
    for i, row in enumerate(table.rows, start=header_rows):
        cells = grid.rows[i].cells
        if row.kind == "panel":
            merged = cells[0].merge(cells[-1])
            merged.paragraphs[0].add_run(row.label).italic = True
            continue
        if row.kind == "stat" and first_stat is None:
            first_stat = i
        cells[0].paragraphs[0].text = row.label
        for j, text in enumerate(row.cells, start=1):
            para = cells[j].paragraphs[0]
            para.text = text
            para.alignment = WD_ALIGN_PARAGRAPH.CENTER
    n_rows = len(grid.rows)
    for cell in grid.rows[0].cells:
        _docx_rule(cell, "top", 8)
    for cell in grid.rows[header_rows - 1].cells:
        _docx_rule(cell, "bottom", 4)
    if first_stat is not None and first_stat > header_rows:
        for cell in grid.rows[first_stat].cells:
            _docx_rule(cell, "top", 4)
    for cell in grid.rows[n_rows - 1].cells:
        _docx_rule(cell, "bottom", 8)

    for note in table.all_notes():
        para = doc.add_paragraph()
        para.add_run(note).font.size = Pt(8)

    raw = io.BytesIO()
    doc.save(raw)
    # rewrite the archive: fixed entry dates and attributes, same entry order
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw.getvalue())) as src, \
            zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=DOCX_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    data = out.getvalue()
    if path is not None:
        write_bytes(path, data)
    return data

