"""Several ``blmk-serve`` processes behind a real nginx on 127.0.0.1, for a trial run of the
deployment in ``deploy/`` (``make cluster``) and for the tests that break it on purpose.

    python tools/cluster.py start --port 8080 --index var/index [--processes 2] [--folder F]
    python tools/cluster.py stop [--folder F]
    python tools/cluster.py restart [--folder F] [--only PORT]   # rolling, one at a time
    python tools/cluster.py site [--listen 80] [--server-name NAME] [--ports 8081 8082]
    python tools/cluster.py site --example > deploy/nginx/blmk-search.conf

``start`` runs each process on a free port with ``BLMK_TRUSTED_PROXY=127.0.0.1`` (the other
settings are the caller's ``BLMK_*`` variables), waits until every one is ready,
renders ``deploy/nginx/blmk-search.conf.in`` into the folder and runs nginx as this user, with
every file it writes in the folder, then waits: Ctrl-C or SIGTERM stops nginx and the
processes. ``stop`` does the same from another shell, from the pid files. ``restart`` stops
and starts the processes one after another, the others serving meanwhile. ``site`` prints a
Debian site file rendered from the same template: the settings are written once, there.

The folder (``var/cluster`` by default) holds ``cluster.json`` (ports, index, this command's
pid), ``serve-PORT.pid`` and ``serve-PORT.log`` (each process's output: start-up messages and
its JSON access log), ``nginx.pid``, ``nginx.conf``, ``blmk-search.conf``, nginx's logs and
its temporary files. Linux only: processes are watched through ``/proc``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "nginx" / "blmk-search.conf.in"
SITE_EXAMPLE = REPO / "deploy" / "nginx" / "blmk-search.conf"
BIN = Path(sys.executable).parent  # blmk-serve beside the Python running this
HOST = "127.0.0.1"
NGINX_PLACES = ("/usr/sbin/nginx", "/usr/local/sbin/nginx")
FIELD = re.compile(r"@[A-Z_]+@")
# nginx leaves a process out this long after it fails once; a rolling restart waits as long
# (and a second more) after a process is ready before stopping the next, so that nginx always
# has one to send requests to.
FAIL_TIMEOUT_SECONDS = 3
READY_SECONDS = 60.0
# Above a process's drain (BLMK_DRAIN_SECONDS, 10 s unless set): then it is killed.
STOP_MARGIN_SECONDS = 10.0


class ClusterError(Exception):
    """What stopped a command, said so that the person running it knows what to do."""


# --- the nginx configuration --------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class SiteValues:
    """What differs between one deployment of the site file and another."""

    listen: str
    server_name: str
    ports: Sequence[int]
    static: Path


def installed_static() -> Path:
    """The installed package's static folder, which nginx serves in place of the processes."""
    return Path(str(files("search_api.http") / "static"))


# The example in deploy/README.md: two processes, the package installed in /srv/blmk-search.
EXAMPLE = SiteValues(
    listen="80",
    server_name="search.example.org",
    ports=(8081, 8082),
    static=Path("/srv/blmk-search/.venv/lib/python3.11/site-packages/search_api/http/static"),
)


def render_site(values: SiteValues, template: Path = TEMPLATE) -> str:
    """The site file: the template with its ``@NAME@`` fields filled in."""
    if not values.ports:
        raise ClusterError("a site needs at least one blmk-serve port")
    fields = {
        "@LISTEN@": values.listen,
        "@SERVER_NAME@": values.server_name,
        "@SEARCH_SERVERS@": "\n".join(
            f"    server {HOST}:{port} max_fails=1 fail_timeout={FAIL_TIMEOUT_SECONDS}s;"
            for port in values.ports
        ),
        "@STATIC@": str(values.static).rstrip("/"),
    }
    text = template.read_text(encoding="utf-8")
    for name, value in fields.items():
        if name not in text:
            raise ClusterError(f"{template} has no {name} field")
        text = text.replace(name, value)
    settings = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    if leftover := FIELD.findall(settings):
        raise ClusterError(f"{template} has fields nothing fills in: {', '.join(leftover)}")
    return text


