"""Build the example school: examples/tracking.xlsx, examples/transfer_list.xlsx and
examples/README.md.

    python scripts/make_example_school.py [--out DIR] [--config PATH]

Everything is invented and deterministic: one ``random.Random`` with a fixed seed, no clock,
fixed workbook properties and zip timestamps, so running it again gives the same workbooks. The
school day is Friday 27/11/2026 (``[run] today`` in examples/mergekit.toml). On that day every rule
of the school's policy fires for a few named scenario pupils, on top of about 1,200 ordinary
pupils. The script works out, on its own (not with mergekit's policy engine), what mergekit should
plan for every pupil, checks that each scenario gives exactly the actions it was built for, and
writes that into examples/README.md for trainers and tests.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import sys
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet
from stdnum.gb import upn as stdnum_upn

from mergekit.core.actions import ACTIONS
from mergekit.core.attendance import ABSENT, POSSIBLE, PRESENT, UNAUTHORISED, UNEXPLAINED
from mergekit.core.calendar import SchoolCalendar
from mergekit.core.config import PolicySettings, load_config
from mergekit.core.errors import MergekitError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = ROOT / "examples" / "mergekit.toml"
SEED = 20261127
TODAY = date(2026, 11, 27)
YEAR_START = date(2026, 9, 1)
STAMP = datetime(2026, 11, 27, 16, 30, 0)  # "exported" at half past four on the example day
SCHOOL = "Northgate Park Academy"
TOWN = "Exampleton"
LA_CODE = "331"
ESTABLISHMENT = "4999"
SCHOOL_DAYS_SO_FAR = 55  # 03/09/2026 - 27/11/2026 in the example calendar
BACKGROUND_LETTERS_DUE = 7
DATE_FORMAT = "dd/mm/yyyy"

# ---------------------------------------------------------------------------------------------
# Names and places. Every name is made up from common first names and surnames; no row is a
# real person. Surnames written "A|B" have a male and a female form.


@dataclass(frozen=True)
class Culture:
    key: str
    weight: int
    ethnicities: tuple[tuple[str, int], ...]
    languages: tuple[tuple[str, int], ...]
    boys: tuple[str, ...]
    girls: tuple[str, ...]
    surnames: tuple[str, ...]
    men: tuple[str, ...]
    women: tuple[str, ...]
    child_speaks_english: float = 0.0  # chance a child's first language is English anyway
    interpreter: float = 0.0  # chance the family needs an interpreter
    refugee: float = 0.0


def _t(text: str) -> tuple[str, ...]:
    return tuple(x.strip() for x in text.split(",") if x.strip())


CULTURES: tuple[Culture, ...] = (
    Culture(
        "british",
        50,
        (
            ("White - British", 90),
            ("White and Black Caribbean", 6),
            ("Any other mixed background", 4),
        ),
        (("English", 1),),
        _t(
            "Oliver, Harry, Jack, George, Noah, Charlie, Jacob, Alfie, Freddie, Oscar, Leo, "
            "Archie, Thomas, Joshua, James, William, Harvey, Riley, Ethan, Mason, Tyler, Callum, "
            "Owen, Kian, Jake, Liam, Connor, Lewis, Max, Reuben, Toby, Finley, Dylan, Kai"
        ),
        _t(
            "Amelia, Olivia, Isla, Poppy, Freya, Evie, Ruby, Grace, Daisy, Ellie, Millie, Lily, "
            "Sophie, Chloe, Megan, Holly, Jessica, Zoë, Maisie, Phoebe, Lacey, Scarlett, Erin, "
            "Harriet, Imogen, Libby, Esme, Darcey, Summer, Renée"
        ),
        _t(
            "Hughes, Walker, Bennett, Turner, Harrison, Price, Wood, Barker, Shaw, Pearce, "
            "Holloway, Marsh, Fletcher, Gibbs, Lowe, Chambers, Dawson, Hartley, Kerr, Pritchard, "
            "Rowe, Sutton, Tranter, Whitmore, Yates, Ashworth, Brindley, Coulter, Dunmore, "
            "Everitt, Fenwick, Garside, Haworth, Ingram, Jarvis, Kendrick, Lomas, Mottram, "
            "Nuttall, Oakes, Parr, Ridgway, Stubbs, Thwaite, Upton, Venables, Wragg, Beddow, "
            "Cartwright, Eccles, Foulkes, Greaves, Hadley, Kettle, Leadbetter, Moseley, "
            "Pickering, Royle, Skidmore, Tolley, Whitehouse, Aldridge, Bayliss, Collier, "
            "Dainty, Marsh-Evans"
        ),
        _t(
            "Mark, Paul, Lee, Darren, Craig, Stuart, Wayne, Dean, James, Richard, Gareth, Neil, "
            "Carl, Jason, Adam, Matthew, Daniel, Ryan, Scott, Steven"
        ),
        _t(
            "Sarah, Lisa, Emma, Claire, Kelly, Gemma, Michelle, Laura, Nicola, Rachel, Stacey, "
            "Danielle, Hayley, Kirsty, Joanne, Leanne, Vicky, Charlotte, Amy, Rebecca"
        ),
    ),
    Culture(
        "irish",
        3,
        (("White - Irish", 1),),
        (("English", 1),),
        _t("Ciarán, Seán, Pádraig, Oisín, Cian, Eoin, Darragh, Conor"),
        _t("Siobhán, Niamh, Aoife, Róisín, Caoimhe, Saoirse, Orla, Clodagh"),
        _t("O'Brien, O'Sullivan, McCarthy, Doyle, Byrne, Gallagher, Kavanagh, O'Connor, Walsh"),
        _t("Declan, Brendan, Kieran, Ronan, Colm"),
        _t("Máiréad, Bernadette, Fionnuala, Aisling, Deirdre"),
    ),
    Culture(
        "polish",
        6,
        (("Any other White background", 1),),
        (("Polish", 1),),
        _t("Łukasz, Jakub, Kacper, Szymon, Mateusz, Bartosz, Filip, Wojciech, Michał, Antoni"),
        _t("Zofia, Zuzanna, Julia, Maja, Wiktoria, Natalia, Oliwia, Hanna, Alicja, Gabriela"),
        _t(
            "Nowak, Kowalski|Kowalska, Wiśniewski|Wiśniewska, Wójcik, Kowalczyk, "
            "Kamiński|Kamińska, Zieliński|Zielińska, Szymański|Szymańska, Woźniak, "
            "Dąbrowski|Dąbrowska, Lewandowski|Lewandowska, Mazur, Krawczyk"
        ),
        _t("Tomasz, Piotr, Krzysztof, Paweł, Marcin, Grzegorz"),
        _t("Agnieszka, Katarzyna, Małgorzata, Joanna, Ewa, Magdalena"),
        child_speaks_english=0.2,
        interpreter=0.2,
    ),
    Culture(
        "romanian",
        4,
        (("Any other White background", 1),),
        (("Romanian", 1),),
        _t("Andrei, Ștefan, Mihai, Răzvan, Alexandru, Ionuț, Cristian, Gabriel"),
        _t("Ioana, Alexandra, Bianca, Denisa, Andreea, Elena, Maria, Ana-Maria"),
        _t(
            "Popescu, Ionescu, Stan, Dumitru, Munteanu, Constantin, Lungu, Georgescu, "
            "Marinescu, Ciobanu"
        ),
        _t("Florin, Marius, Adrian, Cătălin, Sorin"),
        _t("Mihaela, Daniela, Cristina, Ramona, Simona"),
        child_speaks_english=0.1,
        interpreter=0.35,
    ),
    Culture(
        "pakistani",
        8,
        (("Pakistani", 1),),
        (("Urdu", 5), ("Panjabi", 3), ("English", 2)),
        _t("Muhammad, Hamza, Ibrahim, Yusuf, Rayyan, Zayan, Ayaan, Abdullah, Bilal, Haris"),
        _t("Ayesha, Zainab, Maryam, Aleena, Hafsa, Inaaya, Eman, Anaya, Fatima, Safa"),
        _t("Khan, Hussain, Ahmed, Iqbal, Akhtar, Mahmood, Rashid, Shah, Ali, Raza, Qureshi, Malik"),
        _t("Imran, Asif, Tariq, Khalid, Nadeem, Shahid"),
        _t("Nasreen, Shazia, Rubina, Samina, Farzana, Saima"),
        child_speaks_english=0.5,
        interpreter=0.1,
    ),
    Culture(
        "indian",
        7,
        (("Indian", 1),),
        (("Panjabi", 4), ("Gujarati", 3), ("English", 3)),
        _t("Arjun, Aarav, Gurveer, Harjot, Rohan, Dev, Kabir, Jaskaran"),
        _t("Priya, Simran, Jasleen, Anika, Diya, Harleen, Navneet, Riya"),
        _t("Patel, Sandhu, Gill, Sharma, Mistry, Chauhan, Bains, Dhillon, Joshi, Parmar"),
        _t("Rajesh, Sukhdev, Jaswinder, Vikram, Sanjay"),
        _t("Manjit, Rupinder, Sunita, Kiran, Meena"),
        child_speaks_english=0.6,
        interpreter=0.05,
    ),
    Culture(
        "bangladeshi",
        3,
        (("Bangladeshi", 1),),
        (("Bengali", 1),),
        _t("Tahmid, Rahim, Arif, Sami, Nabil, Rayhan"),
        _t("Nusrat, Sumaiya, Tasnim, Sadia, Nafisa, Jannat"),
        _t("Miah, Rahman, Uddin, Islam, Chowdhury, Hoque"),
        _t("Abdul, Jamal, Shafiq, Mizanur"),
        _t("Shahena, Rokeya, Salma, Rehana"),
        child_speaks_english=0.4,
        interpreter=0.15,
    ),
    Culture(
        "somali",
        2,
        (("Black - African", 1),),
        (("Somali", 1),),
        _t("Abdirahman, Mohamed, Liban, Abdullahi, Hamse, Yahye"),
        _t("Hodan, Ayaan, Fadumo, Sagal, Hibaaq, Ifrah"),
        _t("Abdi, Hassan, Warsame, Farah, Osman, Jama, Mohamud"),
        _t("Abdikarim, Ahmed, Omar"),
        _t("Amina, Halimo, Sahra, Khadra"),
        child_speaks_english=0.3,
        interpreter=0.3,
        refugee=0.1,
    ),
    Culture(
        "west_african",
        5,
        (("Black - African", 1),),
        (("English", 5), ("Yoruba", 2), ("Igbo", 2), ("Twi", 1)),
        _t("Chidi, Tobi, Kwame, Oluwaseun, Emeka, Kofi, David, Daniel, Samuel"),
        _t("Adaeze, Temitope, Chiamaka, Ama, Abena, Favour, Precious, Esther, Blessing"),
        _t(
            "Okafor, Adeyemi, Mensah, Owusu, Nwosu, Oyelaran, Boateng, Eze, Asante, Adebayo, "
            "Okonkwo"
        ),
        _t("Chukwuemeka, Kwabena, Olusegun, Femi, Kojo"),
        _t("Ngozi, Funmilayo, Akosua, Adwoa, Yetunde"),
        child_speaks_english=0.7,
    ),
    Culture(
        "caribbean",
        4,
        (("Black Caribbean", 8), ("White and Black Caribbean", 2)),
        (("English", 1),),
        _t("Jayden, Tyrese, Kyrell, Marcus, Rashawn, Isaiah"),
        _t("Shanice, Aaliyah, Jada, Kiara, Tianna, Destiny"),
        _t("Campbell, Williams, Brown, Clarke, Reid, Grant, Francis, Henry, Thompson, Morgan"),
        _t("Delroy, Winston, Clive, Leon"),
        _t("Marcia, Sonia, Paulette, Jacqueline, Kerry-Ann"),
    ),
    Culture(
        "vietnamese",
        1,
        (("Any other Asian background", 1),),
        (("Vietnamese", 1),),
        _t("Minh, Bảo, Huy, Khánh, Phúc, Đức"),
        _t("Linh, Thảo, Ngọc, Anh, Hương, Mai"),
        _t("Nguyễn, Trần, Lê, Phạm, Hoàng, Vũ"),
        _t("Hùng, Tuấn, Dũng"),
        _t("Lan, Hoa, Thủy"),
        child_speaks_english=0.3,
        interpreter=0.4,
    ),
    Culture(
        "turkish",
        2,
        (("Any other White background", 1),),
        (("Turkish", 3), ("Kurdish", 2)),
        _t("Emre, Yusuf, Çağrı, Mert, Kerem, Barış"),
        _t("Ayşe, Elif, Zeynep, Derya, Berfin, Rojda"),
        _t("Yılmaz, Demir, Şahin, Çelik, Kaya, Aydın, Doğan, Öztürk"),
        _t("Mehmet, Hasan, Serkan"),
        _t("Fatma, Gülşen, Hatice"),
        child_speaks_english=0.3,
        interpreter=0.3,
    ),
    Culture(
        "eritrean",
        1,
        (("Black - African", 1),),
        (("Tigrinya", 1),),
        _t("Yonas, Dawit, Robel, Filmon, Abel"),
        _t("Semhar, Selam, Luwam, Saron, Helen"),
        _t("Tesfay, Gebremedhin, Haile, Berhane, Kidane, Tekle"),
        _t("Tesfaldet, Mehari, Goitom"),
        _t("Tsega, Almaz, Senait"),
        child_speaks_english=0.1,
        interpreter=0.7,
        refugee=0.7,
    ),
    Culture(
        "chinese",
        1,
        (("Chinese", 1),),
        (("Cantonese", 2), ("Mandarin", 2), ("English", 1)),
        _t("Wei, Jun, Haoran, Ethan, Ryan"),
        _t("Xinyi, Mei, Chloe, Grace, Jia Hui"),
        _t("Chen, Wang, Li, Zhang, Liu, Wong, Lam"),
        _t("Jian, Ming, Kwok Wai"),
        _t("Li Na, Yan, Siu Ling"),
        child_speaks_english=0.5,
        interpreter=0.2,
    ),
    Culture(
        "arab",
        2,
        (("Any other ethnic group", 1),),
        (("Arabic", 1),),
        _t("Omar, Karim, Yousef, Ahmad, Khaled, Sami"),
        _t("Layla, Rania, Nour, Huda, Lina, Yasmin"),
        _t("Al-Hassan, Haddad, Khalil, Darwish, Al-Masri, Hamdan, Saleh"),
        _t("Mahmoud, Walid, Rami, Bassam"),
        _t("Rana, Hala, Samar, Maha"),
        child_speaks_english=0.1,
        interpreter=0.5,
        refugee=0.4,
    ),
    Culture(
        "portuguese",
        1,
        (("Any other White background", 1),),
        (("Portuguese", 1),),
        _t("João, Gonçalo, Tiago, Rodrigo, Duarte"),
        _t("Inês, Beatriz, Leonor, Matilde, Carolina"),
        _t("Silva, Santos, Ferreira, Gonçalves, Pereira, Costa"),
        _t("Rui, Nuno, Sérgio"),
        _t("Ana, Sofia, Cláudia"),
        child_speaks_english=0.3,
        interpreter=0.2,
    ),
    Culture(
        "traveller",
        1,
        (("Traveller of Irish heritage", 1), ("Gypsy/Roma", 1)),
        (("English", 1),),
        _t("Johnny, Patrick, Tommy, Levi, Jimmy"),
        _t("Bridget, Mary, Kathleen, Rose, Margaret"),
        _t("Ward, Doherty, McDonagh, Boswell, Lee, Joyce"),
        _t("Martin, Michael, John"),
        _t("Nora, Ellen, Winnie"),
    ),
)
CULTURE = {c.key: c for c in CULTURES}

STREETS = _t(
    "Larch Avenue, Mill Lane, Kestrel Way, Tanner's Row, Beacon Road, Orchard Close, "
    "Hollybush Lane, Canal Street, Foundry Walk, Weaver Road, Chapel Street, Heron Drive, "
    "Brook Lane, Station Road, Cedar Grove, Copper Beech Close, Priory Road, Fernleigh Avenue, "
    "Quarry Hill, Slate Row, Sandpiper Close, Wharf Road, Bramble Way, Northgate Road, "
    "Linden Street, Marlpit Lane, Coronation Road, Victoria Terrace, Albert Street, "
    "Whitethorn Crescent, Kingfisher Court, Rowan Drive, Meadow View, Bowling Green Lane, "
    "Hawthorn Road, Sycamore Walk, Spinner's End, Lock Keeper's Way, Vicarage Lane, "
    "Ashby Road, Elm Tree Avenue, Gasworks Lane, Rope Walk, Pinfold Street"
)
BLOCKS = _t("Kestrel House, Heron Court, Beacon Heights, Wharf House, Linden Court, Priory Mews")
LOCALITIES = _t(
    "Northgate, Hollins Park, Eastbrook, Mill End, Ashby Green, Canal Side, Upper Marsh, "
    "Tanner's Hill"
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

SOCIAL_WORKERS = (
    ("Ms Abena Owusu-Reid", "Children in Care Team"),
    ("Mr Tom Ashdown", "Child Protection Team North"),
    ("Mrs Gwen Pryce-Hall", "Child Protection Team South"),
    ("Mr Samir Qadri", "Children in Need Team"),
    ("Ms Lucy Farrant", "Children in Need Team"),
    ("Mx Jordan Vale", "Child Protection Team North"),
    ("Ms Nia Okoro", "Assessment Team"),
    ("Mr Callum Reith", "Children in Need Team"),
)
KEY_WORKERS = (
    "Ms Hannah Leeson (Early Help)",
    "Mr Dev Anand (Early Help)",
    "Ms Carys Hewitt (Family Support)",
    "Mr Rob Tindall (Early Help)",
)


def fold(text: str) -> str:
    """Plain ASCII for email addresses: 'Łukasz Wiśniewski' -> 'Lukasz Wisniewski'."""
    text = text.translate(str.maketrans("łŁıđĐ", "lLidD"))
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z]", "", text)


def surname_form(surname: str, gender: str) -> str:
    male, _, female = surname.partition("|")
    return female if gender == "F" and female else male


# ---------------------------------------------------------------------------------------------
# The people


@dataclass(frozen=True)
class Addr:
    lines: tuple[str, ...]
    postcode: str


NO_ADDRESS = Addr((), "")


@dataclass
class Contact:
    gender: str
    title: str
    forename: str
    surname: str
    relationship: str
    parental_responsibility: bool
    lives_with: bool
    address: Addr
    landline: str = ""
    mobile: str = ""
    email: str = ""
    language: str = "English"
    interpreter: bool = False
    no_contact: bool = False

    @property
    def name(self) -> str:
        return f"{self.forename} {self.surname}"


@dataclass
class Family:
    culture: Culture
    surname: str  # the children's surname (male form for gendered surnames)
    address: Addr
    language: str
    contacts: list[Contact] = field(default_factory=list)


@dataclass(frozen=True)
class LogRow:
    day: date
    method: str
    made: bool
    notes: str


@dataclass(frozen=True)
class LetterRow:
    label: str  # as the school wrote it: "Letter 1", "PA Letter 2"
    day: date


@dataclass(frozen=True)
class EventRow:
    event: str
    received: date
    effective: date | None
    new_address: str
    new_country: str
    new_school: str
    notes: str
    move: bool  # planned move (else elective home education)


@dataclass
class Kid:
    family: Family
    forename: str
    surname: str
    gender: str
    year: int
    dob: date
    case: str = ""
    middle: str = ""
    preferred: str = ""
    upn: str = ""
    adno: str = ""
    admission: date = YEAR_START
    joined_this_year: bool = False
    previous_school: str = ""
    reg: str = ""
    ethnicity: str = ""
    first_language: str = "English"
    address: Addr = NO_ADDRESS
    fsm: bool = False
    sen: str = "None"
    flags: set[str] = field(default_factory=set)
    social_worker: tuple[str, str, str] = ("", "", "")
    key_worker: tuple[str, str, str] = ("", "", "")
    aliases: str = ""
    previous_addresses: str = ""
    temporary_upn: bool = False
    upn_la: str = LA_CODE
    marks: dict[date, tuple[str, str]] = field(default_factory=dict)
    letters: list[LetterRow] = field(default_factory=list)
    log: list[LogRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)

    @property
    def known_as(self) -> str:
        return self.preferred or self.forename

    @property
    def name(self) -> str:
        return f"{self.known_as} {self.surname}"

    @property
    def first_school_day(self) -> date:
        return max(self.admission, YEAR_START)


class Factory:
    """Names, numbers and addresses, all invented and drawn from one seeded generator.

    Phone numbers are from Ofcom's ranges kept for drama (07700 900xxx, 01632 960xxx), which
    are too small for 1,200 families, so unrelated families sometimes share a number."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self._mobiles: list[str] = []
        self._landlines = [f"01632 960{n:03d}" for n in (*range(400), *range(500, 700))]
        rng.shuffle(self._landlines)
        self._emails: set[str] = set()
        self._serials: dict[tuple[str, str], int] = {}
        self._postcodes: set[str] = set()
        self.used_names: set[tuple[str, str]] = set()

    def pick(self, options: Sequence[str]) -> str:
        return options[self.rng.randrange(len(options))]

    def weighted(self, options: Sequence[tuple[str, int]]) -> str:
        return self.rng.choices([o for o, _ in options], [w for _, w in options])[0]

    def mobile(self) -> str:
        if not self._mobiles:
            self._mobiles = [f"07700 900{n:03d}" for n in range(900)]
            self.rng.shuffle(self._mobiles)
        return self._mobiles.pop()

    def landline(self) -> str:
        return self._landlines.pop() if self._landlines else ""

    def email(self, forename: str, surname: str) -> str:
        first, last = fold(forename).lower(), fold(surname).lower()
        styles = (f"{first}.{last}", f"{first[0]}{last}", f"{first}{last}", f"{last}.{first}")
        base = styles[self.rng.randrange(len(styles))]
        candidate = f"{base}@example.org"
        while candidate in self._emails:
            candidate = f"{base}{self.rng.randrange(10, 99)}@example.org"
        self._emails.add(candidate)
        return candidate

    def postcode(self) -> str:
        while True:
            code = (
                f"ZZ{self.rng.randrange(1, 10)} {self.rng.randrange(1, 10)}"
                f"{self.pick(POSTCODE_LETTERS)}{self.pick(POSTCODE_LETTERS)}"
            )
            if code not in self._postcodes:
                self._postcodes.add(code)
                return code

    def address(self) -> Addr:
        street = self.pick(STREETS)
        if self.rng.random() < 0.18:
            first = f"Flat {self.rng.randrange(1, 40)}, {self.pick(BLOCKS)}"
            return Addr((first, street, TOWN), self.postcode())
        line1 = f"{self.rng.randrange(1, 180)} {street}"
        return Addr((line1, self.pick(LOCALITIES), TOWN), self.postcode())

    def upn(self, entry_year: int, la: str = LA_CODE, temporary: bool = False) -> str:
        """A UPN with a valid DfE check letter: LA code, the made-up establishment number, the
        year it was allocated and a serial (two digits and a letter when temporary)."""
        yy = f"{entry_year % 100:02d}"
        key = (la, yy + ("T" if temporary else ""))
        self._serials[key] = self._serials.get(key, 0) + self.rng.randrange(1, 4)
        serial = self._serials[key]
        if temporary:
            tail = f"{serial % 100:02d}{'ABCDEFGHJKLMNPQRTUVWXYZ'[serial // 100 % 23]}"
        else:
            tail = f"{serial:03d}"
        body = f"{la}{ESTABLISHMENT}{yy}{tail}"
        return stdnum_upn.calc_check_digit(body) + body

    def forename(self, culture: Culture, gender: str) -> str:
        return self.pick(culture.girls if gender == "F" else culture.boys)

    def adult(
        self,
        culture: Culture,
        gender: str,
        surname: str,
        relationship: str,
        *,
        pr: bool,
        lives_with: bool,
        address: Addr,
        language: str,
    ) -> Contact:
        forename = self.pick(culture.women if gender == "F" else culture.men)
        if gender == "F":
            title = self.weighted((("Mrs", 55), ("Ms", 30), ("Miss", 13), ("Dr", 2)))
        else:
            title = self.weighted((("Mr", 97), ("Dr", 2), ("Mx", 1)))
        contact = Contact(
            gender,
            title,
            forename,
            surname_form(surname, gender),
            relationship,
            pr,
            lives_with,
            address,
            mobile=self.mobile() if self.rng.random() < 0.96 else "",
            language=language,
        )
        if self.rng.random() < 0.8:
            contact.email = self.email(forename, contact.surname)
        return contact

    def family(
        self, culture: Culture, shape: str | None = None, surname: str | None = None
    ) -> Family:
        rng = self.rng
        surname = surname or self.pick(culture.surnames)
        language = self.weighted(culture.languages)
        home = self.address()
        fam = Family(culture, surname, home, language)
        shape = shape or self.weighted(
            (
                ("two_parents", 48),
                ("single_mother", 22),
                ("separated", 12),
                ("stepfather", 7),
                ("single_father", 5),
                ("grandparents", 3),
                ("two_mothers", 2),
            )
        )
        other = self.pick([s for s in culture.surnames if s != surname])

        def add(gender: str, name: str, rel: str, pr: bool, lives: bool, where: Addr) -> Contact:
            c = self.adult(
                culture,
                gender,
                name,
                rel,
                pr=pr,
                lives_with=lives,
                address=where,
                language=language,
            )
            fam.contacts.append(c)
            return c

        if shape == "two_parents":
            add("F", surname if rng.random() < 0.8 else other, "Mother", True, True, home)
            add("M", surname, "Father", True, True, home)
        elif shape == "single_mother":
            add("F", surname, "Mother", True, True, home)
        elif shape == "separated":
            add("F", other if rng.random() < 0.5 else surname, "Mother", True, True, home)
            father = add("M", surname, "Father", True, False, self.address())
            father.no_contact = rng.random() < 0.04  # a court order: never write or call
        elif shape == "stepfather":
            add("F", surname, "Mother", True, True, home)
            add("M", other, "Step-father", False, True, home)
        elif shape == "single_father":
            add("M", surname, "Father", True, True, home)
        elif shape == "grandparents":
            add("F", surname, "Special Guardian (Grandmother)", True, True, home)
            add("M", surname, "Grandfather", False, True, home)
        else:  # two_mothers
            add("F", surname, "Mother", True, True, home)
            add("F", other, "Mother", True, True, home)
        if rng.random() < 0.3:
            gender = "F" if rng.random() < 0.6 else "M"
            rel = self.pick(
                ("Grandmother", "Aunt", "Family Friend")
                if gender == "F"
                else ("Grandfather", "Uncle")
            )
            add(
                gender,
                surname if rel.startswith("Grand") else other,
                rel,
                False,
                False,
                self.address(),
            )
        if rng.random() < 0.35:
            fam.contacts[0].landline = self.landline()
            for c in fam.contacts[1:]:
                if c.address == home:
                    c.landline = fam.contacts[0].landline
        if language != "English" and rng.random() < culture.interpreter:
            fam.contacts[0].interpreter = True
        return fam

    def child(self, fam: Family, gender: str, year: int, forename: str = "") -> Kid:
        culture = fam.culture
        surname = surname_form(fam.surname, gender)
        first = forename or self.forename(culture, gender)
        for _ in range(20):  # small name lists run out: then a name may repeat
            if forename or (first, surname) not in self.used_names:
                break
            first = self.forename(culture, gender)
        self.used_names.add((first, surname))
        kid = Kid(fam, first, surname, gender, year, dob_for(self.rng, year))
        kid.address = fam.address
        kid.ethnicity = self.weighted(culture.ethnicities)
        kid.first_language = (
            "English"
            if fam.language == "English" or self.rng.random() < culture.child_speaks_english
            else fam.language
        )
        if self.rng.random() < 0.35:
            kid.middle = self.forename(culture, gender)
            if kid.middle == kid.forename:
                kid.middle = ""
        if culture.key == "indian" and fam.surname in ("Sandhu", "Gill", "Bains", "Dhillon"):
            kid.middle = "Kaur" if gender == "F" else "Singh"
        if culture.key == "traveller":
            kid.flags.add("gypsy_roma_traveller")
        if self.rng.random() < culture.refugee:
            kid.flags.add("refugee_asylum_seeker")
        kid.preferred = kid.forename
        short = {
            "Alexandru": "Alex",
            "Oluwaseun": "Seun",
            "Abdirahman": "Abdi",
            "Muhammad": "Mo",
            "Jaskaran": "Jas",
            "Chukwuemeka": "Emeka",
            "Temitope": "Tope",
            "Gabriela": "Gabi",
            "Wojciech": "Wojtek",
            "Zuzanna": "Zuza",
        }
        if kid.forename in short and self.rng.random() < 0.6:
            kid.preferred = short[kid.forename]
        kid.fsm = self.rng.random() < 0.24
        kid.sen = self.weighted((("None", 84), ("SEN Support", 13), ("EHC Plan", 3)))
        return kid


