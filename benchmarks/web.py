"""The web app under load: 20 signed-in users for 60 s against a 100k-person release.

What it does, in one run:

1. Makes sure the release exists (``--build``: ``joinedup synth`` then ``joinedup build``,
   with ``JOINEDUP_MEMORY_LIMIT`` 6GB unless set).
2. Creates one account per simulated user in the partnership's app state (roles dealt
   round-robin over every role; usernames ``bench-<role>-<n>``, a fresh random password
   each run) and starts the real app with uvicorn in a SUBPROCESS (one worker, as
   ``joinedup serve`` runs it), so the load generator's CPU is not the server's.
3. Finds the pages from the app itself: every GET route in ``app.openapi()``, kept for a
   role only when the route's ``Require(...)`` dependencies allow it (as
   tests/test_role_matrix.py reads them), so pages added later are measured without
   editing this file. Routes with path parameters get examples from the links the pages
   themselves show each role (crawled once per role), else from a release column of the
   parameter's name (``person_id`` -> ``person.person_id``), else ``--example name=value``.
4. Each user signs in through the real ``/sign-in`` form (CSRF cookie and token), then
   loops over its pages (HTML and ``.json`` twins, one of each route per round, in a
   shuffled order, no think time) until the time is up. Meanwhile a baseline client asks
   ``/healthz`` (no release access, no session) every 0.2 s: its latency under the same
   load is the yardstick the page figures are read against, with its latency on an idle
   server and each page's own latency on an idle server (one request at a time).

An error is any answer outside 2xx/3xx, a redirect to the sign-in page (a lost session),
or a request that fails or times out. A page a role may not see is never requested; a
page that refuses a role in its body (403 although ``Require`` allows the role) is left
out for that role and named. Routes that could not be measured are named too.

    .venv/bin/python benchmarks/web.py --dir /work/bench-data/web100k --build
    .venv/bin/python benchmarks/web.py --dir DIR --users 20 --seconds 60 --write

Exit status: 0 when every criterion holds (no errors, every route measured, p95 <= 3x p50
for every page type, and the overview and question pages' p50 within 5x the p50 of
``/healthz`` under the same load), 1 otherwise, with what failed printed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import re
import resource
import secrets
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from _common import ROOT, machine, write_section

DEFAULT_DIR = Path("/work/bench-data/web100k")
RATIO_LIMIT = 3.0
#: The overview and the question pages (and their JSON twins) answer within this many
#: times /healthz's p50 under the same load, at p50 (issue 16).
BASELINE_LIMIT = 5.0
HEADLINE_PAGES = re.compile(
    r"^/(overview\.json)?$|^/questions(\.json)?$|^/questions/\{question_id\}(\.json)?$"
)
CSRF_FIELD = re.compile(r'name="csrf_token"\s+value="([^"]*)"')
HREF = re.compile(r'href="(?:https?://[^/"]+)?(/[^"#]*)"')
#: Never load-tested: sign-in and OpenID Connect (signing in is timed separately).
SKIP_PREFIXES = ("/sign-in", "/sign-out", "/auth/", "/static")
ACCESS_LINE = re.compile(r"INFO: +\d+\.\d+\.\d+\.\d+:\d+ - ")
BASELINE_PATH = "/healthz"
BASELINE_EVERY = 0.2


# --- the release --------------------------------------------------------------------


def ensure_release(folder: Path, *, build: bool, people: int, seed: int) -> None:
    if (folder / "releases" / "CURRENT").is_file():
        return
    if not build:
        raise SystemExit(
            f"{folder} has no built release. Add --build to synthesise and build one "
            f"({people:,} people; takes several minutes), or point --dir at a built partnership."
        )
    cli = str(ROOT / ".venv" / "bin" / "joinedup")
    if not (folder / "partnership.yaml").is_file():
        print(f"synthesising {people:,} people into {folder} ...", flush=True)
        subprocess.run(
            [cli, "synth", str(folder), "--people", str(people), "--seed", str(seed)], check=True
        )
    env = {**os.environ}
    env.setdefault("JOINEDUP_MEMORY_LIMIT", "6GB")
    print(
        f"building {folder} (JOINEDUP_MEMORY_LIMIT={env['JOINEDUP_MEMORY_LIMIT']}) ...", flush=True
    )
    subprocess.run([cli, "build", str(folder)], check=True, env=env)


def release_facts(folder: Path) -> dict[str, Any]:
    import duckdb

    from joinedup.release import open_current

    handle = open_current(folder)
    con = duckdb.connect(str(handle.db_path), read_only=True)
    try:
        persons = con.execute("SELECT count(*) FROM person").fetchone()
        records = con.execute("SELECT count(*) FROM record").fetchone()
    finally:
        con.close()
    return {
        "release_id": handle.release_id,
        "persons": int(persons[0]) if persons else 0,
        "records": int(records[0]) if records else 0,
        "db_mb": handle.db_path.stat().st_size / 1e6,
    }


def column_examples(folder: Path, name: str, limit: int = 5) -> list[str]:
    """Values of a release column named like a path parameter (fallback examples)."""
    import duckdb

    from joinedup.release import open_current

    candidates = [name, name.removesuffix("_id")] if name.endswith("_id") else [f"{name}_id", name]
    con = duckdb.connect(str(open_current(folder).db_path), read_only=True)
    try:
        for col in candidates:
            tables = con.execute(
                "SELECT table_name FROM information_schema.columns WHERE column_name = ? "
                "ORDER BY table_name",
                [col],
            ).fetchall()
            # prefer the table named after the parameter (person for person_id)
            names = [t for (t,) in tables]
            base = name.removesuffix("_id")
            names.sort(key=lambda t: (t != base, t != f"{base}s", t))
            for table in names:
                rows = con.execute(
                    f'SELECT DISTINCT CAST("{col}" AS VARCHAR) FROM "{table}" '
                    f'WHERE "{col}" IS NOT NULL ORDER BY 1 LIMIT {limit}'
                ).fetchall()
                if rows:
                    return [str(r[0]) for r in rows]
    finally:
        con.close()
    return []


# --- routes ---------------------------------------------------------------------------


@dataclass
class RouteInfo:
    path: str  # the template, e.g. /questions/{question_id}
    params: list[str]
    required_query: list[str]
    requires: list[Any]  # Require dependencies
    pattern: re.Pattern[str] | None = None

    def allows(self, role: str) -> bool:
        return all(req.allows_roles([role]) for req in self.requires)


def _calls(dependant: Any) -> list[Any]:
    found = []
    for dep in dependant.dependencies:
        found.append(dep.call)
        found.extend(_calls(dep))
    return found


def _all_routes(routes: list[Any]) -> list[Any]:
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out.extend(_all_routes(inner.routes) if inner is not None else [r])
    return out


def discover_routes(folder: Path) -> tuple[list[RouteInfo], list[str]]:
    """GET routes of the app (OpenAPI), with their permission checks; and the skipped."""
    from fastapi.routing import APIRoute

    from joinedup.web import create_app
    from joinedup.web.deps import Require

    app = create_app(folder)
    spec = app.openapi()
    by_path: dict[str, Any] = {}
    for r in _all_routes(app.routes):
        if isinstance(r, APIRoute) and "GET" in (r.methods or set()):
            by_path[r.path_format] = r
    routes, skipped = [], []
    for path, methods in sorted(spec["paths"].items()):
        get = methods.get("get")
        if get is None or path == BASELINE_PATH or path.startswith(SKIP_PREFIXES):
            continue
        params = [p["name"] for p in get.get("parameters", []) if p.get("in") == "path"]
        required_query = [
            p["name"]
            for p in get.get("parameters", [])
            if p.get("in") == "query" and p.get("required")
        ]
        route = by_path.get(path)
        requires = [c for c in _calls(route.dependant) if isinstance(c, Require)] if route else []
        info = RouteInfo(path, params, required_query, requires)
        if params:
            rx = re.escape(path)
            for name in params:
                rx = rx.replace(re.escape("{" + name + "}"), "([^/?#.]+)")
            info.pattern = re.compile(f"^{rx}$")
        if required_query:
            skipped.append(f"{path}: needs query parameter(s) {', '.join(required_query)}")
            continue
        routes.append(info)
    return routes, skipped


# --- users and the server -----------------------------------------------------------------


def create_users(folder: Path, users: int) -> list[tuple[str, str, str]]:
    """(username, role, password) for each simulated user, in the app state."""
    from joinedup.access import Role, create_user, get_user, partnership_agencies, set_password
    from joinedup.state import open_state

    agencies = partnership_agencies(folder) or ["police"]
    agency = "police" if "police" in agencies else agencies[0]
    roles = [r.value for r in Role]
    out = []
    with open_state(folder) as state:
        for i in range(users):
            role = roles[i % len(roles)]
            username = f"bench-{role.replace('_', '-')}-{i // len(roles) + 1}"
            password = "bench-" + secrets.token_urlsafe(18)
            if get_user(state, username) is None:
                create_user(
                    state,
                    username=username,
                    display_name=f"Benchmark {role.replace('_', ' ')}",
                    agency=agency,
                    roles=[role],
                    password=password,
                    actor="benchmark",
                    agencies=agencies,
                )
            else:
                set_password(state, username=username, password=password, actor="benchmark")
            out.append((username, role, password))
    return out


BENCH_PANEL = "Benchmark panel"


def create_panel_meeting(folder: Path, accounts: list[tuple[str, str, str]]) -> str:
    """A panel of the benchmark's panel members with a meeting held today, two children on
    its agenda and an action, so that the meeting, pack and action pages are measured
    (they are linked from ``/panels``). Made once; later runs find it."""
    import duckdb

    from joinedup.access import get_user
    from joinedup.release import open_current
    from joinedup.state import open_state
    from joinedup.state.panels import Panels
    from joinedup.views import partnership_config

    members = [u for u, role, _ in accounts if role == "panel_member"]
    if not members:
        return "no panel member among the users: panel pages not measured"
    cfg = partnership_config(folder)
    release = open_current(folder)
    with duckdb.connect(str(release.db_path), read_only=True) as con:
        children = [
            str(r[0])
            for r in con.execute(
                "SELECT person_id FROM person WHERE age < 18 ORDER BY person_id LIMIT 2"
            ).fetchall()
        ]
    with open_state(folder) as state:
        panels = Panels(state.session)
        found = [p for p in panels.all_panels() if p.name == BENCH_PANEL]
        if found:
            return f"panel pages: the {BENCH_PANEL!r} made by an earlier run"
        agencies = sorted({a.id for a in cfg.agencies})
        chair = get_user(state, members[0])
        assert chair is not None
        panel = panels.create_panel(
            name=BENCH_PANEL,
            agencies=agencies,
            cadence_days=28,
            agreement=cfg.sharing_agreements[0].key,
            retention_days=365,
            created_by="benchmark",
            chair=(members[0], chair.agency),
        )
        for name in members[1:]:
            user = get_user(state, name)
            assert user is not None
            panels.add_member(panel_id=panel.id, username=name, agency=user.agency)
        meeting = panels.create_meeting(
            panel_id=panel.id,
            held_on=dt.date.today(),
            created_by="benchmark",
            release_id=release.release_id,
        )
        items = [
            panels.add_item(
                meeting_id=meeting.id,
                kind="child",
                subject=pid,
                label=f"Child {i + 1}",
                reason="Benchmark agenda item",
                added_by="benchmark",
            )
            for i, pid in enumerate(children)
        ]
        if items:
            panels.add_action(
                item_id=items[0].id,
                description="Benchmark action",
                owner_agency=agencies[0],
                due_on=dt.date.today() + dt.timedelta(days=14),
                created_by="benchmark",
            )
    return f"panel pages: made {BENCH_PANEL!r} with a meeting of {len(items)} items"


# As `joinedup serve` runs the app (joinedup.web.app.serve): one uvicorn worker, its
# default logging (an access log line per request), the release held open when the app
# supports it; without the GOV.UK Frontend asset check, which pages do not depend on.
SERVER = """
import inspect, runpy, sys, uvicorn
from pathlib import Path
from joinedup.web import create_app
folder, port, prelude, hold = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if prelude:
    runpy.run_path(prelude)
