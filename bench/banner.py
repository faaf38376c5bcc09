"""Banner throughput: `/banner.json` from `unavoz run` against nginx serving the exported file.

One worker each (one `unavoz run` process, nginx with `worker_processes 1`), the
same machine, the same load generator (wrk) in the same run. Prints requests/s of
both and the ratio (target ≥ 0.5). Needs Debian's `nginx-light` and `wrk`.

    .venv/bin/python bench/banner.py [--seconds 10] [--connections 64] [--area sol]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


FLOOR = """
import sys
from aiohttp import web
body = open(sys.argv[1], "rb").read()
async def banner(request):
    return web.Response(body=body, content_type="application/json")
app = web.Application()
app.router.add_get("/banner.json", banner)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[2]), access_log=None, print=None)
"""


def free_ports(count: int) -> list[int]:
    """`count` distinct free ports (all held open at once, so none is handed out twice)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def wait_for(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except urllib.error.HTTPError as exc:
            error = RuntimeError(f"HTTP {exc.code}: {exc.read()[:200]!r}")
            time.sleep(0.1)
        except OSError as exc:
            error = exc
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer: {error!r}")


def wrk(url: str, seconds: int, connections: int) -> tuple[float, str]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"99%\s+(\S+)", out)
    return rate, p99.group(1) if p99 else "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--area", default="sol")
    parser.add_argument("--lang", default="es")
    args = parser.parse_args()
    for tool in ("nginx", "wrk"):
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            raise SystemExit(f"{tool} is needed: apt-get install nginx-light wrk")

    work = Path(tempfile.mkdtemp(prefix="unavoz-banner-"))
    work.chmod(0o755)  # nginx's workers run as another user and must read the export
    public = work / "public"
    feed = ROOT / "status_feed.yaml"
    subprocess.run(
        [sys.executable, "-m", "bot", "export-static", str(public), "--feed", str(feed)],
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    unavoz_port, nginx_port, floor_port = free_ports(3)
    env = {
        **os.environ,
        "UNAVOZ_DATABASE_URL": f"sqlite:///{work}/bench.db",
        "UNAVOZ_LOG_LEVEL": "WARNING",
    }
    unavoz = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--feed", str(feed), "--port", str(unavoz_port)],
        cwd=ROOT,
        env=env,
    )
    (work / "logs").mkdir()
    conf = work / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
error_log {work}/logs/error.log;
pid {work}/nginx.pid;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    types {{ application/json json; }}
    etag on;
    server {{
        listen 127.0.0.1:{nginx_port};
        root {public};
        location = /banner.json {{
            add_header Cache-Control "public, max-age=15, stale-while-revalidate=60";
            try_files /banner/{args.area}.{args.lang}.json =404;
        }}
    }}
}}
""")
    nginx_binary = shutil.which("nginx") or "/usr/sbin/nginx"
    nginx = subprocess.Popen([nginx_binary, "-p", str(work), "-c", str(conf)])
    # For scale, not a target: the least any aiohttp server does per request — one handler
    # returning the exported bytes, no routing work, no middleware, no headers of ours.
    floor = subprocess.Popen(
        [
            sys.executable,
            "-c",
            FLOOR,
            str(public / f"banner/{args.area}.{args.lang}.json"),
            str(floor_port),
        ]
    )
    path = f"/banner.json?area={args.area}&lang={args.lang}"
    try:
        wait_for(f"http://127.0.0.1:{unavoz_port}{path}")
        wait_for(f"http://127.0.0.1:{nginx_port}{path}")
        wait_for(f"http://127.0.0.1:{floor_port}{path}")
        bodies = [
            json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}{path}").read())
            for port in (unavoz_port, nginx_port)
        ]
        for body in bodies:
            body.pop("revision")  # the export is of the file (revision 0), the server's is 1
        same = bodies[0] == bodies[1]
        wrk(f"http://127.0.0.1:{unavoz_port}{path}", 2, args.connections)  # warm up both
        wrk(f"http://127.0.0.1:{nginx_port}{path}", 2, args.connections)
        load = (args.seconds, args.connections)
        ours, ours_p99 = wrk(f"http://127.0.0.1:{unavoz_port}{path}", *load)
        theirs, theirs_p99 = wrk(f"http://127.0.0.1:{nginx_port}{path}", *load)
        wrk(f"http://127.0.0.1:{floor_port}{path}", 2, args.connections)
        least, least_p99 = wrk(f"http://127.0.0.1:{floor_port}{path}", *load)
    finally:
        for process in (unavoz, nginx, floor):
            process.terminate()
        for process in (unavoz, nginx, floor):
            process.wait(20)
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"GET {path}, wrk -t1 -c{args.connections} -d{args.seconds}s, one worker each;"
        f" same body from both: {same}"
    )
    print(f"{'server':<34}{'requests/s':>12}{'p99':>10}")
    print(f"{'unavoz run':<34}{ours:>12.0f}{ours_p99:>10}")
    print(f"{'nginx, exported file (baseline)':<34}{theirs:>12.0f}{theirs_p99:>10}")
    print(f"{'aiohttp, bare handler (for scale)':<34}{least:>12.0f}{least_p99:>10}")
    print(f"ratio unavoz/nginx: {ours / theirs:.2f}   (target ≥ 0.5)")
    print(
        f"for scale: bare aiohttp/nginx {least / theirs:.2f}, unavoz/bare aiohttp"
        f" {ours / least:.2f}"
    )


if __name__ == "__main__":
    main()