def weekday(day: date) -> date:
    """The day itself, or the Monday after a weekend."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def dob_for(rng: random.Random, year: int) -> date:
    """A birthday in the right academic cohort: year 7 in 2026-27 were born 09/2014-08/2015."""
    start = date(2026 - year - 5, 9, 1)
    return start + timedelta(days=rng.randrange(365))


# ---------------------------------------------------------------------------------------------
# What mergekit should do: the rules of issue 3, written out again here on their own.


@dataclass(frozen=True)
class Tally:
    possible: int
    present: int
    unauthorised: int

    @property
    def absent(self) -> int:
        return self.possible - self.present

    def pct(self) -> str:
        return f"{100 * self.present / self.possible:.1f}%" if self.possible else "n/a"

    def text(self) -> str:
        return f"{self.pct()} ({self.present}/{self.possible} sessions)"


def tally(marks: dict[date, tuple[str, str]], start: date, end: date) -> Tally:
    possible = present = unauth = 0
    for day, pair in marks.items():
        if start <= day <= end:
            for code in pair:
                if code in POSSIBLE:
                    possible += 1
                    present += code in PRESENT
                    unauth += code in UNAUTHORISED
    return Tally(possible, present, unauth)


@dataclass(frozen=True)
class Expected:
    action: str
    reason: str


def uk(day: date) -> str:
    return day.strftime("%d/%m/%Y")


class Rules:
    """The policy's rules on the example's calendar, with the [policy] settings of the config."""

    def __init__(self, calendar: SchoolCalendar, policy: PolicySettings, today: date) -> None:
        self.cal = calendar
        self.policy = policy
        self.today = today

    def vulnerable(self, kid: Kid) -> bool:
        return any(
            all(part in kid.flags for part in spec.split("+"))
            for spec in self.policy.vulnerable_flags
        )

    def run(self, kid: Kid) -> list[date]:
        """Consecutive school days, ending today, with both sessions G, N or O."""
        days: list[date] = []
        for day in reversed(self.cal.between(self.cal.terms[0].start, self.today)):
            am, pm = kid.marks.get(day, ("", ""))
            if am in UNEXPLAINED and pm in UNEXPLAINED:
                days.append(day)
            else:
                break
        return days[::-1]

    def below_threshold(self, t: Tally) -> bool:
        threshold = Fraction(str(self.policy.pa_threshold_percent))
        if self.policy.pa_rule == "dfe":
            return 100 * t.absent >= (100 - threshold) * t.possible
        return 100 * t.present < threshold * t.possible

    def evaluate(self, kid: Kid) -> list[Expected]:
        p = self.policy
        if not p.first_compulsory_year <= kid.year <= p.last_compulsory_year:
            return []
        today = self.today
        marks = {d: m for d, m in kid.marks.items() if d <= today}
        out: list[Expected] = []
        am, pm = marks.get(today, ("", ""))
        if "N" in (am, pm):
            out.append(
                Expected(
                    "first_day_contact",
                    f"today's marks {am or '-'} {pm or '-'}: reason for absence not yet known",
                )
            )
        if self.vulnerable(kid) and (am in ABSENT or pm in ABSENT):
            flags = ", ".join(w for f, w in _VULNERABLE_WORDS.items() if f in kid.flags)
            who = kid.social_worker[0] or kid.key_worker[0]
            out.append(
                Expected(
                    "vulnerable_day1_contact",
                    f"absent today ({am} {pm}) and vulnerable ({flags}): contact {who}",
                )
            )
        ytd = tally(marks, YEAR_START, today)
        sent = sorted((x for x in kid.letters if YEAR_START <= x.day <= today), key=lambda x: x.day)
        if ytd.possible >= p.min_possible_sessions and self.below_threshold(ytd):
            number = len(sent) + 1
            gap = self.cal.school_days_after(sent[-1].day, today) if sent else None
            history = (
                f"letter {len(sent)} sent {uk(sent[-1].day)}, {gap} school days ago"
                if sent
                else "no letter sent this academic year"
            )
            if number <= 3 and (gap is None or gap >= p.letter_interval_school_days):
                out.append(
                    Expected(
                        f"pa_letter_{number}",
                        f"attendance {ytd.text()}, below {p.pa_threshold_percent:g}%; {history}",
                    )
                )
        if ytd.possible and 100 * ytd.absent >= Fraction(str(p.severe_absence_percent)) * (
            ytd.possible
        ):
            out.append(
                Expected(
                    "severe_absence",
                    f"absent {ytd.absent} of {ytd.possible} sessions "
                    f"({100 * ytd.absent / ytd.possible:.1f}%)",
                )
            )
        window = self.cal.last_school_weeks(today, p.penalty_window_weeks)
        if window:
            unauth = tally(marks, *window).unauthorised
            if unauth >= p.penalty_threshold_sessions:
                out.append(
                    Expected(
                        "penalty_notice_threshold",
                        f"{unauth} unauthorised sessions (G N O U) between {uk(window[0])} "
                        f"and {uk(window[1])}",
                    )
                )
        recent_start = self.cal.back(today, p.drop_window_school_days - 1)
        if recent_start is not None:
            earlier = tally(marks, YEAR_START, recent_start - timedelta(days=1))
            recent = tally(marks, recent_start, today)
            enough = min(earlier.possible, recent.possible) >= p.min_possible_sessions
            if enough and Fraction(100 * recent.present, recent.possible) <= Fraction(
                100 * earlier.present, earlier.possible
            ) - Fraction(str(p.drop_points)):
                out.append(
                    Expected(
                        "attendance_drop",
                        f"{recent.pct()} ({recent.present}/{recent.possible}) since "
                        f"{uk(recent_start)} against {earlier.pct()} "
                        f"({earlier.present}/{earlier.possible}) before",
                    )
                )
        run = self.run(kid)
        if run:
            made = [e for e in kid.log if e.made and run[0] <= e.day <= today]
            if not made:
                text = f"{len(run)} school days from {uk(run[0])} coded G/N/O, no contact made"
                for action, days in (
                    ("cme_inform", p.cme_inform_days),
                    ("cme_referral", p.cme_referral_days),
                    ("remove_from_roll", p.remove_from_roll_days),
                ):
                    if len(run) >= days:
                        out.append(Expected(action, text))
        for ev in kid.events:
            if ev.received <= today:
                what = "planned_move" if ev.move else "home_education"
                out.append(Expected(what, f"{ev.event} received {uk(ev.received)}"))
        order = {a: i for i, a in enumerate(ACTIONS)}
        return sorted(out, key=lambda e: order[e.action])


_VULNERABLE_WORDS = {
    "looked_after": "looked after",
    "child_protection_plan": "CP plan",
    "child_in_need_plan": "CIN plan",
    "domestic_abuse_notification": "DA notification",
    "early_help": "Early Help",
}


# ---------------------------------------------------------------------------------------------
# Building marks


PRESENT_DAY = ("/", "\\")


class School:
    """The calendar and everything built on it."""

    def __init__(self, calendar: SchoolCalendar, policy: PolicySettings) -> None:
        self.cal = calendar
        self.days = calendar.between(YEAR_START, TODAY)
        if len(self.days) != SCHOOL_DAYS_SO_FAR:
            raise SystemExit(
                f"the calendar in the config gives {len(self.days)} school days from 01/09/2026 "
                f"to 27/11/2026, not {SCHOOL_DAYS_SO_FAR}: the example is built for that calendar"
            )
        self.rules = Rules(calendar, policy, TODAY)

    def day(self, ddmm: str) -> date:
        """'23/11' -> 2026-11-23 (or 2026-09-xx for the autumn), checked to be a school day."""
        dd, mm = (int(x) for x in ddmm.split("/"))
        d = date(2026, mm, dd)
        if not self.cal.is_school_day(d):
            raise ValueError(f"{ddmm} is not a school day in the example calendar")
        return d

    def fill(self, kid: Kid) -> None:
        """Present at every session from the pupil's first day."""
        kid.marks = {d: PRESENT_DAY for d in self.days if d >= kid.first_school_day}

    def set(self, kid: Kid, when: str | Iterable[str], am: str, pm: str | None = None) -> None:
        for ddmm in [when] if isinstance(when, str) else when:
            d = self.day(ddmm)
            if d not in kid.marks:
                raise ValueError(f"{kid.name} has no mark on {ddmm} to change")
            kid.marks[d] = (am, am if pm is None else pm)

    def span(self, first: str, last: str) -> list[str]:
        a, b = self.day(first), self.day(last)
        return [d.strftime("%d/%m") for d in self.cal.between(a, b)]