kwargs = {}
if "hold_releases" in inspect.signature(create_app).parameters:
    kwargs["hold_releases"] = hold == "hold"
uvicorn.run(create_app(folder, **kwargs), host="127.0.0.1", port=port)
"""


class Server:
    def __init__(
        self, folder: Path, log: Path, prelude: Path | None = None, hold: bool = True
    ) -> None:
        from joinedup.web.live import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._fh = log.open("w")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SERVER,
                str(folder),
                str(self.port),
                str(prelude or ""),
                "hold" if hold else "no-hold",
            ],
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while True:
            if self.proc.poll() is not None:
                raise SystemExit(f"The app did not start; see {log}:\n{self.tail()}")
            try:
                if httpx.get(self.url + BASELINE_PATH, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"The app did not answer within 120 s; see {log}.")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def tail(self, lines: int = 40) -> str:
        self._fh.flush()
        text = self.log.read_text(errors="replace").splitlines()
        # leave out uvicorn's access log (one line per request), keep tracebacks
        return "\n".join([t for t in text if not ACCESS_LINE.match(t)][-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._fh.close()


# --- measuring ----------------------------------------------------------------------


@dataclass
class Sample:
    key: str  # route template
    status: int  # 0 for a failed request
    seconds: float
    role: str
    error: str = ""
    url: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


def classify(response: httpx.Response) -> str:
    """Why an answer is an error ("" when it is not)."""
    if response.status_code >= 400 or response.status_code < 200:
        return f"HTTP {response.status_code}"
    if 300 <= response.status_code < 400:
        if response.headers.get("location", "").startswith("/sign-in"):
            return "redirected to sign-in (session lost)"
    return ""


RETRIES: list[str] = []  # requests sent again after a kept-alive connection was closed


def timed_get(client: httpx.Client, url: str) -> tuple[httpx.Response | None, float, str]:
    """GET ``url``; the response, seconds taken and the failure ("" when none).

    Like a browser, a request that fails because the server closed the kept-alive
    connection it went out on (uvicorn closes idle ones after 5 s) is sent once more on a
    new connection, within the same timing; these are counted in ``RETRIES``.
    """
    start = time.perf_counter()
    for attempt in (1, 2):
        try:
            response = client.get(url)
            response.read()
        except (httpx.ReadError, httpx.RemoteProtocolError) as exc:
            if attempt == 1:
                RETRIES.append(type(exc).__name__)
                continue
            return None, time.perf_counter() - start, type(exc).__name__
        except httpx.HTTPError as exc:
            return None, time.perf_counter() - start, type(exc).__name__
        return response, time.perf_counter() - start, ""
    raise AssertionError("unreachable")


def sign_in(base: str, username: str, password: str, timeout: float) -> tuple[httpx.Client, float]:
    """A client signed in through the real form; the seconds the form post took."""
    client = httpx.Client(base_url=base, timeout=timeout, follow_redirects=False)
    form = client.get("/sign-in", params={"next": "/account"})
    match = CSRF_FIELD.search(form.text)
    if form.status_code != 200 or match is None:
        raise RuntimeError(f"GET /sign-in gave {form.status_code} without a csrf_token field")
    start = time.perf_counter()
    r = client.post(
        "/sign-in",
        data={
            "username": username,
            "password": password,
            "csrf_token": unescape(match.group(1)),
            "next": "/account",
        },
    )
    seconds = time.perf_counter() - start
    if r.status_code != 303 or r.headers.get("location") != "/account":
        raise RuntimeError(f"signing in as {username} gave {r.status_code}, not a redirect")
    return client, seconds


@dataclass
class Plan:
    """What one role requests: (route template, url) pairs, and what was left out."""

    urls: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def plan_role(
    client: httpx.Client,
    role: str,
    routes: list[RouteInfo],
    fallback: dict[str, list[str]],
    recorder: Recorder,
    per_route: int,
) -> Plan:
    """Visit the role's pages once (warming up, and collecting links for routes with
    path parameters); probe every candidate; keep what answers."""
    plan = Plan()
    allowed = [r for r in routes if r.allows(role)]
    found: dict[str, list[str]] = defaultdict(list)
    param_routes = [r for r in allowed if r.pattern is not None]

    def harvest(text: str) -> None:
        # links as the page wrote them, query included (a download by area, a tier)
        for href in HREF.findall(text):
            link = unescape(href)
            path = link.split("?", 1)[0]
            for r in param_routes:
                assert r.pattern is not None
                if r.pattern.match(path) and link not in found[r.path]:
                    found[r.path].append(link)

    def probe(key: str, url: str, linked: bool = True) -> bool:
        response, seconds, failure = timed_get(client, url)
        if response is None:
            recorder.add(Sample(key, 0, seconds, role, failure, url))
            return False
        if response.status_code == 403:
            plan.notes.append(f"{role}: {key} refused with 403 in the page itself; left out")
            return False
        if response.status_code == 404 and not linked:
            # an example guessed from the release, not a link the app showed
            plan.notes.append(f"{role}: {key}: a guessed example gave 404; tried another")
            return False
        why = classify(response)
        recorder.add(Sample(key, response.status_code, seconds, role, why, url))
        if why:
            return False
        if "text/html" in response.headers.get("content-type", ""):
            harvest(response.text)
        return True

    for r in allowed:
        if r.pattern is None and probe(r.path, r.path):
            plan.urls.append((r.path, r.path))

    # links the pages show first (a cohort page links its people), in passes, since a
    # page with parameters may link another; a .json twin shares its HTML page's links;
    # what no page links gets examples from the release.
    def linked_examples(r: RouteInfo) -> list[str]:
        if found.get(r.path):
            return list(found[r.path])
        to_json = r.path.endswith(".json")
        twin = r.path.removesuffix(".json") if to_json else r.path + ".json"
        return [twin_url(u, to_json) for u in found.get(twin, [])]

    def measure(r: RouteInfo, examples: list[str], linked: bool) -> None:
        kept = 0
        for url in examples:
            if kept >= per_route:
                break
            failed = len(recorder.samples)
            if probe(r.path, url, linked):
                plan.urls.append((r.path, url))
                kept += 1
            elif any(
                s.error for s in recorder.samples[failed:] if s.key == r.path and s.role == role
            ):
                # an error (say a timeout) is counted once; no more examples are tried
                plan.notes.append(f"{role}: {r.path} failed while finding examples")
                break
        if not kept and not linked:
            plan.notes.append(
                f"{role}: {r.path} NOT MEASURED: no page links it and no example from the "
                f"release answered (add --example NAME=VALUE)"
            )

    pending = list(param_routes)
    for _ in range(3):
        ready = [r for r in pending if linked_examples(r)]
        if not ready:
            break
        for r in ready:
            measure(r, linked_examples(r), linked=True)
        pending = [r for r in pending if r not in ready]
    for r in pending:
        examples = fill(r, fallback)
        if examples:
            measure(r, examples, linked=False)
        else:
            plan.notes.append(
                f"{role}: {r.path} NOT MEASURED: no page links it and the release has no "
                f"column {', '.join(r.params)} (add --example NAME=VALUE)"
            )
    return plan


def twin_url(url: str, to_json: bool) -> str:
    """The .json twin of a page's URL, or the page of a .json URL (query kept)."""
    path, sep, query = url.partition("?")
    path = path + ".json" if to_json else path.removesuffix(".json")
    return path + sep + query


