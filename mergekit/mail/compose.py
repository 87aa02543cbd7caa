"""Building the run's emails: who gets which document, and the words around it.

One message per document (and recipient set): a warning letter or planned-move form goes to the
pupil's contacts with parental responsibility who live with the pupil (``addressing.addressees``,
which already drops no-contact flags), the CME referral and Remove From Roll forms go to the
council's CME team, and the day-1 notice for a vulnerable pupil goes to the social worker and
key worker. Anyone who should get a letter but has no usable email address goes on the print
list instead; the print pack already holds every letter.

Subject lines travel outside the encrypted body (mail-server logs, phone lock screens), so the
bundled templates never put a pupil's full name in one: parents see their child's first name;
the council and social workers see initials and the school's reference. Staff can change the
templates in ``templates/email/`` like the letters (Jinja, the same merge fields, plus
``email.*``); HTML templates are autoescaped and every template fails loudly on a field that
does not exist.

The CME referral, Remove From Roll and planned-move forms need a person before they leave the
school (:mod:`mergekit.mail.release`): their messages are built but *held* (``Batch.held``), never
queued, until the PDF as it is saved now is the version a person released. The words around a
document are written for their reader (:mod:`mergekit.mail.wording`): the planner's reason, a note
for staff, is never in an email.

Nothing here talks to a server or writes the ledger: :mod:`mergekit.mail.outbox` does that.
The message builder (about 630 lines with the message types) is one class whose steps share
the run folder's manifest and the day's plan.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any

from mergekit.core.actions import (
    ACTION_TITLES,
    ACTIONS,
    EMAILED,
    FORMS,
    HELD_ACTIONS,
    NOTICES,
    TO_DO,
    Audience,
)
from mergekit.core.atomic import private_temp_dir
from mergekit.core.calendar import academic_year_of
from mergekit.core.config import Settings
from mergekit.core.errors import MailError
from mergekit.core.model import Action, Contact, Person, Pupil, SchoolData
from mergekit.core.runfolder import (
    MANIFEST,
    UNSAFE_IN_NAMES,
    ManifestRow,
    document_pdf,
    document_stem,
    evidence_pack_path,
    file_sha256,
    read_manifest,
)
from mergekit.mail.release import Release
from mergekit.mail.wording import contact_attempts, reason_known, salutation, todays_absence
from mergekit.merge.addressing import addressees
from mergekit.merge.fields import LetterHistory, build_context
from mergekit.merge.templates import EmailTemplates

PRINT_LIST_COLUMNS = (
    "upn",
    "pupil",
    "year",
    "reg_group",
    "action",
    "document",
    "contact",
    "reason",
)

_ADDRESS_RE = re.compile(r"^[^@\s<>(),;:\"\[\]\\]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True, slots=True)
class Recipient:
    name: str
    address: str

    def __str__(self) -> str:
        return str(Address(display_name=self.name, addr_spec=self.address))


@dataclass(frozen=True, slots=True)
class Attachment:
    path: Path  # the run's PDF
    filename: str  # the name the recipient sees
    sha256: str  # the released version's SHA-256: exactly these bytes go ('' = not checked)


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """One email of the run, before it has a Message-ID or a state."""

    pupil: Pupil
    action: str
    audience: Audience
    occurrence: str  # the document's path in the run, or the plan's stage for a notice
    document: str  # manifest ``file`` ("" for a notice)
    to: tuple[Recipient, ...]
    subject: str
    text: str
    html: str
    attachments: tuple[Attachment, ...]
    eml_name: str
    for_action: Action  # the planned (or recorded) action the message carries out

    @property
    def upn(self) -> str:
        return self.pupil.upn

    def dedupe_key(self, day: date) -> str:
        """Same day, pupil, action, document and recipients = the same message. The PDF's hash
        is left out on purpose: LibreOffice stamps each conversion, so re-making the same letter
        would otherwise look like a new message and be sent twice."""
        rcpts = ",".join(sorted({r.address.casefold() for r in self.to}))
        return "|".join((day.isoformat(), self.upn, self.action, self.occurrence, rcpts))


@dataclass(frozen=True, slots=True)
class PrintItem:
    """A document someone must post or hand over (or a person to phone), and why."""

    pupil: Pupil
    action: str
    document: str
    contact: str
    reason: str

    def row(self) -> dict[str, str]:
        p = self.pupil
        return {
            "upn": p.upn,
            "pupil": p.full_name,
            "year": "" if p.year is None else str(p.year),
            "reg_group": p.reg_group,
            "action": self.action,
            "document": self.document,
            "contact": self.contact,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class HeldForm:
    """A form that needs a person: not emailed until this version of its PDF is released."""

    pupil: Pupil
    action: str
    document: str  # pdf/<stem>.pdf inside the run folder: the file staff complete
    path: Path
    release: Release | None  # the release of an earlier version (None: never released)
    message: OutgoingMessage | None  # the email it becomes once released (None: nobody to send to)

    @property
    def changed(self) -> bool:
        """Released once, then saved again: held until released again."""
        return self.release is not None

    def to_do(self) -> str:
        """'Remove From Roll checklist: the head teacher checks the grounds and signs it'."""
        title = ACTION_TITLES.get(self.action, self.action)
        text = f"{title}: {TO_DO.get(self.action, 'complete and check it')}"
        if self.release is not None:
            text += f" (saved again after its release on {self.release.when}: release it again)"
        return text


@dataclass(frozen=True)
class Batch:
    run_dir: Path
    day: date
    messages: tuple[OutgoingMessage, ...]
    print_items: tuple[PrintItem, ...]
    notes: tuple[str, ...]
    held: tuple[HeldForm, ...] = ()


# ---------------------------------------------------------------------------------------------
# Addresses


def split_addresses(raw: str) -> tuple[list[str], list[str]]:
    """(valid, invalid) addresses in a cell that may hold several, separated by ; or , (or
    spaces), each either bare or written as ``Name <address>``."""
    valid: list[str] = []
    invalid: list[str] = []
    for part in (x.strip() for x in re.split(r"[;,]", raw)):
        if not part:
            continue
        if "<" in part:
            addr = parseaddr(part)[1]
            tokens = [addr] if addr else []
        else:
            tokens = part.split()
        if tokens and all(_ADDRESS_RE.match(t) for t in tokens):
            valid.extend(tokens)
        else:
            invalid.append(part)
    return valid, invalid


def address_domain(sender: str) -> str:
    """The domain of the From address (for Message-IDs), or a MailError saying what to fix."""
    _, addr = parseaddr(sender)
    if not sender.strip() or not _ADDRESS_RE.match(addr):
        raise MailError(
            f"[mail] from = {sender!r} is not an email address - set it in mergekit.toml, e.g. "
            'from = "Attendance Office <attendance@example.org>"'
        )
    return addr.rsplit("@", 1)[1]


# (who, why): someone left off a message, for the print list.
Missing = list[tuple[str, str]]


def _recipients(people: Sequence[tuple[str, str]]) -> tuple[list[Recipient], Missing]:
    """Recipients from (name, email cell) pairs, without repeats; and the people left out."""
    out: list[Recipient] = []
    seen: set[str] = set()
    missing: Missing = []
    for name, cell in people:
        valid, invalid = split_addresses(cell)
        if invalid:
            missing.append((name, f"email address {', '.join(invalid)} is not valid"))
        elif not valid:
            missing.append((name, "no email address"))
        for addr in valid:
            if addr.casefold() not in seen:
                seen.add(addr.casefold())
                out.append(Recipient(name, addr))
    return out, missing


def parent_recipients(to: Sequence[Contact]) -> tuple[list[Recipient], Missing]:
    """Recipients among a letter's addressees (``addressing.addressees``: parental responsibility,
    lives with the pupil, not no-contact, priority order)."""
    return _recipients([(c.name, c.email) for c in to])


def professional_recipients(pupil: Pupil) -> tuple[list[Recipient], Missing]:
    people: list[tuple[Person, str]] = [
        (p, role)
        for p, role in ((pupil.social_worker, "Social worker"), (pupil.key_worker, "Key worker"))
        if p
    ]
    return _recipients([(p.name or role, p.email) for p, role in people])


# ---------------------------------------------------------------------------------------------
# Attachment names


def _file_name(text: str) -> str:
    return UNSAFE_IN_NAMES.sub("-", text).strip(" .") or "document"


# ---------------------------------------------------------------------------------------------
# Building


def initials(pupil: Pupil) -> str:
    names = [pupil.known_as, pupil.preferred_surname or pupil.surname]
    return "".join(f"{n.strip()[0].upper()}." for n in names if n.strip())


def reference(pupil: Pupil) -> str:
    """The school's own reference: the admission number, else the end of the UPN. Meaningless
    outside the school, so it can go in a subject line."""
    return pupil.admission_no or pupil.upn[-4:]


def _letters(data: SchoolData, upn: str) -> LetterHistory:
    sent: dict[int, date] = {}
    for rec in data.letters.get(upn, ()):
        if rec.letter.startswith("pa_letter_") and rec.letter[-1].isdigit():
            sent[int(rec.letter[-1])] = rec.date_sent
    return LetterHistory(sent)


def _marks_today(action: Action, data: SchoolData, day: date) -> tuple[str, str]:
    """Today's (AM, PM) codes: as the plan saw them, else from the register."""
    ev = action.evidence
    if "am" in ev or "pm" in ev:
        return str(ev.get("am") or ""), str(ev.get("pm") or "")
    return data.marks_of(action.upn).get(day, ("", ""))