# ---------------------------------------------------------------------------------------------
# The scenario pupils: each one is built for a case and must give exactly the actions listed.


@dataclass
class Case:
    case: str
    title: str
    expect: tuple[str, ...]
    why: str
    who: tuple[int, str, str, str, str]  # year, culture, forename, surname, gender
    build: Callable[[School, Kid, Factory], None]
    shape: str | None = None
    sibling_of: str = ""  # case key of an elder/younger sibling sharing the family

    @property
    def year(self) -> int:
        return self.who[0]

    @property
    def culture(self) -> str:
        return self.who[1]

    @property
    def forename(self) -> str:
        return self.who[2]

    @property
    def surname(self) -> str:
        return self.who[3]

    @property
    def gender(self) -> str:
        return self.who[4]


def log(kid: Kid, school: School, ddmm: str, method: str, made: bool, notes: str) -> None:
    kid.log.append(LogRow(school.day(ddmm), method, made, notes))


def letter(kid: Kid, label: str, day: date) -> None:
    kid.letters.append(LetterRow(label, day))


def social_worker(kid: Kid, index: int) -> None:
    name, team = SOCIAL_WORKERS[index]
    first, last = name.split(" ", 1)[1].split(" ", 1)
    email = f"{fold(first).lower()}.{fold(last).lower()}@example.gov.uk"
    kid.social_worker = (f"{name} ({team})", email, f"07700 900{950 + index:03d}")