def fill(route: RouteInfo, fallback: dict[str, list[str]]) -> list[str]:
    """URLs for a template from the fallback examples of each of its parameters."""
    values = [fallback.get(name, []) for name in route.params]
    if not all(values):
        return []
    out = []
    for i in range(max(len(v) for v in values)):
        url = route.path
        for name, vals in zip(route.params, values, strict=True):
            url = url.replace("{" + name + "}", quote(vals[i % len(vals)], safe=""))
        out.append(url)
    return out


def user_loop(
    client: httpx.Client,
    role: str,
    plan: Plan,
    start: threading.Barrier,
    stop_at: list[float],
    recorder: Recorder,
    seed: int,
    think: float,
) -> None:
    rng = random.Random(seed)
    by_key: dict[str, list[str]] = defaultdict(list)
    for key, url in plan.urls:
        by_key[key].append(url)
    keys = sorted(by_key)
    start.wait()
    if not keys:
        return
    n = 0
    while True:
        rng.shuffle(keys)
        for key in keys:
            if time.perf_counter() >= stop_at[0]:
                return
            urls = by_key[key]
            url = urls[n % len(urls)]
            response, seconds, failure = timed_get(client, url)
            if response is None:
                recorder.add(Sample(key, 0, seconds, role, failure, url))
            else:
                why = classify(response)
                recorder.add(Sample(key, response.status_code, seconds, role, why, url))
            if think:
                time.sleep(think)
        n += 1