def render_main(folder: Path) -> str:
    """nginx.conf for a trial run: nginx as an ordinary process, writing only in ``folder``,
    around the site file (Debian's /etc/nginx/nginx.conf plays this part in production)."""
    temp = folder / "nginx-temp"
    # As root, nginx would hand its workers to `nobody`, who cannot read a private folder
    # (pytest's temporary folders are 0700): the workers keep this user, as they do when
    # nginx is not started as root.
    user = "user root;\n" if os.geteuid() == 0 else ""
    paths = "\n".join(
        f'    {kind}_temp_path "{temp / kind}";'
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        "# Written by tools/cluster.py for a trial run; the site is blmk-search.conf, rendered\n"
        "# from deploy/nginx/blmk-search.conf.in.\n"
        f"{user}"
        "# One worker is plenty on loopback, and leaves the cores to the blmk-serve processes.\n"
        "worker_processes 1;\n"
        f'pid "{folder / "nginx.pid"}";\n'
        f'error_log "{folder / "nginx-error.log"}" warn;\n'
        "events {\n    worker_connections 1024;\n}\n"
        "http {\n"
        "    include /etc/nginx/mime.types;\n"
        "    default_type application/octet-stream;\n"
        f'    access_log "{folder / "nginx-access.log"}";\n'
        f"{paths}\n"
        f'    include "{folder / "blmk-search.conf"}";\n'
        "}\n"
    )


def find_nginx() -> Path:
    for place in (*NGINX_PLACES, shutil.which("nginx")):
        if place and Path(place).is_file() and os.access(place, os.X_OK):
            return Path(place)
    raise ClusterError(
        "nginx is not installed: `make nginx` installs Debian's package (when run as root), "
        "or install the package nginx yourself"
    )


# --- processes ------------------------------------------------------------------------------