def key_worker(kid: Kid, index: int) -> None:
    name = KEY_WORKERS[index]
    first, last = name.split(" (")[0].split(" ", 1)[1].split(" ", 1)
    email = f"{fold(first).lower()}.{fold(last).lower()}@example.gov.uk"
    kid.key_worker = (name, email, f"01632 960{760 + index:03d}")


def _first_day_both(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "17/09", "I")
    s.set(k, "27/11", "N")
    log(k, s, "17/09", "Phone call", True, "Dad rang in: sickness bug")
    log(k, s, "27/11", "Text message", False, "First-day absence text sent 09:05, no reply yet")


def _first_day_pm(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "02/10", "/", "M")
    s.set(k, "27/11", "/", "N")
    log(k, s, "27/11", "Phone call", False, "Not in period 5 after lunch; mum's phone no answer")


def _looked_after(s: School, k: Kid, f: Factory) -> None:
    k.flags |= {"looked_after", "open_social_care_case"}
    social_worker(k, 0)
    mum = k.family.contacts[0]
    mum.relationship = "Mother (care order; placed at home)"
    s.set(k, "24/09", "M", "\\")
    s.set(k, "27/11", "I")
    log(k, s, "27/11", "Phone call", True, "Mum rang 08:20: temperature, kept at home")


def _cp_plan(s: School, k: Kid, f: Factory) -> None:
    k.flags |= {"child_protection_plan", "open_social_care_case"}
    social_worker(k, 1)
    fam = k.family
    father = next(c for c in fam.contacts if c.relationship == "Father")
    father.no_contact = True
    father.lives_with = False
    father.address = f.address()
    father.email = ""
    s.set(k, "15/10", "I")
    s.set(k, "27/11", "N")
    log(k, s, "15/10", "Phone call", True, "Mum: migraine")
    log(k, s, "27/11", "Text message", False, "First-day absence text sent 09:05")


def _da_early_help(s: School, k: Kid, f: Factory) -> None:
    k.flags |= {"domestic_abuse_notification", "early_help"}
    key_worker(k, 0)
    s.set(k, "27/11", "N")
    log(k, s, "27/11", "Text message", False, "First-day absence text sent 09:05")


def _da_only(s: School, k: Kid, f: Factory) -> None:
    k.flags.add("domestic_abuse_notification")
    s.set(k, "05/10", "I")
    s.set(k, "27/11", "N")
    log(k, s, "27/11", "Text message", False, "First-day absence text sent 09:05")


def _cin_pm(s: School, k: Kid, f: Factory) -> None:
    k.flags |= {"child_in_need_plan", "open_social_care_case"}
    social_worker(k, 3)
    s.set(k, "27/11", "/", "M")
    log(k, s, "27/11", "Phone call", True, "Dad collected at 12:30 for a dental appointment")


def _pa_letter_1(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["08/09", "16/09", "09/11"], "I")
    s.set(k, "28/09", "M", "\\")
    s.set(k, "05/10", "O")
    s.set(k, "15/10", "/", "I")
    s.set(k, "18/11", "M", "\\")
    s.set(k, "24/11", "/", "U")


def _exactly_90(s: School, k: Kid, f: Factory) -> None:
    k.admission = s.day("10/09")
    k.joined_this_year = True
    k.previous_school = "Westmoor Academy, Exampleshire"
    s.fill(k)
    s.set(k, ["15/09", "23/09", "05/11"], "I")
    s.set(k, ["07/10", "13/11"], "M", "\\")
    s.set(k, ["20/10", "25/11"], "/", "I")


def _few_sessions(s: School, k: Kid, f: Factory) -> None:
    k.admission = s.day("17/11")
    k.joined_this_year = True
    k.temporary_upn = True
    k.previous_school = "None in the UK (arrived from abroad)"
    k.flags.add("refugee_asylum_seeker")
    for c in k.family.contacts:
        c.interpreter = c.lives_with
    s.fill(k)
    s.set(k, "19/11", "I")
    s.set(k, "23/11", "M", "\\")


def _pa_letter_2(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["04/09", "10/09", "08/10", "19/10", "03/11", "12/11"], "I")
    s.set(k, ["21/09", "20/11"], "O")
    s.set(k, "29/09", "M", "\\")
    letter(k, "Letter 1", s.day("06/11"))


def _letter_2_not_yet(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["07/09", "22/09", "01/10", "21/10", "04/11", "16/11"], "I")
    s.set(k, "13/10", "M")
    s.set(k, "26/11", "M", "\\")
    letter(k, "Letter 1", s.day("09/11"))


def _pa_letter_3(s: School, k: Kid, f: Factory) -> None:
    days = ["03/09", "18/09", "24/09", "02/10", "12/10", "22/10", "23/10", "06/11", "13/11"]
    s.set(k, [*days, "20/11"], "I")
    s.set(k, "11/09", "O")
    letter(k, "Letter 1", s.day("25/09"))
    letter(k, "Letter 2", s.day("21/10"))


def _all_letters_sent(s: School, k: Kid, f: Factory) -> None:
    days = ["03/09", "09/09", "14/09", "23/09", "30/09", "06/10", "14/10", "21/10", "23/10"]
    s.set(k, [*days, "05/11", "11/11", "19/11"], "I")
    s.set(k, ["22/10", "25/11"], "M", "\\")
    letter(k, "PA Letter 1", s.day("18/09"))
    letter(k, "PA Letter 2", s.day("12/10"))
    letter(k, "PA Letter 3", s.day("10/11"))


def _recovered(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["03/09", "04/09", "17/09", "25/09"], "I")
    s.set(k, "10/09", "O")
    letter(k, "Letter 1", s.day("02/10"))


def _last_year_letters(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["08/09", "18/09", "13/10", "04/11", "17/11"], "I")
    s.set(k, "29/09", "O")
    s.set(k, "20/10", "/", "M")
    s.set(k, "24/11", "M", "\\")
    letter(k, "Letter 1", date(2026, 1, 22))
    letter(k, "Letter 2", date(2026, 2, 26))
    letter(k, "Letter 3", date(2026, 4, 23))


def _severe(s: School, k: Kid, f: Factory) -> None:
    k.flags.add("early_help")
    key_worker(k, 2)
    k.sen = "SEN Support"
    days = s.days
    s.set(k, days[0].strftime("%d/%m"), "/", "I")
    for i in range(1, 54, 2):
        s.set(k, days[i].strftime("%d/%m"), "M" if i % 10 == 3 else "I")
    letter(k, "Letter 1", s.day("21/09"))
    letter(k, "Letter 2", s.day("13/10"))
    letter(k, "Letter 3", s.day("11/11"))
    log(k, s, "21/09", "Meeting", True, "Met mum: anxiety about school; referred to Early Help")


def _holiday(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("12/10", "16/10"), "G")
    log(k, s, "12/10", "Phone call", True, "Dad: family in Spain until 18/10; leave refused 21/09")


def _nine_in_window(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "11/09", "/", "O")
    s.set(k, s.span("12/10", "15/10"), "G")
    s.set(k, "19/10", "U", "\\")
    log(k, s, "12/10", "Phone call", True, "Mum: visiting family, back Friday; leave not agreed")


def _drop(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["06/11", "09/11", "16/11"], "I")
    s.set(k, "13/11", "O")
    log(k, s, "13/11", "Phone call", False, "No answer; voicemail left")


def _cme_inform(s: School, k: Kid, f: Factory) -> None:
    s.set(k, ["23/11", "24/11"], "O")
    s.set(k, s.span("25/11", "27/11"), "N")
    log(k, s, "23/11", "Text message", False, "First-day absence text sent")
    log(k, s, "23/11", "Phone call", False, "No answer; voicemail left")
    log(k, s, "24/11", "Phone call", False, "Mum's mobile switched off")
    log(k, s, "25/11", "Home visit", False, "No answer; neighbour has not seen the family")
    log(k, s, "26/11", "Phone call", False, "No answer from either parent")
    log(k, s, "27/11", "Text message", False, "Text sent 09:05")


def _run_4(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("24/11", "27/11"), "N")
    log(k, s, "24/11", "Text message", False, "First-day absence text sent")
    log(k, s, "25/11", "Phone call", False, "No answer")
    log(k, s, "26/11", "Phone call", False, "No answer; voicemail left")


def _contact_day_4(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("18/11", "27/11"), "O")
    log(k, s, "18/11", "Text message", False, "First-day absence text sent")
    log(k, s, "19/11", "Phone call", False, "No answer")
    log(k, s, "20/11", "Home visit", False, "No answer at the door")
    log(
        k,
        s,
        "23/11",
        "Phone call",
        True,
        "Spoke to mum: Jake is staying with relatives out of town; would not give the address. "
        "Told her of the legal duty; passed to the DSL",
    )
    log(k, s, "25/11", "Phone call", False, "No answer")


def _referral(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("16/11", "20/11"), "G")
    s.set(k, s.span("23/11", "27/11"), "O")
    log(
        k,
        s,
        "13/11",
        "Phone call",
        True,
        "Dad asked for leave 16-20/11 for a family wedding abroad; refused, penalty explained",
    )
    log(k, s, "23/11", "Text message", False, "Not back after the refused leave; text sent")
    log(k, s, "23/11", "Phone call", False, "No answer")
    log(k, s, "24/11", "Phone call", False, "Voicemail full")
    log(k, s, "25/11", "Home visit", False, "No answer; neighbour says the family are still away")
    log(k, s, "26/11", "Email", False, "No reply")


def _remove_22(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("21/10", "27/11"), "O")
    k.aliases = "Mason Bradley"
    k.previous_addresses = "3 Tanner's Row, Upper Marsh, Exampleton ZZ4 2LP (until 2024)"
    log(k, s, "15/10", "Phone call", True, "Mum says the family may be moving soon; no details")
    log(k, s, "21/10", "Text message", False, "First-day absence text sent")
    log(k, s, "22/10", "Phone call", False, "No answer")
    log(k, s, "23/10", "Home visit", False, "No answer; post piling up behind the door")
    log(k, s, "03/11", "Phone call", False, "Number unobtainable")
    log(k, s, "04/11", "Home visit", False, "Neighbour says the family moved out over half term")
    log(k, s, "10/11", "Email", False, "Email bounced")
    log(k, s, "17/11", "Letter", False, "Letter to home address asking parent to contact school")
    log(k, s, "24/11", "Phone call", False, "Grandmother (emergency contact) does not know where")


def _remove_closure(s: School, k: Kid, f: Factory) -> None:
    s.set(k, s.span("08/10", "23/10"), "G")
    s.set(k, s.span("03/11", "27/11"), "O")
    log(k, s, "07/10", "Phone call", True, "Dad: family going abroad from 08/10; leave refused")
    log(k, s, "12/10", "Phone call", False, "No answer")
    log(k, s, "19/10", "Phone call", False, "No answer; voicemail left")
    log(k, s, "03/11", "Phone call", False, "Not back after half term; no answer")
    log(k, s, "04/11", "Home visit", False, "House in darkness; no answer")
    log(k, s, "11/11", "Home visit", False, "No answer; car not on the drive")
    log(k, s, "18/11", "Email", False, "No reply")
    log(k, s, "25/11", "Phone call", False, "No answer")


def _planned_move_uk(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "21/09", "I")
    k.events.append(
        EventRow(
            "Planned move",
            s.day("20/11"),
            date(2026, 12, 18),
            "14 Harbour View, Seaport, ZZ9 2QT",
            "England",
            "Seaport Academy (place offered)",
            "Mum phoned, then confirmed by email: moving for work at Christmas",
            True,
        )
    )


def _planned_move_abroad(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "14/10", "I")
    k.events.append(
        EventRow(
            "Planned move - out of the country",
            s.day("25/11"),
            date(2027, 1, 8),
            "",
            "Portugal",
            "Not yet known",
            "Family returning to Portugal after Christmas; dad will send the new school's details",
            True,
        )
    )


def _home_education(s: School, k: Kid, f: Factory) -> None:
    s.set(k, "02/10", "I")
    k.events.append(
        EventRow(
            "Elective home education request (letter from parent)",
            s.day("24/11"),
            date(2026, 12, 7),
            "",
            "",
            "",
            "Letter from both parents received 24/11/2026: home education from 07/12/2026",
            False,
        )
    )