@dataclass
class _Builder:
    settings: Settings
    data: SchoolData
    run_dir: Path
    day: date
    templates: EmailTemplates
    encrypted: bool
    homes: Mapping[str, Sequence[Contact]]
    released: Mapping[str, Release]
    messages: list[OutgoingMessage] = field(default_factory=list)
    print_items: list[PrintItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    held: list[HeldForm] = field(default_factory=list)

    def addressed_to(self, pupil: Pupil) -> list[Contact]:
        """The letter's addressees, exactly as the letter names them (brothers and sisters
        at one address share their first sibling's)."""
        to = self.homes.get(pupil.upn)
        return list(to) if to is not None else addressees(self.data.contacts_of(pupil.upn))

    def recipients(self, pupil: Pupil, action: str) -> tuple[list[Recipient], Missing]:
        audience = EMAILED[action]
        if audience is Audience.PARENTS:
            to, missing = parent_recipients(self.addressed_to(pupil))
            if not to and not missing:
                why = (
                    "nobody to send it to: no contact with parental responsibility who lives "
                    "with the pupil (and is not marked no-contact) - check the contacts sheet"
                )
                missing = [("", why)]
            return to, missing
        if audience is Audience.COUNCIL:
            c = self.settings.council
            team = c.cme_team or c.name or "CME team"
            valid, invalid = split_addresses(c.cme_email)
            if invalid or not valid:
                why = f"is not an email address ({c.cme_email!r})" if invalid else "is not set"
                where = self.settings.where("council.cme_email")
                return [], [(team, f"{where}: [council] cme_email {why} - set it and send again")]
            return [Recipient(team, a) for a in valid], []
        to, missing = professional_recipients(pupil)
        if not to:
            missing = [(who, f"{why}: phone them today") for who, why in missing] or [
                ("", "no social worker or key worker email on the pupils sheet: phone them today")
            ]
        return to, missing

    def email_context(
        self, pupil: Pupil, action: Action, to: Sequence[Recipient], attachment: Attachment | None
    ) -> dict[str, Any]:
        """The merge fields of one email: the letters' fields (without the planner's reason,
        which is a note for staff) and ``email.*``, the words written for the reader."""
        audience = EMAILED[action.kind]
        context = build_context(
            self.settings,
            self.data,
            pupil,
            self.day,
            action,
            _letters(self.data, pupil.upn),
            to=self.addressed_to(pupil) if audience is Audience.PARENTS else None,
        )
        context["action"].pop("reason", None)
        am, pm = _marks_today(action, self.data, self.day)
        greeting = (
            str(context["recipient"]["salutation"])
            if audience is Audience.PARENTS
            else salutation((r.name for r in to), fallback="Dear colleague")
        )
        context["email"] = {
            "initials": initials(pupil),
            "reference": reference(pupil),
            "attachment": attachment.filename if attachment else "",
            "password_protected": self.encrypted and attachment is not None,
            "recipients": " and ".join(r.name for r in to),
            "audience": str(audience),
            "salutation": greeting,
            "today": todays_absence(pupil.full_name, str(context["today"]), am, pm),
            "reason_known": reason_known(am, pm),
            "contact_attempts": contact_attempts(action.evidence),
        }
        return context

    def message(
        self,
        pupil: Pupil,
        action: Action,
        document: str,
        attachment: Attachment | None,
        *,
        held: bool = False,
    ) -> OutgoingMessage | None:
        """The email for one document or notice (None when nobody can be emailed); whoever
        is left out goes on the print list."""
        to, missing = self.recipients(pupil, action.kind)
        then = "; complete and check the form before it goes" if held else ""
        for contact, why in missing:
            self.print_items.append(PrintItem(pupil, action.kind, document, contact, why + then))
        if not to:
            return None
        context = self.email_context(pupil, action, to, attachment)
        subject, text, html = self.templates.render(action.kind, context)
        stem = Path(document).stem if document else document_stem(pupil, action.kind)
        return OutgoingMessage(
            pupil=pupil,
            action=action.kind,
            audience=EMAILED[action.kind],
            occurrence=document or action.stage,
            document=document,
            to=tuple(to),
            subject=subject,
            text=text,
            html=html,
            attachments=((attachment,) if attachment else ())
            + evidence_attachment(self.settings, self.day, pupil, action.kind, self.notes),
            eml_name=f"{stem}.eml",
            for_action=action,
        )

    def add(
        self, pupil: Pupil, action: Action, document: str, attachment: Attachment | None
    ) -> None:
        m = self.message(pupil, action, document, attachment)
        if m is not None:
            self.messages.append(m)

    def add_document(self, row: ManifestRow, plan: Mapping[tuple[str, str], Action]) -> None:
        where = f"{self.run_dir / MANIFEST} line {row.line}"
        pupil = self.data.pupils.get(row.upn)
        if pupil is None:
            self.notes.append(
                f"{where}: UPN {row.upn!r} is not in the tracking workbook - not emailed"
            )
            return
        pdf = document_pdf(self.run_dir, row.file)
        document = pdf.relative_to(self.run_dir).as_posix()
        needs_a_person = row.action in HELD_ACTIONS
        problem = ""
        if pupil.upn not in pdf.stem.upper():
            # The run folder's names carry the UPN: a mismatch means a muddled manifest, and
            # sending pupil A's letter to pupil B's parents is the one mistake we cannot undo.
            problem = f"{document} does not carry UPN {pupil.upn} in its name"
        elif not pdf.is_file():
            problem = f"{document} is missing"
        elif (
            not needs_a_person  # staff complete these PDFs: a changed one is expected
            and row.file.lower().endswith(".pdf")
            and row.sha256
            and row.sha256 != file_sha256(pdf)
        ):
            problem = f"{document} has changed since it was made (its sha256 differs)"
        if problem:
            command = "forms" if row.action in FORMS else "letters"
            self.notes.append(
                f"{where}: {problem} - not emailed; make it again with "
                f"`mergekit {command} --again {pupil.upn} --pdf`, then send"
            )
            self.print_items.append(
                PrintItem(pupil, row.action, document, "", f"not emailed: {problem}")
            )
            return
        action = plan.get((row.upn, row.action)) or Action.for_pupil(
            pupil, row.action, reason="", stage="", academic_year=academic_year_of(self.day)
        )
        title = ACTION_TITLES.get(row.action, row.action)
        name = _file_name(f"{title} - {pupil.full_name}") + ".pdf"
        if not needs_a_person:
            self.add(pupil, action, document, Attachment(pdf, name, ""))
            return
        release = self.released.get(document)
        if release is not None and release.sha256 == file_sha256(pdf):
            self.add(pupil, action, document, Attachment(pdf, name, release.sha256))
            return
        m = self.message(pupil, action, document, Attachment(pdf, name, ""), held=True)
        self.held.append(HeldForm(pupil, row.action, document, pdf, release, m))


def evidence_attachment(
    settings: Settings, day: date, pupil: Pupil, action: str, notes: list[str]
) -> tuple[Attachment, ...]:
    """``[evidence] attach_to_cme_referral``: the pupil's evidence pack of the day on the CME
    referral email (``mergekit evidence`` makes it; `send` makes it first when it is missing)."""
    if action != "cme_referral" or not settings.evidence.attach_to_cme_referral:
        return ()
    pack = evidence_pack_path(settings, day, pupil)
    if not pack.is_file():
        notes.append(
            f"{pupil.upn}: no evidence pack at {pack} to attach to the CME referral email - "
            f"make it with `mergekit evidence {pupil.upn}`"
        )
        return ()
    return (Attachment(pack, _file_name(f"Evidence pack - {pupil.full_name}") + ".pdf", ""),)


def build_batch(
    settings: Settings,
    data: SchoolData,
    run_dir: Path,
    day: date,
    *,
    plan: Sequence[Action] | None,
    only: frozenset[str] | None = None,
    released: Mapping[str, Release] | None = None,
) -> Batch:
    """Every message of the run, in hand-out order, with the print list, the notes and the
    forms held for a person.

    ``plan`` is today's plan (for the day-1 notices and each action's evidence); None when the
    planning module could not be used, which is said in the notes. ``released``: the releases
    recorded for the run's forms, by document (``mergekit.mail.release.apply_releases``); a form
    needing a person is emailed only when its PDF is still the version released.
    """
    from mergekit.merge.addressing import household_addressees

    b = _Builder(
        settings,
        data,
        run_dir,
        day,
        EmailTemplates.for_settings(settings),
        settings.pdf.encrypt_emailed,
        household_addressees(data),
        released or {},
    )
    wanted = only or frozenset(EMAILED)
    by_key = {(a.upn, a.kind): a for a in plan or ()}
    not_emailed: dict[str, int] = {}
    if (run_dir / MANIFEST).is_file():
        for row in read_manifest(run_dir):
            if row.action not in EMAILED or row.action in NOTICES:
                not_emailed[row.action] = not_emailed.get(row.action, 0) + 1
            elif row.action in wanted:
                b.add_document(row, by_key)
    else:
        b.notes.append(
            f"{run_dir / MANIFEST} does not exist: no letters or forms to email - make the "
            "day's documents first (mergekit run)"
        )
    if plan is None:
        b.notes.append(
            "day-1 notices to social workers were not built: the day's plan is not available"
        )
    held = _unfilled_notices(settings, wanted, b.notes)
    for a in plan or ():
        if a.kind in NOTICES and a.kind in wanted and a.approved and a.kind not in held:
            pupil = data.pupils.get(a.upn)
            if pupil is not None:
                b.add(pupil, a, "", None)
    if not_emailed:
        listed = ", ".join(f"{n} {k}" for k, n in sorted(not_emailed.items()))
        b.notes.append(f"not emailed (print pack only): {listed}")
    order = {a: i for i, a in enumerate(ACTIONS)}

    def key(x: OutgoingMessage | PrintItem | HeldForm) -> tuple[Any, ...]:
        return (x.pupil.sort_key, order.get(x.action, 99))

    return Batch(
        run_dir,
        day,
        tuple(sorted(b.messages, key=key)),
        tuple(sorted(b.print_items, key=key)),
        tuple(b.notes),
        tuple(sorted(b.held, key=key)),
    )


def _unfilled_notices(settings: Settings, wanted: frozenset[str], notes: list[str]) -> set[str]:
    """The notices whose email prints a setting left blank or as the starter's placeholder:
    not built, and the notes say which setting."""
    from mergekit.merge.settingscheck import setting_problems

    unfilled = setting_problems(settings, sorted(NOTICES & wanted))
    notes.extend(f"{u.problem} - the day-1 notices were not written" for u in unfilled)
    return {a for u in unfilled for a in u.actions}


# ---------------------------------------------------------------------------------------------
# Rendering one message


Encryptor = Callable[[Path, Path], None]


def pdf_encryptor(settings: Settings, env: Mapping[str, str]) -> Encryptor | None:
    """encrypt(src, dst) with AES-256 when [pdf] encrypt_emailed is on, else None. Raises
    ConfigError when it is on and the password is missing or weak."""
    from mergekit.pdf.protect import encrypt_pdf, pdf_password

    password = pdf_password(settings.pdf, env)
    if password is None:
        return None

    def encrypt(src: Path, dst: Path) -> None:
        encrypt_pdf(src, dst, password)

    return encrypt


def render_email(
    message: OutgoingMessage,
    *,
    message_id: str,
    sender: str,
    reply_to: str,
    encrypt: Encryptor | None,
    when: datetime | None = None,
) -> bytes:
    """The message exactly as it goes to the server (and into the outbox as .eml): CRLF line
    ends, no Bcc header (the log mailbox is only on the envelope)."""
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = [Address(display_name=r.name, addr_spec=r.address) for r in message.to]
    if reply_to:
        msg["Reply-To"] = reply_to
    msg["Subject"] = message.subject
    msg["Date"] = format_datetime(when or datetime.now().astimezone())
    msg["Message-ID"] = f"<{message_id}>"
    msg.set_content(message.text)
    if message.html:
        msg.add_alternative(message.html, subtype="html")
    for att in message.attachments:
        data = _attachment_bytes(att, encrypt)
        msg.add_attachment(data, maintype="application", subtype="pdf", filename=att.filename)
    return msg.as_bytes()


def _attachment_bytes(att: Attachment, encrypt: Encryptor | None) -> bytes:
    """The PDF's bytes (encrypted when asked), read once. A released form must still be the
    version released: if it was saved again since, nothing is attached and the send stops."""
    try:
        data = att.path.read_bytes()
        if att.sha256 and hashlib.sha256(data).hexdigest() != att.sha256:
            raise MailError(
                f"{att.path}: saved again after it was released - it is held again: check it, "
                "then release it again (mergekit send --release)"
            )
        if encrypt is None:
            return data
        with private_temp_dir() as tmp:
            src, dst = tmp / "released.pdf", tmp / "encrypted.pdf"
            src.write_bytes(data)
            encrypt(src, dst)
            return dst.read_bytes()
    except OSError as e:
        raise MailError(f"{att.path}: cannot read ({e.strerror}) - make the documents again") from e
