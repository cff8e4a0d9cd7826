"""R04 through the real intake (time-skipping server, the CID): names and document numbers
in many scripts. Different people never share a subject; the same person written the same
way still does (issue 12, defect 1)."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import date, timedelta

from tests.cli_support import cw  # noqa: F401 - cw is a fixture
from tests.support import Case

#: Sixteen letters of each script: a run's token is written in the script it tests, so that
#: no Latin letter or digit makes a name foldable where the script alone would not be.
ALPHABETS = {
    "cyrillic": "абвгдежзиклмнопр",
    "arabic": "ابتثجحخدذرزسشصضط",
    "greek": "αβγδεζηθικλμνξοπ",
    "han": "一二三四五六七八九十百千万甲乙丙",
    "devanagari": "कखगघचछजझटठडढतथदध",
    "hebrew": "אבגדהוזחטיכלמנסע",
    "latin": "abcdefghijklmnop",
}
PEOPLE = {  # two different people per script
    "cyrillic": ("Иван Петров", "Сергей Смирнов"),
    "arabic": ("محمد علي", "أحمد حسن"),
    "greek": ("Γιώργος Παπαδόπουλος", "Νίκος Οικονόμου"),
    "han": ("王伟", "李娜"),
    "devanagari": ("राम शर्मा", "सीता वर्मा"),
    "hebrew": ("דוד כהן", "משה לוי"),
    "latin": ("Jan Kowalski", "Piotr Nowak"),
}


def token(script: str) -> str:
    return "".join(ALPHABETS[script][int(h, 16)] for h in uuid.uuid4().hex[:8])


def a_date_of_birth() -> str:
    return (date(1950, 1, 1) + timedelta(days=random.randrange(20_000))).isoformat()


async def registered(cases: list[Case]) -> list[int]:
    await asyncio.gather(*(case.task("nbtc_check") for case in cases))
    return [(await case.case_row())["subject_id"] for case in cases]


async def test_R04_names_in_six_scripts_and_latin_different_people_never_share_a_subject(start):
    dob = a_date_of_birth()  # one date of birth for everyone: only the names tell them apart
    refs = []
    for script, (one, other) in PEOPLE.items():
        t = token(script)
        refs += [dict(name=f"{one} {t}", date_of_birth=dob, nationalities=["UA"]),
                 dict(name=f"{other} {t}", date_of_birth=dob, nationalities=["UA"]),
                 dict(name=f"{one} {t}", date_of_birth=dob, nationalities=["UA"])]  # the first again
    cases = list(await asyncio.gather(*(start(**r) for r in refs)))
    subjects = await registered(cases)
    for n, script in enumerate(PEOPLE):
        first, other, again = subjects[3 * n:3 * n + 3]
        assert first is not None and other is not None
        assert first != other, f"{script}: two people with one date of birth share subject {first}"
        assert first == again, f"{script}: the same person written the same way is two subjects"
    firsts = [subjects[3 * n] for n in range(len(PEOPLE))]
    assert len(set(firsts)) == len(PEOPLE), "people of different scripts share a subject"


async def test_R04_names_in_other_scripts_without_a_date_of_birth_are_subjects_of_their_own(start):
    t = token("cyrillic")
    cases = [await start(name=f"Иван Петров {t}", date_of_birth=None, nationalities=["UA"]),
             await start(name=f"Иван Петров {t}", date_of_birth=None, nationalities=["UA"])]
    a, b = await registered(cases)
    assert a is not None and b is not None and a != b  # a name alone never matches


async def test_R04_document_numbers_in_a_non_latin_script(start):
    digits = f"{random.randrange(10**7):07d}"
    passport = lambda number: [{"kind": "passport", "number": number, "issuing_country": "UA"}]  # noqa: E731
    cases = [
        await start(name=f"Олена Коваль {token('cyrillic')}", date_of_birth=None, identity_documents=passport(f"АВ{digits}")),
        await start(name=f"Ольга Бондар {token('cyrillic')}", date_of_birth=None, identity_documents=passport(f"ЕК{digits}")),
        await start(name=f"Olena Koval {token('latin')}", date_of_birth=None, identity_documents=passport(f"ав {digits}")),
    ]
    first, other, again = await registered(cases)
    assert first != other, "two passports that differ only in their Cyrillic letters share a subject"
    assert first == again, "the same passport (case and spacing aside) is the same person"


async def test_R04_subject_check_lists_subjects_merged_by_the_old_fold_without_personal_data(cw, pool):
    """A deployed CID may already hold merges made by the old, Latin-only fold: two people
    whose Cyrillic names folded to nothing, one date of birth, one subject under the key
    ``name-dob::<date>`` (as it wrote them). ``casework subject-check`` names that subject
    and its cases, and no one's name."""
    dob = date.fromisoformat(a_date_of_birth())
    names = [f"Иван Петров {token('cyrillic')}", f"Сергей Смирнов {token('cyrillic')}"]
    subject = await pool.fetchval(
        "INSERT INTO subjects (name, date_of_birth, nationalities) VALUES ($1, $2, '{UA}') RETURNING id", names[0], dob)
    await pool.execute("INSERT INTO subject_identifiers (match_key, subject_id) VALUES ($1, $2)"
                       " ON CONFLICT (match_key) DO UPDATE SET subject_id = $2", f"name-dob::{dob.isoformat()}", subject)
    case_ids = []
    for name in names:
        reference = f"T{uuid.uuid4().hex[:10].upper()}"
        case_id = f"acro-case-{reference}"
        await pool.execute(
            "INSERT INTO cases (id, acro_reference, subject_id, stage, eea, opened_at, updated_at)"
            " VALUES ($1, $2, $3, 'B-first-actions', false, now(), now())", case_id, reference, subject)
        await pool.execute(
            "INSERT INTO referrals (case_id, name, date_of_birth, nationalities, whereabouts, received_at)"
            " VALUES ($1, $2, $3, '{UA}', '{\"status\": \"unknown\"}', now())", case_id, name, dob)
        case_ids.append(case_id)

    as_json, text = await cw.each(("subject-check", "--json"), ("subject-check",))
    assert as_json.code == 0 and text.code == 0, f"{as_json}\n{text}"
    [found] = [s for s in as_json.json()["subjects"] if s["subject_id"] == subject]
    assert found["case_ids"] == sorted(case_ids)
    assert any("empty or too-short folded name" in r for r in found["reasons"])
    assert any("share no match key" in r for r in found["reasons"])
    assert all(case_id in text.out for case_id in case_ids)
    for name in names:
        for part in name.split():
            assert part not in as_json.out + text.out