def _sixth_form(s: School, k: Kid, f: Factory) -> None:
    k.reg = "12SF"
    days = ["07/09", "14/09", "21/09", "28/09", "05/10", "12/10", "19/10", "03/11", "09/11"]
    s.set(k, days, "O")
    s.set(k, ["10/09", "24/09", "16/10"], "I")
    s.set(k, s.span("18/11", "27/11"), "O")
    log(k, s, "18/11", "Text message", False, "Sixth form absence text sent")


def _no_address(s: School, k: Kid, f: Factory) -> None:
    k.flags.add("temporary_accommodation")
    k.address = NO_ADDRESS
    k.family.address = NO_ADDRESS
    for c in k.family.contacts:
        c.address = NO_ADDRESS
        c.landline = ""
        c.mobile = c.mobile or f.mobile()
        c.email = c.email or f.email(c.forename, c.surname)
    s.set(k, ["07/09", "15/09", "06/10", "16/10", "03/11", "10/11", "19/11"], "I")
    s.set(k, "25/09", "O")


def _dual_registered(s: School, k: Kid, f: Factory) -> None:
    s.set(k, [d.strftime("%d/%m") for d in s.days if d.weekday() == 2], "D")
    s.set(k, ["07/09", "01/10", "05/11", "17/11"], "I")


CASES: tuple[Case, ...] = (
    Case(
        "first_day_contact",
        "N for the whole of today",
        ("first_day_contact",),
        "Marked N at both sessions today; the hub team's text got no reply.",
        (9, "british", "Harvey", "Tranter", "M"),
        _first_day_both,
    ),
    Case(
        "first_day_contact_pm",
        "Present this morning, N this afternoon",
        ("first_day_contact",),
        "Registered this morning, missing after lunch (PM mark N).",
        (7, "british", "Zoë", "Hartley", "F"),
        _first_day_pm,
    ),
    Case(
        "vulnerable_looked_after",
        "Looked-after pupil off ill today",
        ("vulnerable_day1_contact",),
        "Looked after (care order, placed at home with mum); absent today with I. Not N, so no "
        "first-day call, but the social worker must be told on day 1.",
        (8, "caribbean", "Jayden", "Campbell", "M"),
        _looked_after,
        shape="single_mother",
    ),
    Case(
        "vulnerable_cp_plan",
        "Child Protection Plan, N today",
        ("first_day_contact", "vulnerable_day1_contact"),
        "On a Child Protection Plan; N at both sessions today. Her father has a no-contact flag "
        "(court order).",
        (10, "irish", "Siobhán", "O'Brien", "F"),
        _cp_plan,
        shape="separated",
    ),
    Case(
        "vulnerable_da_early_help",
        "Domestic abuse notification with Early Help, N today",
        ("first_day_contact", "vulnerable_day1_contact"),
        "Police domestic-abuse notification and current Early Help involvement; N today. The "
        "Early Help key worker is the contact.",
        (7, "polish", "Łukasz", "Nowak", "M"),
        _da_early_help,
        shape="single_mother",
    ),
    Case(
        "da_notification_only",
        "Domestic abuse notification without Early Help, N today",
        ("first_day_contact",),
        "Domestic-abuse notification but no Early Help: not vulnerable under the default "
        "vulnerable_flags (DA counts only together with Early Help), so only the first-day call.",
        (9, "turkish", "Ayşe", "Yılmaz", "F"),
        _da_only,
    ),
    Case(
        "vulnerable_cin_pm",
        "Child In Need plan, dental appointment this afternoon",
        ("vulnerable_day1_contact",),
        "On a Child In Need plan; PM mark M today. Any absence of a vulnerable pupil counts.",
        (11, "caribbean", "Tyrese", "Grant", "M"),
        _cin_pm,
    ),
    Case(
        "pa_letter_1",
        "One session below 90%, no letters yet",
        ("pa_letter_1",),
        "98 of 110 sessions: 89.1%, one session below 90.0%. No letter sent this year.",
        (10, "vietnamese", "Bảo", "Nguyễn", "M"),
        _pa_letter_1,
    ),
    Case(
        "exactly_90_joiner",
        "Exactly 90.0%, joined on 10/09/2026",
        (),
        "Joined mid-term (admission 10/09/2026, marks from then): 90 of 100 sessions = 90.0%. "
        'Not below 90%, so no letter under pa_rule = "policy" (pa_rule = "dfe" would send '
        "one).",
        (8, "west_african", "Amara", "Okafor", "F"),
        _exactly_90,
    ),
    Case(
        "new_joiner_under_20_sessions",
        "Arrived 17/11/2026: too few sessions for a letter",
        (),
        "New arrival with a temporary UPN; 15 of 18 sessions (83.3%) but fewer than "
        "min_possible_sessions = 20, so no letter yet.",
        (9, "eritrean", "Yonas", "Tesfay", "M"),
        _few_sessions,
        shape="two_parents",
    ),
    Case(
        "pa_letter_2",
        "Letter 1 sent exactly 15 school days ago",
        ("pa_letter_2",),
        "Letter 1 sent Fri 06/11/2026, 15 school days before today; still 84.5% (93/110).",
        (9, "british", "Callum", "Fenwick", "M"),
        _pa_letter_2,
    ),
    Case(
        "letter_2_not_due",
        "Letter 1 sent 14 school days ago",
        (),
        "Letter 1 sent Mon 09/11/2026, only 14 school days ago (15 needed); 86.4% (95/110). "
        "Letter 2 falls due on Monday 30/11/2026.",
        (11, "pakistani", "Maryam", "Hussain", "F"),
        _letter_2_not_yet,
    ),
    Case(
        "pa_letter_3",
        "Letters 1 and 2 sent",
        ("pa_letter_3",),
        "Letters sent 25/09/2026 and 21/10/2026 (21 school days ago); 80.0% (88/110).",
        (8, "british", "Riley", "Dawson", "M"),
        _pa_letter_3,
    ),
    Case(
        "all_letters_sent",
        "Letters 1, 2 and 3 already sent",
        (),
        "76.4% (84/110) but all three letters went this term (18/09, 12/10, 10/11): there is "
        "no letter 4.",
        (10, "romanian", "Bianca", "Popescu", "F"),
        _all_letters_sent,
    ),
    Case(
        "recovered",
        "Had letter 1, now back above 90%",
        (),
        "Letter 1 sent 02/10/2026 after a poor September; full attendance since: 90.9% (100/110).",
        (9, "british", "Oscar", "Whitmore", "M"),
        _recovered,
    ),
    Case(
        "letters_last_year",
        "Letters 1-3 sent last academic year",
        ("pa_letter_1",),
        "Letters 1-3 were sent in 2025-26; the count starts again each academic year. "
        "87.3% (96/110).",
        (10, "irish", "Aoife", "Gallagher", "F"),
        _last_year_letters,
    ),
    Case(
        "severe_absence",
        "Exactly 50% absence",
        ("severe_absence",),
        "Absent 55 of 110 sessions (every other day, illness/anxiety): exactly 50.0%, which is "
        "severe. Letters 1-3 already sent, so no letter.",
        (11, "british", "Ellie-Mae", "Pritchard", "F"),
        _severe,
    ),
    Case(
        "penalty_notice_threshold",
        "Term-time holiday: 10 G sessions",
        ("penalty_notice_threshold",),
        "Holiday not agreed 12-16/10/2026 (G x 10 sessions) inside the 10 school weeks from "
        "14/09/2026; attendance 90.9% (100/110), so no letter.",
        (8, "british", "Ruby", "Ashworth", "F"),
        _holiday,
    ),
    Case(
        "penalty_nine_in_window",
        "10 unauthorised sessions this year, only 9 in the window",
        (),
        "O on Fri 11/09/2026 PM falls just before the 10-school-week window (from Mon "
        "14/09/2026); G x 8 (12-15/10) and U x 1 (19/10) inside it = 9, one short of 10.",
        (10, "west_african", "Kwame", "Mensah", "M"),
        _nine_in_window,
    ),
    Case(
        "attendance_drop",
        "Full attendance, then four days off since half term",
        ("attendance_drop",),
        "100% (70/70) before 23/10/2026, then 80.0% (32/40) in the last 20 school days: a drop of "
        "20 points while the year is still 92.7% (102/110).",
        (9, "indian", "Priya", "Sharma", "F"),
        _drop,
    ),
    Case(
        "cme_inform",
        "Unexplained absence for exactly 5 school days",
        ("first_day_contact", "penalty_notice_threshold", "attendance_drop", "cme_inform"),
        "O on 23-24/11, N on 25-27/11: 5 school days in a row, texts, calls and a home visit but "
        "no contact made.",
        (8, "irish", "Connor", "Doyle", "M"),
        _cme_inform,
    ),
    Case(
        "run_of_4",
        "Unexplained absence for 4 school days",
        ("first_day_contact", "attendance_drop"),
        "N on 24-27/11: a run of 4 school days, one short of informing the CME team.",
        (7, "chinese", "Lily", "Chen", "F"),
        _run_4,
    ),
    Case(
        "contact_made_day_4",
        "8 days unexplained, but mum was reached on day 4",
        ("pa_letter_1", "penalty_notice_threshold", "attendance_drop"),
        "O from 18/11/2026 (8 school days); a call on 23/11/2026 (day 4 of the run) reached mum, "
        "so no CME steps. 85.5% (94/110).",
        (10, "british", "Jake", "Holloway", "M"),
        _contact_day_4,
    ),
    Case(
        "cme_referral",
        "Not back from a refused holiday: 10 school days",
        (
            "pa_letter_1",
            "penalty_notice_threshold",
            "attendance_drop",
            "cme_inform",
            "cme_referral",
        ),
        "G 16-20/11, O 23-27/11: exactly 10 school days with no contact since the run began (the "
        "call on 13/11 was before it). 81.8% (90/110).",
        (8, "polish", "Zuzanna", "Wiśniewska", "F"),
        _referral,
        shape="two_parents",
    ),
    Case(
        "cme_referral_sibling",
        "Her brother, same family, same 10 days",
        (
            "pa_letter_1",
            "penalty_notice_threshold",
            "attendance_drop",
            "cme_inform",
            "cme_referral",
        ),
        "Brother of the cme_referral pupil (shared parents): the same 10-day run. The CME form "
        "lists siblings.",
        (10, "polish", "Kacper", "Wiśniewski", "M"),
        _referral,
        sibling_of="cme_referral",
    ),
    Case(
        "remove_from_roll",
        "22 school days missing, no history in mergekit",
        (
            "pa_letter_1",
            "penalty_notice_threshold",
            "attendance_drop",
            "cme_inform",
            "cme_referral",
            "remove_from_roll",
        ),
        "O every day from 21/10/2026: 22 school days across half term and the 02/11 INSET day. "
        "The last successful contact was 15/10, before the run. 60.0% (66/110).",
        (9, "british", "Mason", "Kerr", "M"),
        _remove_22,
        shape="single_mother",
    ),
    Case(
        "remove_from_roll_closure",
        "30 school days missing, across the closure, half term and INSET",
        (
            "pa_letter_1",
            "severe_absence",
            "penalty_notice_threshold",
            "attendance_drop",
            "cme_inform",
            "cme_referral",
            "remove_from_roll",
        ),
        "G from 08/10/2026 (the 09/10 closure day neither counts nor breaks the run), O since "
        "half term: 30 school days. 45.5% (50/110).",
        (11, "british", "Liam", "Coulter", "M"),
        _remove_closure,
    ),
    Case(
        "planned_move",
        "Moving within England at Christmas",
        ("planned_move",),
        "Planned move recorded 20/11/2026: moving on 18/12/2026, a place offered at the new "
        "school.",
        (7, "british", "Freya", "Lowe", "F"),
        _planned_move_uk,
    ),
    Case(
        "planned_move_abroad",
        "Moving to Portugal in January",
        ("planned_move",),
        "Planned move out of the country recorded 25/11/2026, leaving 08/01/2027.",
        (10, "portuguese", "Inês", "Santos", "F"),
        _planned_move_abroad,
    ),
    Case(
        "home_education",
        "Written request for elective home education",
        ("home_education",),
        "Parents' letter received 24/11/2026 asking to home educate from 07/12/2026.",
        (9, "british", "Evie", "Garside", "F"),
        _home_education,
    ),
    Case(
        "sixth_form",
        "Year 12 with poor attendance",
        (),
        "63.6% (70/110) and 8 unexplained days in a row, but year 12 is past compulsory school "
        "age: no rule applies.",
        (12, "british", "Jordan", "Brindley", "M"),
        _sixth_form,
    ),
    Case(
        "no_postal_address",
        "Temporary accommodation, no address on record",
        ("pa_letter_1",),
        "85.5% (94/110), so letter 1 is due, but neither the pupil nor any contact has a postal "
        "address: `mergekit check` warns, the letter can only be emailed or handed over.",
        (8, "caribbean", "Shanice", "Clarke", "F"),
        _no_address,
        shape="single_mother",
    ),
    Case(
        "dual_registered",
        "Dual registered: D every Wednesday",
        (),
        "At alternative provision every Wednesday (D, not a possible session): 80 of 88 "
        "sessions = 90.9%. Counting D as absence would wrongly give 72.7%.",
        (10, "british", "Kian", "Everitt", "M"),
        _dual_registered,
    ),
)


