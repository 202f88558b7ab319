"""A target's identity must be exact (issue 11, part 3): one key per channel, post or invite however it is
written, different targets never merged, what is not a target refused with its reason, and look-alike
hosts kept apart with a warning. Table-driven: each row is a link form seen in real lists and e-mails."""

from __future__ import annotations

import pytest

from cases.item_lists import parse_csv, parse_text
from cases.link_identity import TargetError, normalise_target

CHANNEL = "t.me/example_channel"
POST = "t.me/example_channel/123"
INVITE = "t.me/+AbCdEf123"
PRIVATE_POST = "t.me/c/1234567890/789"
LONG_NAME = "a" * 33

# input -> (key, kind)
ACCEPTED = [
    # One public channel, every way Telegram and people write it.
    ("t.me/example_channel", CHANNEL, "channel"),
    ("http://t.me/example_channel", CHANNEL, "channel"),
    ("https://t.me/Example_Channel", CHANNEL, "channel"),
    ("https://www.t.me/example_channel", CHANNEL, "channel"),
    ("https://m.t.me/example_channel", CHANNEL, "channel"),
    ("https://telegram.me/example_channel", CHANNEL, "channel"),
    ("https://telegram.dog/example_channel", CHANNEL, "channel"),
    ("https://t.me/s/example_channel", CHANNEL, "channel"),
    ("https://example_channel.t.me", CHANNEL, "channel"),
    ("http://Example_Channel.t.me/", CHANNEL, "channel"),
    ("https://t.me/example_channel?single", CHANNEL, "channel"),
    ("https://t.me/example_channel?start=promo", CHANNEL, "channel"),
    ("https://t.me/example_channel/", CHANNEL, "channel"),
    ("https://t.me/example_channel#latest", CHANNEL, "channel"),
    ("https://t.me:443/example_channel", CHANNEL, "channel"),
    ("https://t.me/example_channel?utm_source=whatsapp", CHANNEL, "channel"),
    ("https://t.me/boost/example_channel", CHANNEL, "channel"),
    ("@example_channel", CHANNEL, "channel"),
    ("tg://resolve?domain=example_channel", CHANNEL, "channel"),
    ("tg:resolve?domain=Example_Channel", CHANNEL, "channel"),
    ("https://\uff54.\uff4d\uff45/example_channel", CHANNEL, "channel"),  # full-width t.me is t.me
    # One post of it.
    ("https://t.me/example_channel/123", POST, "message"),
    ("https://t.me/example_channel/123?single", POST, "message"),
    ("https://t.me/s/example_channel/123", POST, "message"),
    ("https://example_channel.t.me/123", POST, "message"),
    ("tg://resolve?domain=example_channel&post=123", POST, "message"),
    ("https://t.me/example_channel/45/123", POST, "message"),  # /<thread>/<post>
    ("https://t.me/example_channel/123?thread=45&t=30", POST, "message"),
    ("https://t.me/example_channel/0123", POST, "message"),
    # A comment under the post is another message.
    ("https://t.me/example_channel/123?comment=7", POST + "?comment=7", "message"),
    ("tg://resolve?domain=example_channel&post=123&comment=7", POST + "?comment=7", "message"),
    ("tg://resolve?domain=example_channel&story=12", "t.me/example_channel/s/12", "post"),
    # Private channels by number.
    ("https://t.me/c/1234567890/789", PRIVATE_POST, "message"),
    ("https://t.me/C/1234567890/789", PRIVATE_POST, "message"),
    ("https://t.me/c/1234567890/12/789", PRIVATE_POST, "message"),
    ("tg://privatepost?channel=1234567890&post=789", PRIVATE_POST, "message"),
    ("https://t.me/c/1234567890", "t.me/c/1234567890", "channel"),
    ("https://t.me/boost?c=1234567890", "t.me/c/1234567890", "channel"),
    # Invites: the hash keeps its case.
    ("https://t.me/+AbCdEf123", INVITE, "group"),
    ("https://t.me/joinchat/AbCdEf123", INVITE, "group"),
    ("https://telegram.me/joinchat/AbCdEf123/", INVITE, "group"),
    ("tg://join?invite=AbCdEf123", INVITE, "group"),
    ("https://t.me/%2BAbCdEf123", INVITE, "group"),
    ("https://t.me/+abcdef123", "t.me/+abcdef123", "group"),
    ("https://t.me/+Ab-Cd_Ef", "t.me/+Ab-Cd_Ef", "group"),
    # Phone numbers, stories, sticker sets and other things that can be reported.
    ("https://t.me/+6281234567890", "t.me/+6281234567890", "account"),
    ("tg://resolve?phone=6281234567890", "t.me/+6281234567890", "account"),
    ("https://t.me/example_channel/s/12", "t.me/example_channel/s/12", "post"),
    ("https://t.me/addstickers/SomePack", "t.me/addstickers/SomePack", "other"),
    ("https://t.me/addemoji/SomeEmoji", "t.me/addemoji/SomeEmoji", "other"),
    ("https://t.me/addlist/AbCdEf", "t.me/addlist/AbCdEf", "other"),
    ("https://t.me/contact/AbCdEf", "t.me/contact/AbCdEf", "account"),
    ("https://t.me/examplebot/app", "t.me/examplebot/app", "other"),
    # Tracking parameters: the named ones go, on the hosts that add them; everything else stays.
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=AbC123", "youtube.com/watch?v=dQw4w9WgXcQ", "account"),
    ("https://youtu.be/dQw4w9WgXcQ?si=AbC123&feature=shared", "youtu.be/dQw4w9WgXcQ", "account"),
    ("https://m.youtube.com/watch?v=dQw4w9WgXcQ&t=42", "youtube.com/watch?t=42&v=dQw4w9WgXcQ", "account"),
    ("https://www.instagram.com/p/Cx1AbC/?igshid=MzRlODBiNWFlZA==", "instagram.com/p/Cx1AbC", "post"),
    ("https://www.instagram.com/reel/Cx1AbC/?igsh=abc", "instagram.com/reel/Cx1AbC", "post"),
    ("https://www.facebook.com/profile.php?id=100&fbclid=IwAR0&mibextid=ZbWKwL",
     "facebook.com/profile.php?id=100", "account"),
    ("https://example.com/post/1?fbclid=IwAR0&gclid=x&utm_source=tg&UTM_Medium=y", "example.com/post/1", "post"),
    ("https://example.com/post/1?ref=channel_a", "example.com/post/1?ref=channel_a", "post"),
    ("https://example.com/post/1?si=abc", "example.com/post/1?si=abc", "post"),
    ("https://example.com/post/1?igshid=abc", "example.com/post/1?igshid=abc", "post"),
    ("https://github.com/org/repo?ref=main", "github.com/org/repo?ref=main", "post"),
    ("https://x.com/someone/status/1?s=20&t=AbC", "x.com/someone/status/1", "post"),
    ("https://twitter.com/someone/status/1?ref_src=twsrc%5Etfw", "twitter.com/someone/status/1", "post"),
    ("https://www.tiktok.com/@someone/video/1?_r=1&_t=8abc&is_from_webapp=1",
     "tiktok.com/@someone/video/1?is_from_webapp=1", "post"),
    ("https://open.spotify.com/track/abc?si=xyz", "open.spotify.com/track/abc", "post"),
    # Hosts, ports, trailing slashes, fragments, percent-encoding.
    ("HTTPS://EXAMPLE.COM/a#comments", "example.com/a", "account"),
    ("https://example.com:8443/a/", "example.com:8443/a", "account"),
    ("https://example.com/caf%c3%a9", "example.com/caf%C3%A9", "account"),
    ("https://example.com/%7euser", "example.com/~user", "account"),
    ("https://m\u00fcnchen.example/a", "xn--mnchen-3ya.example/a", "account"),
    ("https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/", "xn--e1afmkfd.xn--p1ai", "other"),
    # Look-alike hosts are other sites: their own key (and a warning, below).
    ("https://t.\u043c\u0435/example_channel", "t.xn--e1an/example_channel", "account"),
    ("https://\u0430pple.com/login", "xn--pple-43d.com/login", "account"),
]

