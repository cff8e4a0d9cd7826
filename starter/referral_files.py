"""Reading referral files: one JSON object or a list per file, a folder of them, or stdin.

Every problem is reported as ``file[index]: field: message`` lines; nothing is started
unless every referral read is valid.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from casework import refusals, strict_json
from casework.referral import Referral, parse_referral

MAX_FILE_BYTES = 1_000_000  # a referral is a few KB; a huge file is a mistake, refused unread
MAX_REFERRALS = 10_000


@dataclass
class ReadResult:
    referrals: list[tuple[str, Referral]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def describe(err: ValidationError) -> list[str]:
    """One line per problem, in our words (casework.refusals)."""
    return refusals.problems(err)


class Refused(Exception):
    """An entry that is not read: the message says why, in our words."""


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_entry(path: Path, folder: Path | None = None) -> bytes:
    """The bytes of one referral file, or ``Refused``: regular files only, the size
    limit checked before reading and the read itself bounded; in a folder, a symbolic
    link is followed only to a file inside that folder."""
    try:
        if folder is not None and path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(folder.resolve()):
                raise Refused("a symbolic link to outside the folder; refused unread")
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise Refused("no such file or folder (or a broken link)") from None
    except (OSError, RuntimeError) as err:  # permissions, a loop of links
        raise Refused(f"cannot be read ({getattr(err, 'strerror', None) or err})") from None
    if not stat.S_ISREG(mode):
        raise Refused(f"{_kind(mode)}, not a referral file; refused unread")
    try:
        # O_NONBLOCK: were it swapped for a FIFO since the check, opening must not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            info = os.fstat(f.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise Refused(f"{_kind(info.st_mode)}, not a referral file; refused unread")
            if info.st_size > MAX_FILE_BYTES:
                raise Refused(f"larger than {MAX_FILE_BYTES // 1000} kB; refused unread")
            raw = f.read(MAX_FILE_BYTES + 1)  # bounded, should it grow while read
    except OSError as err:
        raise Refused(f"cannot be read ({err.strerror or err})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise Refused(f"larger than {MAX_FILE_BYTES // 1000} kB; refused unread")
    return raw


def _files(sources: list[str]) -> tuple[list[tuple[str, bytes]], list[str]]:
    found: list[tuple[str, bytes]] = []
    problems: list[str] = []
    for source in sources:
        if source == "-":
            raw = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
            if len(raw) > MAX_FILE_BYTES:
                problems.append(f"<stdin>: larger than {MAX_FILE_BYTES // 1000} kB; refused unread")
            else:
                found.append(("<stdin>", raw))
            continue
        path = Path(source)
        if path.is_dir():
            entries = [(entry, path) for entry in sorted(path.glob("*.json"))]
        else:
            entries = [(path, None)]
        for entry, folder in entries:
            try:
                found.append((str(entry), read_entry(entry, folder)))
            except Refused as refused:
                problems.append(f"{entry}: {refused}")
    return found, problems


def read_referrals(sources: list[str], today: date) -> ReadResult:
    result = ReadResult()
    files, result.problems = _files(sources)
    for name, raw in files:
        try:
            document: Any = strict_json.loads(raw)
        except ValueError as err:
            # Bad JSON or encoding, a key given twice, a number not finite, nesting too
            # deep (casework/strict_json.py, as the API reads): refused, never a traceback.
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