def baseline_loop(
    base: str, start: threading.Barrier, stop_at: list[float], recorder: Recorder
) -> None:
    with httpx.Client(base_url=base, timeout=30) as client:
        start.wait()
        while time.perf_counter() < stop_at[0]:
            t = time.perf_counter()
            response, seconds, failure = timed_get(client, BASELINE_PATH)
            status = response.status_code if response is not None else 0
            recorder.add(
                Sample(
                    BASELINE_PATH,
                    status,
                    seconds,
                    "baseline",
                    failure or (classify(response) if response is not None else ""),
                )
            )
            time.sleep(max(0.0, BASELINE_EVERY - (time.perf_counter() - t)))


def idle_latency(
    base: str, clients: dict[str, httpx.Client], plans: dict[str, Plan], per_page: int
) -> dict[str, list[float]]:
    """Each page type alone on an idle server, one request at a time: ``per_page``
    requests, dealt over the roles that see it and over its examples."""
    out: dict[str, list[float]] = defaultdict(list)
    with httpx.Client(base_url=base, timeout=30) as anon:
        for _ in range(max(10, per_page)):
            _, seconds, _ = timed_get(anon, BASELINE_PATH)
            out[BASELINE_PATH].append(seconds)
    who: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for role, plan in plans.items():
        for key, url in plan.urls:
            who[key].append((role, url))
    for key, options in sorted(who.items()):
        for i in range(per_page):
            role, url = options[i % len(options)]
            response, seconds, _ = timed_get(clients[role], url)
            if response is not None and not classify(response):
                out[key].append(seconds)
    return out


