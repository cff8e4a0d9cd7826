"""The Temporal dev server as a child process this program owns: ``casework up``, the
fault tests and the benchmark."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime
from pathlib import Path
from typing import TextIO

from casework import search
from casework.binaries import temporal_cli
from local_stack.polling import until
from local_stack.ports import free_port, http_ok


def dev_server_command(
    db_file: Path | None, port: int, *, ui_port: int | None = None, namespace: str = "default",
    codec_endpoint: str | None = None, http_port: int | None = None, metrics_port: int | None = None,
) -> list[str]:
    """``temporal server start-dev`` as this project runs it (``casework up``, the fault
    tests, the benchmark): on 127.0.0.1, its state in ``db_file`` (None: in memory), our
    search attributes registered (a workflow upserting an unknown one would stall), and no
    internet wanted. Without ``ui_port`` it is headless."""
    args = [temporal_cli(), "server", "start-dev", "--ip", "127.0.0.1", "--port", str(port),
            "--log-level", "warn", *search.dev_server_flags()]
    if db_file is not None:
        args += ["--db-filename", str(db_file)]
    if ui_port is None:
        args.append("--headless")
    else:
        args += ["--ui-port", str(ui_port), "--ui-disable-news-fetch"]  # no internet: the UI must not try
    if codec_endpoint:
        args += ["--ui-codec-endpoint", codec_endpoint]
    if http_port is not None:
        args += ["--http-port", str(http_port)]
    if metrics_port is not None:
        args += ["--metrics-port", str(metrics_port)]
    if namespace != "default":
        args += ["--namespace", namespace]
    return args


class DevServerStopped(RuntimeError):
    """The dev server exited under us (the message: its exit status, first error, log)."""


class DevServer:
    """``temporal server start-dev`` (``dev_server_command``) as a child process this
    program owns: ``casework up`` (with the Web UI, in a session of its own so that a
    Ctrl-C in the terminal reaches only us and we stop it after the worker), the fault
    tests (killed and restarted on the same file and port) and the benchmark (in memory).

    Its output goes to ``log_file``, appended, one header line per start. ``side_ports``:
    its HTTP API and metrics on free ports chosen at each start, so that several servers
    share a machine (else the server's defaults).
    """

    def __init__(
        self, db_file: Path | None, log_file: Path, port: int | None = None, *, ui_port: int | None = None,
        namespace: str = "default", codec_endpoint: str | None = None, own_session: bool = False,
        side_ports: bool = False, public_ui_port: int | None = None,
    ) -> None:
        self.db_file = db_file
        self.log_file = log_file
        self.port = free_port() if port is None else port
        self.ui_port = ui_port
        #: Where people open the UI when a gate serves it (codec_server/ui_gate.py), not the UI's own port.
        self.public_ui_port = public_ui_port
        self.namespace = namespace
        self.codec_endpoint = codec_endpoint
        self.own_session = own_session
        self.side_ports = side_ports
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log: TextIO | None = None
        self._log_start = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str:
        assert self.ui_port is not None, "a headless dev server has no Web UI"
        return f"http://localhost:{self.public_ui_port or self.ui_port}/namespaces/{self.namespace}/workflows"

    def start(self) -> None:
        """Start the process (``wait_ready`` waits until it answers). Raises
        ``casework.binaries.MissingBinary`` when there is no ``temporal``."""
        assert not self.running(), "one dev server process at a time"
        side = {"http_port": free_port(), "metrics_port": free_port()} if self.side_ports else {}
        args = dev_server_command(self.db_file, self.port, ui_port=self.ui_port, namespace=self.namespace,
                                  codec_endpoint=self.codec_endpoint, **side)
        self.starts += 1
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self._close_log()
        self._log = self.log_file.open("a", encoding="utf-8")
        self._log.write(f"--- starting the dev server at {datetime.now().isoformat(timespec='seconds')}\n")
        self._log.flush()
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=self.own_session)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def returncode(self) -> int | None:
        """How the started process ended (negative: the signal), None while it runs."""
        return None if self.proc is None else self.proc.poll()

    def died(self) -> DevServerStopped | None:
        """Why the started server is no longer running, or None while it runs."""
        assert self.proc is not None, "not started"
        if self.proc.poll() is None:
            return None
        return DevServerStopped(f"the Temporal dev server stopped (exit {self.proc.returncode}): "
                                f"{self._last_error()} (see {self.log_file})")

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Until the frontend answers a client; ``DevServerStopped`` if it exits first,
        ``TimeoutError`` after ``timeout`` seconds."""
        from temporalio.client import Client

        async def answers() -> bool:
            if (failure := self.died()) is not None:
                raise failure
            try:
                # A bare client: this only asks whether the server answers (no codec needed).
                await asyncio.wait_for(Client.connect(self.address, namespace=self.namespace), timeout=5)
                return True
            except Exception:  # noqa: BLE001 - not up yet, whichever way it says so
                return False

        try:
            await until(answers, f"the dev server on {self.address}", timeout, every=0.2)
        except TimeoutError:
            raise TimeoutError(f"the Temporal dev server did not answer on {self.address} within "
                               f"{timeout:.0f}s (see {self.log_file})") from None

    async def wait_ui(self, timeout: float = 15.0) -> None:
        """Until the Web UI answers HTTP (as ``wait_ready``)."""
        assert self.ui_port is not None, "a headless dev server has no Web UI"
        url = f"http://127.0.0.1:{self.ui_port}/"

        async def answers() -> bool:
            if (failure := self.died()) is not None:
                raise failure
            return await asyncio.to_thread(http_ok, url)

        try:
            await until(answers, "the Web UI", timeout, every=0.2)
        except TimeoutError:
            raise TimeoutError(f"the Temporal Web UI did not answer on port {self.ui_port} "
                               f"(see {self.log_file})") from None

    async def watch(self) -> DevServerStopped:
        """Returns (the reason) only if the server dies under us."""
        while (failure := self.died()) is None:
            await asyncio.sleep(0.5)
        return failure

    def kill(self) -> None:
        """kill -9: whatever the server had not written to its SQLite file is gone."""
        assert self.proc is not None and self.running(), "not running"
        self.proc.kill()
        self.proc.wait(30)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM, wait, then kill after ``grace`` seconds: its SQLite file is consistent
        either way. Blocks: from async code, ``await asyncio.to_thread(server.stop)``."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def _last_error(self) -> str:
        try:
            with self.log_file.open(encoding="utf-8", errors="replace") as f:
                f.seek(self._log_start)
                lines = [line.strip() for line in f if line.strip()]
        except OSError:
            lines = []
        errors = [line for line in lines if line.startswith("Error") or "level=ERROR" in line]
        return (errors or lines or ["no output"])[0][:300]
