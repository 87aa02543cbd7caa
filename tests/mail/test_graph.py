"""Sending through Microsoft Graph (a stand-in on loopback recording every request): the .eml
is what Graph gets, 202 is sent, 429/503 wait as told, 4xx is a permanent failure with Graph's
words, 401 refreshes the token once, 403 stops with the permission to grant, a lost answer is
unknown and can be settled by a person."""

from __future__ import annotations

import base64
import csv
import io
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from graph_server import SENDER, StandIn
from pypdf import PdfReader
from smtp_server import School, make_school, pupils

from mergekit.cli import main

TOKEN = "graph-token-from-it"


def graph_school(root: Path, standin: StandIn, n: int = 3, **mail: object) -> School:
    return make_school(
        root,
        pupils(n),
        transport="graph",
        auth="oauth2",
        graph_url=standin.graph_url,
        **mail,  # type: ignore[arg-type]
    )


def send(school: School, *args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner(env={"MERGEKIT_OAUTH_TOKEN": TOKEN, **(env or {})}).invoke(
        main, ["send", "--config", str(school.config), *args]
    )


def rows(school: School) -> list[sqlite3.Row]:
    conn = sqlite3.connect(school.ledger)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM messages ORDER BY id").fetchall()
    finally:
        conn.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn(accepted_tokens={TOKEN}) as s:
        yield s


def test_request_is_the_outbox_eml_base64_as_text_plain_with_the_bearer_token(
    tmp_path: Path, standin: StandIn
) -> None:
    school = graph_school(tmp_path / "s", standin, 1)
    result = send(school, "--send")
    assert result.exit_code == 0, result.output
    [call] = standin.calls("/sendMail")
    assert call.path == f"/v1.0/users/{SENDER}/sendMail"
    assert call.headers["authorization"] == f"Bearer {TOKEN}"
    assert call.headers["content-type"] == "text/plain"
    [eml] = (school.run_dir / "outbox" / "sent").glob("*.eml")
    # The .eml kept in the outbox is exactly what Graph got, after the log copy's Bcc line.
    sent = base64.b64decode(call.body)
    assert sent == b"Bcc: sent-log@northgate.example.org\r\n" + eml.read_bytes()
    assert [r["state"] for r in rows(school)] == ["sent"]


@pytest.mark.slow
def test_200_messages_through_graph_each_once_to_its_own_family(
    tmp_path: Path, standin: StandIn
) -> None:
    school = graph_school(tmp_path / "s", standin, 200)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 0, result.output[-2000:]
    got = standin.messages()
    assert len(got) == 200
    assert max(Counter(standin.message_ids()).values()) == 1
    by_upn = school.by_upn()
    seen = set()
    for msg in got:
        [att] = list(msg.iter_attachments())
        text = PdfReader(io.BytesIO(att.get_content())).pages[0].extract_text()
        upn = re.search(r"UPN ([A-Z0-9]{13})", text).group(1)  # type: ignore[union-attr]
        seen.add(upn)
        pupil = by_upn[upn]
        assert pupil.forename in str(msg["Subject"])
        assert {a.addr_spec for a in msg["To"].addresses} == {c.email for c in pupil.contacts}
    assert seen == set(by_upn)
    assert Counter(r["state"] for r in rows(school)) == {"sent": 200}
    # One kept-alive connection does the batch: no sign-in or connection per message.
    assert len(standin.calls("/sendMail")) == 200


def test_429_waits_for_retry_after_then_sends(tmp_path: Path, standin: StandIn) -> None:
    standin.throttle = 1
    standin.retry_after = "1"
    school = graph_school(tmp_path / "s", standin, 1)
    start = time.monotonic()
    result = send(school, "--send")
    took = time.monotonic() - start
    assert result.exit_code == 0, result.output
    assert standin.count() == 1
    assert len(standin.calls("/sendMail")) == 2
    # retry_wait_seconds is 0.01 in the test school: only Retry-After explains the second.
    assert took >= 1.0


def test_503_with_retry_after_is_temporary_too(tmp_path: Path, standin: StandIn) -> None:
    standin.throttle = 2
    standin.throttle_status = 503
    standin.retry_after = "0"
    school = graph_school(tmp_path / "s", standin, 1)
    result = send(school, "--send")
    assert result.exit_code == 0, result.output
    assert standin.count() == 1
    assert len(standin.calls("/sendMail")) == 3


def test_other_4xx_is_a_permanent_failure_with_graphs_words_in_failures_csv(
    tmp_path: Path, standin: StandIn
) -> None:
    school = graph_school(tmp_path / "s", standin, 3)
    bad = school.pupils[1].contacts[0].email
    standin.refuse_for[bad] = (400, "The recipient address is not valid.")
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert standin.count() == 2
    [failure] = read_csv(school.run_dir / "failures.csv")
    assert failure["upn"] == school.pupils[1].upn
    assert (
        "Graph 400 ErrorInvalidRecipients: The recipient address is not valid." in failure["reason"]
    )
    assert failure["reason"].startswith("permanent failure")
    # The family is on the print list: the letter goes by post instead.
    printed = read_csv(school.run_dir / "print-list.csv")
    assert [p["upn"] for p in printed] == [school.pupils[1].upn]


def test_403_stops_the_batch_naming_the_permission_and_leaves_the_rest_queued(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.forbidden = True
    school = graph_school(tmp_path / "s", standin, 3)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1
    assert "Mail.Send" in result.output
    assert "ErrorAccessDenied" in result.output
    assert [r["state"] for r in rows(school)] == ["queued"] * 3
    standin.forbidden = False
    again = send(school, "--send", "--limit", "all")
    assert again.exit_code == 0, again.output
    assert standin.count() == 3


def test_given_token_refused_cannot_be_refreshed_and_says_so(
    tmp_path: Path, standin: StandIn
) -> None:
    school = graph_school(tmp_path / "s", standin, 2)
    result = send(school, "--send", env={"MERGEKIT_OAUTH_TOKEN": "stale"})
    assert result.exit_code == 1
    assert "the token in MERGEKIT_OAUTH_TOKEN" in result.output
    assert "InvalidAuthenticationToken" in result.output
    assert standin.count() == 0
    assert [r["state"] for r in rows(school)] == ["queued", "queued"]


def test_lost_answer_is_unknown_never_resent_until_settled_by_a_person(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.lose_answer = {2}
    school = graph_school(tmp_path / "s", standin, 3)
    result = send(school, "--send", "--limit", "all")
    assert result.exit_code == 1  # one message needs a person
    assert "UNKNOWN" in result.output
    assert standin.count() == 3  # Graph has all three
    unknown = [r for r in rows(school) if r["state"] == "unknown"]
    assert len(unknown) == 1
    mid = unknown[0]["message_id"]
    # A rerun sends nothing again and says how to settle it.
    again = send(school, "--send", "--limit", "all")
    assert standin.count() == 3
    assert "--mark-sent MESSAGE-ID" in again.output
    # The person finds it in Sent Items and marks it sent.
    marked = send(school, "--mark-sent", f"<{mid}>")
    assert marked.exit_code == 0, marked.output
    assert "Marked sent: " in marked.output
    assert [r["state"] for r in rows(school)] == ["sent"] * 3
    assert (
        "marked sent by a person"
        in next(r for r in rows(school) if r["message_id"] == mid)["last_error"]
    )
    assert read_csv(school.run_dir / "failures.csv") == []
    final = send(school, "--send", "--limit", "all", "--resend-unknown")
    assert final.exit_code == 0, final.output
    assert standin.count() == 3


def test_mark_sent_refuses_a_message_that_is_not_unknown_and_marks_nothing(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.lose_answer = {1}
    school = graph_school(tmp_path / "s", standin, 2)
    send(school, "--send", "--limit", "all")
    unknown, sent = sorted(rows(school), key=lambda r: r["state"] != "unknown")
    result = send(school, "--mark-sent", unknown["message_id"], "--mark-sent", "nope@example.org")
    assert result.exit_code == 1
    assert "<nope@example.org> is not a message of this run" in result.output
    assert "nothing was marked" in result.output
    assert [r["state"] for r in rows(school) if r["id"] == unknown["id"]] == ["unknown"]
    also = send(school, "--mark-sent", sent["message_id"])
    assert "recorded as sent already" in also.output
    usage = send(school, "--mark-sent", unknown["message_id"], "--send")
    assert usage.exit_code == 2
    assert "run it on its own" in usage.output


def test_resend_unknown_sends_the_lost_one_again_when_a_person_says_it_is_not_there(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.lose_answer = {1}
    school = graph_school(tmp_path / "s", standin, 1)
    send(school, "--send")
    assert [r["state"] for r in rows(school)] == ["unknown"]
    result = send(school, "--send", "--resend-unknown")
    assert result.exit_code == 0, result.output
    assert [r["state"] for r in rows(school)] == ["sent"]
    assert standin.count() == 2  # what the person chose, knowing it was not in Sent Items


def test_slow_graph_answer_within_the_data_timeout_is_sent_not_unknown(
    tmp_path: Path, standin: StandIn
) -> None:
    standin.reply_delay = 1.5
    school = graph_school(tmp_path / "s", standin, 1, timeout_seconds=0.5, data_timeout_seconds=10)
    result = send(school, "--send")
    assert result.exit_code == 0, result.output
    assert [r["state"] for r in rows(school)] == ["sent"]


def test_no_answer_past_the_data_timeout_is_unknown(tmp_path: Path, standin: StandIn) -> None:
    standin.reply_delay = 2.0
    school = graph_school(tmp_path / "s", standin, 1, timeout_seconds=0.5, data_timeout_seconds=0.8)
    result = send(school, "--send")
    assert result.exit_code == 1
    [row] = rows(school)
    assert row["state"] == "unknown"
    assert "within 0.8 s" in row["last_error"]


def test_plain_http_graph_url_off_loopback_is_refused(tmp_path: Path) -> None:
    school = make_school(
        tmp_path / "s",
        pupils(1),
        transport="graph",
        auth="oauth2",
        graph_url="http://graph.example.org/v1.0",
    )
    result = send(school, "--send")
    assert result.exit_code == 1
    assert "plain http is allowed only to this computer" in result.output


def test_graph_with_password_auth_is_a_config_error(tmp_path: Path) -> None:
    school = make_school(tmp_path / "s", pupils(1), transport="graph")
    result = send(school, "--send")
    assert result.exit_code == 1
    assert 'set auth = "oauth2"' in result.output