# input -> rejection code
REJECTED = [
    ("t.me/", "not_a_target"),
    ("https://t.me", "not_a_target"),
    ("https://t.me/iv?url=https://example.com/a&rhash=abc", "telegram_function"),
    ("https://t.me/share/url?url=https://example.com", "telegram_function"),
    ("https://t.me/proxy?server=1.2.3.4&port=443&secret=abc", "telegram_function"),
    ("https://t.me/login/12345", "telegram_function"),
    ("https://t.me/setlanguage/id", "telegram_function"),
    ("https://t.me/addstickers", "telegram_function"),
    ("https://t.me/boost", "telegram_function"),
    ("tg://resolve?domain=example_channel&post=abc", "not_a_target"),
    ("https://share.t.me/url", "telegram_function"),
    ("tg://settings", "telegram_function"),
    ("tg://msg_url?url=https://evil.example", "telegram_function"),
    ("t.me/abcd", "bad_username"),
    ("t.me/" + LONG_NAME, "bad_username"),
    ("t.me/\u043a\u0430\u043d\u0430\u043b_\u043d\u0430\u0448", "bad_username"),
    ("t.me/foo-bar_baz", "bad_username"),
    ("t.me/1channel", "bad_username"),
    ("t.me/channel_", "bad_username"),
    ("t.me/chan__nel", "bad_username"),
    ("https://abc.t.me", "bad_username"),
    ("@abcd", "bad_username"),
    ("@" + LONG_NAME, "bad_username"),
    ("tg://resolve?domain=abcd", "bad_username"),
    ("tg://resolve?domain=ex%2Dample", "bad_username"),
    ("https://t.me/joinchat/", "bad_invite"),
    ("https://t.me/+Ab$cd", "bad_invite"),
    ("tg://join?invite=\u00c4bc", "bad_invite"),
    ("https://t.me/c/abc/1", "not_a_target"),
    ("https://t.me/c/123/abc", "not_a_target"),
    ("tg://privatepost?channel=123", "not_a_target"),
    ("https://xn--zz.com/", "not_a_target"),
]

