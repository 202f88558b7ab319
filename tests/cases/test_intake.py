from __future__ import annotations

import codecs
import dataclasses
import io
import json
import zipfile
from collections.abc import Sequence

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]  # openpyxl ships no type information

from cases import item_lists, link_identity
from cases.item_lists import (
    MAX_NOTE_LENGTH,
    MAX_ROWS,
    Intake,
    IntakeFileError,
    clean_note,
    parse_csv,
    parse_text,
    parse_upload,
    parse_xlsx,
)
from cases.link_identity import KINDS, MAX_TARGET_LENGTH, Normalised, TargetError, normalise_target

Row = Sequence[object]


def make_xlsx(rows: Sequence[Row], *, as_text: bool = True) -> bytes:
    """An XLSX in memory; strings go in as text cells unless as_text is False (then '=...' is a formula)."""
    workbook = Workbook()
    sheet = workbook.active
    for row_number, row in enumerate(rows, start=1):
        for column_number, value in enumerate(row, start=1):
            if value is None:
                continue
            cell = sheet.cell(row=row_number, column=column_number, value=value)
            if as_text and isinstance(value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def rejected_codes(result: Intake) -> list[tuple[int, str]]:
    return [(row.line, row.code) for row in result.rejected]


# --- Normalising one target -------------------------------------------------------------------


@pytest.mark.parametrize(
    "spelling",
    [
        "t.me/Example_Channel",
        "https://t.me/example_channel",
        "http://t.me/example_channel/",
        "HTTPS://T.ME/EXAMPLE_CHANNEL",
        "https://www.t.me/example_channel",
        "https://telegram.me/example_channel",
        "https://www.telegram.me/Example_Channel",
        "telegram.dog/example_channel",
        "https://t.me/s/example_channel",
        "https://telegram.me/s/Example_Channel/",
        "https://t.me:443/example_channel",
        "https://t.me/example_channel?utm_source=whatsapp&utm_medium=share",
        "https://t.me/example_channel#latest",
        "//t.me/example_channel",
        "@example_channel",
        "@Example_Channel",
        "tg://resolve?domain=example_channel",
        "tg:resolve?domain=Example_Channel",
        "  https://t.me/example_channel  ",
        "\u200bhttps://t.me/example_channel\u200b",
        "\u3000t.me/example_channel\u00a0",
    ],
)
def test_telegram_spellings_of_one_channel_share_a_key(spelling: str) -> None:
    normalised = normalise_target(spelling)
    assert normalised.key == "t.me/example_channel"
    assert normalised.kind == "channel"


@pytest.mark.parametrize(
    ("target", "key", "kind"),
    [
        ("t.me/+AbCdEf123", "t.me/+AbCdEf123", "group"),
        ("https://t.me/joinchat/AbCdEf123", "t.me/+AbCdEf123", "group"),
        ("https://telegram.me/joinchat/AbCdEf123/", "t.me/+AbCdEf123", "group"),
        ("tg://join?invite=AbCdEf123", "t.me/+AbCdEf123", "group"),
        ("t.me/+6281234567890", "t.me/+6281234567890", "account"),
        ("https://t.me/Example_Channel/123", "t.me/example_channel/123", "message"),
        ("https://t.me/s/Example_Channel/123", "t.me/example_channel/123", "message"),
        ("tg://resolve?domain=Example_Channel&post=123", "t.me/example_channel/123", "message"),
        ("https://t.me/c/1234567890/789", "t.me/c/1234567890/789", "message"),
        ("https://t.me/C/1234567890/789", "t.me/c/1234567890/789", "message"),
        ("tg://privatepost?channel=1234567890&post=789", "t.me/c/1234567890/789", "message"),
        ("https://t.me/c/1234567890", "t.me/c/1234567890", "channel"),
        # ?single only changes how Telegram shows a post (issue 11): the same message.
        ("https://t.me/Example_Channel/123?single", "t.me/example_channel/123", "message"),
        ("https://t.me/addstickers/SomePack", "t.me/addstickers/SomePack", "other"),
    ],
)
def test_telegram_links_get_their_kind_and_key(target: str, key: str, kind: str) -> None:
    assert normalise_target(target) == Normalised(key=key, kind=kind, target=target)


def test_invite_hashes_keep_their_case() -> None:
    assert normalise_target("t.me/+AbC12345").key != normalise_target("t.me/+abc12345").key
    assert normalise_target("t.me/joinchat/AbC12345").key == normalise_target("t.me/+AbC12345").key


def test_channel_names_ignore_case_but_message_numbers_are_kept() -> None:
    assert normalise_target("t.me/Foo_Bar/5").key == normalise_target("t.me/foo_bar/5").key
    assert normalise_target("t.me/foo_bar/5").key != normalise_target("t.me/foo_bar/6").key
    assert normalise_target("t.me/foo_bar/5").key != normalise_target("t.me/foo_bar").key


@pytest.mark.parametrize("handle", ["@abcde", "@" + "a" * 32, "@under_score_1", "@a1234"])
def test_handles_of_5_to_32_word_characters_are_telegram_channels(handle: str) -> None:
    normalised = normalise_target(handle)
    assert normalised.key == "t.me/" + handle[1:].lower()
    assert normalised.kind == "channel"
    assert normalised.target == handle


@pytest.mark.parametrize(
    ("handle", "code"),
    [("@", "not_a_target"), ("@abcd", "bad_username"), ("@" + "a" * 33, "bad_username"),
     ("@12345", "bad_username"), ("@foo-bar", "not_a_target"), ("@foo.bar", "not_a_target"),
     ("@foo bar", "not_a_target"), ("@SUM(A1)", "not_a_target"), ("@@foobar", "not_a_target")],
)
def test_malformed_handles_are_not_targets(handle: str, code: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(handle)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("target", "code"),
    [
        ("tg://resolve?domain=abc", "bad_username"),
        ("tg://resolve", "not_a_target"),
        ("tg://resolve?domain=example_channel&post=abc", "not_a_target"),
        ("tg://join", "bad_invite"),
        ("tg://privatepost?channel=abc&post=1", "not_a_target"),
        ("tg://settings", "telegram_function"),
        ("tg://msg_url?url=https://evil.example", "telegram_function"),
        ("tg://join?invite=\u00c4bc", "bad_invite"),
    ],
)
def test_telegram_app_links_we_cannot_place_are_not_targets(target: str, code: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(target)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["https://example.com/Path", "http://example.com/Path", "example.com/Path", "//example.com/Path"],
         "example.com/Path"),
        (["https://EXAMPLE.COM/a", "https://Example.Com./a"], "example.com/a"),
        (["https://www.example.com/a", "https://m.example.com/a", "https://www.m.example.com/a"], "example.com/a"),
        (["http://example.com:80/a", "https://example.com:443/a", "example.com:443/a"], "example.com/a"),
        (["https://example.com/a/", "https://example.com/a///", "https://example.com//a"], "example.com/a"),
        (["https://example.com/a#comments", "https://example.com/a#"], "example.com/a"),
        (["https://example.com/x/./y", "https://example.com/x/z/../y"], "example.com/x/y"),
        (["https://example.com/%7euser", "https://example.com/~user"], "example.com/~user"),
        (["https://example.com/caf%c3%a9", "https://example.com/café"], "example.com/caf%C3%A9"),
        (["https://münchen.example/a", "https://xn--mnchen-3ya.example/a", "https://MÜNCHEN.example/a"],
         "xn--mnchen-3ya.example/a"),
        (["https://example.com", "https://example.com/", "www.example.com", "example.com?"], "example.com"),
        (["https://example.com:8080/a", "example.com:8080/a/"], "example.com:8080/a"),
        (["https://user@example.com/a", "https://example.com/a"], "example.com/a"),
        (["https://93.184.216.34/a", "93.184.216.34/a"], "93.184.216.34/a"),
    ],
)
def test_spellings_of_one_web_address_share_a_key(spellings: list[str], key: str) -> None:
    assert {normalise_target(spelling).key for spelling in spellings} == {key}