def running(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie has finished: it only awaits its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def read_pid(path: Path, program: str) -> int | None:
    """The pid in ``path`` if that process is alive and is ``program`` (a pid file left
    behind by a crash may name a process that has since been given the same number)."""
    try:
        pid = int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if running(pid) and program in command_line(pid) else None


def wait_gone(pids: Iterable[int], seconds: float) -> list[int]:
    """Waits up to ``seconds`` for the processes to end; those still running."""
    left = list(pids)
    deadline = time.monotonic() + seconds
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = [pid for pid in left if running(pid)]
    return left


def end(pids: dict[int, str], first: signal.Signals, seconds: float) -> None:
    """Sends ``first`` to each, waits, then kills whatever is still running."""
    for pid in pids:
        _signal(pid, first)
    for pid in wait_gone(pids, seconds):
        print(f"{pids[pid]} (pid {pid}) did not stop within {seconds:g} s: killed", flush=True)
        _signal(pid, signal.SIGKILL)
    wait_gone(pids, 5)


def _signal(pid: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, number)


def port_free(port: int) -> bool:
    """Whether a server could listen on ``port`` now. With SO_REUSEADDR, as waitress and
    nginx bind: connections of a process just stopped, still closing, do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int) -> list[int]:
    """Ports nothing listens on now, all held at once so that they differ."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def status_of(url: str) -> int | None:
    """The status ``url`` answers with, or None when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        error.close()
        return error.code
    except OSError:
        return None


def stop_seconds(environ: Mapping[str, str]) -> float:
    try:
        drain = float(environ.get("BLMK_DRAIN_SECONDS", "10"))
    except ValueError:
        drain = 10.0
    return drain + STOP_MARGIN_SECONDS


# --- the cluster's folder -------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class Layout:
    """Where a cluster keeps its files, and what ``cluster.json`` says about it."""

    folder: Path
    port: int = 0
    index: Path = Path()
    ports: list[int] = field(default_factory=list)
    workdir: Path = Path()
    pid: int = 0

    @property
    def record(self) -> Path:
        return self.folder / "cluster.json"

    @property
    def nginx_pid(self) -> Path:
        return self.folder / "nginx.pid"

    def pid_file(self, port: int) -> Path:
        return self.folder / f"serve-{port}.pid"

    def log_file(self, port: int) -> Path:
        return self.folder / f"serve-{port}.log"

    def save(self) -> None:
        data = {
            "port": self.port,
            "index": str(self.index),
            "servers": self.ports,
            "workdir": str(self.workdir),
            "pid": self.pid,
        }
        temporary = self.record.with_suffix(".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n")
        temporary.replace(self.record)

    @classmethod
    def load(cls, folder: Path) -> Layout:
        try:
            data = json.loads((folder / "cluster.json").read_text())
        except FileNotFoundError:
            raise ClusterError(f"no cluster in {folder} (no cluster.json)") from None
        return cls(
            folder=folder,
            port=int(data["port"]),
            index=Path(data["index"]),
            ports=[int(p) for p in data["servers"]],
            workdir=Path(data["workdir"]),
            pid=int(data["pid"]),
        )

    def live_servers(self) -> dict[int, str]:
        """The blmk-serve processes the pid files name that are running, by pid."""
        found = {}
        for path in sorted(self.folder.glob("serve-*.pid")):
            pid = read_pid(path, "blmk-serve")
            if pid is not None:
                found[pid] = f"blmk-serve :{path.stem.removeprefix('serve-')}"
        return found

    def remove_pid_files(self) -> None:
        for path in [*self.folder.glob("serve-*.pid"), self.nginx_pid, self.record]:
            path.unlink(missing_ok=True)


def server_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """A process's settings: the caller's, with nginx as the one proxy whose forwarded
    headers are believed. Everything else is shared as it is: the processes keep the staff
    side (jobs, wrong-token counts, query analytics) in the state folder and the analytics
    file, and act as one."""
    return dict(environ) | {"BLMK_TRUSTED_PROXY": HOST}


def start_server(layout: Layout, port: int, environ: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """One ``blmk-serve`` on ``port``, writing its pid file and appending to its log, in a
    session of its own (Ctrl-C in the terminal reaches this command, which stops the
    processes in order, and not them directly)."""
    if not port_free(port):
        raise ClusterError(f"port {port} is taken: cannot start blmk-serve on it")
    env = server_environment(environ)
    command = [
        str(BIN / "blmk-serve"),
        "--index",
        str(layout.index),
        "--host",
        HOST,
        "--port",
        str(port),
        "--pid-file",
        str(layout.pid_file(port)),
    ]
    with layout.log_file(port).open("ab") as log:
        return subprocess.Popen(
            command,
            cwd=layout.workdir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def wait_ready(layout: Layout, port: int, process: subprocess.Popen[bytes]) -> None:
    """Until ``/health/ready`` answers 200; else the process's output, in the error."""
    url = f"http://{HOST}:{port}/health/ready"
    deadline = time.monotonic() + READY_SECONDS
    while status_of(url) != 200:
        if process.poll() is not None or not running(process.pid):
            raise ClusterError(
                f"blmk-serve on port {port} stopped (exit status {process.poll()}) before it "
                f"was ready; its output ({layout.log_file(port)}):\n{_tail(layout.log_file(port))}"
            )
        if time.monotonic() > deadline:
            raise ClusterError(
                f"blmk-serve on port {port} was not ready after {READY_SECONDS:g} s "
                f"({url}); its output:\n{_tail(layout.log_file(port))}"
            )
        time.sleep(0.1)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(nothing written)"
    return "\n".join(text.splitlines()[-lines:]) or "(nothing written)"


def teardown(
    layout: Layout,
    nginx: subprocess.Popen[bytes] | None = None,
    servers: Sequence[subprocess.Popen[bytes]] = (),
) -> None:
    """Stops nginx first (so nothing new reaches a process), then every process at once,
    each finishing the requests it holds; then removes the pid files. ``nginx`` and
    ``servers`` are this command's own children, stopped even before their pid files exist."""
    front = {pid: "nginx" for pid in [read_pid(layout.nginx_pid, "nginx")] if pid}
    if nginx is not None and running(nginx.pid):
        front[nginx.pid] = "nginx"
    # SIGQUIT is nginx's graceful stop (SIGTERM its fast one): answers in flight are sent.
    end(front, signal.SIGQUIT, STOP_MARGIN_SECONDS)
    back = layout.live_servers()
    back |= {p.pid: "blmk-serve" for p in servers if running(p.pid)}
    end(back, signal.SIGTERM, stop_seconds(os.environ))
    for process in [*servers, *([nginx] if nginx else [])]:
        process.wait(timeout=5)  # finished already: only reaped
    layout.remove_pid_files()


# --- the commands ---------------------------------------------------------------------------


def start(port: int, index: Path, processes: int, folder: Path) -> int:
    """``start``: the processes, then nginx, then wait for a signal to stop them all."""
    nginx_binary = find_nginx()
    index = index.resolve()
    if not (index / "CURRENT").is_file():
        raise ClusterError(
            f"no published index in {index}: build one first (`make index`, or "
            f"`blmk-index build --index {index}`)"
        )
    if processes < 1:
        raise ClusterError("--processes must be at least 1")
    folder.mkdir(parents=True, exist_ok=True)
    folder = folder.resolve()
    _refuse_if_running(folder)
    if not port_free(port):
        raise ClusterError(
            f"port {port} is taken on {HOST} (`make run` or another cluster?): stop it, or "
            f"choose another with --port (make cluster PORT=...)"
        )
    ports = free_ports(processes)
    layout = Layout(
        folder=folder,
        port=port,
        index=index,
        ports=ports,
        workdir=Path.cwd(),
        pid=os.getpid(),
    )
    layout.remove_pid_files()
    layout.save()
    # Ctrl-C and SIGTERM alike end the wait below, or a start half done, in teardown().
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    servers: list[subprocess.Popen[bytes]] = []
    nginx = None
    try:
        servers += [start_server(layout, p, os.environ) for p in ports]
        for process, server_port in zip(servers, ports, strict=True):
            wait_ready(layout, server_port, process)
        nginx = _start_nginx(nginx_binary, layout)
        plural = "es" if processes > 1 else ""
        print(
            f"blmk-search on http://{HOST}:{port}/ : nginx over {processes} blmk-serve "
            f"process{plural} on {HOST}:{', '.join(map(str, ports))}; logs and pid files "
            f"in {folder}. "
            "Ctrl-C or `python tools/cluster.py stop` stops it.",
            flush=True,
        )
        _watch(nginx, servers)
    except KeyboardInterrupt:
        pass
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, signal.SIG_IGN)  # a second Ctrl-C must not cut it short
        print("Stopping the cluster: nginx, then the processes as they finish ...", flush=True)
        teardown(layout, nginx, servers)
    return 0


