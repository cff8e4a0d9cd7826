"""Privacy commands: ``casework codec-server``, ``casework codec-key``, ``casework retention purge``.

See docs/privacy.md for the keys, the codec server, retention and purpose limitation.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import datetime, timezone
from typing import Optional

import typer

from casework.codec import CodecKey, CodecKeyError, CodecKeysMissing, KeyRing
from starter.exits import CliError, Exit
from starter.output import Column, console, emit, err_console, print_json, when
from starter.views import CSV_OPTION

retention_app = typer.Typer(help="Retention of personal data in the CID (docs/privacy.md).", no_args_is_help=True)


def codec_server(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8081, "--port", min=0, max=65535, help="Port to listen on (0: any free one)."),
) -> None:
    """Serve /encode and /decode for the Temporal Web UI and CLI.

    Token: CASEWORK_CODEC_TOKEN; in the cluster CASEWORK_CODEC_AUTH=oidc: operators' own
    bearer tokens, decode only. An operator command with direct access: it holds the payload key."""
    asyncio.run(_serve_codec(host, port))


async def _serve_codec(host: str, port: int) -> None:
    from codec_server import start_codec_server
    from codec_server.app import CodecServerConfigError

    try:
        server = await start_codec_server(host, port)
    except (CodecKeysMissing, CodecKeyError, CodecServerConfigError) as err:
        raise CliError(str(err), Exit.BAD_INPUT) from None
    except OSError as err:
        raise CliError(f"cannot listen on {host}:{port}: {err.strerror}", Exit.UNAVAILABLE) from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    err_console.print(f"codec server on {server.url} ({server.keyring.describe()})", markup=False)
    if server.oidc:
        err_console.print(
            f"people's bearer tokens from {server.oidc.issuer} (operators; decode only) · Web UI: "
            f"TEMPORAL_CODEC_ENDPOINT={server.url} with TEMPORAL_CODEC_PASS_ACCESS_TOKEN=true", markup=False)
    else:
        err_console.print(
            f"Web UI: --ui-codec-endpoint {server.url}/ui/$CASEWORK_CODEC_TOKEN · "
            f"CLI: --codec-endpoint {server.url} --codec-auth \"Bearer $CASEWORK_CODEC_TOKEN\"",
            markup=False,
        )
    try:
        await stop.wait()
    finally:
        await server.close()


def codec_key(
    key_id: str = typer.Option(..., "--id", help="The new key's ID, e.g. k2 (1-64 letters, digits, . _ -)."),
) -> None:
    """Print a new random key as ID:BASE64, to put first in CASEWORK_CODEC_KEYS (rotation)."""
    try:
        key = CodecKey.generate(key_id)
    except CodecKeyError as err:
        raise CliError(str(err), Exit.BAD_INPUT) from None
    print(KeyRing([key]).to_env())


@retention_app.command("purge")
def retention_purge(
    dry_run: bool = typer.Option(False, "--dry-run", help="List the cases due; change nothing."),
    days: Optional[int] = typer.Option(None, "--days", min=1,
                                       help="Retention period in days (default CASEWORK_RETENTION_DAYS, else 2190)."),
    actor: Optional[str] = typer.Option(None, "--actor", help="Who purges (or CASEWORK_ACTOR); recorded in the audit log."),
    json_out: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    csv_out: bool = CSV_OPTION,
) -> None:
    """Purge the personal data of cases closed longer than the retention period (idempotent).

    Operator command: direct access to Temporal and the database (DATABASE_URL, TEMPORAL_*), not through the API. The actor recorded is --actor or CASEWORK_ACTOR.
    """
    from datetime import timedelta

    from casework.config import RetentionSettings
    from starter import context

    try:
        period = timedelta(days=days) if days is not None else RetentionSettings.read().period
    except ValueError as err:
        raise CliError(str(err), Exit.BAD_INPUT) from None
    who = "" if dry_run else context.actor(actor)
    results = asyncio.run(_purge(period, who, dry_run))
    rows = [{"case_id": r.case_id, "closed_at": r.closed_at, **(
        {} if dry_run else {"convictions_deleted": r.convictions_deleted, "subject_redacted": r.subject_redacted})}
        for r in results]
    if json_out:
        print_json({"dry_run": dry_run, "retention_days": period.days, "cases": rows})
        return
    title = f"Due for purge (closed over {period.days} days ago)" if dry_run else "Purged"
    columns = [Column("case_id", "Case", id=True), Column("closed_at", "Closed (UTC)", when)] + ([] if dry_run else [
        Column("convictions_deleted", "Convictions deleted"),
        Column("subject_redacted", "Subject redacted", lambda done: "yes" if done else "kept (another case)")])
    if rows or csv_out:
        emit(title, columns, rows, csv_out=csv_out)
    if not csv_out:
        console.print(f"{len(rows)} case(s) {'due' if dry_run else 'purged'}; retention {period.days} days")


async def _purge(period, who: str, dry_run: bool):  # noqa: ANN001, ANN202
    from cid.retention import purge_expired
    from starter import context

    from cid.db import migrate_dsn

    # The purge marks cases in a column added by a migration: bring the schema up first.
    try:
        await migrate_dsn(context.database_url())
    except OSError as err:
        raise CliError(f"the case database cannot be reached: {err}", Exit.UNAVAILABLE) from None
    pool = await context.open_pool()
    try:
        return await purge_expired(pool, now=datetime.now(timezone.utc), retention=period, actor=who, dry_run=dry_run)
    finally:
        await pool.close()