# ---------------------------------------------------------------------------------------------
# The ordinary pupils


YEAR_SIZES = {7: 241, 8: 239, 9: 240, 10: 238, 11: 236, 12: 9, 13: 7}
FORMS_PER_YEAR = 8
BACKGROUND_ALLOWED = {"first_day_contact", "pa_letter_1", "pa_letter_2", "pa_letter_3"}


def background_marks(school: School, kid: Kid, rng: random.Random, p: float) -> None:
    """Absence in episodes (a few days of illness, an appointment, a late) at rate p."""
    school.fill(kid)
    days = [d for d in school.days if d >= kid.first_school_day]
    late_rate = rng.choice((0.0, 0.0, 0.01, 0.03, 0.06))
    i = 0
    while i < len(days):
        d = days[i]
        if rng.random() >= p / 1.6:
            if rng.random() < late_rate:
                kid.marks[d] = ("L", "\\")
            i += 1
            continue
        kind = rng.choices(
            ("ill", "ill_pm", "medical", "unexplained", "late_u", "leave", "excluded", "holiday"),
            (62, 6, 12, 8, 4, 3, 2, 3),
        )[0]
        length = 1
        if kind == "ill":
            length = rng.choices((1, 2, 3), (50, 30, 20))[0]
        elif kind == "excluded":
            length = rng.choice((1, 2))
        span = days[i : i + length]
        unresolved = span[0] >= school.days[-5] and rng.random() < 0.45
        for day in span:
            if kind == "ill_pm":
                pair = ("/", "I")
            elif kind == "medical":
                pair = ("M", "\\") if rng.random() < 0.5 else ("/", "M")
            elif kind == "late_u":
                pair = ("U", "\\")
            else:
                code = {"ill": "I", "unexplained": "O", "leave": "C", "excluded": "E"}.get(
                    kind, "G"
                )
                pair = (code, code)
            if unresolved and kind in ("ill", "unexplained"):
                pair = ("N", "N")
            kid.marks[day] = pair
        first = span[0]
        code = kid.marks[first][0] if kid.marks[first][0] not in PRESENT else kid.marks[first][1]
        if code == "N":
            kid.log.append(LogRow(first, "Text message", False, "First-day absence text sent"))
            if first < TODAY and rng.random() < 0.5:
                kid.log.append(LogRow(first, "Phone call", False, "No answer; voicemail left"))
        elif code == "I" and kind == "ill":
            if rng.random() < 0.35:
                kid.log.append(LogRow(first, "Text message", False, "First-day absence text sent"))
                kid.log.append(LogRow(first, "Phone call", True, "Parent reports illness"))
            else:
                kid.log.append(LogRow(first, "Phone call", True, "Parent rang in: unwell"))
        elif code == "O":
            kid.log.append(LogRow(first, "Text message", False, "First-day absence text sent"))
            kid.log.append(LogRow(first, "Phone call", False, "No answer; voicemail left"))
        i += length


def school_trip(school: School, kids: Iterable[Kid]) -> None:
    """Year 9's geography trip on Wed 07/10/2026: everyone in school that day is on it (V)."""
    trip = school.day("07/10")
    for kid in kids:
        if kid.year == 9 and kid.marks.get(trip) == PRESENT_DAY:
            kid.marks[trip] = ("V", "V")


def add_background_flags(f: Factory, kid: Kid) -> None:
    r = f.rng.random
    if r() < 0.006:
        kid.flags |= {"child_protection_plan", "open_social_care_case"}
    elif r() < 0.02:
        kid.flags |= {"child_in_need_plan", "open_social_care_case"}
    elif r() < 0.006:
        kid.flags.add("open_social_care_case")
    if r() < 0.04:
        kid.flags.add("early_help")
    if r() < 0.012:
        kid.flags.add("domestic_abuse_notification")
    if r() < 0.01:
        kid.flags.add("temporary_accommodation")
    if r() < 0.02:
        kid.flags.add("young_carer")
    if kid.flags & {"child_protection_plan", "child_in_need_plan", "open_social_care_case"}:
        social_worker(kid, f.rng.randrange(1, len(SOCIAL_WORKERS)))
    if "early_help" in kid.flags:
        key_worker(kid, f.rng.randrange(len(KEY_WORKERS)))
    if r() < 0.01:
        other = surname_form(f.pick(kid.family.culture.surnames), kid.gender)
        kid.aliases = f"{kid.forename} {other}"
    if r() < 0.03:
        old = f.address()
        kid.previous_addresses = (
            f"{', '.join(old.lines)} {old.postcode} (until {f.rng.randrange(2019, 2026)})"
        )


def absence_rate(rng: random.Random) -> float:
    band = rng.random()
    if band < 0.74:
        return rng.uniform(0.0, 0.045)
    if band < 0.9:
        return rng.uniform(0.04, 0.1)
    return rng.uniform(0.1, 0.28)


def make_background_marks(school: School, kid: Kid, rng: random.Random) -> None:
    """Marks whose only consequences are first-day calls and letters: an ordinary pupil never
    trips an alert or a CME step, so those belong to the named scenarios alone."""
    p = absence_rate(rng)
    for _ in range(60):
        kid.log.clear()
        background_marks(school, kid, rng, p)
        actions = {e.action for e in school.rules.evaluate(kid)}
        if actions <= BACKGROUND_ALLOWED:
            return
    kid.log.clear()
    school.fill(kid)


def letter_history(school: School, kid: Kid, rng: random.Random, due: bool) -> None:
    """Letters already sent to a pupil below 90%: the next one due today, or not yet."""
    d = school.days
    if due:
        shape = rng.choices(("none", "one", "two"), (5, 4, 2))[0]
        if shape == "one":
            letter(kid, "Letter 1", d[rng.randrange(14, 39)])
        elif shape == "two":
            first = rng.randrange(12, 20)
            letter(kid, "Letter 1", d[first])
            letter(kid, "Letter 2", d[rng.randrange(first + 15, 39)])
        return
    shape = rng.choices(("one", "two", "three"), (45, 35, 20))[0]
    label = "PA Letter" if rng.random() < 0.3 else "Letter"
    if shape == "one":
        letter(kid, f"{label} 1", d[rng.randrange(41, 53)])
    elif shape == "two":
        first = rng.randrange(12, 26)
        letter(kid, f"{label} 1", d[first])
        letter(kid, f"{label} 2", d[rng.randrange(max(first + 15, 41), 53)])
    else:
        first = rng.randrange(10, 16)
        second = rng.randrange(first + 15, first + 20)
        letter(kid, f"{label} 1", d[first])
        letter(kid, f"{label} 2", d[second])
        letter(kid, f"{label} 3", d[rng.randrange(second + 15, 53)])


# ---------------------------------------------------------------------------------------------
# The whole school


@dataclass
class Example:
    kids: list[Kid]
    cases: dict[str, Kid]
    leavers: list[Leaver]
    expected: dict[str, list[Expected]]  # UPN -> actions
    school: School


def build(config: Path) -> Example:
    settings = load_config(config)
    school = School(SchoolCalendar.from_settings(settings.calendar), settings.policy)
    rng = random.Random(SEED)
    f = Factory(rng)
    kids: list[Kid] = []
    cases: dict[str, Kid] = {}

    for spec in CASES:
        if spec.sibling_of:
            fam = cases[spec.sibling_of].family
        else:
            fam = f.family(CULTURE[spec.culture], spec.shape, _family_surname(spec))
        kid = f.child(fam, spec.gender, spec.year, spec.forename)
        if kid.surname != spec.surname:
            raise SystemExit(f"{spec.case}: surname {kid.surname!r}, wanted {spec.surname!r}")
        kid.preferred = spec.forename
        kid.case = spec.case
        school.fill(kid)
        spec.build(school, kid, f)
        cases[spec.case] = kid
        kids.append(kid)

    # Ordinary pupils, about 8% of them sharing their parents with a brother or sister here.
    room = dict(YEAR_SIZES)
    for kid in kids:
        room[kid.year] -= 1
    cultures = [c.key for c in CULTURES]
    weights = [c.weight for c in CULTURES]
    while any(n > 0 for n in room.values()):
        open_years = [y for y, n in room.items() if n > 0 and y <= 11] or [
            y for y, n in room.items() if n > 0
        ]
        year = rng.choice(open_years)
        fam = f.family(CULTURE[rng.choices(cultures, weights)[0]])
        children = [year]
        if rng.random() < 0.045:
            others = [y for y in open_years if y != year and room[y] > 0]
            if rng.random() < 0.1:
                others = [year] if room[year] > 1 else []  # twins
            if others:
                children.append(rng.choice(others))
        for y in children:
            gender = "F" if rng.random() < 0.49 else "M"
            kid = f.child(fam, gender, y)
            if y >= 12:
                kid.reg = f"{y}SF"
            room[y] -= 1
            kids.append(kid)
        if len(children) == 2 and children[0] == children[1]:
            kids[-1].dob = kids[-2].dob

    background = [k for k in kids if not k.case]
    for kid in background:
        add_background_flags(f, kid)
        if rng.random() < 0.01 and kid.year <= 11:
            kid.admission = school.days[rng.randrange(10, 45)]
            kid.joined_this_year = True
            kid.previous_school = f.pick(
                (
                    "Westmoor Academy, Exampleshire",
                    "St Aldhelm's C of E School, Otherton",
                    "Riverside Community College, Farshire",
                    "Home educated",
                )
            )
            kid.upn_la = f.pick(("330", "332", "335", "873", "937"))
    # Only the scenario pupil is looked after: a child in foster care has no contact with
    # parental responsibility living with them, which `mergekit check` warns about.
    for kid in background:
        make_background_marks(school, kid, rng)
    school_trip(school, kids)
    for kid in background:
        if kid.year >= 12 or kid.joined_this_year:
            continue
        ytd = tally(kid.marks, YEAR_START, TODAY)
        if not (ytd.possible >= 20 and school.rules.below_threshold(ytd)) and rng.random() < 0.01:
            letter(kid, "Letter 1", school.days[rng.randrange(12, 25)])  # recovered since
    persistent = [
        k
        for k in background
        if k.year <= 11
        and not k.letters
        and (t := tally(k.marks, YEAR_START, TODAY)).possible >= 20
        and school.rules.below_threshold(t)
    ]
    due = {id(k) for k in rng.sample(persistent, min(BACKGROUND_LETTERS_DUE, len(persistent)))}
    for kid in persistent:
        letter_history(school, kid, rng, id(kid) in due)
    for kid in background:
        if kid.year in (9, 10, 11) and not kid.joined_this_year and rng.random() < 0.03:
            sent = weekday(date(2026, rng.choice((3, 5, 6)), rng.randrange(10, 20)))
            letter(kid, "Letter 1", sent)

    assign_forms_and_numbers(f, kids)
    leavers = make_leavers(f)
    expected = {k.upn: school.rules.evaluate(k) for k in kids}
    example = Example(kids, cases, leavers, expected, school)
    verify(example)
    return example


def _family_surname(spec: Case) -> str:
    """The scenario family's surname in its male form ('Wiśniewska' -> 'Wiśniewski')."""
    culture = CULTURE[spec.culture]
    for s in culture.surnames:
        if spec.surname in s.split("|"):
            return s
    return spec.surname


def assign_forms_and_numbers(f: Factory, kids: list[Kid]) -> None:
    rng = f.rng
    letters = "ABCDEFGHJKLMNPRSTW"
    for year in range(7, 12):
        tutors: list[str] = []
        while len(tutors) < FORMS_PER_YEAR:
            initials = f"{year}{rng.choice(letters)}{rng.choice(letters)}"
            if initials not in tutors:
                tutors.append(initials)
        cohort = [k for k in kids if k.year == year]
        rng.shuffle(cohort)
        for i, kid in enumerate(cohort):
            kid.reg = tutors[i % FORMS_PER_YEAR]
    for kid in kids:
        if kid.year >= 12:
            kid.reg = f"{kid.year}SF"
        entry = kid.year  # reception entry year gives the UPN's allocation year
        reception = 2026 - entry
        if not kid.joined_this_year:
            y7 = 2026 - (kid.year - 7)
            start = y7 if kid.year <= 11 else 2026 - (kid.year - 12)
            kid.admission = weekday(date(start, 9, 3))
            if 7 < kid.year <= 11 and rng.random() < 0.05:
                joined = date(y7 + 1 + rng.randrange(0, kid.year - 7), rng.choice((1, 4, 6)), 12)
                kid.admission = weekday(joined)
                kid.upn_la = f.pick(("330", "332", "335", "212", "886"))
        kid.upn = f.upn(reception, kid.upn_la, kid.temporary_upn)
    ordered = sorted(kids, key=lambda k: (k.admission, k.surname, k.forename))
    number = 1480
    for kid in ordered:
        number += rng.randrange(1, 3)
        kid.adno = f"{number:06d}"
    kids.sort(key=lambda k: (k.year, k.reg, k.surname.casefold(), k.forename.casefold()))


