"""Tests for aimux_cli.streams: SSE (WHATWG rules), NDJSON, JSON arrays of chunks, sniffing, whole-body parsing.

The byte strings inline here are protocol cases (a few bytes each), not fixtures. Real bodies come from
../shared/provider-corpus when it is present.
"""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aimux_cli.errors import ExitCode
from aimux_cli.streams import (
    InputDecodeError,
    JSONArrayParser,
    NDJSONParser,
    SSEEvent,
    SSEParser,
    StreamSyntaxError,
    collect,
    iter_events,
    needs_more,
    sniff,
)

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "provider-corpus"
PARSERS = {"sse": SSEParser, "ndjson": NDJSONParser, "json-array": JSONArrayParser}


def feed_all(parser, chunks) -> list:
    out = []
    for chunk in chunks:
        out += parser.feed(chunk)
    return out + parser.close()


def sse(body: bytes, size: int | None = None) -> list[SSEEvent]:
    """Parse a body whole (size None) or in chunks of `size` bytes."""
    chunks = [body] if size is None else [body[i : i + size] for i in range(0, len(body), size)]
    return feed_all(SSEParser(), chunks)


def split_at(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(body)) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)])]


def reference_sse(text: str) -> list[SSEEvent]:
    """A plain, line-at-a-time reading of the WHATWG algorithm (plus the final-event deviation), as an oracle."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    events, data, name, last_id = [], [], "", None
    for line in [*text.split("\n"), ""]:
        if line == "":
            if data:
                events.append(SSEEvent("\n".join(data), name or "message", last_id))
            data, name = [], ""
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "data":
            data.append(value)
        elif field == "event":
            name = value
        elif field == "id" and "\0" not in value:
            last_id = value or None
    return events


# --- SSE ------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eol", [b"\n", b"\r\n", b"\r"], ids=["LF", "CRLF", "CR"])
def test_sse_line_endings(eol):
    body = eol.join([b"event: a", b"data: 1", b"", b"data: 2", b"data: 3", b"", b""])
    assert sse(body) == [SSEEvent("1", "a"), SSEEvent("2\n3")]


@pytest.mark.parametrize("size", [1, 2, 3, 5])
def test_sse_crlf_split_across_chunks_adds_no_blank_line(size):
    # Were the LF after a chunk-final CR read as a second line end, "data: 1" and "data: 2" would be two events.
    body = b"data: 1\r\ndata: 2\r\n\r\n"
    assert sse(body, size) == [SSEEvent("1\n2")]
    parser = SSEParser()
    assert parser.feed(b"data: 1\r") == []
    assert parser.feed(b"\ndata: 2\r") == []
    assert parser.feed(b"\n\r") == [SSEEvent("1\n2")]
    assert parser.feed(b"\n") == []


def test_sse_comments_are_ignored():
    body = b": OPENROUTER PROCESSING\n\n:keep-alive\ndata: x\n: mid-event comment\ndata: y\n\n"
    assert sse(body) == [SSEEvent("x\ny")]


def test_sse_multiline_data_and_event_names():
    body = b"event: content_block_delta\ndata: {\ndata:   \"a\": 1\ndata: }\n\nevent:ping\ndata:\n\n"
    assert sse(body) == [SSEEvent('{\n  "a": 1\n}', "content_block_delta"), SSEEvent("", "ping")]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"data:x\n\n", "x"),  # no space to strip
        (b"data:  x\n\n", " x"),  # only one space is stripped
        (b"data: x \n\n", "x "),  # trailing space kept
        (b"data\n\n", ""),  # a field name alone: empty value
        (b"data: a:b: c\n\n", "a:b: c"),  # only the first colon splits
        (b"data: \n\n", ""),
    ],
)
def test_sse_field_values(body, expected):
    assert sse(body) == [SSEEvent(expected)]


def test_sse_event_without_data_is_not_dispatched_and_resets_name():
    body = b"event: ping\n\ndata: x\n\nevent: \ndata: y\n\n"
    assert sse(body) == [SSEEvent("x"), SSEEvent("y")]


def test_sse_unknown_fields_and_retry_are_ignored():
    assert sse(b"retry: 1000\nfoo: bar\nDATA: no\ndata: yes\n\n") == [SSEEvent("yes")]


def test_sse_id_persists_is_reset_by_empty_and_ignores_nul():
    body = b"id: 7\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\nid\ndata: d\n\n"
    assert sse(body) == [SSEEvent("a", id="7"), SSEEvent("b", id="7"), SSEEvent("c", id="7"), SSEEvent("d")]


@pytest.mark.parametrize("body", [b"data: last", b"data: last\n", b"data: last\r", b"data: last\r\n"])
def test_sse_final_event_without_blank_line_is_dispatched_on_close(body):
    parser = SSEParser()
    assert parser.feed(b"data: first\n\n" + body) == [SSEEvent("first")]
    assert parser.close() == [SSEEvent("last")]


def test_sse_close_of_an_empty_or_comment_only_stream():
    assert sse(b"") == []
    assert sse(b": nothing\n\n\n") == []


def test_sse_leading_bom_is_stripped_even_split():
    body = b"\xef\xbb\xbfdata: x\n\n"
    assert sse(body) == sse(body, 1) == [SSEEvent("x")]
    assert sse(b"data: \xef\xbb\xbfx\n\n") == [SSEEvent("\ufeffx")]  # only at the very start


def test_sse_multibyte_utf8_split_at_every_byte_boundary():
    body = 'data: {"t": "é€🦊 日本"}\n\n'.encode()
    expected = [SSEEvent('{"t": "é€🦊 日本"}')]
    for cut in range(len(body) + 1):
        assert feed_all(SSEParser(), [body[:cut], body[cut:]]) == expected, cut
    assert sse(body, 1) == expected


def test_sse_invalid_utf8_is_replaced_and_the_parser_goes_on():
    # issue 9: a bad byte used to kill the parser, and with it every later event
    parser = SSEParser()
    assert parser.feed(b"data: ok\n\ndata: \xff\n\n") == [SSEEvent("ok"), SSEEvent("\ufffd")]
    assert parser.warnings == ["invalid UTF-8 at byte 16, replaced with U+FFFD"]
    assert parser.feed(b"data: more\n\n") == [SSEEvent("more")]
    assert parser.feed(b"data: \xc3(\xff\n\n") == [SSEEvent("\ufffd(\ufffd")]
    assert parser.warnings == ["invalid UTF-8 at byte 16 and 2 more place(s), replaced with U+FFFD"]


def test_sse_invalid_utf8_is_replaced_like_bytes_decode():
    body = b"data: a\xe2\x82b\xf0\x9f\xa6c\xed\xa0\x80d\xc0\xafe\n\n"
    expected = body.decode("utf-8", "replace")[6:-2]
    for size in (1, 2, 3, len(body)):
        assert sse(body, size) == [SSEEvent(expected)], size


def test_sse_invalid_utf8_offset_counts_earlier_chunks():
    parser = SSEParser()
    assert parser.feed(b"data: \xc3") == []  # half of "é"
    events = parser.feed(b"\xa9\n\ndata: \xc3(")  # "é" completed, then a lead byte with a bad continuation
    assert events == [SSEEvent("é")]
    assert parser.close() == [SSEEvent("\ufffd(")]
    assert parser.warnings == ["invalid UTF-8 at byte 16, replaced with U+FFFD"]  # the first byte of the sequence


def test_sse_truncated_utf8_at_close_is_replaced():
    parser = SSEParser()
    assert parser.feed(b"data: x\n\ndata: \xe2\x82") == [SSEEvent("x")]
    assert parser.close() == [SSEEvent("\ufffd")]
    assert parser.warnings == ["invalid UTF-8 at byte 15, replaced with U+FFFD"]


def test_a_body_of_garbage_is_replaced_in_bulk_and_counted():
    parser = NDJSONParser()
    values = parser.feed(b'{"a": "' + b"\xff" * 1000 + b'"}\n')
    assert values == [{"a": "\ufffd" * 1000}]
    assert parser.warnings == ["invalid UTF-8 at byte 7 and 99+ more place(s), replaced with U+FFFD"]


def test_sse_large_body_fed_whole_crosses_internal_slices():
    body = b"".join(b"data: %d %s\n\n" % (i, "é🦊".encode() * (i % 5)) for i in range(20_000))
    events = sse(body)
    assert len(events) == 20_000
    assert events == sse(body, 4096)
    assert events[-1] == SSEEvent("19999 " + "é🦊" * 4)


SSE_ALPHABET = st.sampled_from(
    ["data:", "data: ", "event:", "event: x", "id:", "id: 1", "retry: 5", ":", " ", "a", "é", "🦊", "\0", "\ufeff"]
    + ["\n", "\n", "\n", "\r", "\r\n"]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(SSE_ALPHABET, max_size=60), cuts=st.lists(st.integers(0, 400), max_size=8))
def test_sse_matches_reference_and_chunking_does_not_matter(parts, cuts):
    text = "".join(parts)
    body = text.encode()
    expected = reference_sse(text)
    assert sse(body) == expected
    assert feed_all(SSEParser(), split_at(body, cuts)) == expected


# --- NDJSON ---------------------------------------------------------------------------------------------------------


def test_ndjson_blank_lines_crlf_and_bom():
    body = b'\xef\xbb\xbf{"a": 1}\r\n\r\n  \n{"b": [2]}\n\n[3]\n"s"\n'
    assert feed_all(NDJSONParser(), [body]) == [{"a": 1}, {"b": [2]}, [3], "s"]


def test_ndjson_last_line_without_newline_is_parsed_on_close():
    parser = NDJSONParser()
    assert parser.feed(b'{"a": 1}\n{"b": 2}') == [{"a": 1}]
    assert parser.close() == [{"b": 2}]


def test_ndjson_bad_line_is_skipped_with_a_warning_and_the_stream_goes_on():
    # issue 9: a bad line used to raise, and callers that did not resume lost every later line (--follow)
    parser = NDJSONParser()
    assert parser.feed(b'{"n": 0}\n') == [{"n": 0}]
    assert parser.feed(b'{"n": 1}\n\n{"n": oops}\n{"n": 3}\n{"n": ') == [{"n": 1}, {"n": 3}]
    assert parser.warnings == ["line 4 skipped: invalid JSON: unexpected character, expected a JSON value"]
    assert parser.feed(b"4}\n") == [{"n": 4}]
    assert parser.close() == [] and not parser.cut


def test_ndjson_bad_last_line_on_close_is_a_cut_stream():
    parser = NDJSONParser()
    assert parser.feed(b'{"done": false}\n{"done": tr') == [{"done": False}]
    assert parser.close() == [] and parser.cut
    assert parser.warnings == ["the stream ends inside line 2: it was cut short"]


def test_ndjson_bad_last_line_with_its_line_end_is_skipped_not_cut():
    parser = NDJSONParser()
    assert parser.feed(b'{"done": false}\n{"done": tr\n') == [{"done": False}]
    assert parser.close() == [] and not parser.cut and len(parser.warnings) == 1


def test_ndjson_warnings_are_bounded():
    parser = NDJSONParser()
    assert parser.feed(b"x\n" * 50 + b'{"a": 1}\n') == [{"a": 1}]
    assert len(parser.warnings) == 21 and parser.warnings[-1] == "… and 30 more item(s) skipped"


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.dictionaries(st.text(max_size=5), st.text(max_size=8), max_size=3), max_size=10),
       cuts=st.lists(st.integers(0, 300), max_size=8), eol=st.sampled_from([b"\n", b"\r\n", b"\n\n"]))
def test_ndjson_chunking_does_not_matter(values, cuts, eol):
    body = b"".join(orjson.dumps(v) + eol for v in values)
    assert feed_all(NDJSONParser(), split_at(body, cuts)) == values


# --- JSON array -----------------------------------------------------------------------------------------------------

TRICKY = [
    {"text": "a ] b } c [ d { e"},
    {"text": 'she said \\"hi\\" [{,}]', "n": [1, [2, {"x": "}"}]]},
    {"text": "\\\\", "more": "\\\\\"]"},
    {"text": "é🦊 \u2028", "empty": {}, "list": []},
]


def pretty_array(values: list) -> bytes:
    """The shape Gemini sends: pretty-printed elements, each followed by a newline and a comma line."""
    items = [orjson.dumps(v, option=orjson.OPT_INDENT_2) for v in values]
    return b"[" + b"\n,\r\n".join(items) + b"]"


def test_json_array_elements_arrive_as_soon_as_they_close():
    body = pretty_array(TRICKY)
    # Where each element's closing brace is, computed from the pieces pretty_array joins.
    closing, offset = [], 1
    for value in TRICKY:
        offset += len(orjson.dumps(value, option=orjson.OPT_INDENT_2))
        closing.append(offset - 1)
        offset += len(b"\n,\r\n")
    parser, seen = JSONArrayParser(), []
    for i in range(len(body)):
        seen += [(i, value) for value in parser.feed(body[i : i + 1])]
    assert seen == list(zip(closing, TRICKY))
    assert parser.close() == []


def test_json_array_split_at_every_byte_boundary():
    body = pretty_array(TRICKY)
    for cut in range(len(body) + 1):
        assert feed_all(JSONArrayParser(), [body[:cut], body[cut:]]) == TRICKY, cut


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"[]", []),
        (b" \n[ ]\n", []),
        (b"[1, 2.5, true, null, \"x]\"]", [1, 2.5, True, None, "x]"]),
        (b"[[1, [2]], {\"a\": [3]}]", [[1, [2]], {"a": [3]}]),
        (b"\xef\xbb\xbf[{}]", [{}]),
    ],
)
def test_json_array_shapes(body, expected):
    assert feed_all(JSONArrayParser(), [body]) == expected
    assert feed_all(JSONArrayParser(), [body[i : i + 1] for i in range(len(body))]) == expected


def test_json_array_truncated_keeps_elements_and_says_so():
    parser = JSONArrayParser()
    assert parser.feed(b'[{"a": 1},\n{"b": ') == [{"a": 1}]
    assert parser.close() == [] and parser.cut
    assert parser.warnings == ["the stream ends inside the JSON array (line 2): it was cut short"]


def test_json_array_bad_element_is_skipped_and_the_array_goes_on():
    parser = JSONArrayParser()
    assert parser.feed(b'[{"a": 1},\n{"b": tru},\n{"c": 3}') == [{"a": 1}, {"c": 3}]
    assert parser.feed(b"]") == []
    assert parser.close() == [] and not parser.cut
    assert parser.warnings == ["skipped invalid JSON array element: invalid literal, expected 'true' (line 2)"]


@pytest.mark.parametrize(
    ("body", "values", "message"),
    [
        (b'{"a": 1}', [], "not a JSON array"),
        (b'x[{"a": 1}]', [], "not a JSON array"),
        (b'[{"a": 1} {"b": 2}]', [{"a": 1}, {"b": 2}], "expected ','"),
        (b'[{"a": 1} x, {"b": 2}]', [{"a": 1}, {"b": 2}], "expected ','"),
        (b'[{"a": 1}] {}', [{"a": 1}], "text after the JSON array"),
        (b"[1] x", [1], "text after the JSON array"),
    ],
)
def test_json_array_malformed(body, values, message):
    parser = JSONArrayParser()
    assert feed_all(parser, [body]) == values
    assert len(parser.warnings) == 1 and message in parser.warnings[0]


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.dictionaries(st.text(alphabet='ab"\\[]{},é', max_size=6),
                                       st.text(alphabet='ab"\\[]{},🦊', max_size=8), max_size=3), max_size=6),
       cuts=st.lists(st.integers(0, 400), max_size=8))
def test_json_array_chunking_does_not_matter(values, cuts):
    body = pretty_array(values)
    assert feed_all(JSONArrayParser(), split_at(body, cuts)) == values


# --- sniff and iter_events ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (b"data: [DONE]\n\n", "sse"),
        (b"event: message_start\n", "sse"),
        (b": OPENROUTER PROCESSING\n\n", "sse"),
        (b"id: 1\n", "sse"),
        (b"retry: 100\n", "sse"),
        (b"\xef\xbb\xbf\r\n  data: x", "sse"),
        (b"[{\n  \"candidates\"", "json-array"),
        (b'{"model":"llama3","done":false}\n{"model":"llama3",', "ndjson"),
        (b'{"a":1}\r\n\r\n{"a":2}\r\n', "ndjson"),
        (b'{\n  "id": "chatcmpl-1",\n  "object": "chat.completion"\n}\n', "json"),
        (b'{"id": "x"}', "json"),
        (b'{"id": "x"}\n\n', "json"),
        (b'{"id": "x", "tex', "json"),
        (b"", "json"),
        (b"\xff garbage", "json"),
        (b"\x00\xff garbage", "eventstream"),  # a NUL first: only AWS's binary frames start so
    ],
)
def test_sniff(head, kind):
    assert sniff(head) == kind


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'{"done": false}\n', True),  # one-line JSON or the first NDJSON record: wait
        (b'{"done": fal', True),
        (b'{"done": false}\n{"d', False),
        (b"{\n", False),
        (b"data: x", False),
        (b"[", False),
    ],
)
def test_needs_more(head, expected):
    assert needs_more(head) is expected


def test_iter_events_each_kind():
    assert iter_events(b"data: 1\n\ndata: 2") == ("sse", [SSEEvent("1"), SSEEvent("2")])
    assert iter_events(b'{"a": 1}\n{"a": 2}\n') == ("ndjson", [{"a": 1}, {"a": 2}])
    assert iter_events(b'[{"a": 1},\n{"a": 2}]') == ("json-array", [{"a": 1}, {"a": 2}])
    assert iter_events(b'\xef\xbb\xbf{\n  "a": 1\n}\n') == ("json", [{"a": 1}])
    assert iter_events(b'"just a string"') == ("json", ["just a string"])


def test_iter_events_truncated_array_keeps_elements():
    assert iter_events(b'[{"a": 1},\n{"a": 2},\n{"a"') == ("json-array", [{"a": 1}, {"a": 2}])


def test_iter_events_bad_ndjson_line_keeps_values_around_it():
    assert iter_events(b'{"a": 1}\n{"a": 2}\n{"a": \n{"a": 4}\n') == ("ndjson", [{"a": 1}, {"a": 2}, {"a": 4}])


@pytest.mark.parametrize(
    ("body", "error", "text"),
    [
        (b"", StreamSyntaxError, "empty input"),
        (b" \n\t", StreamSyntaxError, "empty input"),
        (b'{"a": "b', StreamSyntaxError, "invalid JSON"),
        (b'{"a": "\xc3\x28"}', InputDecodeError, "invalid UTF-8 at byte 7"),  # one JSON value: no stream to go on
        (b"\x00\x01\x02", StreamSyntaxError, "nor an event stream"),
    ],
)
def test_iter_events_errors_are_input_errors(body, error, text):
    with pytest.raises(error, match=text) as info:
        iter_events(body)
    assert info.value.exit_code == ExitCode.INPUT


# --- the provider corpus --------------------------------------------------------------------------------------------

CORPUS_FILES = sorted(p for p in CORPUS.glob("*/*") if p.suffix in {".sse", ".ndjson", ".json"})


@pytest.mark.skipif(not CORPUS_FILES, reason="../shared/provider-corpus is not present")
@pytest.mark.parametrize("size", [1, 7, 4096])
def test_corpus_chunked_equals_whole(size):
    for path in CORPUS_FILES:
        body = path.read_bytes()
        kind, whole = iter_events(body)
        assert kind == {".sse": "sse", ".ndjson": "ndjson"}.get(path.suffix, kind), path
        assert whole, path
        if kind != "json" and (size > 1 or len(body) < 16_384):  # byte-at-a-time on the small files only
            chunks = [body[i : i + size] for i in range(0, len(body), size)]
            assert feed_all(PARSERS[kind](), chunks) == whole, path
        if kind == "sse":
            assert whole == reference_sse(body.decode()), path


# --- collect: a whole body, past its faults ------------------------------------------------------------------------


def test_collect_ndjson_cut_inside_its_last_line_keeps_every_line_before():
    # issue 9 defect 7: `feed() + close()` lost feed's values when close raised on the cut line
    got = collect(NDJSONParser(), b'{"a": 1}\n{"a": 2}\n{"a": 3, "b"')
    assert got.items == [{"a": 1}, {"a": 2}] and got.cut
    assert got.warnings == ["the stream ends inside line 3: it was cut short"]


def test_collect_skips_a_bad_ndjson_line_and_goes_on():
    got = collect(NDJSONParser(), b'{"a": 1}\n{"a": \n{"a": 3}\nnope\n{"a": 5}\n')
    assert got.items == [{"a": 1}, {"a": 3}, {"a": 5}] and not got.cut
    assert [w.split(":")[0] for w in got.warnings] == ["line 2 skipped", "line 4 skipped"]


def test_collect_skips_a_bad_array_element_and_goes_on():
    got = collect(JSONArrayParser(), b'[{"a": 1}, {"a": }, {"a": 3}]')
    assert got.items == [{"a": 1}, {"a": 3}] and not got.cut and len(got.warnings) == 1


def test_collect_array_cut_short():
    got = collect(JSONArrayParser(), b'[{"a": 1}, {"a": 2}, {"a"')
    assert got.items == [{"a": 1}, {"a": 2}] and got.cut


def test_collect_reports_invalid_utf8_first():
    got = collect(SSEParser(), b"data: {\"a\": 1}\n\ndata: {\"b\": \"\xff\"}\n\n")
    assert [e.data for e in got.items] == ['{"a": 1}', '{"b": "\ufffd"}']
    assert got.warnings == ["invalid UTF-8 at byte 29, replaced with U+FFFD"]


def test_collect_bounds_its_warnings():
    got = collect(NDJSONParser(), b"x\n" * 50 + b'{"a": 1}\n')
    assert got.items == [{"a": 1}] and len(got.warnings) == 21
    assert got.warnings[-1] == "… and 30 more item(s) skipped"


@pytest.mark.parametrize("end", [b"\n", b"\r\n", b"\r"])
def test_ndjson_lines_may_end_with_lf_crlf_or_cr(end):
    body = b'{"a": 1}' + end + b'{"a": 2}' + end + b'{"a": 3}' + end
    assert sniff(body) == "ndjson"
    for size in (1, 2, 5, len(body)):
        parser = NDJSONParser()
        values = [v for i in range(0, len(body), size) for v in parser.feed(body[i : i + size])] + parser.close()
        assert values == [{"a": 1}, {"a": 2}, {"a": 3}], size


@pytest.mark.parametrize("head", [b"", b"\n", b"  \r\n", b"\xef", b"\xef\xbb", b"\xef\xbb\xbf", b"d", b"da", b"dat",
                                  b"data", b"\n\nev", b"even", b"i", b"id", b"re", b"retr", b"\xef\xbb\xbfdat"])
def test_needs_more_while_the_head_may_still_become_sse(head):
    # fuzz finding F14: a first network read of b"da" was sniffed as a JSON body, and the whole stream with it
    assert needs_more(head)


def test_a_stream_whose_first_read_is_two_bytes_is_still_sse():
    head = b"da"
    assert needs_more(head) and sniff(head + b'ta: {"a": 1}\n\n') == "sse"


@pytest.mark.parametrize("head", [b"data:", b"data: {", b": ping", b"x", b"[", b"hello", b"datum"])
def test_needs_no_more_once_the_kind_is_settled(head):
    assert not needs_more(head)


def test_json_array_string_scan_is_flat_in_memory():
    # fuzz finding F21: the string-skipping regular expression used memory in proportion to the escapes of a string
    import tracemalloc

    body = b'[{"a": "' + b'x\\"y\\\\' * 60_000 + b'"}, {"b": 2}]'
    tracemalloc.start()
    parser = JSONArrayParser()
    values = parser.feed(body) + parser.close()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert values == [{"a": 'x"y\\' * 60_000}, {"b": 2}]
    assert peak < 20 * len(body)  # orjson reserves ~12x what it parses; the regex alone used 8 MiB here