# igshid, si, ref and ref_src are tracking only on the hosts that add them (issue 11): see test_link_identity.
@pytest.mark.parametrize(
    "parameter",
    ["utm_source=x", "utm_medium=y", "UTM_Campaign=z", "fbclid=IwAR0", "gclid=abc", "mc_cid=1", "mc_eid=2",
     "yclid=3", "_ga=2.1"],
)
def test_tracking_parameters_are_dropped_from_the_key(parameter: str) -> None:
    assert normalise_target(f"https://example.com/watch?v=abc&{parameter}").key == "example.com/watch?v=abc"
    assert normalise_target(f"https://example.com/a?{parameter}").key == "example.com/a"


def test_remaining_query_parameters_are_sorted_and_kept() -> None:
    first = normalise_target("https://example.com/profile.php?id=100&sk=photos")
    second = normalise_target("https://example.com/profile.php?sk=photos&id=100&utm_source=share")
    assert first.key == second.key == "example.com/profile.php?id=100&sk=photos"
    assert normalise_target("https://example.com/profile.php?id=101").key != first.key


def test_paths_keep_their_case_outside_telegram() -> None:
    assert normalise_target("https://example.com/Video/AbC").key == "example.com/Video/AbC"
    assert normalise_target("https://example.com/abc").key != normalise_target("https://example.com/ABC").key


