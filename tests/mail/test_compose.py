"""Building the run's emails: recipients, subject lines, templates, the print list."""

from __future__ import annotations

import email
import email.policy
from dataclasses import replace
from pathlib import Path

import pytest
from smtp_server import DAY, Contact, PupilSpec, School, make_school, pupils, valid_upn

from mergekit.core.config import Settings
from mergekit.core.errors import MailError, TemplateError
from mergekit.core.model import Action, SchoolData
from mergekit.core.runfolder import file_sha256
from mergekit.core.workspace import open_workspace
from mergekit.mail.compose import (
    Batch,
    EmailTemplates,
    build_batch,
    render_email,
    split_addresses,
)
from mergekit.mail.release import Release, held_documents
from mergekit.read.tracking import read_tracking


def load_school(settings: Settings) -> SchoolData:
    """The workbook as the outbox's callers hand it over (the tests' workbooks are clean)."""
    result = read_tracking(settings)
    assert not result.errors, result.errors
    return result.data


def build(school_root: Path, specs: list[PupilSpec], **kw: object) -> Batch:
    school = make_school(school_root, specs, **kw)  # type: ignore[arg-type]
    ws = open_workspace(school.config)
    return build_batch(
        ws.settings,
        load_school(ws.settings),
        school.run_dir,
        DAY,
        plan=[],
        released=released_as_saved(school),
    )


def released_as_saved(school: School) -> dict[str, Release]:
    """Every form of the run released as its PDF is saved now (what a person's release does)."""
    return {
        d.document: Release(d.document, file_sha256(d.path), "2026-11-27T09:00:00+00:00", "test")
        for d in held_documents(school.run_dir)
    }


def spec(n: int, *contacts: Contact, action: str = "pa_letter_1", **kw: object) -> PupilSpec:
    base = pupils(1, start=n, action=action)[0]
    return replace(base, contacts=contacts or base.contacts, **kw)  # type: ignore[arg-type]


def test_letter_goes_to_contacts_with_parental_responsibility_living_with_the_pupil(
    tmp_path: Path,
) -> None:
    p = spec(
        1,
        Contact("Ann Khan", "ann@example.org", "Mrs", 2),
        Contact("Raj Khan", "raj@example.org", "Mr", 1),
        Contact("Gran Khan", "gran@example.org", "Mrs", 3, pr=False),
        Contact("Away Khan", "away@example.org", "Mr", 4, lives_with=False),
        Contact("Barred Khan", "barred@example.org", "Mr", 5, no_contact=True),
    )
    batch = build(tmp_path / "s", [p])
    [message] = batch.messages
    assert [r.address for r in message.to] == ["raj@example.org", "ann@example.org"]
    assert batch.print_items == ()


def test_contact_without_email_goes_on_the_print_list_and_the_other_still_gets_it(
    tmp_path: Path,
) -> None:
    p = spec(
        2,
        Contact("Ann Khan", "", "Mrs", 1),
        Contact("Raj Khan", "raj@example.org", "Mr", 2),
    )
    batch = build(tmp_path / "s", [p])
    [message] = batch.messages
    assert [r.address for r in message.to] == ["raj@example.org"]
    [item] = batch.print_items
    assert (item.pupil.upn, item.contact, item.reason) == (p.upn, "Ann Khan", "no email address")
    assert item.document == f"pdf/{p.stem}.pdf"


def test_pupil_with_nobody_to_email_gets_no_message_only_a_print_list_line(
    tmp_path: Path,
) -> None:
    no_email = spec(3, Contact("Ann Khan", "not-an-address", "Mrs", 1))
    nobody = spec(4, Contact("Gran Khan", "gran@example.org", "Mrs", 1, pr=False))
    batch = build(tmp_path / "s", [no_email, nobody])
    assert batch.messages == ()
    reasons = {i.pupil.upn: i.reason for i in batch.print_items}
    assert "not-an-address is not valid" in reasons[no_email.upn]
    assert "no contact with parental responsibility" in reasons[nobody.upn]


