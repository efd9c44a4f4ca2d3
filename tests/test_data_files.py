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


BIG = "1" + "0" * 5000  # past the 4,300 digits Python turns into an int
DEEP = "[" * 100_000  # past the recursion limit of every parser here


def test_numbers_and_nesting_no_parser_reads_are_one_line(tmp_path: Path) -> None:
    """A JSON or YAML value Python refuses beyond its syntax (an integer of more than 4,300
    digits, nesting deeper than the stack) names its file and line, as a syntax error does."""
    from seal.config import load_config, parse_set
    from seal.store import read_json

    for name, text, where, what in [
        ("big.jsonl", f'{{"question": "q", "answer": "1"}}\n{{"answer": {BIG}}}\n', ":2", "4,300"),
        ("deep.jsonl", DEEP + "\n", ":1", "nested too deeply"),
        ("big.json", f'[{{"question": "q"}},\n {{"answer": {BIG}}}]', ":2", "4,300"),
        ("deep.json", "[\n" + DEEP, ":2", "nested too deeply"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        with pytest.raises(SealError, match=re.escape(f"{name}{where} ") + ".*" + what):
            read_jsonl(path)
    (tmp_path / "manifest.json").write_text(f'{{"kind": "run", "n": {BIG}}}')
    with pytest.raises(SealError, match="manifest.json holds a number too long"):
        read_json(tmp_path / "manifest.json")
    for text, what in [(f"eval:\n  limit: {BIG}\n", "4,300"), (DEEP, "nested too deeply")]:
        (tmp_path / "c.yaml").write_text(text)
        with pytest.raises(SealError, match=f"config file .*c.yaml .*{what}"):
            load_config(tmp_path / "c.yaml")
    for value, what in [(BIG, "4,300"), ("[" * 20_000, "nested too deeply")]:
        with pytest.raises(SealError, match=f"--set eval.limit: the value .*{what}"):
            parse_set([f"eval.limit={value}"])


def test_a_yaml_merge_key_is_read_and_a_key_given_twice_still_refused(tmp_path: Path) -> None:
    """``<<: *anchor`` (YAML's standard merge) sets the keys it merges, which the mapping may
    then override; a key written twice in one mapping is still an error."""
    from seal.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text("sampling:\n  <<: &cool {temperature: 0.5, top_k: 4}\n  top_k: 7\n")
    cfg = load_config(path)
    assert (cfg.sampling.temperature, cfg.sampling.top_k) == (0.5, 7)
    path.write_text("sampling:\n  top_k: 4\n  top_k: 7\n")
    with pytest.raises(SealError, match="'top_k' appears twice"):
        load_config(path)