@pytest.mark.parametrize(
    ("target", "kind"),
    [
        ("https://example.com", "other"),
        ("https://example.com/someone", "account"),
        ("https://example.com/someone/status/123", "post"),
        ("https://example.com/a/b", "post"),
        ("https://example.com/uploads/photo.jpg", "file"),
        ("https://example.com/photo.PNG", "file"),
        ("https://example.com/v/clip.mp4?download=1", "file"),
        ("https://example.com/docs/manifesto.pdf", "file"),
        ("https://files.example.com/archive.zip", "file"),
        ("https://example.com/page.html", "account"),
    ],
)
def test_kind_is_guessed_from_the_path_outside_telegram(target: str, kind: str) -> None:
    assert normalise_target(target).kind == kind
    assert kind in KINDS


def test_target_is_kept_as_given_apart_from_surrounding_whitespace() -> None:
    normalised = normalise_target("  \tHTTPS://Example.com/A?utm_source=x#f \n")
    assert normalised.target == "HTTPS://Example.com/A?utm_source=x#f"
    assert normalised.key == "example.com/A"


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "ftp://example.com/file",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "mailto:someone@example.com",
        "ws://example.com/socket",
        "sms:+6281234567890",
        "viber://chat?number=123",
    ],
)
def test_other_schemes_are_refused(target: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(target)
    assert caught.value.code == "unsupported_scheme"


@pytest.mark.parametrize(
    "target",
    [
        "=cmd|' /C calc'!A0",
        "=HYPERLINK(\"https://evil.example\")",
        "+1+2",
        "-2+3",
        "@SUM(A1)",
        "hello world",
        "https://exa mple.com/a",
        "example",
        "localhost",
        "localhost:8080",
        "12345",
        "1.5",
        "/relative/path",
        "https://",
        "https:///no-host",
        "https:example.com",
        "http://-bad-.example/",
        "http://exa..mple.com/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://[::1/",
        "https://example.123/",
        "example.com/a\x00b",
    ],
)
def test_things_that_are_not_links_or_handles_are_refused(target: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(target)
    assert caught.value.code == "not_a_target"
    assert str(caught.value.message)


@pytest.mark.parametrize("target", ["", "   ", "\t", "\u200b"])
def test_empty_target_is_refused(target: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(target)
    assert caught.value.code == "empty"


def test_target_longer_than_the_limit_is_refused_and_the_limit_itself_is_fine() -> None:
    base = "https://example.com/"
    assert normalise_target(base + "a" * (MAX_TARGET_LENGTH - len(base))).kind == "account"
    with pytest.raises(TargetError) as caught:
        normalise_target(base + "a" * (MAX_TARGET_LENGTH - len(base) + 1))
    assert caught.value.code == "too_long"
    assert str(MAX_TARGET_LENGTH) in str(caught.value.message)


def test_keys_made_long_by_percent_encoding_are_capped_but_still_tell_targets_apart() -> None:
    cyrillic = "https://example.com/" + "\u0436" * 1500
    key = normalise_target(cyrillic).key
    assert len(key) == link_identity.MAX_KEY_LENGTH
    assert key.isascii()
    assert key.startswith("example.com/%D0%B6%D0%B6")
    assert normalise_target(cyrillic.replace("https://", "http://www.")).key == key
    assert normalise_target(cyrillic + "\u0437").key != key


@pytest.mark.parametrize(
    "target",
    ["https://m\u00fcnchen.example/\u00e4?q=\u00e9", "https://t.\u043c\u0435/\u043a\u0430\u043d\u0430\u043b",
     "https://\uff54.\uff4d\uff45/example_channel",
     "https://example.com/a|b^c`d{e}", "http://[2001:DB8::1]/x"],
)
def test_keys_are_ascii(target: str) -> None:
    assert normalise_target(target).key.isascii()


def test_target_error_is_a_value_error_with_a_readable_message() -> None:
    with pytest.raises(ValueError, match="not a web link"):
        normalise_target("nothing")


# --- Notes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "note"),
    [
        ("  spam channel \n", "spam channel"),
        ("=1+1", "'=1+1"),
        ("+62 812 3456", "'+62 812 3456"),
        ("-5 members", "'-5 members"),
        ("@admin said", "'@admin said"),
        ("  =cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("a = b", "a = b"),
        ("", ""),
    ],
)
def test_notes_are_stripped_and_formulas_neutralised(raw: str, note: str) -> None:
    assert clean_note(raw) == note


def test_notes_are_cut_to_the_limit_including_the_formula_quote() -> None:
    assert clean_note("x" * 5000) == "x" * MAX_NOTE_LENGTH
    assert clean_note("=" + "x" * 5000) == "'=" + "x" * (MAX_NOTE_LENGTH - 2)


# --- Pasted lists -----------------------------------------------------------------------------


def test_mixed_pasted_list_reports_good_bad_and_duplicate_rows_by_line() -> None:
    text = (
        "https://t.me/Example_Channel\tcalls for violence\n"  # 1
        "\n"  # 2: blank, ignored
        "@example_channel, same channel again\n"  # 3: duplicate of 1
        "javascript:alert(1)\n"  # 4
        "https://www.example.com/post/1?utm_source=x, =SUM(A1)\n"  # 5
        "   \n"  # 6: blank
        "not a link\n"  # 7
        ",a note without a target\n"  # 8
        "example.com/post/1\n"  # 9: duplicate of 5
        "t.me/+InviteHash\n"  # 10
    )
    result = parse_text(text)

    assert [(row.line, row.key, row.kind, row.note) for row in result.accepted] == [
        (1, "t.me/example_channel", "channel", "calls for violence"),
        (5, "example.com/post/1", "post", "'=SUM(A1)"),
        (10, "t.me/+InviteHash", "group", ""),
    ]
    assert rejected_codes(result) == [(4, "unsupported_scheme"), (7, "not_a_target"), (8, "empty")]
    assert [(row.line, row.first_line, row.target) for row in result.duplicates] == [
        (3, 1, "@example_channel"),
        (9, 5, "example.com/post/1"),
    ]
    assert result.keys == ["t.me/example_channel", "example.com/post/1", "t.me/+InviteHash"]


def test_rejected_rows_show_what_was_given_and_why() -> None:
    rejected = parse_text("javascript:alert(1)\n").rejected[0]
    assert rejected.raw == "javascript:alert(1)"
    assert rejected.reason == "Only web (http, https) and Telegram links are accepted."


def test_rejected_raw_text_is_shortened_for_display() -> None:
    rejected = parse_text("https://example.com/" + "a" * 5000).rejected[0]
    assert rejected.code == "too_long"
    assert len(rejected.raw) <= item_lists.MAX_RAW_DISPLAY


def test_intake_can_be_kept_as_json_between_preview_and_confirmation() -> None:
    result = parse_text("t.me/example_channel\nnonsense\n@example_channel\n")
    restored = json.loads(json.dumps(dataclasses.asdict(result)))
    assert restored["rejected"][0]["reason"] == "This is not a web link or an @handle."
    assert restored["duplicates"][0]["first_line"] == 1


@pytest.mark.parametrize(
    ("line", "target", "note"),
    [
        ("t.me/example_channel\tnote, with a comma", "t.me/example_channel", "note, with a comma"),
        ("t.me/example_channel,note", "t.me/example_channel", "note"),
        ("t.me/example_channel , note ", "t.me/example_channel", "note"),
        ("https://example.com/a?x=1\tnote", "https://example.com/a?x=1", "note"),
        ("t.me/example_channel", "t.me/example_channel", ""),
    ],
)
def test_pasted_note_follows_a_tab_or_else_the_first_comma(line: str, target: str, note: str) -> None:
    [row] = parse_text(line).accepted
    assert (row.target, row.note) == (target, note)


def test_pasted_lines_count_across_windows_and_old_mac_line_endings() -> None:
    result = parse_text("\ufeffnonsense\r\n\r\nt.me/example_channel\rnonsense")
    assert [row.line for row in result.accepted] == [3]
    assert [row.line for row in result.rejected] == [1, 4]


def test_empty_paste_gives_an_empty_intake() -> None:
    assert parse_text("\n \n\t\n") == Intake()


# --- CSV --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["target,note", "url,notes", "URL,Comment", "link,keterangan", "Handle,Catatan", "No,URL,Keterangan"],
)
def test_csv_header_is_recognised_and_skipped(header: str) -> None:
    numbered = header.startswith("No,")
    rows = ["1,t.me/example_channel,first", "2,nonsense,second"] if numbered else [
        "t.me/example_channel,first", "nonsense,second"]
    result = parse_csv("\n".join([header, *rows]).encode())
    assert [(row.line, row.target, row.note) for row in result.accepted] == [(2, "t.me/example_channel", "first")]
    assert rejected_codes(result) == [(3, "not_a_target")]


def test_csv_without_header_takes_target_then_note() -> None:
    result = parse_csv(b"t.me/example_channel,first\nhttps://example.com/a,second,ignored\n")
    assert [(row.line, row.key, row.note) for row in result.accepted] == [
        (1, "t.me/example_channel", "first"),
        (2, "example.com/a", "second"),
    ]


def test_csv_note_that_mentions_a_link_does_not_make_a_header() -> None:
    result = parse_csv(b"t.me/example_channel,link to propaganda\n")
    assert [(row.line, row.note) for row in result.accepted] == [(1, "link to propaganda")]


def test_csv_header_columns_may_be_in_any_order() -> None:
    result = parse_csv(b"Keterangan,Platform,Link\nspam,Telegram,t.me/example_channel\n")
    assert [(row.target, row.note) for row in result.accepted] == [("t.me/example_channel", "spam")]


def test_csv_title_rows_above_the_header_are_skipped() -> None:
    data = "LAMPIRAN SURAT NOMOR 123/2025\nDaftar link\n\nNo;Link Akun;Keterangan\n1;@example_channel;hoaks\n"
    result = parse_csv(data.encode())
    assert [(row.line, row.key, row.note) for row in result.accepted] == [(5, "t.me/example_channel", "hoaks")]
    assert result.rejected == []


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_csv_delimiter_is_sniffed(delimiter: str) -> None:
    data = delimiter.join(["url", "note"]) + "\n" + delimiter.join(["t.me/example_channel", "spam, scam"]) + "\n"
    if delimiter == ",":
        data = 'url,note\nt.me/example_channel,"spam, scam"\n'
    [row] = parse_csv(data.encode()).accepted
    assert (row.key, row.note) == ("t.me/example_channel", "spam, scam")


def test_csv_with_semicolons_and_no_header_keeps_commas_in_notes() -> None:
    data = b"t.me/example_channel;spam, scam\nhttps://example.com/a?ids=1,2;other\n"
    result = parse_csv(data)
    assert [(row.key, row.note) for row in result.accepted] == [
        ("t.me/example_channel", "spam, scam"),
        ("example.com/a?ids=1,2", "other"),
    ]


def test_csv_with_utf8_bom_reads_the_header() -> None:
    data = codecs.BOM_UTF8 + "url;catatan\nt.me/example_channel;ujaran kebencian é\n".encode()
    [row] = parse_csv(data).accepted
    assert (row.line, row.note) == (2, "ujaran kebencian é")


def test_csv_in_cp1252_is_read() -> None:
    data = "url;note\nhttps://example.com/caf\u00e9;\u201cquoted\u201d r\u00e9sum\u00e9 \u20ac5\n".encode("cp1252")
    [row] = parse_csv(data).accepted
    assert row.note == "\u201cquoted\u201d r\u00e9sum\u00e9 \u20ac5"
    assert row.key == "example.com/caf%C3%A9"


def test_csv_in_utf16_from_excel_unicode_text_is_read() -> None:
    data = "url\tnote\r\nt.me/example_channel\tspam\r\n".encode("utf-16")
    [row] = parse_csv(data).accepted
    assert (row.key, row.note) == ("t.me/example_channel", "spam")


def test_csv_empty_target_cell_beside_other_content_is_rejected_and_blank_rows_skipped() -> None:
    data = b"url,note\nt.me/example_channel,a\n,,\n\n,orphan note\nt.me/other_channel,b\n"
    result = parse_csv(data)
    assert [row.line for row in result.accepted] == [2, 6]
    assert rejected_codes(result) == [(5, "empty")]
    assert result.rejected[0].raw == "orphan note"


def test_csv_formula_cells_are_refused_as_targets_and_neutralised_as_notes() -> None:
    data = b"url,note\n=cmd|' /C calc'!A0,x\n+1+2,y\n-2+3,z\n@SUM(A1),w\nt.me/example_channel,=HYPERLINK(\"x\")\n"
    result = parse_csv(data)
    assert rejected_codes(result) == [(2, "not_a_target"), (3, "not_a_target"), (4, "not_a_target"),
                                      (5, "not_a_target")]
    assert [row.note for row in result.accepted] == ["'=HYPERLINK(\"x\")"]


def test_csv_quoted_cell_with_a_newline_is_one_row() -> None:
    result = parse_csv(b'url,note\nt.me/example_channel,"two\nlines"\nnonsense,x\n')
    assert result.accepted[0].note == "two\nlines"
    assert rejected_codes(result) == [(3, "not_a_target")]


@pytest.mark.parametrize("data", [b"url,note\n", b"", b"\n\n"])
def test_csv_without_rows_gives_an_empty_intake(data: bytes) -> None:
    assert parse_csv(data) == Intake()


def test_binary_file_named_csv_is_refused() -> None:
    with pytest.raises(IntakeFileError) as caught:
        parse_csv(make_xlsx([["url"], ["t.me/example_channel"]]))
    assert caught.value.code == "unreadable"


# --- XLSX -------------------------------------------------------------------------------------


def test_xlsx_with_header_is_read_from_the_first_sheet() -> None:
    data = make_xlsx([
        ["No", "URL", "Keterangan"],
        [1, "https://t.me/s/Example_Channel", "propaganda"],
        [2, "=cmd|' /C calc'!A0", "formula injection"],
        [3, 12345, "a number"],
        [4, "https://example.com/a", "=1+1"],
        [5, "@example_channel", "dup"],
        [6, None, "missing target"],
        [None, None, None],
        [8, 1.5, 42],
    ])
    result = parse_xlsx(data)
    assert [(row.line, row.key, row.kind, row.note) for row in result.accepted] == [
        (2, "t.me/example_channel", "channel", "propaganda"),
        (5, "example.com/a", "account", "'=1+1"),
    ]
    assert rejected_codes(result) == [(3, "not_a_target"), (4, "not_a_target"), (7, "empty"),
                                      (9, "not_a_target")]
    assert [row.raw for row in result.rejected] == ["=cmd|' /C calc'!A0", "12345", "6 | missing target", "1.5"]
    assert [(row.line, row.first_line) for row in result.duplicates] == [(6, 2)]


def test_xlsx_without_header_takes_target_then_note_and_numeric_notes_become_text() -> None:
    result = parse_xlsx(make_xlsx([["t.me/example_channel", 42], ["https://example.com/a", 2.5]]))
    assert [(row.line, row.note) for row in result.accepted] == [(1, "42"), (2, "2.5")]


def test_xlsx_formula_cell_is_read_by_its_cached_value_never_its_text() -> None:
    # openpyxl writes formulas without a cached value, as a sheet never opened in Excel would be.
    data = make_xlsx([["url", "note"], ["=HYPERLINK(\"https://evil.example\")", "x"],
                      ["t.me/example_channel", "=1+1"]], as_text=False)
    result = parse_xlsx(data)
    assert rejected_codes(result) == [(2, "empty")]
    assert [(row.line, row.note) for row in result.accepted] == [(3, "")]


def test_xlsx_reads_only_the_first_sheet() -> None:
    workbook = Workbook()
    workbook.active.append(["t.me/example_channel"])
    workbook.create_sheet("Other").append(["t.me/other_channel"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    assert parse_xlsx(buffer.getvalue()).keys == ["t.me/example_channel"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a spreadsheet at all",
        b"PK\x03\x04 truncated zip",
        make_xlsx([["t.me/example_channel"]])[:400],
    ],
)
def test_corrupt_xlsx_is_refused(data: bytes) -> None:
    with pytest.raises(IntakeFileError) as caught:
        parse_xlsx(data)
    assert caught.value.code == "unreadable"


def test_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    with pytest.raises(IntakeFileError):
        parse_xlsx(buffer.getvalue())


def test_xlsx_that_inflates_beyond_the_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_lists, "MAX_XLSX_UNCOMPRESSED_BYTES", 1000)
    with pytest.raises(IntakeFileError):
        parse_xlsx(make_xlsx([["t.me/example_channel"]]))


# --- Uploads ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("list.csv", b"url\nt.me/example_channel\n"),
        ("LIST.CSV", b"t.me/example_channel\n"),
        ("C:\\Users\\me\\list.txt", b"t.me/example_channel\tnote\n"),
        ("list.xlsx", make_xlsx([["url"], ["t.me/example_channel"]])),
        ("Daftar.2025.XLSX", make_xlsx([["t.me/example_channel"]])),
    ],
)
def test_upload_is_dispatched_by_extension(name: str, data: bytes) -> None:
    assert parse_upload(name, data).keys == ["t.me/example_channel"]