def test_cme_referral_goes_to_the_council_with_initials_not_the_name_in_the_subject(
    tmp_path: Path,
) -> None:
    p = spec(5, action="cme_referral", adno="004321")
    batch = build(tmp_path / "s", [p])
    [message] = batch.messages
    assert [r.address for r in message.to] == ["cme@example.gov.uk"]
    assert p.forename not in message.subject
    assert p.surname not in message.subject
    assert f"{p.forename[0]}.{p.surname[0]}." in message.subject
    assert "004321" in message.subject
    assert p.upn in message.text
    assert f"{p.forename} {p.surname}" in message.text


def test_parent_subject_names_the_child_by_first_name_only(tmp_path: Path) -> None:
    p = spec(6)
    [message] = build(tmp_path / "s", [p]).messages
    assert p.forename in message.subject
    assert p.surname not in message.subject
    assert p.upn not in message.subject


def test_missing_council_address_is_a_print_list_line_naming_the_setting(tmp_path: Path) -> None:
    p = spec(7, action="remove_from_roll")
    batch = build(tmp_path / "s", [p], cme_email="")
    assert batch.messages == ()
    [item] = batch.print_items
    assert "[council] cme_email is not set" in item.reason


def test_day1_notice_goes_to_social_worker_and_key_worker_without_an_attachment(
    tmp_path: Path,
) -> None:
    p = spec(
        8,
        action="",
        social_worker_email="sw@example.gov.uk",
        key_worker_email="kw@example.org",
    )
    school = make_school(tmp_path / "s", [p])
    ws = open_workspace(school.config)
    notice = Action(p.upn, p.full_name, "vulnerable_day1_contact", "absent today", "2026-11-27", "")
    batch = build_batch(ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[notice])
    [message] = batch.messages
    assert [r.address for r in message.to] == ["sw@example.gov.uk", "kw@example.org"]
    assert message.attachments == ()
    assert p.surname not in message.subject
    assert p.full_name in message.text


def test_manifest_row_whose_file_does_not_carry_the_pupils_upn_is_not_emailed(
    tmp_path: Path,
) -> None:
    a, b = spec(9), spec(10)
    school = make_school(tmp_path / "s", [a, b])
    manifest = school.run_dir / "manifest.csv"
    # A muddled manifest: pupil a's row points at pupil b's letter.
    manifest.write_text(
        manifest.read_text().replace(
            f"{a.upn},pa_letter_1,pdf/{a.stem}", f"{a.upn},pa_letter_1,pdf/{b.stem}"
        )
    )
    ws = open_workspace(school.config)
    batch = build_batch(ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[])
    assert [m.upn for m in batch.messages] == [b.upn]
    assert any(f"does not carry UPN {a.upn}" in n for n in batch.notes)


def test_pdf_changed_after_the_manifest_was_written_is_not_emailed(tmp_path: Path) -> None:
    p = spec(11)
    school = make_school(tmp_path / "s", [p])
    (school.run_dir / "pdf" / f"{p.stem}.pdf").write_bytes(b"%PDF-1.4 something else")
    ws = open_workspace(school.config)
    batch = build_batch(ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[])
    assert batch.messages == ()
    assert any("has changed since it was made" in n for n in batch.notes)


def test_same_message_has_the_same_dedupe_key_when_the_pdf_is_made_again(tmp_path: Path) -> None:
    p = spec(12)
    school = make_school(tmp_path / "s", [p])
    ws = open_workspace(school.config)
    data = load_school(ws.settings)
    first = build_batch(ws.settings, data, school.run_dir, DAY, plan=[]).messages[0]
    pdf = school.run_dir / "pdf" / f"{p.stem}.pdf"
    pdf.write_bytes(pdf.read_bytes() + b"% made again\n")
    manifest = school.run_dir / "manifest.csv"
    import hashlib

    old = manifest.read_text().splitlines()[1].split(",")[3]
    manifest.write_text(
        manifest.read_text().replace(old, hashlib.sha256(pdf.read_bytes()).hexdigest())
    )
    again = build_batch(ws.settings, data, school.run_dir, DAY, plan=[]).messages[0]
    assert first.dedupe_key(DAY) == again.dedupe_key(DAY)
    other_day = again.dedupe_key(DAY.replace(day=26))
    assert other_day != first.dedupe_key(DAY)


