"""User JSONL files as editors write them: a byte-order mark and CRLF line ends (Windows
Notepad, Excel's "UTF-8 CSV" habits) read as the rows they hold."""

from __future__ import annotations

import re
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


def test_a_json_array_of_objects_is_read_with_the_line_each_row_starts_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "rows.json"
    path.write_text(
        '[\n  {"question": "What is 2+2?", "answer": "4"},\n'
        '  {"question": "What is 3+3?",\n   "answer": "6"},\n  {"question": "no answer"}\n]\n'
    )
    with pytest.raises(SealError, match=r"rows.json:5: missing field\(s\) answer"):
        read_jsonl(path, ("question", "answer"))
    assert [r["answer"] for r in read_jsonl(path)[:2]] == ["4", "6"]
    for text, where in [
        ('[{"question": "q"} {"question": "r"}]', ":1: not valid JSON (expected ','"),
        ('[{"question": "q"},\n {"question": }]', ":2: not valid JSON"),
        ('[{"question": "q"}] and more', ":1: not valid JSON (text after the array)"),
        ('[{"question": "q"},\n "text"]', ":2: expected a JSON object, got str"),
    ]:
        path.write_text(text)
        with pytest.raises(SealError, match=re.escape(f"rows.json{where}")):
            read_jsonl(path)


@pytest.mark.parametrize("suffix", [".csv", ".tsv", ".xlsx"])
def test_a_table_file_names_the_formats_that_are_read(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"rows{suffix}"
    path.write_text("question,answer\nWhat is 2+2?,4\n")
    with pytest.raises(SealError, match="give JSONL .*, a JSON array of objects or Parquet"):
        read_jsonl(path)