def examples_of(samples: list[Sample]) -> list[dict[str, Any]]:
    """Each URL of a page type (its examples): requests, p50 and max in ms."""
    by_url: dict[str, list[float]] = defaultdict(list)
    for s in samples:
        if not s.error:
            by_url[s.url].append(s.seconds)
    return [
        {"url": u, "n": len(v), "p50_ms": 1000 * pct(v, 0.5), "max_ms": 1000 * max(v)}
        for u, v in sorted(by_url.items())
    ]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


# --- the run --------------------------------------------------------------------------


def busiest_others(ours: set[int], top: int = 6) -> list[str]:
    """The programs (not their arguments) of the other processes using the most CPU
    over one second: what else the machine was running during the load."""

    def ticks() -> dict[int, tuple[int, str]]:
        out = {}
        for d in Path("/proc").iterdir():
            if not d.name.isdigit() or int(d.name) in ours:
                continue
            try:
                raw = (d / "stat").read_text()
                cmd = (d / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            fields = raw.rsplit(")", 1)[1].split()
            words = [w.decode(errors="replace") for w in cmd if w][:4]
            # the program and, for Python, the script or module it runs; no other arguments
            name = Path(words[0].split()[0]).name if words else raw.split("(")[1].split(")")[0]
            if name.startswith("python") and len(words) > 1:
                rest = words[1:3] if words[1] == "-m" else words[1:2]
                name += " " + " ".join(Path(w).name if "/" in w else w for w in rest)
            out[int(d.name)] = (int(fields[11]) + int(fields[12]), name[:60])
        return out

    before = ticks()
    time.sleep(1.0)
    after = ticks()
    used: dict[str, float] = defaultdict(float)
    hz = os.sysconf("SC_CLK_TCK")
    for pid, (t, name) in after.items():
        if pid in before:
            used[name] += (t - before[pid][0]) / hz
    busy = sorted(((v, k) for k, v in used.items() if v >= 0.05), reverse=True)[:top]
    return [f"{name} ({100 * v:.0f}% of a core)" for v, name in busy]


def held_open(wanted: bool) -> bool:
    """Whether the server held the release open (an app without the option cannot)."""
    import inspect

    from joinedup.web import create_app

    return wanted and "hold_releases" in inspect.signature(create_app).parameters


def git_commit() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" with uncommitted changes" if dirty else "")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="a built partnership")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--build", action="store_true", help="synthesise and build if missing")
    parser.add_argument("--people", type=int, default=100_000, help="with --build")
    parser.add_argument("--seed", type=int, default=11, help="with --build")
    parser.add_argument("--think", type=float, default=0.0, help="seconds between requests")
    parser.add_argument("--per-route", type=int, default=3, help="examples per parameterised route")
    parser.add_argument(
        "--exclude",
        default="",
        help="regex: leave out matching route templates (named in the figures as left out)",
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="per request, seconds")
    parser.add_argument(
        "--example",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a value for a path parameter no page links to",
    )
    parser.add_argument("--only", default="", help="regex: measure only matching route templates")
    parser.add_argument(
        "--idle-requests", type=int, default=3, help="per page type on the idle server"
    )
    parser.add_argument("--write", action="store_true", help="write the figures into docs")
    parser.add_argument("--note", default="", help="what else ran on the machine (for the docs)")
    parser.add_argument(
        "--comment", default="", help="a paragraph for the docs after the figures (findings)"
    )
    parser.add_argument("--json", type=Path, default=None, help="write every figure as JSON here")
    parser.add_argument(
        "--no-hold-releases",
        action="store_true",
        help="serve without keeping the release open (to compare; not written to the docs)",
    )
    parser.add_argument(
        "--server-prelude",
        type=Path,
        default=None,
        help="Python file run in the server process before it starts, to try a change "
        "(figures measured with one are never written to the docs)",
    )
    parser.add_argument(
        "--render",
        type=Path,
        default=None,
        help="print (and with --write, write to the docs) the figures of a --json file "
        "instead of measuring",
    )
    args = parser.parse_args()
    if args.render:
        return render(args.render, write=args.write, comment=args.comment)

    # a TERM (e.g. from `timeout`) unwinds like Ctrl-C, so the server is stopped
    signal.signal(signal.SIGTERM, _interrupt)
    folder = args.dir.resolve()
    ensure_release(folder, build=args.build, people=args.people, seed=args.seed)
    facts = release_facts(folder)
    routes, skipped = discover_routes(folder)
    if args.only:
        routes = [r for r in routes if re.search(args.only, r.path)]
    if args.exclude:
        left_out = [r for r in routes if re.search(args.exclude, r.path)]
        skipped += [f"{r.path}: left out (--exclude)" for r in left_out]
        routes = [r for r in routes if not re.search(args.exclude, r.path)]
    fallback: dict[str, list[str]] = {}
    for name in sorted({p for r in routes for p in r.params}):
        fallback[name] = column_examples(folder, name)
    for item in args.example:
        name, _, value = item.partition("=")
        fallback.setdefault(name, [])
        fallback[name].insert(0, value)
    print(
        f"release {facts['release_id']}: {facts['persons']:,} persons, {facts['records']:,} "
        f"records, {facts['db_mb']:.0f} MB; {len(routes)} GET routes to measure",
        flush=True,
    )
    accounts = create_users(folder, args.users)
    print(create_panel_meeting(folder, accounts), flush=True)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"joinedup-bench-web-{os.getpid()}.log"
    load_before = os.getloadavg()
    server = Server(folder, log, args.server_prelude, hold=not args.no_hold_releases)
    recorder, warmup = Recorder(), Recorder()
    clients: dict[str, httpx.Client] = {}
    signed: list[tuple[str, str, httpx.Client]] = []
    try:
        # 1. everyone signs in through the form, a few at a time
        sign_in_seconds: list[float] = []
        for username, role, password in accounts:
            client, seconds = sign_in(server.url, username, password, args.timeout)
            sign_in_seconds.append(seconds)
            signed.append((username, role, client))
        # 2. one user of each role finds its pages (warming the server up)
        for _username, role, client in signed:
            clients.setdefault(role, client)
        plans: dict[str, Plan] = {}

        def plan(role: str) -> None:
            plans[role] = plan_role(clients[role], role, routes, fallback, warmup, args.per_route)
            print(f"  {role}: {len(plans[role].urls)} urls", flush=True)

        planners = [threading.Thread(target=plan, args=(role,), daemon=True) for role in clients]
        for t in planners:
            t.start()
        for t in planners:
            t.join()
        # 3. each page alone, on an idle server
        print("each page type alone on the idle server ...", flush=True)
        idle = idle_latency(server.url, clients, plans, args.idle_requests)
        # 4. the load
        stop_at = [math.inf]
        barrier = threading.Barrier(len(signed) + 2)
        threads = [
            threading.Thread(
                target=user_loop,
                args=(client, role, plans[role], barrier, stop_at, recorder, i, args.think),
                name=f"user-{i}",
                daemon=True,
            )
            for i, (_, role, client) in enumerate(signed)
        ]
        threads.append(
            threading.Thread(
                target=baseline_loop, args=(server.url, barrier, stop_at, recorder), daemon=True
            )
        )
        for t in threads:
            t.start()
        print(f"{len(signed)} users for {args.seconds:.0f} s ...", flush=True)
        others = busiest_others({os.getpid(), server.proc.pid})
        cpu_server0, cpu_client0 = server.cpu_seconds(), resource.getrusage(resource.RUSAGE_SELF)
        stop_at[0] = time.perf_counter() + args.seconds
        started = time.perf_counter()
        barrier.wait()
        for t in threads:
            t.join(timeout=args.seconds + args.timeout + 30)
        wall = time.perf_counter() - started
        cpu_server = server.cpu_seconds() - cpu_server0
        ru = resource.getrusage(resource.RUSAGE_SELF)
        cpu_client = (ru.ru_utime - cpu_client0.ru_utime) + (ru.ru_stime - cpu_client0.ru_stime)
        server_peak = server.peak_rss_mb()
        server_log = server.tail()
    finally:
        for *_, c in signed:
            c.close()
        server.stop()
    load_after = os.getloadavg()

    # --- figures -----------------------------------------------------------------------
    by_key: dict[str, list[Sample]] = defaultdict(list)
    for s in recorder.samples:
        by_key[s.key].append(s)
    errors = [s for s in warmup.samples + recorder.samples if s.error]
    page_samples = [s for s in recorder.samples if s.key != BASELINE_PATH]
    base_loaded = [s.seconds for s in by_key.get(BASELINE_PATH, []) if not s.error]
    base_idle = idle.get(BASELINE_PATH, [])
    rows = []
    for key in sorted(k for k in by_key if k != BASELINE_PATH):
        ok = [s.seconds for s in by_key[key] if not s.error]
        bad = [s for s in by_key[key] if s.error]
        if not ok:
            rows.append({"page": key, "n": len(bad), "errors": len(bad)})
            continue
        p50, p95 = pct(ok, 0.5), pct(ok, 0.95)
        rows.append(
            {
                "page": key,
                "n": len(ok) + len(bad),
                "errors": len(bad),
                "idle_p50_ms": 1000 * pct(idle[key], 0.5) if idle.get(key) else None,
                "p50_ms": 1000 * p50,
                "p95_ms": 1000 * p95,
                "max_ms": 1000 * max(ok),
                "p95_over_p50": p95 / p50 if p50 else math.inf,
                "roles": sorted({s.role for s in by_key[key]}),
                "examples": examples_of(by_key[key]),
            }
        )
    ok_pages = [s.seconds for s in page_samples if not s.error]
    summary = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": git_commit(),
        "machine": machine(),
        "command": shlex.join(["benchmarks/web.py", *sys.argv[1:]]),
        "load_seconds": args.seconds,
        "release": facts,
        "users": len(accounts),
        "roles": sorted({role for _, role, _ in accounts}),
        "seconds": wall,
        "requests": len(page_samples),
        "requests_per_s": len(page_samples) / wall if wall else 0.0,
        "all_pages_p50_ms": 1000 * pct(ok_pages, 0.5) if ok_pages else None,
        "all_pages_p95_ms": 1000 * pct(ok_pages, 0.95) if ok_pages else None,
        "sign_in_p50_ms": 1000 * pct(sign_in_seconds, 0.5),
        "sign_in_max_ms": 1000 * max(sign_in_seconds),
        "baseline_idle_p50_ms": 1000 * pct(base_idle, 0.5) if base_idle else None,
        "baseline_loaded_p50_ms": 1000 * pct(base_loaded, 0.5) if base_loaded else None,
        "baseline_loaded_p95_ms": 1000 * pct(base_loaded, 0.95) if base_loaded else None,
        "cpu_server_s": cpu_server,
        "cpu_client_s": cpu_client,
        "server_peak_rss_mb": server_peak,
        "load_before": load_before,
        "others": others,
        "load_after": load_after,
        "errors": len(errors),
        "retried": len(RETRIES),
        "skipped": skipped,
        "notes": sorted({n for p in plans.values() for n in p.notes}),
        "rows": rows,
        "think": args.think,
        "held_open": held_open(not args.no_hold_releases),
        "note": args.note,
        "comment": args.comment,
        "error_list": [{"page": e.key, "error": e.error, "role": e.role} for e in errors],
    }
    failures = report(summary, errors)
    if errors:
        print("\nlast lines of the server's log:\n" + server_log)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    if args.write and (args.server_prelude or args.no_hold_releases):
        print("\nnot written to docs/benchmarks.md: the server ran with an experiment")
    elif args.write:
        write_section("web", markdown(summary, failures, summary["note"]))
        print("\nwrote the web section of docs/benchmarks.md")
    return 1 if failures else 0