def test_rendered_message_has_no_bcc_header_and_carries_the_fixed_message_id(
    tmp_path: Path,
) -> None:
    p = spec(13)
    [message] = build(tmp_path / "s", [p]).messages
    raw = render_email(
        message,
        message_id="abc.123@northgate.example.org",
        sender="Attendance <attendance@northgate.example.org>",
        reply_to="office@northgate.example.org",
        encrypt=None,
    )
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["Message-ID"] == "<abc.123@northgate.example.org>"
    assert parsed["Reply-To"] == "office@northgate.example.org"
    assert parsed["Bcc"] is None
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    [att] = list(parsed.iter_attachments())
    assert att.get_content() == (message.attachments[0].path).read_bytes()


def test_html_part_escapes_names_and_the_text_part_keeps_them(tmp_path: Path) -> None:
    p = spec(14, Contact("Ann <b>Smith</b> & Co", "ann@example.org", "", 1))
    [message] = build(tmp_path / "s", [p]).messages
    assert "Ann &lt;b&gt;Smith&lt;/b&gt; &amp; Co" in message.html
    assert "Ann <b>Smith</b> & Co" in message.text


def test_school_template_overrides_the_bundled_one(tmp_path: Path) -> None:
    p = spec(15)
    school = make_school(tmp_path / "s", [p])
    own = school.root / "my-templates" / "email"
    own.mkdir(parents=True)
    (own / "pa_letter_1.subject.txt").write_text(
        "Letter {{ letter.number }} for {{ pupil.forename }}"
    )
    (own / "pa_letter_1.txt").write_text("Hello {{ recipient.salutation }}")
    text = school.config.read_text().replace("[files]\n", '[files]\ntemplates = "my-templates"\n')
    school.config.write_text(text)
    ws = open_workspace(school.config)
    [message] = build_batch(
        ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[]
    ).messages
    assert message.subject == f"Letter 1 for {p.forename}"
    assert message.text.startswith("Hello Dear Mrs")
    assert message.html == ""  # no HTML template of its own: plain text only


def test_template_naming_an_unknown_field_is_an_error_naming_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "email"
    folder.mkdir()
    (folder / "pa_letter.subject.txt").write_text("About {{ pupil.shoe_size }}")
    (folder / "pa_letter.txt").write_text("x")
    with pytest.raises(TemplateError, match=r"pa_letter.subject.txt: .*shoe_size"):
        EmailTemplates([folder]).render("pa_letter_2", {"pupil": {"forename": "A"}})


def test_template_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    folder = tmp_path / "email"
    folder.mkdir()
    (folder / "planned_move.subject.txt").write_text("ok")
    (folder / "planned_move.txt").write_text("line one\n{% if %}\n")
    with pytest.raises(TemplateError, match=r"planned_move.txt line 2"):
        EmailTemplates([folder]).render("planned_move", {})


def test_missing_template_says_which_files_to_add(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match=r"add pa_letter.subject.txt and pa_letter.txt"):
        EmailTemplates([tmp_path]).render("pa_letter_3", {})


@pytest.mark.parametrize(
    ("cell", "valid", "invalid"),
    [
        ("ann@example.org", ["ann@example.org"], []),
        (" ann@example.org ; bob@example.org,", ["ann@example.org", "bob@example.org"], []),
        ("Ann Khan <ann@example.org>", ["ann@example.org"], []),
        ("ann@example.org bob@example.org", ["ann@example.org", "bob@example.org"], []),
        ("ann at example.org", [], ["ann at example.org"]),
        ("ann@example.org; Bob <bob@nowhere>", ["ann@example.org"], ["Bob <bob@nowhere>"]),
        ("", [], []),
    ],
)
def test_split_addresses(cell: str, valid: list[str], invalid: list[str]) -> None:
    assert split_addresses(cell) == (valid, invalid)


def test_bad_sender_address_is_a_clear_error(tmp_path: Path) -> None:
    from mergekit.day.send import send_day as deliver

    school = make_school(tmp_path / "s", [spec(16)], **{"from": "Attendance Office"})
    with pytest.raises(MailError, match=r"\[mail\] from = 'Attendance Office'"):
        deliver(open_workspace(school.config))