# Name | year | reg | left | reason | authorised by | date authorised | data team emailed |
# transfer list updated | admissions informed | notes
LEAVERS = """
Mia Sutton | 9 | 9RT | 18/09/2026 | Moved out of area - new school confirmed | H. Marsh | 17/09/2026 | 18/09/2026 | 18/09/2026 | 21/09/2026 |
Adam Rahman | 10 | 10KB | 02/10/2026 | Elective home education (written request received) | H. Marsh | 25/09/2026 | 02/10/2026 | 02/10/2026 | 05/10/2026 |
Oliwia Kamińska | 8 | 8DW | 16/10/2026 | Moved abroad - new school confirmed | H. Marsh | 14/10/2026 | 16/10/2026 | 16/10/2026 | | Poland: new school confirmed by email 15/10
Josh Pearce | 11 | 11GN | 06/11/2026 | CME - whereabouts unknown after joint enquiries with the LA | H. Marsh | 06/11/2026 | 09/11/2026 | | | Joint enquiries with the Exampleshire CME team completed 05/11
Tariq Mahmood | 7 | 7LS | 20/11/2026 | Transferred to another school | H. Marsh | 19/11/2026 | 20/11/2026 | 20/11/2026 | |
Sophie Wood | 10 | 10KB | 25/11/2026 | Permanently excluded | | | | | | Awaiting the governors' decision letter
"""  # noqa: E501


@dataclass(frozen=True)
class Leaver:
    name: str
    upn: str
    dob: date
    group: str
    left: date
    reason: str
    authorised_by: str
    steps: tuple[date | None, ...]  # authorised, data team, transfer list, admissions
    notes: str


def make_leavers(f: Factory) -> list[Leaver]:
    """Pupils already on the transfer list's Off Roll tab (no longer in the tracking export)."""
    out: list[Leaver] = []
    for line in LEAVERS.strip().splitlines():
        name, year, reg, left, reason, by, *steps, notes = (x.strip() for x in line.split("|"))
        out.append(
            Leaver(
                name,
                f.upn(2026 - int(year), LA_CODE),
                dob_for(f.rng, int(year)),
                f"Year {year} / {reg}",
                parse_uk(left),
                reason,
                by,
                tuple(parse_uk(x) if x else None for x in steps),
                notes,
            )
        )
    return out


def parse_uk(text: str) -> date:
    dd, mm, yyyy = (int(x) for x in text.split("/"))
    return date(yyyy, mm, dd)


def verify(example: Example) -> None:
    """Stop if a scenario no longer gives exactly its actions, or families got mixed up."""
    problems: list[str] = []
    for spec in CASES:
        kid = example.cases[spec.case]
        got = tuple(e.action for e in example.expected[kid.upn])
        if got != spec.expect:
            problems.append(f"{spec.case} ({kid.name}): expected {spec.expect}, got {got}")
        # The README's hand-written numbers must be the pupil's real counts.
        recent_start = example.school.days[-20]
        counts = [
            tally(kid.marks, YEAR_START, TODAY),
            tally(kid.marks, YEAR_START, recent_start - timedelta(days=1)),
            tally(kid.marks, recent_start, TODAY),
        ]
        real = {(t.present, t.possible) for t in counts} | {(t.absent, t.possible) for t in counts}
        quoted = re.findall(r"\((\d+)/(\d+)\)|(\d+) of (\d+) sessions", spec.why)
        for a, b, c, d in quoted:
            pair = (int(a or c), int(b or d))
            if pair[1] > 12 and pair not in real:  # (19/10) is a date, not a count
                problems.append(f"{spec.case}: the README says {pair}, the marks say {real}")
    seen: dict[tuple[str, str], int] = {}
    for kid in example.kids:
        for c in kid.family.contacts:
            ident = c.email.casefold() or c.mobile.replace(" ", "") or c.address.postcode
            if c.parental_responsibility and ident:
                key = (c.name.casefold(), ident.upper())
                if seen.setdefault(key, id(kid.family)) != id(kid.family):
                    problems.append(f"two families share the contact {key}")
    n_marks = {d for k in example.kids for d in k.marks}
    if any(not example.school.cal.is_school_day(d) for d in n_marks):
        problems.append("marks on a non-school day")
    for kid in example.kids:
        for d, codes in kid.marks.items():
            if "N" in codes and example.school.cal.school_days_after(d, TODAY) > 5:
                problems.append(f"{kid.name}: N older than 5 school days on {uk(d)}")
    if problems:
        raise SystemExit("the example is inconsistent:\n  " + "\n  ".join(problems))


# ---------------------------------------------------------------------------------------------
# Writing the workbooks


HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E78")
TITLE_FONT = Font(bold=True, size=14)


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _dated(ws: Worksheet, value: date | None) -> object:
    if value is None:
        return None
    cell = WriteOnlyCell(ws, value=value)  # type: ignore[arg-type]  # the stub forgets date
    cell.number_format = DATE_FORMAT
    return cell


def _header(ws: Worksheet, names: Sequence[str]) -> list[object]:
    cells: list[object] = []
    for name in names:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cells.append(cell)
    return cells


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    from openpyxl.utils import get_column_letter

    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width


PUPIL_HEADERS = (
    "UPN", "Adno", "Admission Date", "Legal Surname", "Legal Forename", "Middle Name(s)",
    "Preferred Forename", "D.O.B", "Gender", "Year", "Reg Group", "Ethnicity", "First Language",
    "Address Line 1", "Address Line 2", "Address Line 3", "Postcode", "FSM", "SEN Status", "EHCP",
    "Looked After", "Child Protection Plan", "Child In Need Plan", "Domestic Abuse Notification",
    "Early Help", "Gypsy Roma Traveller", "Refugee/Asylum Seeker", "Temporary Accommodation",
    "Open Social Care Case", "Young Carer", "Social Worker Name", "Social Worker Email",
    "Social Worker Phone", "Key Worker", "Key Worker Email", "Key Worker Phone", "Aliases",
    "Previous Addresses",
)  # fmt: skip
PUPIL_FLAGS = (
    "looked_after", "child_protection_plan", "child_in_need_plan", "domestic_abuse_notification",
    "early_help", "gypsy_roma_traveller", "refugee_asylum_seeker", "temporary_accommodation",
    "open_social_care_case", "young_carer",
)  # fmt: skip
CONTACT_HEADERS = (
    "UPN", "Contact Priority", "Title", "Forename", "Surname", "Relationship",
    "Parental Responsibility", "Lives With Pupil", "Address 1", "Address 2", "Address 3",
    "Post Code", "Home Telephone", "Mobile Telephone", "Email Address", "Home Language",
    "Interpreter Required", "No Contact",
)  # fmt: skip


def write_tracking(example: Example, path: Path) -> None:
    wb = Workbook(write_only=True)
    _properties(wb, "Student details and attendance (MIS export)")
    kids = example.kids

    ws = wb.create_sheet("Students")
    _widths(ws, (15, 8, 12, 16, 14, 14, 14, 11, 7, 6, 8, 26, 13, 26, 16, 12, 10, *[9] * 13,
                 30, 30, 15, 30, 30, 15, 16, 40))  # fmt: skip
    ws.freeze_panes = "E5"
    title = WriteOnlyCell(ws, value=f"{SCHOOL} - Student list (exported from MIS 27/11/2026)")
    title.font = TITLE_FONT
    ws.append([title])
    ws.append(
        [
            "Report: Attendance & Safeguarding Details | Effective date 27/11/2026 | "
            f"Students on roll: {len(kids):,}"
        ]
    )
    ws.append([])
    ws.append(_header(ws, PUPIL_HEADERS))
    for k in kids:
        a = k.address
        lines = [*a.lines, "", "", ""][:3]
        ws.append(
            [
                k.upn, k.adno, _dated(ws, k.admission), k.surname, k.forename, k.middle,
                k.preferred, _dated(ws, k.dob), k.gender, k.year, k.reg, k.ethnicity,
                k.first_language, *lines, a.postcode, yn(k.fsm), k.sen,
                yn(k.sen == "EHC Plan"), *(yn(flag in k.flags) for flag in PUPIL_FLAGS),
                *k.social_worker, *k.key_worker, k.aliases, k.previous_addresses,
            ]
        )  # fmt: skip

    ws = wb.create_sheet("Contacts")
    _widths(ws, (15, 9, 6, 13, 16, 24, 11, 11, 24, 16, 12, 10, 14, 14, 32, 13, 11, 10))
    ws.freeze_panes = "A2"
    ws.append(_header(ws, CONTACT_HEADERS))
    for k in kids:
        ordered = sorted(
            k.family.contacts, key=lambda c: not (c.parental_responsibility and c.lives_with)
        )
        for priority, c in enumerate(ordered, start=1):
            lines = [*c.address.lines, "", "", ""][:3]
            ws.append(
                [
                    k.upn, priority, c.title, c.forename, c.surname, c.relationship,
                    "Yes" if c.parental_responsibility else "No",
                    "Yes" if c.lives_with else "No", *lines, c.address.postcode, c.landline,
                    c.mobile, c.email, c.language, "Yes" if c.interpreter else "No",
                    "Yes" if c.no_contact else "No",
                ]
            )  # fmt: skip

    ws = wb.create_sheet("Attendance Marks")
    _widths(ws, (15, 12, 6, 6))
    ws.freeze_panes = "A3"
    ws.append(["Session marks 03/09/2026 - 27/11/2026 (AM/PM, DfE codes)"])
    ws.append(_header(ws, ("UPN", "Date", "AM", "PM")))
    for k in kids:
        for day in sorted(k.marks):
            am, pm = k.marks[day]
            ws.append([k.upn, _dated(ws, day), am, pm])

    ws = wb.create_sheet("Contact Log")
    _widths(ws, (15, 14, 14, 13, 70))
    ws.freeze_panes = "A2"
    ws.append(_header(ws, ("Student UPN", "Date of Contact", "Contact Method", "Contact Made?",
                           "Notes")))  # fmt: skip
    rows = sorted(((e.day, k.upn, e) for k in kids for e in k.log), key=lambda r: (r[0], r[1]))
    for day, upn, e in rows:
        ws.append([upn, _dated(ws, day), e.method, yn(e.made), e.notes])

    ws = wb.create_sheet("Letters Sent")
    _widths(ws, (15, 14, 12, 14))
    ws.freeze_panes = "A2"
    ws.append(_header(ws, ("UPN", "Letter", "Date Sent", "Sent By")))
    letters = sorted(
        ((x.day, k.upn, x) for k in kids for x in k.letters), key=lambda r: (r[0], r[1])
    )
    for day, upn, x in letters:
        ws.append([upn, x.label, _dated(ws, day), "P. Lal" if day.year == 2026 else "Attendance"])

    ws = wb.create_sheet("Events")
    _widths(ws, (15, 44, 13, 13, 36, 13, 30, 70))
    ws.freeze_panes = "A2"
    ws.append(_header(ws, ("UPN", "Event", "Date Received", "Date of Move", "New Address",
                           "New Country", "New School", "Notes")))  # fmt: skip
    events = sorted(((e.received, k.upn, e) for k in kids for e in k.events), key=lambda r: r[:2])
    for _, upn, ev in events:
        ws.append(
            [upn, ev.event, _dated(ws, ev.received), _dated(ws, ev.effective), ev.new_address,
             ev.new_country, ev.new_school, ev.notes]
        )  # fmt: skip
    _save(wb, path)


OFF_ROLL_HEADERS = (
    "NAME",
    "UPN",
    "D.O.B",
    "YEAR/TUTOR GROUP",
    "DATE OF LEAVING",
    "REASON FOR LEAVING",
    "AUTHORISED BY HEADTEACHER/SIGNATURE",
    "DATE AUTHORISED",
    "DATE DATA TEAM EMAILED TO TAKE STUDENT OFF ROLL",
    'DATE UPDATED "TRANSFER LIST" SPREADSHEET (OFF ROLL TAB)',
    "DATE ADMISSIONS INFORMED OF CHILD TAKEN OFF ROLL",
    "NOTES",
)
REASONS = (
    "Transferred to another school",
    "Moved out of area - new school confirmed",
    "Moved abroad - new school confirmed",
    "Moved abroad - destination confirmed",
    "Elective home education (written request received)",
    "CME - whereabouts unknown after joint enquiries with the LA",
    "Permanently excluded",
    "Ceased to be of compulsory school age",
    "Medically unfit to attend (certified)",
    "Died",
    "Other (see notes)",
)
FORMATTED_ROWS = 150  # date formats and the drop-down reach this far down, as in the real file


