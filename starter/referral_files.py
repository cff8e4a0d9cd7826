"""Reading referral files: one JSON object or a list per file, a folder of them, or stdin.

Every problem is reported as ``file[index]: field: message`` lines; nothing is started
unless every referral read is valid.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from casework.referral import Referral, parse_referral

MAX_FILE_BYTES = 1_000_000  # a referral is a few KB; a huge file is a mistake, refused unread
MAX_REFERRALS = 10_000


@dataclass
class ReadResult:
    referrals: list[tuple[str, Referral]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def describe(err: ValidationError) -> list[str]:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(document)"
        lines.append(f"{where}: {e['msg']}")
    return lines


def _files(sources: list[str]) -> list[tuple[str, bytes]]:
    found: list[tuple[str, bytes]] = []
    for source in sources:
        if source == "-":
            found.append(("<stdin>", sys.stdin.buffer.read(MAX_FILE_BYTES + 1)))
            continue
        path = Path(source)
        if path.is_dir():
            found.extend((str(p), p.read_bytes()) for p in sorted(path.glob("*.json")))
        elif path.is_file():
            found.append((str(path), path.read_bytes() if path.stat().st_size <= MAX_FILE_BYTES else b"x" * (MAX_FILE_BYTES + 1)))
        else:
            found.append((str(path), b""))
    return found


def read_referrals(sources: list[str], today: date) -> ReadResult:
    result = ReadResult()
    for name, raw in _files(sources):
        if not raw and not Path(name).exists() and name != "<stdin>":
            result.problems.append(f"{name}: no such file or folder")
            continue
        if len(raw) > MAX_FILE_BYTES:
            result.problems.append(f"{name}: larger than {MAX_FILE_BYTES // 1000} kB; refused unread")
            continue
        try:
            document: Any = json.loads(raw)
        except (ValueError, RecursionError) as err:
            # ValueError covers bad JSON, bad encodings and integers too long to convert;
            # RecursionError, nesting too deep to decode: all refused, never a traceback.
            result.problems.append(f"{name}: not JSON ({str(err)[:200]})")
            continue
        items = document if isinstance(document, list) else [document]
        if not items:  # an empty list would otherwise "succeed" by submitting nothing
            result.problems.append(f"{name}: no referral in this file (an empty list)")
        for index, item in enumerate(items):
            label = name if not isinstance(document, list) else f"{name}[{index}]"
            try:
                result.referrals.append((label, parse_referral(item, today)))
            except ValidationError as err:
                result.problems.extend(f"{label}: {line}" for line in describe(err))
    if len(result.referrals) > MAX_REFERRALS:
        result.problems.append(f"more than {MAX_REFERRALS} referrals in one submission; split them")
    references = [ref.acro_reference for _, ref in result.referrals]
    for reference in sorted({r for r in references if references.count(r) > 1}):
        result.problems.append(f"ACRO reference {reference} appears more than once in this submission")
    return result