def test_every_bundled_template_renders_for_every_emailed_action(tmp_path: Path) -> None:
    specs = [
        spec(20, action="pa_letter_1"),
        spec(21, action="pa_letter_2"),
        spec(22, action="pa_letter_3"),
        spec(23, action="planned_move"),
        spec(24, action="cme_referral"),
        spec(25, action="remove_from_roll"),
        spec(26, action="", social_worker_email="sw@example.gov.uk"),
    ]
    school = make_school(tmp_path / "s", specs)
    ws = open_workspace(school.config)
    notice = Action(specs[-1].upn, "", "vulnerable_day1_contact", "absent", DAY.isoformat(), "")
    batch = build_batch(
        ws.settings,
        load_school(ws.settings),
        school.run_dir,
        DAY,
        plan=[notice],
        released=released_as_saved(school),
    )
    by_action = {m.action: m for m in batch.messages}
    assert sorted(by_action) == sorted(
        [
            "pa_letter_1",
            "pa_letter_2",
            "pa_letter_3",
            "planned_move",
            "cme_referral",
            "remove_from_roll",
            "vulnerable_day1_contact",
        ]
    )
    for m in batch.messages:
        assert m.subject, m.action
        assert m.text.strip(), m.action
        assert m.html.strip(), m.action
        assert m.pupil.full_name in m.text, m.action
        assert "\n" not in m.subject
    assert "letter 2" in by_action["pa_letter_2"].subject


def test_valid_upn_helper_makes_upns_the_reader_accepts() -> None:
    from mergekit.read.values import parse_upn

    assert parse_upn(valid_upn(123)) == valid_upn(123)


def test_bad_reply_to_or_bcc_is_a_clear_error_naming_the_key(tmp_path: Path) -> None:
    from mergekit.day.send import send_day as deliver

    school = make_school(tmp_path / "s", [spec(17)], bcc="log at school")
    with pytest.raises(MailError, match=r"\[mail\] bcc = 'log at school' is not an email"):
        deliver(open_workspace(school.config))
    school.set_mail(reply_to="office")
    with pytest.raises(MailError, match=r"\[mail\] reply_to = 'office' is not an email"):
        deliver(open_workspace(school.config))


def test_school_template_asking_for_the_planners_reason_is_an_error_saying_why(
    tmp_path: Path,
) -> None:
    p = spec(30)
    school = make_school(tmp_path / "s", [p])
    own = school.root / "my-templates" / "email"
    own.mkdir(parents=True)
    (own / "pa_letter_1.subject.txt").write_text("Letter")
    (own / "pa_letter_1.txt").write_text("Because: {{ action.reason }}")
    text = school.config.read_text().replace("[files]\n", '[files]\ntemplates = "my-templates"\n')
    school.config.write_text(text)
    ws = open_workspace(school.config)
    with pytest.raises(TemplateError, match=r"action.reason is the planner's note for staff"):
        build_batch(ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[])


def test_released_pdf_saved_again_before_it_is_attached_stops_the_send(tmp_path: Path) -> None:
    p = spec(31, action="cme_referral")
    [message] = build(tmp_path / "s", [p]).messages
    [att] = message.attachments
    assert att.sha256 == file_sha256(att.path)
    att.path.write_bytes(att.path.read_bytes() + b"% saved again\n")
    with pytest.raises(MailError, match=r"saved again after it was released - it is held again"):
        render_email(
            message,
            message_id="x.1@northgate.example.org",
            sender="Attendance <attendance@northgate.example.org>",
            reply_to="",
            encrypt=None,
        )


def test_unreleased_form_is_held_with_the_message_it_will_become(tmp_path: Path) -> None:
    p = spec(32, action="remove_from_roll")
    school = make_school(tmp_path / "s", [p])
    ws = open_workspace(school.config)
    batch = build_batch(ws.settings, load_school(ws.settings), school.run_dir, DAY, plan=[])
    assert batch.messages == ()
    [held] = batch.held
    assert (held.pupil.upn, held.action, held.document) == (
        p.upn,
        "remove_from_roll",
        f"pdf/{p.stem}.pdf",
    )
    assert held.message is not None
    assert [r.address for r in held.message.to] == ["cme@example.gov.uk"]
    assert held.to_do() == (
        "Remove From Roll checklist: the head teacher checks the grounds and signs it"
    )