def render(path: Path, *, write: bool, comment: str = "") -> int:
    """The report and docs section of an earlier run's --json file."""
    summary = json.loads(path.read_text())
    if comment:
        summary["comment"] = comment
    summary.setdefault("load_seconds", 60.0)
    summary.setdefault("note", "")
    errors = [
        Sample(e["page"], 0, 0.0, e.get("role", ""), e["error"])
        for e in summary.get("error_list", [])
    ]
    if not errors and summary.get("errors"):  # files written before error_list
        errors = [
            Sample(r["page"], 0, 0.0, "", "error (kind not recorded)")
            for r in summary["rows"]
            for _ in range(r["errors"])
        ]
    failures = report(summary, errors)
    if write:
        write_section("web", markdown(summary, failures, summary["note"]))
        print(f"\nwrote the web section of docs/benchmarks.md from {path}")
    return 1 if failures else 0


def _ms(v: float | None) -> str:
    return "" if v is None else f"{v:.0f}" if v >= 10 else f"{v:.1f}"


def report(s: dict[str, Any], errors: list[Sample]) -> list[str]:
    """Print the figures; the criteria that failed."""
    print()
    print(
        f"{'page type':<44} {'n':>6} {'err':>4} {'idle p50':>9} {'p50':>7} {'p95':>7} "
        f"{'max':>7} {'p95/p50':>7}"
    )
    for r in s["rows"]:
        if "p50_ms" not in r:
            print(f"{r['page']:<44} {r['n']:>6} {r['errors']:>4}   (every request failed)")
            continue
        flag = "" if r["p95_over_p50"] <= RATIO_LIMIT else "  > 3x"
        print(
            f"{r['page']:<44} {r['n']:>6} {r['errors']:>4} {_ms(r['idle_p50_ms']):>9} "
            f"{_ms(r['p50_ms']):>7} {_ms(r['p95_ms']):>7} {_ms(r['max_ms']):>7} "
            f"{r['p95_over_p50']:>7.2f}{flag}"
        )
    print(
        f"\n{s['requests']:,} page requests in {s['seconds']:.1f} s = {s['requests_per_s']:.1f}/s "
        f"from {s['users']} users; all pages p50 {_ms(s['all_pages_p50_ms'])} ms, "
        f"p95 {_ms(s['all_pages_p95_ms'])} ms"
    )
    print(
        f"baseline {BASELINE_PATH}: idle p50 {_ms(s['baseline_idle_p50_ms'])} ms; under load "
        f"p50 {_ms(s['baseline_loaded_p50_ms'])} ms, p95 {_ms(s['baseline_loaded_p95_ms'])} ms"
    )
    print(
        f"sign-in form post: p50 {_ms(s['sign_in_p50_ms'])} ms, max {_ms(s['sign_in_max_ms'])} ms"
    )
    if s["retried"]:
        print(f"{s['retried']} requests sent again after the server closed a kept-alive connection")
    print(
        f"CPU during the load: server {s['cpu_server_s']:.0f} s, load generator "
        f"{s['cpu_client_s']:.0f} s, of {2 * s['seconds']:.0f} core-seconds on "
        f"{os.cpu_count()} cores; server peak RSS {s['server_peak_rss_mb']:.0f} MB; "
        f"load average {s['load_before'][0]:.1f} before, {s['load_after'][0]:.1f} after"
    )
    failures = []
    if errors:
        kinds: dict[tuple[str, str], int] = defaultdict(int)
        for e in errors:
            kinds[(e.key, e.error)] += 1
        print("\nERRORS:")
        for (key, why), n in sorted(kinds.items()):
            print(f"  {key}: {why} x{n}")
        failures.append(f"{len(errors)} errors on: " + ", ".join(sorted({k for k, _ in kinds})))
    slow = [r["page"] for r in s["rows"] if r.get("p95_over_p50", 0) > RATIO_LIMIT]
    for r in s["rows"]:
        if r["page"] in slow and len(r["examples"]) > 1:
            # which examples are slow (numbered; the URLs are in the --json file)
            parts = [
                f"#{i + 1} n={e['n']} p50={_ms(e['p50_ms'])} max={_ms(e['max_ms'])}"
                for i, e in enumerate(r["examples"])
            ]
            print(f"  {r['page']} by example (ms): " + "; ".join(parts))
    if slow:
        failures.append("p95 above 3x p50: " + ", ".join(slow))
    base = s.get("baseline_loaded_p50_ms")
    heavy = []
    for r in s["rows"]:
        if HEADLINE_PAGES.match(r["page"]) and "p50_ms" in r and base:
            times = r["p50_ms"] / base
            print(f"  {r['page']}: p50 {times:.1f}x /healthz under load")
            if times > BASELINE_LIMIT:
                heavy.append(f"{r['page']} ({times:.1f}x)")
    if heavy:
        failures.append(f"p50 above {BASELINE_LIMIT:.0f}x /healthz: " + ", ".join(heavy))
    for note in s["notes"] + s["skipped"]:
        print("note: " + note)
    print()
    print("FAILED:\n  " + "\n  ".join(failures) if failures else "every criterion holds")
    return failures