# input -> words of the warning ("" when there is none)
MIXED = "mixes letters of different alphabets"
LATIN_LOOKING = "letters that look like Latin ones"
WARNINGS = [
    ("https://t.\u043c\u0435/example_channel", MIXED),
    ("t.\u043c\u0435/example_channel", MIXED),
    ("https://\u0430pple.com/login", MIXED),
    ("xn--pple-43d.com", MIXED),  # the same look-alike, pasted in its ASCII form
    ("https://\u0440\u0430\u0443\u0440\u0430l.com", MIXED),
    ("https://\u0430\u0440\u0440\u04cf\u0435.\u0440\u0444", LATIN_LOOKING),  # all Cyrillic: "аррӏе.рф"
    ("https://\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444/", ""),  # ordinary Cyrillic
    ("https://m\u00fcnchen.example/", ""),
    ("https://\u4f8b\u3048.jp/", ""),  # Han and Hiragana with a Latin TLD: allowed together
    ("https://\uff54.\uff4d\uff45/example_channel", ""),  # full-width letters map to t.me itself
    ("https://example.com/\u043f\u0443\u0442\u044c", ""),  # a non-Latin path says nothing of the host
    ("https://t.me/example_channel", ""),
    ("@example_channel", ""),
]


@pytest.mark.parametrize(("target", "key", "kind"), ACCEPTED)
def test_link_forms_get_their_key_and_kind(target: str, key: str, kind: str) -> None:
    normalised = normalise_target(target)
    assert (normalised.key, normalised.kind) == (key, kind)
    assert normalised.target == target


@pytest.mark.parametrize(("target", "code"), REJECTED)
def test_what_is_not_a_target_is_refused_with_a_reason(target: str, code: str) -> None:
    with pytest.raises(TargetError) as caught:
        normalise_target(target)
    assert caught.value.code == code
    assert str(caught.value.message)


@pytest.mark.parametrize(("target", "words"), WARNINGS)
def test_look_alike_hosts_carry_a_warning(target: str, words: str) -> None:
    warning = normalise_target(target).warning
    if words:
        assert words in warning
        assert len(warning) <= 300
    else:
        assert warning == ""


def test_the_table_covers_at_least_sixty_link_forms() -> None:
    assert len(ACCEPTED) + len(REJECTED) >= 60


# --- The findings, as the careless user or the attacker would act -------------------------------------


def test_two_posts_told_apart_by_ref_are_both_kept() -> None:
    # A news site serves different articles by ?ref= (and a shop by ?si=): stripping them merged the second
    # into the first and dropped it as a "duplicate".
    result = parse_text("https://news.example/read?ref=1001\nhttps://news.example/read?ref=1002\n"
                        "https://shop.example/item?si=7\nhttps://shop.example/item?si=8\n")
    assert [row.key for row in result.accepted] == [
        "news.example/read?ref=1001", "news.example/read?ref=1002",
        "shop.example/item?si=7", "shop.example/item?si=8",
    ]
    assert result.duplicates == []


def test_share_trackers_still_merge_on_the_hosts_that_add_them() -> None:
    result = parse_text("https://youtu.be/dQw4w9WgXcQ?si=first_sharer\nhttps://youtu.be/dQw4w9WgXcQ?si=second\n"
                        "https://www.instagram.com/p/Cx1AbC/?igshid=a\nhttps://instagram.com/p/Cx1AbC\n")
    assert [row.line for row in result.accepted] == [1, 3]
    assert [(row.line, row.first_line) for row in result.duplicates] == [(2, 1), (4, 3)]


