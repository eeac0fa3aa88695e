"""Reading spreadsheet cells with openpyxl: find a header row, then yield rows as dicts."""

from collections.abc import Iterator
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from mlcore.datasets.common import DatasetFormatError, SheetRecord, cell_text


def _key(value: object) -> str:
    return " ".join(str(value).split()).lower() if value is not None else ""


def open_sheet(path: Path, *, sheet_name: str | None = None) -> Worksheet:
    """The named sheet of an xlsx file, else its first sheet."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"annotation sheet {path} not found")
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises zipfile, KeyError or its own errors
        raise DatasetFormatError(f"{path}: not a readable .xlsx workbook ({error})") from error
    if sheet_name is not None and sheet_name in workbook.sheetnames:
        return workbook[sheet_name]
    return workbook.worksheets[0]


def iter_sheet_rows(
    *,
    sheet: Worksheet,
    path: Path,
    columns: dict[str, str],
    search_rows: int = 1,
) -> Iterator[tuple[int, dict[str, object]]]:
    """Yield (row number, {field: cell value}) for each non-empty row below the header.

    ``columns`` maps field names to header texts (compared ignoring case and spacing). The header
    is the first of the first ``search_rows`` rows that holds every header text.
    """
    wanted = {field: _key(header) for field, header in columns.items()}
    rows = sheet.iter_rows(values_only=True)
    header_positions: dict[str, int] | None = None
    row_number = 0
    for row_number, cells in enumerate(rows, start=1):
        keys = [_key(cell) for cell in cells]
        if all(header in keys for header in wanted.values()):
            header_positions = {field: keys.index(header) for field, header in wanted.items()}
            break
        if row_number >= search_rows:
            break
    if header_positions is None:
        expected = ", ".join(columns.values())
        raise DatasetFormatError(
            f"{path}: no header row with the columns {expected} in the first {search_rows} "
            f"row(s) of sheet {sheet.title!r}"
        )
    for number, cells in enumerate(rows, start=row_number + 1):
        if all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells):
            continue
        yield (
            number,
            {
                field: cells[position] if position < len(cells) else None
                for field, position in header_positions.items()
            },
        )


def sheet_records(
    *,
    path: Path,
    columns: dict[str, str],
    subject_digits: int,
    sheet_name: str | None = None,
    search_rows: int = 1,
) -> list[SheetRecord]:
    """The rows of a coding sheet (CASME II, SAMM) as records. A subject written as a number
    (a re-saved sheet turns ``006`` into 6) gets its zero padding back; ``notes`` is optional."""
    sheet = open_sheet(path, sheet_name=sheet_name)

    def subject_code(value: object) -> str:
        text = cell_text(value)
        return f"{int(text):0{subject_digits}d}" if text.isdigit() else text

    return [
        SheetRecord(
            row=number,
            subject=subject_code(cells["subject"]),
            clip=cell_text(cells["clip"]),
            onset=cells["onset"],
            apex=cells["apex"],
            offset=cells["offset"],
            emotion=cell_text(cells["emotion"]),
            aus=cell_text(cells["aus"]),
            notes=cell_text(cells.get("notes")),
        )
        for number, cells in iter_sheet_rows(
            sheet=sheet, path=path, columns=columns, search_rows=search_rows
        )
    ]