def markdown(s: dict[str, Any], failures: list[str], note: str) -> str:
    rel = s["release"]
    lines = [
        "## Web app under load",
        "",
        "`benchmarks/web.py`: signed-in users of every role requesting every page their "
        "role may see (found from the app's own routes), against the real app in its own "
        "process; the baseline is `/healthz` (no release, no session) in the same run.",
        "",
        f"Measured {s['when']} at commit {s['commit']} on {s['machine']} with "
        f"`.venv/bin/python {s['command']}`.",
        "",
        f"Release: {rel['persons']:,} persons, {rel['records']:,} source records "
        f"({rel['db_mb']:.0f} MB DuckDB file). {s['users']} users signed in through the form "
        f"(roles dealt round-robin: {', '.join(s['roles'])}), each requesting its pages "
        f"(HTML and JSON twins) back to back with "
        + ("no think time" if not s["think"] else f"{s['think']} s between requests")
        + f" for {s['load_seconds']:.0f} s ({s['seconds']:.0f} s until the last request "
        "in flight had its answer). The app ran as `joinedup serve` runs it (uvicorn, one "
        f"worker, access log on"
        + (", the current release held open" if s["held_open"] else "")
        + ") in its own "
        f"process; the load generator (httpx, one thread per user) shared the same "
        f"{os.cpu_count()} cores: during the load the server used {s['cpu_server_s']:.0f} "
        f"CPU-seconds and the load generator {s['cpu_client_s']:.0f}, of "
        f"{(os.cpu_count() or 1) * s['seconds']:.0f} available. Load average "
        f"{s['load_before'][0]:.1f} before, {s['load_after'][0]:.1f} after."
        + (f" Also running: {note}." if note else "")
        + (
            " Busiest other processes as the load began: " + "; ".join(s["others"]) + "."
            if s["others"]
            else ""
        ),
        "",
        f"**{s['requests']:,} page requests, {s['requests_per_s']:.1f} per second, "
        f"{s['errors']} errors.** All pages together: p50 {_ms(s['all_pages_p50_ms'])} ms, "
        f"p95 {_ms(s['all_pages_p95_ms'])} ms. Baseline `{BASELINE_PATH}` (no release, no "
        f"session), asked every {BASELINE_EVERY} s: {_ms(s['baseline_idle_p50_ms'])} ms on "
        f"the idle server, p50 {_ms(s['baseline_loaded_p50_ms'])} ms and p95 "
        f"{_ms(s['baseline_loaded_p95_ms'])} ms under the load. Signing in (the form post, "
        f"password hash included): p50 {_ms(s['sign_in_p50_ms'])} ms. Server peak memory "
        f"{s['server_peak_rss_mb']:.0f} MB."
        + (
            f" Requests sent again, as a browser does, after the server closed the "
            f"kept-alive connection they went out on: {s['retried']}."
            if s["retried"]
            else ""
        ),
        "",
        "*Idle* is the page alone on the idle server, one request at a time. Times in ms. "
        "With fewer than 20 requests of a page type, its p95 is its slowest request or "
        "next to it.",
        "",
        "| page type | requests | errors | idle p50 | p50 | p95 | max | p95 ÷ p50 "
        "| p50 ÷ `/healthz` p50 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = s.get("baseline_loaded_p50_ms")
    for r in s["rows"]:
        if "p50_ms" not in r:
            lines.append(f"| `{r['page']}` | {r['n']} | {r['errors']} | | | | | | |")
            continue
        ratio = f"{r['p95_over_p50']:.2f}"
        if r["p95_over_p50"] > RATIO_LIMIT:
            ratio = f"**{ratio}**"
        lines.append(
            f"| `{r['page']}` | {r['n']:,} | {r['errors']} | {_ms(r['idle_p50_ms'])} | "
            f"{_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} | {_ms(r['max_ms'])} | {ratio} | "
            + (f"{r['p50_ms'] / base:.1f}" if base else "")
            + " |"
        )
    lines.append("")
    left = s["skipped"] + [n for n in s["notes"] if "NOT MEASURED" in n or "failed" in n]
    if left:
        lines.append("Not measured or cut short:")
        lines.append("")
        lines += [f"- {n}" for n in left]
        lines.append("")
    if failures:
        lines.append("Criteria not met: " + "; ".join(failures) + ".")
    if s.get("comment"):
        lines += ["", s["comment"]]
    elif not failures:
        lines.append(
            "Every criterion holds: no errors, every page type's p95 within 3× its p50, and "
            "the overview and question pages' p50 within 5× `/healthz`'s under the same load."
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