def write_transfer_list(example: Example, path: Path) -> None:
    wb = Workbook()
    _properties(wb, "Transfer list 2026-27")
    ws = wb.active
    assert ws is not None
    ws.title = "Off Roll"
    ws["A1"] = "LEAVERS - STUDENTS TO TAKE OFF ROLL"
    ws["A1"].font = TITLE_FONT
    ws.merge_cells("A1:F1")
    ws["A2"] = (
        f"{SCHOOL} 2026-27. Complete every column; the Headteacher must sign before the student is "
        "taken off roll. Dates DD/MM/YYYY."
    )
    ws["A2"].font = Font(italic=True)
    header_row = 3
    for col, name in enumerate(OFF_ROLL_HEADERS, start=1):
        cell = ws.cell(header_row, col, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.row_dimensions[header_row].height = 64
    date_cols = (3, 5, 8, 9, 10, 11)
    for row in range(header_row + 1, header_row + 1 + FORMATTED_ROWS):
        for col in date_cols:
            ws.cell(row, col).number_format = DATE_FORMAT
    for row, leaver in enumerate(example.leavers, start=header_row + 1):
        values: list[Any] = [
            leaver.name,
            leaver.upn,
            leaver.dob,
            leaver.group,
            leaver.left,
            leaver.reason,
            leaver.authorised_by,
            *leaver.steps,
            leaver.notes,
        ]
        for col, value in enumerate(values, start=1):
            if value not in (None, ""):
                ws.cell(row, col, value)
    for letter_, width in zip(
        "ABCDEFGHIJKL", (22, 15, 11, 16, 12, 44, 22, 12, 22, 24, 22, 60), strict=True
    ):
        ws.column_dimensions[letter_].width = width
    ws.freeze_panes = ws.cell(header_row + 1, 1).coordinate
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    ws.print_title_rows = f"{header_row}:{header_row}"
    last = header_row + FORMATTED_ROWS
    reasons = DataValidation(
        type="list",
        formula1="LeavingReasons",
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="Reason for leaving",
        error="Choose a reason from the list (Reasons tab).",
    )
    reasons.add(f"F{header_row + 1}:F{last}")
    ws.add_data_validation(reasons)
    dates_dv = DataValidation(
        type="date",
        operator="greaterThan",
        formula1="36526",
        allow_blank=True,
        showErrorMessage=True,
        error="Enter a date as DD/MM/YYYY.",
    )
    for letter_ in "CEHIJK":
        dates_dv.add(f"{letter_}{header_row + 1}:{letter_}{last}")
    ws.add_data_validation(dates_dv)
    amber = PatternFill("solid", fgColor="FFD966")
    first = header_row + 1
    blank_step = Rule(
        type="expression",
        dxf=DifferentialStyle(fill=amber),
        formula=[f'AND($A{first}<>"",G{first}="")'],
    )
    ws.conditional_formatting.add(f"G{first}:K{last}", blank_step)

    tin = wb.create_sheet("Transfers In")
    tin["A1"] = "NEW STARTERS - IN-YEAR ADMISSIONS 2026-27"
    tin["A1"].font = TITLE_FONT
    heads = ("NAME", "UPN", "D.O.B", "YEAR/TUTOR GROUP", "DATE OF ADMISSION", "PREVIOUS SCHOOL",
             "CTF RECEIVED")  # fmt: skip
    for col, name in enumerate(heads, start=1):
        cell = tin.cell(2, col, name)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
    joiners = sorted((k for k in example.kids if k.joined_this_year), key=lambda k: k.admission)
    for i, k in enumerate(joiners, start=3):
        joiner = (k.name, k.upn, k.dob, f"Year {k.year} / {k.reg}", k.admission,
                  k.previous_school, "Awaited" if k.temporary_upn else "Y")  # fmt: skip
        for col, value in enumerate(joiner, start=1):
            cell = tin.cell(i, col, value)
            if isinstance(value, date):
                cell.number_format = DATE_FORMAT
    for letter_, width in zip("ABCDEFG", (22, 15, 11, 16, 14, 40, 12), strict=True):
        tin.column_dimensions[letter_].width = width
    tin.freeze_panes = "A3"

    rs = wb.create_sheet("Reasons")
    rs["A1"] = "Reasons for leaving (drop-down list)"
    rs["A1"].font = Font(bold=True)
    for i, reason in enumerate(REASONS, start=2):
        rs.cell(i, 1, reason)
    rs.column_dimensions["A"].width = 60
    wb.defined_names["LeavingReasons"] = DefinedName(
        "LeavingReasons", attr_text=f"Reasons!$A$2:$A${len(REASONS) + 1}"
    )
    _save(wb, path)


def _properties(wb: Workbook, title: str) -> None:
    wb.properties.creator = f"{SCHOOL} (example data, invented)"
    wb.properties.lastModifiedBy = "scripts/make_example_school.py"
    wb.properties.title = title
    wb.properties.created = STAMP
    wb.properties.modified = STAMP


def _save(wb: Workbook, path: Path) -> None:
    """Save, then pin the zip timestamps and the 'modified' property so reruns are identical."""
    buffer = io.BytesIO()
    wb.save(buffer)
    stamp = STAMP.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(buffer.getvalue())) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + stamp + rb"\g<2>",
                    data,
                )
            pinned = zipfile.ZipInfo(info.filename, date_time=STAMP.timetuple()[:6])
            pinned.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(pinned, data)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        fh.write(out.getvalue())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------
# README


def _actions_text(actions: Sequence[str]) -> str:
    return ", ".join(f"`{a}`" for a in actions) if actions else "nothing"


def write_readme(example: Example, path: Path) -> None:
    kids = example.kids
    by_upn = {k.upn: k for k in kids}
    compulsory = [k for k in kids if k.year <= 11]
    n_marks = sum(2 * len(k.marks) for k in kids)
    n_contacts = sum(len(k.family.contacts) for k in kids)
    n_log = sum(len(k.log) for k in kids)
    n_letters = sum(len(k.letters) for k in kids)
    groups: dict[str, list[tuple[Kid, Expected]]] = {a: [] for a in ACTIONS}
    for upn, actions in example.expected.items():
        for e in actions:
            groups[e.action].append((by_upn[upn], e))
    siblings = sum(1 for k in kids if any(o is not k and o.family is k.family for o in kids))
    lines = [
        "# The example school",
        "",
        f"**{SCHOOL}** is an invented secondary school in the invented town of {TOWN}. Its "
        "workbooks are what a school office would have on **Friday 27 November 2026** "
        "(`[run] today` in `mergekit.toml`), and they are made so that on that day every rule "
        "of the attendance and children-missing-education policy applies to a few pupils. "
        "Use it to learn mergekit, to train staff, and to test.",
        "",
        "Every name, address, phone number and email here is made up: postcodes are in the "
        "unused `ZZ` area, emails end in `@example.org` / `@example.gov.uk`, and phone numbers "
        "are from Ofcom's ranges kept for drama (07700 900xxx, 01632 960xxx), so unrelated "
        "families sometimes share one. UPNs have a valid DfE check letter but use the made-up "
        f"establishment number {ESTABLISHMENT}.",
        "",
        "## How it was made",
        "",
        "```",
        "python scripts/make_example_school.py          # writes examples/*.xlsx and this file",
        "python scripts/make_example_school.py --out DIR",
        "```",
        "",
        f"The script uses a fixed random seed ({SEED}) and no clock, so it makes the same "
        "workbooks every time. It works out on its own (not with mergekit's policy engine) what "
        "mergekit should do for every pupil, checks each scenario below gives exactly its "
        "actions, and writes this file. Edit the script, never the workbooks by hand, and run it "
        "again.",
        "",
        "## What is in it",
        "",
        f"- `tracking.xlsx`: {len(kids):,} pupils ({len(compulsory):,} in years 7-11, "
        f"{len(kids) - len(compulsory)} in the sixth form) on the **Students** sheet (two title "
        "rows above the header, as a MIS export has), "
        f"{n_contacts:,} parents and carers on **Contacts** (1-3 each; {siblings} pupils share "
        f"their parents with a brother or sister here), {n_marks:,} session marks on "
        "**Attendance Marks** (one row per pupil per school day: `UPN, Date, AM, PM`), "
        f"{n_log:,} first-day calls, texts and home visits on **Contact Log**, {n_letters} "
        "warning letters sent before mergekit on **Letters Sent** (some from 2025-26), and "
        "planned moves and a home-education request on **Events**.",
        f"- `transfer_list.xlsx`: the **Off Roll** tab with the policy's Appendix B checklist "
        f"columns and {len(example.leavers)} pupils who left this term (some steps still open: "
        "blank dates show amber), a drop-down for the reason fed from the **Reasons** tab, and "
        "a **Transfers In** tab listing this year's in-year admissions.",
        "- `mergekit.toml`: the school's settings. The calendar has "
        f"{SCHOOL_DAYS_SO_FAR} school days from Thursday 03/09/2026 to Friday 27/11/2026: "
        "INSET 01-02/09, the school was closed on Friday 09/10 (boiler failure), half term "
        "26-30/10, INSET Monday 02/11. There are no marks on any other day.",
        "",
        "`mergekit check --config examples/mergekit.toml` reports no errors and one warning: "
        "the `no_postal_address` pupil below has no contact with a postal address.",
        "",
        "Marks use the 2024 DfE codes: mostly `/` and `\\`, with `L`, `M`, `I`, `C`, `E`, `G`, "
        "`U`, `O`, `V` (the year 9 trip on 07/10/2026), `D` (a dual-registered pupil) and `N`. "
        "By law an `N` must be replaced within 5 school days, so `N` appears only on 23-27/11; "
        "older unexplained absences are `O`.",
        "",
        "## The scenario pupils",
        "",
        "Each pupil below was built for one case. *mergekit should* lists every action "
        "mergekit should plan for them on 27/11/2026 with the default `[policy]` settings and "
        "an empty ledger; the full list for the whole school follows.",
        "",
        "| Case | UPN | Pupil | Year / reg | mergekit should | Why |",
        "|---|---|---|---|---|---|",
    ]
    for spec in CASES:
        kid = example.cases[spec.case]
        why = f"**{spec.title}.** {spec.why}".replace("|", "/")
        lines.append(
            f"| `{spec.case}` | {kid.upn} | {kid.name} | {kid.year} / {kid.reg} | "
            f"{_actions_text([e.action for e in example.expected[kid.upn]])} | {why} |"
        )
    lines += [
        "",
        "## Everything mergekit should plan on 27/11/2026",
        "",
        "Scenario pupils and ordinary ones together. Among the ordinary pupils only first-day "
        "calls (an `N` today) and warning letters arise: the generator re-draws any ordinary "
        "pupil whose marks would trip an alert or a CME step, so those belong to the scenarios.",
        "",
        "| Action | Pupils |",
        "|---|---|",
    ]
    for action in ACTIONS:
        lines.append(f"| `{action}` | {len(groups[action])} |")
    for action in ACTIONS:
        items = sorted(groups[action], key=lambda ke: (ke[0].year, ke[0].reg, ke[0].surname))
        lines += ["", f"### `{action}` ({len(items)})", ""]
        for kid, e in items:
            case = f" - scenario `{kid.case}`" if kid.case else ""
            lines.append(f"- {kid.upn} {kid.name} ({kid.year} {kid.reg}){case}: {e.reason}")
    lines += [
        "",
        "## The transfer list",
        "",
        "| Name | UPN | Left | Reason | Steps still open |",
        "|---|---|---|---|---|",
    ]
    step_names = ("authorised", "data team emailed", "transfer list updated", "admissions informed")
    for leaver in example.leavers:
        filled = (leaver.authorised_by, *leaver.steps[1:])
        open_steps = [n for n, v in zip(step_names, filled, strict=True) if not v]
        lines.append(
            f"| {leaver.name} | {leaver.upn} | {uk(leaver.left)} | {leaver.reason} | "
            f"{', '.join(open_steps) or 'none'} |"
        )
    lines.append("")
    text = "\n".join(lines)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "examples", help="output folder")
    parser.add_argument(
        "--config", type=Path, default=DEFAULT_CONFIG, help="mergekit.toml with the calendar"
    )
    args = parser.parse_args(argv)
    out: Path = args.out
    try:
        example = build(args.config)
    except MergekitError as e:
        print(f"make_example_school: {e}", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    write_tracking(example, out / "tracking.xlsx")
    write_transfer_list(example, out / "transfer_list.xlsx")
    write_readme(example, out / "README.md")
    total = sum(len(v) for v in example.expected.values())
    print(
        f"wrote {out / 'tracking.xlsx'} ({len(example.kids):,} pupils), "
        f"{out / 'transfer_list.xlsx'} and {out / 'README.md'} ({total} expected actions)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
