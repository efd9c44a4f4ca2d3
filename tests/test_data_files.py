"""User JSONL files as editors write them: a byte-order mark and CRLF line ends (Windows
Notepad, Excel's "UTF-8 CSV" habits) read as the rows they hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from seal.data import read_jsonl
from seal.errors import SealError


def test_a_byte_order_mark_and_crlf_lines_are_read_as_rows(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"question": "What is 2+2?", "answer": "4"}\r\n\r\n'
        b'{"question": "What is 3+3?", "answer": "6"}\r\n'
    )
    rows = read_jsonl(path, ("question", "answer"))
    assert rows == [
        {"question": "What is 2+2?", "answer": "4"},
        {"question": "What is 3+3?", "answer": "6"},
    ]


def test_a_byte_order_mark_inside_the_file_is_still_named(tmp_path: Path) -> None:
    path = tmp_path / "joined.jsonl"  # two files concatenated: the second one's mark is junk
    path.write_bytes(b'{"question": "q", "answer": "1"}\n\xef\xbb\xbf{"question": "r"}\n')
    with pytest.raises(SealError, match=r"joined.jsonl:2: not valid JSON"):
        read_jsonl(path)