@pytest.mark.parametrize("name", ["list.exe", "list.xls", "list.csv.exe", "list", "list.pdf", "csv", ".xlsx.zip"])
def test_upload_of_other_types_is_refused(name: str) -> None:
    with pytest.raises(IntakeFileError) as caught:
        parse_upload(name, b"MZ\x90\x00")
    assert caught.value.code == "unsupported_type"
    assert str(caught.value)


def test_corrupt_xlsx_upload_is_refused() -> None:
    with pytest.raises(IntakeFileError, match="could not be read"):
        parse_upload("list.xlsx", b"PK\x03\x04garbage")


def test_text_upload_is_read_like_a_paste() -> None:
    result = parse_upload("list.txt", "nonsense\n\n@example_channel, catatan\n".encode("utf-8-sig"))
    assert [(row.line, row.note) for row in result.accepted] == [(3, "catatan")]
    assert rejected_codes(result) == [(1, "not_a_target")]


# --- Size -------------------------------------------------------------------------------------


def ten_thousand_targets() -> list[str]:
    return [f"https://t.me/channel_{number:05d}" for number in range(10_000)]


def test_ten_thousand_rows_parse_from_text_csv_and_xlsx() -> None:
    targets = ten_thousand_targets()
    csv_data = ("url,note\n" + "".join(f"{target},note {i}\n" for i, target in enumerate(targets))).encode()
    xlsx_data = make_xlsx([["url", "note"], *([target, f"note {i}"] for i, target in enumerate(targets))])
    # Some duplicates in other spellings, to exercise the key index too.
    text = "\n".join(targets + ["@CHANNEL_00001", "telegram.me/s/channel_09999"])

    for result in (parse_csv(csv_data), parse_xlsx(xlsx_data)):
        assert len(result.accepted) == 10_000
        assert result.rejected == [] and result.duplicates == []
        assert result.accepted[-1].line == 10_001
        assert len(set(result.keys)) == 10_000
    from_text = parse_text(text)
    assert len(from_text.accepted) == 10_000
    assert [(row.line, row.first_line) for row in from_text.duplicates] == [(10_001, 2), (10_002, 10_000)]