def test_subdomain_and_single_forms_of_a_channel_are_one_target() -> None:
    result = parse_text("https://t.me/kanal_propaganda\nkanal_propaganda.t.me\n"
                        "https://t.me/kanal_propaganda?single\nhttps://kanal_propaganda.t.me/88\n"
                        "https://t.me/kanal_propaganda/88?single\n")
    assert [(row.line, row.key) for row in result.accepted] == [
        (1, "t.me/kanal_propaganda"), (4, "t.me/kanal_propaganda/88"),
    ]
    assert [(row.line, row.first_line) for row in result.duplicates] == [(2, 1), (3, 1), (5, 4)]


def test_links_that_name_no_channel_are_refused_by_line_with_the_reason() -> None:
    result = parse_text("t.me/\nhttps://t.me/iv?url=https://example.com/article\nt.me/abc\nt.me/" + LONG_NAME
                        + "\nt.me/\u043a\u0430\u043d\u0430\u043b_\u043d\u0430\u0448\nt.me/real_channel\n")
    assert [(row.line, row.code) for row in result.rejected] == [
        (1, "not_a_target"), (2, "telegram_function"), (3, "bad_username"), (4, "bad_username"),
        (5, "bad_username"),
    ]
    assert "Instant View" in result.rejected[1].reason
    assert "5 to 32 characters" in result.rejected[2].reason
    assert [row.key for row in result.accepted] == ["t.me/real_channel"]


def test_invite_hashes_differing_only_in_case_are_two_invites() -> None:
    result = parse_text("https://t.me/+AbCdEf123\nhttps://t.me/+abcdef123\ntg://join?invite=AbCdEf123\n")
    assert [row.key for row in result.accepted] == ["t.me/+AbCdEf123", "t.me/+abcdef123"]
    assert [(row.line, row.first_line) for row in result.duplicates] == [(3, 1)]


def test_a_cyrillic_look_alike_of_telegram_is_kept_apart_and_flagged() -> None:
    # The attacker lists the real channel and a look-alike host; the look-alike must neither vanish as a
    # duplicate of the real one nor pass as an ordinary link.
    result = parse_text("https://t.me/kanal_resmi\nhttps://t.\u043c\u0435/kanal_resmi\n"
                        "https://\u0430pple.com/id\nhttps://apple.com/id\n")
    assert [row.line for row in result.accepted] == [1, 2, 3, 4]
    assert [bool(row.warning) for row in result.accepted] == [False, True, True, False]
    assert "t.\u043c\u0435" in result.accepted[1].warning
    assert result.accepted[0].key != result.accepted[1].key
    assert result.accepted[2].key != result.accepted[3].key


def test_a_look_alike_in_a_csv_carries_its_warning_too() -> None:
    result = parse_csv("url,note\nhttps://t.\u043c\u0435/kanal_resmi,palsu\n".encode())
    assert MIXED in result.accepted[0].warning


# --- Items stored under earlier rules are re-keyed ------------------------------------------------------------


@pytest.mark.django_db
def test_rekeying_brings_stored_items_under_the_current_rules_once(world) -> None:
    from django.core.management import call_command

    from cases.actions.items import rekey_items
    from cases.models import AuditEvent, ReportedItem

    from .conftest import make_case

    case = make_case(world, targets=["https://t.me/kanal_lain"])
    # Stored as the earlier rules keyed them: the query kept on Telegram, the subdomain a web host, `ref` dropped.
    first, second, third = ReportedItem.objects.bulk_create([
        ReportedItem(case=case, position=2, target="https://t.me/kanal_lama?single", key="t.me/kanal_lama?single"),
        ReportedItem(case=case, position=3, target="https://kanal_lama.t.me", key="kanal_lama.t.me"),
        ReportedItem(case=case, position=4, target="https://shop.example/item?ref=summer", key="shop.example/item"),
    ])

    result = rekey_items()

    first.refresh_from_db()
    second.refresh_from_db()
    third.refresh_from_db()
    assert first.key == "t.me/kanal_lama"
    assert second.key == "kanal_lama.t.me"  # now the same channel as item 1: kept apart and listed
    assert result.kept_apart == [(case.reference, second.position)]
    assert third.key == "shop.example/item?ref=summer"
    assert AuditEvent.objects.filter(action="items.rekeyed", case=case).count() == 1
    assert rekey_items().changed == 0  # idempotent
    call_command("rekey_items", stdout=__import__("io").StringIO())
    assert AuditEvent.objects.filter(action="items.rekeyed", case=case).count() == 1
