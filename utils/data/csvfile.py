"""Read a CSV file that a person may have saved with any tool, or say clearly why not.

Kaggle's files are UTF-8 CSV. Files users bring were often saved by Excel or a script, so
:func:`read` accepts, with a note that says what it did:

- a UTF-8 byte-order mark (Excel's "CSV UTF-8") and CRLF line endings (silently: lossless);
- UTF-16 with its byte-order mark (Excel's "Unicode text"), decoded;
- tab- or semicolon-separated values (the same "Unicode text", a TSV export, or Excel's CSV
  in locales whose decimal mark is a comma), read as such when the header holds no comma;
- gzip-compressed content under a ``.csv`` name, decompressed;
- spaces around the header's column names, stripped.

Anything else it cannot read for certain raises :class:`CSVError` naming the file, the line
and the fix: bytes that are not UTF-8 (a Latin-1 or Windows-1252 export: re-save as UTF-8
rather than guess the encoding), NUL bytes (UTF-16 without its mark, or not a text file),
a 0-byte file, rows the CSV parser cannot split, a folder or a missing file.
``strict=True`` (a submission: Kaggle reads it as plain CSV) turns every note into an error.
"""

from __future__ import annotations

import codecs
import gzip
import zlib
from pathlib import Path

import pandas as pd

_GZIP = b"\x1f\x8b"
_UTF16 = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_CHUNK = 1 << 20
_DAMAGED = (OSError, EOFError, zlib.error)  # a truncated or damaged gzip stream


class CSVError(ValueError):
    """A file that cannot be read as CSV (the message names the file, where and the fix)."""


def read(file, strict: bool = False, columns=None) -> tuple[pd.DataFrame, list[str]]:
    """``file`` as a frame of strings (empty fields ``""``, never NaN) and the notes on what
    was normalised to read it (see the module doc); raises :class:`CSVError`. ``columns``:
    read only these (names as the header spells them, spaces around them aside)."""
    file = Path(file)
    if file.is_dir():
        raise CSVError(f"{file}: a folder, not a CSV file; pass the file itself.")
    if not file.is_file():
        raise CSVError(f"{file}: file not found.")
    with open(file, "rb") as handle:
        head = handle.read(4096)
    if not head:
        raise CSVError(f"{file}: the file is empty (0 bytes); it needs a header row and its data rows.")
    notes, options = [], {"encoding": "utf-8-sig", "compression": None}
    if head.startswith(_GZIP):
        notes.append("gzip-compressed, decompressed")
        options["compression"] = "gzip"
        try:
            with gzip.open(file, "rb") as handle:
                head = handle.read(4096)
        except _DAMAGED as err:
            raise CSVError(f"{file}: starts like a gzip file but cannot be decompressed ({err}); "
                           "save it as plain UTF-8 CSV.") from None
    if head.startswith(_UTF16):
        notes.append("UTF-16 text, decoded")
        options["encoding"] = "utf-16"
        first_line = head.decode("utf-16", errors="ignore").split("\n", 1)[0]
    else:
        if b"\x00" in head:
            raise CSVError(f"{file}: holds NUL bytes, so it is UTF-16 without a byte-order mark or "
                           "not a text file; save it as UTF-8 CSV.")
        first_line = head.split(b"\n", 1)[0].decode("utf-8", errors="replace")
    if "," not in first_line:
        for sep, name in (("\t", "tab"), (";", "semicolon")):
            if sep in first_line:
                notes.append(f"{name}-separated, read as such")
                options["sep"] = sep
                break
    if strict and notes:
        raise CSVError(f"{file}: {'; '.join(notes)}: Kaggle reads a submission as plain UTF-8 "
                       "comma-separated values; write it with pandas' to_csv(index=False).")
    if columns is not None:
        wanted = set(columns)
        options["usecols"] = lambda name: str(name).strip() in wanted
    try:
        frame = pd.read_csv(file, dtype=str, keep_default_na=False, na_filter=False, **options)
    except pd.errors.EmptyDataError:
        raise CSVError(f"{file}: no header row; it needs one naming the columns.") from None
    except pd.errors.ParserError as err:
        raise CSVError(f"{file}: not a readable CSV ({str(err).strip()}); a field holding a comma "
                       "or a line break needs double quotes: re-export it as CSV.") from None
    except UnicodeDecodeError:
        try:
            where = _not_utf8(file, options["encoding"])
        except _DAMAGED as err:
            where = f"{file}: cannot be read to its end ({err}); save it again as UTF-8 CSV."
        raise CSVError(where) from None
    except _DAMAGED as err:
        raise CSVError(f"{file}: cannot be read to its end ({err}); save it again.") from None
    stripped = [str(name).strip() for name in frame.columns]
    if stripped != list(frame.columns):
        notes.append("spaces around column names, stripped")
        frame.columns = stripped
    return frame.reset_index(drop=True), notes


def _not_utf8(file: Path, encoding: str) -> str:
    """Where ``file`` stops being valid in ``encoding``: its line and byte, and the fix."""
    decoder = codecs.getincrementaldecoder(encoding.replace("-sig", ""))()
    offset, line = 0, 1
    with open(file, "rb") as handle:
        opener = gzip.open if handle.read(2) == _GZIP else open
    with opener(file, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                line += err.object[:err.start].count(b"\n")
                return (f"{file}: line {line} is not valid {encoding.replace('-sig', '').upper()} "
                        f"(byte 0x{err.object[err.start]:02x} near offset {offset + err.start}); the file was "
                        "saved in another encoding (Latin-1 or Windows-1252, say): re-save it as "
                        "UTF-8 (Excel: 'CSV UTF-8'; or `iconv -f latin1 -t utf-8 IN > OUT`).")
            line += chunk.count(b"\n")
            offset += len(chunk)
    return f"{file}: not valid {encoding}; re-save it as UTF-8."
