"""Small coding sheets in the published layouts (written with openpyxl), for the MEGC2019 rules.

CASME II: ``CASME2-coding-*.xlsx``, first sheet, header on row 1. SAMM:
``SAMM_Micro_FACS_Codes_v2.xlsx``, sheet ``MICRO_ONLY``, preamble above the header on row 14.
Each row is (subject, clip, onset, apex, offset, action units, emotion) as the sheet writes them.
"""

from pathlib import Path

from openpyxl import Workbook

from mlcore.synth.sheets import CASME2_HEADER, SAMM_HEADER, SAMM_HEADER_ROW

SheetRow = tuple[object, str, object, object, object, str, str]


def casme2_sheet_write(*, path: Path, rows: list[SheetRow]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(CASME2_HEADER))
    for subject, clip, onset, apex, offset, aus, emotion in rows:
        sheet.append([subject, clip, None, onset, apex, offset, None, aus, emotion])
    workbook.save(path)
    return path


def samm_sheet_write(*, path: Path, rows: list[SheetRow]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "MICRO_ONLY"
    sheet.cell(row=1, column=1, value="SAMM Micro-Movement FACS codes")
    for column, name in enumerate(SAMM_HEADER, start=1):
        sheet.cell(row=SAMM_HEADER_ROW, column=column, value=name)
    for number, (subject, clip, onset, apex, offset, aus, emotion) in enumerate(rows, start=1):
        duration = (
            offset - onset + 1 if isinstance(onset, int) and isinstance(offset, int) else None
        )
        values = (subject, clip, 1, onset, apex, offset, duration, "Micro", aus, emotion, 1, None)
        for column, value in enumerate(values, start=1):
            sheet.cell(row=SAMM_HEADER_ROW + number, column=column, value=value)
    workbook.save(path)
    return path
