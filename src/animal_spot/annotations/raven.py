"""Selection tables of Raven Pro and other tools: the one front door to read, write and pair them.

Reading lives in `reader` (encodings, cell checks, multi-file tables), column names and the
choice of the label column in `columns`, writing in `writer`, pairing with recordings in
`pairing`.
"""

from __future__ import annotations

from .columns import ANNOTATION_COLUMN as ANNOTATION_COLUMN
from .columns import BEGIN_COLUMN as BEGIN_COLUMN
from .columns import BEGIN_FILE_COLUMN as BEGIN_FILE_COLUMN
from .columns import BEGIN_PATH_COLUMN as BEGIN_PATH_COLUMN
from .columns import END_COLUMN as END_COLUMN
from .columns import FILE_OFFSET_COLUMN as FILE_OFFSET_COLUMN
from .columns import HEADER as HEADER
from .columns import HIGH_COLUMN as HIGH_COLUMN
from .columns import LABEL_COLUMNS as LABEL_COLUMNS
from .columns import LOW_COLUMN as LOW_COLUMN
from .columns import SCORE_COLUMN as SCORE_COLUMN
from .columns import SCORE_COLUMNS as SCORE_COLUMNS
from .columns import column_key as column_key
from .pairing import PairedTables as PairedTables
from .pairing import TableIndex as TableIndex
from .pairing import TableReport as TableReport
from .pairing import find_table_for as find_table_for
from .pairing import match_table as match_table
from .pairing import pair_tables as pair_tables
from .pairing import read_paired as read_paired
from .pairing import recording_stem as recording_stem
from .pairing import table_files as table_files
from .reader import Selection as Selection
from .reader import SelectionTable as SelectionTable
from .reader import files_of_recording as files_of_recording
from .reader import read_selections as read_selections
from .reader import read_table as read_table
from .writer import cell_text as cell_text
from .writer import write_table as write_table

__all__ = [
    "ANNOTATION_COLUMN",
    "BEGIN_COLUMN",
    "BEGIN_FILE_COLUMN",
    "BEGIN_PATH_COLUMN",
    "END_COLUMN",
    "FILE_OFFSET_COLUMN",
    "HEADER",
    "HIGH_COLUMN",
    "LABEL_COLUMNS",
    "LOW_COLUMN",
    "SCORE_COLUMN",
    "SCORE_COLUMNS",
    "PairedTables",
    "Selection",
    "SelectionTable",
    "TableIndex",
    "TableReport",
    "cell_text",
    "column_key",
    "files_of_recording",
    "find_table_for",
    "match_table",
    "pair_tables",
    "read_paired",
    "read_selections",
    "read_table",
    "recording_stem",
    "table_files",
    "write_table",
]