def test_csv_with_exactly_max_rows_is_accepted_and_one_more_is_refused() -> None:
    rows = "".join(f"t.me/channel_{number:05d}\n" for number in range(MAX_ROWS))
    assert len(parse_csv(("url\n" + rows).encode()).accepted) == MAX_ROWS
    with pytest.raises(IntakeFileError) as caught:
        parse_upload("list.csv", ("url\n" + rows + "t.me/one_too_many\n").encode())
    assert caught.value.code == "too_many_rows"
    assert str(MAX_ROWS) in str(caught.value)


def test_rejected_rows_count_towards_the_row_limit() -> None:
    with pytest.raises(IntakeFileError):
        parse_csv(("nonsense\n" * (MAX_ROWS + 1)).encode())


@pytest.mark.parametrize("kind", ["text", "xlsx"])
def test_text_and_xlsx_beyond_the_row_limit_are_refused(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(item_lists, "MAX_ROWS", 5)
    targets = [f"t.me/channel_{number:05d}" for number in range(6)]
    with pytest.raises(IntakeFileError) as caught:
        if kind == "text":
            parse_text("\n\n".join(targets))
        else:
            parse_xlsx(make_xlsx([[target] for target in targets]))
    assert caught.value.code == "too_many_rows"
    assert len(parse_text("\n\n".join(targets[:5])).accepted) == 5