def _refuse_if_running(folder: Path) -> None:
    layout = Layout(folder=folder)
    if layout.record.is_file():
        try:
            pid = Layout.load(folder).pid
        except (ClusterError, ValueError, KeyError):
            pid = 0
        if pid and running(pid) and "cluster.py" in command_line(pid):
            raise ClusterError(
                f"a cluster is running from {folder} (pid {pid}): stop it first "
                "(`python tools/cluster.py stop`, make cluster-stop)"
            )
    leftovers = layout.live_servers()
    if nginx := read_pid(layout.nginx_pid, "nginx"):
        leftovers[nginx] = "nginx"
    if leftovers:
        raise ClusterError(
            f"processes of an earlier cluster still run from {folder}: "
            f"{', '.join(f'{name} (pid {pid})' for pid, name in leftovers.items())}; "
            "`python tools/cluster.py stop` stops them"
        )


def _start_nginx(binary: Path, layout: Layout) -> subprocess.Popen[bytes]:
    folder = layout.folder
    (folder / "nginx-temp").mkdir(exist_ok=True)
    site = SiteValues(
        listen=f"{HOST}:{layout.port}",
        server_name=HOST,
        ports=layout.ports,
        static=installed_static(),
    )
    (folder / "blmk-search.conf").write_text(render_site(site))
    (folder / "nginx.conf").write_text(render_main(folder))
    error_log = folder / "nginx-error.log"
    command = [
        str(binary),
        "-p",
        str(folder),
        "-c",
        str(folder / "nginx.conf"),
        "-e",  # until it has read the configuration: not /var/log/nginx, which may be closed
        str(error_log),
        "-g",
        "daemon off;",
    ]
    with error_log.open("ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://{HOST}:{layout.port}/health/ready"
    deadline = time.monotonic() + READY_SECONDS
    while status_of(url) != 200:
        if process.poll() is not None or time.monotonic() > deadline:
            if process.poll() is None:
                process.kill()
                process.wait()
            raise ClusterError(
                f"nginx did not start on {HOST}:{layout.port} (exit status {process.poll()}); "
                f"{error_log}:\n{_tail(error_log)}"
            )
        time.sleep(0.1)
    return process


def _watch(nginx: subprocess.Popen[bytes], servers: list[subprocess.Popen[bytes]]) -> None:
    """Waits for the signal to stop, saying when a process ends by itself (one started again
    by ``restart`` is no child of this command: its pid file names it)."""
    reported: set[int] = set()
    while True:
        time.sleep(1.0)
        if nginx.poll() is not None:
            raise ClusterError(
                f"nginx stopped (exit status {nginx.returncode}): so does the cluster"
            )
        for process in servers:
            if process.pid not in reported and process.poll() is not None:
                reported.add(process.pid)
                print(
                    f"blmk-serve (pid {process.pid}) ended: status {process.returncode}", flush=True
                )


def stop(folder: Path) -> int:
    """``stop``: asks the ``start`` command to stop (it stops everything in order); stops
    whatever is left itself when that command is gone."""
    folder = folder.resolve()
    layout = Layout(folder=folder)
    if layout.record.is_file():
        with contextlib.suppress(ValueError, KeyError):
            layout = Layout.load(folder)
    if layout.pid and running(layout.pid) and "cluster.py" in command_line(layout.pid):
        _signal(layout.pid, signal.SIGTERM)
        if not wait_gone([layout.pid], stop_seconds(os.environ) + STOP_MARGIN_SECONDS):
            print(f"Stopped the cluster in {folder}")
            return 0
    if not layout.live_servers() and not read_pid(layout.nginx_pid, "nginx"):
        layout.remove_pid_files()
        print(f"No cluster running from {folder}")
        return 0
    teardown(layout)
    print(f"Stopped the cluster's processes in {folder}")
    return 0


def restart(folder: Path, only: int | None = None) -> int:
    """``restart``: each process in turn stopped (it drains), started again on its port
    with this shell's settings, and waited for until ready; one not running is started."""
    layout = Layout.load(folder.resolve())
    ports = layout.ports if only is None else [only]
    if only is not None and only not in layout.ports:
        raise ClusterError(f"no blmk-serve of the cluster on port {only} ({layout.ports})")
    for number, port in enumerate(ports):
        if number:
            time.sleep(FAIL_TIMEOUT_SECONDS + 1)  # nginx takes the last one back first
        pid = read_pid(layout.pid_file(port), "blmk-serve")
        if pid is not None:
            print(f"Stopping blmk-serve :{port} (pid {pid}) ...", flush=True)
            end({pid: f"blmk-serve :{port}"}, signal.SIGTERM, stop_seconds(os.environ))
        layout.pid_file(port).unlink(missing_ok=True)
        process = start_server(layout, port, os.environ)
        wait_ready(layout, port, process)
        print(f"blmk-serve :{port} ready again (pid {process.pid})", flush=True)
    return 0


def site(args: argparse.Namespace) -> int:
    if args.example:
        values = EXAMPLE
    else:
        values = SiteValues(
            listen=args.listen,
            server_name=args.server_name,
            ports=args.ports,
            static=args.static or installed_static(),
        )
    sys.stdout.write(render_site(values))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/cluster.py", description="blmk-serve processes behind nginx on 127.0.0.1."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    folder = argparse.ArgumentParser(add_help=False)
    folder.add_argument(
        "--folder", type=Path, default=Path("var/cluster"), help="pid files, logs, nginx files"
    )
    begin = commands.add_parser("start", parents=[folder], help="start a cluster and wait")
    begin.add_argument("--port", type=int, default=8080, help="nginx's port on 127.0.0.1")
    begin.add_argument("--index", type=Path, default=Path("var/index"), help="index root")
    begin.add_argument("--processes", type=int, default=2, help="blmk-serve processes")
    commands.add_parser("stop", parents=[folder], help="stop the cluster run from the folder")
    again = commands.add_parser("restart", parents=[folder], help="rolling restart")
    again.add_argument("--only", type=int, metavar="PORT", help="just the process on PORT")
    render = commands.add_parser("site", help="print a Debian site file for nginx")
    render.add_argument("--example", action="store_true", help="deploy/README.md's example")
    render.add_argument("--listen", default=EXAMPLE.listen, help="nginx's listen address")
    render.add_argument("--server-name", default=EXAMPLE.server_name)
    render.add_argument("--ports", type=int, nargs="+", default=list(EXAMPLE.ports))
    render.add_argument("--static", type=Path, help="static folder (default: the installed one)")
    args = parser.parse_args(argv)
    try:
        if args.command == "start":
            return start(args.port, args.index, args.processes, args.folder)
        if args.command == "stop":
            return stop(args.folder)
        if args.command == "restart":
            return restart(args.folder, args.only)
        return site(args)
    except ClusterError as error:
        print(f"cluster: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
