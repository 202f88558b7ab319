"""The benchmark's instruments and its report.

Timing, query counts and peak memory of a request or a job; the scenarios of issue 12 with their targets; and the
report `make bench` writes: var/bench/latest.md and latest.json (the previous run kept as previous.json), the
change against the previous run (BENCH_COMPARE=1), and the table in docs/performance.md between its markers.
Targets are measured, never asserted: a missed target is a "miss" in the report, not a failed test.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "var" / "bench"
DOCS = ROOT / "docs" / "performance.md"
TABLE_START, TABLE_END = "<!-- bench:table:start -->", "<!-- bench:table:end -->"
MIB = 1024 * 1024


def bench_mode() -> bool:
    """`make bench`: run against the generated benchmark database instead of a fresh test database."""
    return os.environ.get("LIAISON_BENCH") == "1"


def runs(default: int = 30) -> int:
    return max(int(os.environ.get("BENCH_REPEAT", default)), 3)


# --- The scenarios and their targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    metric: str
    op: str  # "<=" or ">="
    value: float

    def met(self, metrics: dict[str, Any]) -> bool | None:
        found = metrics.get(self.metric)
        if not isinstance(found, int | float):
            return None
        return found <= self.value if self.op == "<=" else found >= self.value


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    target: str  # as the issue states it
    checks: tuple[Target, ...] = ()


def _le(metric: str, value: float) -> Target:
    return Target(metric, "<=", value)


def _ge(metric: str, value: float) -> Target:
    return Target(metric, ">=", value)


INBOX = (_le("median_ms", 25), _le("queries", 10), _le("ratio", 3))
SCENARIOS = [
    Scenario("bare", "bare view: 50 case rows, one indexed query (the floor)", "—"),
    Scenario("frame", "page frame: a signed-in page of base.html with no content (navigation, bell, badges, footer), "
             "moderator", "—"),
    Scenario("inbox.liaison", "inbox `/cases/` page 1, liaison", "≤ 25 ms, ≤ 10 queries, ≤ 3× bare", INBOX),
    Scenario("inbox.moderator", "inbox `/cases/` page 1, moderator", "≤ 25 ms, ≤ 10 queries, ≤ 3× bare", INBOX),
    Scenario("inbox.manager", "inbox `/cases/` page 1, T&S manager", "≤ 25 ms, ≤ 10 queries, ≤ 3× bare", INBOX),
    Scenario("inbox.page1000", "inbox page 1,000 of all cases (any status), T&S manager, as its Next link reaches it "
             "(after page 999's last row)", "as page 1: ≤ 25 ms, ≤ 10 queries", INBOX[:2]),
    Scenario("inbox.page1000_number", "the same page asked for by its number (`?page=1000`: the 49,950 rows before it "
             "walked)", "—"),
    Scenario("api.cases", "API `GET /api/v1/cases/` first page (50), T&S manager's token",
             "as the inbox: ≤ 25 ms, ≤ 10 queries", INBOX[:2]),
    Scenario("api.cases_deep", "API case list, the page after row 49,950 (a cursor), T&S manager's token",
             "as page 1: ≤ 25 ms, ≤ 10 queries", INBOX[:2]),
    Scenario("api.case", "API `GET /api/v1/cases/{reference}/`, typical case, moderator's token",
             "as the inbox: ≤ 25 ms, ≤ 10 queries", INBOX[:2]),
    Scenario("search.reference", "search by reference, T&S manager", "≤ 40 ms", (_le("median_ms", 40),)),
    Scenario("search.title", "search by a title word, T&S manager", "≤ 40 ms", (_le("median_ms", 40),)),
    Scenario("search.link", "search by a link, T&S manager", "≤ 40 ms", (_le("median_ms", 40),)),
    Scenario("case.normal", "case page, typical case (40 items, 30 messages), moderator", "≤ 50 ms, ≤ 25 queries",
             (_le("median_ms", 50), _le("queries", 25))),
    Scenario("case.big", "case page, 1,000-item case, moderator", "≤ 100 ms", (_le("median_ms", 100),)),
    Scenario("overview.manager", "overview `/`, T&S manager", "≤ 50 ms", (_le("median_ms", 50),)),
    Scenario("http.bare", "gunicorn, 2 workers, 20 clients: the bare view (the floor over HTTP), moderator", "—"),
    Scenario("http.inbox", "gunicorn, 2 workers, 20 clients: moderator on `/cases/`",
             "≥ 150 req/s, p95 ≤ 150 ms, 0 errors", (_ge("rps", 150), _le("p95_ms", 150), _le("errors", 0))),
    Scenario("http.case", "gunicorn, 2 workers, 20 clients: moderator on a case page",
             "≥ 100 req/s, p95 ≤ 200 ms, 0 errors", (_ge("rps", 100), _le("p95_ms", 200), _le("errors", 0))),
    Scenario("audit.verify", "`verify_audit` over the whole chain", "≥ 300,000 events/s, memory flat (≤ 64 MiB)",
             (_ge("events_per_s", 300_000), _le("rss_growth_mib", 64))),
    Scenario("audit.append", "audit appends, one `record` per transaction", "— (the loop of today)"),
    Scenario("audit.append_batch", "audit appends, batched (`record_many`)", "≥ 5,000 events/s",
             (_ge("events_per_s", 5_000),)),
    Scenario("sweep", "deadline sweep catching up 200 due deadlines",
             "≤ 0.5 s, queries not growing per deadline (≤ 0.1 more per extra deadline)",
             (_le("seconds", 0.5), _le("queries_per_extra_deadline", 0.1))),
    Scenario("upload", "1 GiB evidence upload over HTTP (gunicorn)", "≥ 300 MB/s, ≤ 64 MiB server growth",
             (_ge("mb_per_s", 300), _le("rss_growth_mib", 64))),
    Scenario("intake", "intake preview + submit, 10,000 lines, against all items", "≤ 1.5 s",
             (_le("seconds", 1.5),)),
    Scenario("report", "outcome report, 1,000 items, render + sign", "≤ 1.5 s, peak ≤ 300 MiB",
             (_le("seconds", 1.5), _le("peak_mib", 300))),
    Scenario("figures.manager", "dashboard figures, last 12 months, T&S manager (every case)", "≤ 300 ms",
             (_le("median_ms", 300),)),
    Scenario("figures.lead", "dashboard figures, last 12 months, authority lead (a quarter of the cases)", "≤ 300 ms",
             (_le("median_ms", 300),)),
    Scenario("figures.transparency", "transparency figures, this year (months, days, countries, categories)",
             "≤ 300 ms", (_le("median_ms", 300),)),
    Scenario("figures.dashboard_page", "dashboard `/dashboard/` page, T&S manager", "≤ 300 ms",
             (_le("median_ms", 300),)),
    Scenario("figures.transparency_page", "transparency `/transparency/` page, no login", "≤ 300 ms",
             (_le("median_ms", 300),)),
]
BY_KEY = {s.key: s for s in SCENARIOS}
PAGES_WITH_RATIO = ("frame", "inbox.liaison", "inbox.moderator", "inbox.manager", "inbox.page1000", "inbox.page1000_number",
                    "search.reference",
                    "search.title", "search.link", "case.normal", "case.big", "overview.manager")


def verdict(scenario: Scenario, metrics: dict[str, Any]) -> bool | None:
    """True when every target is met, False when one is missed, None when there is no target or no figure."""
    if "error" in metrics:
        return False
    outcomes = [check.met(metrics) for check in scenario.checks]
    if not outcomes or any(o is None for o in outcomes):
        return None
    return all(outcomes)


# --- Measuring -------------------------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(int(round(q / 100 * len(ordered) + 0.5)) - 1, 0)
    return ordered[min(rank, len(ordered) - 1)]


def timings(seconds: list[float]) -> dict[str, Any]:
    return {"median_ms": statistics.median(seconds) * 1000, "p95_ms": percentile(seconds, 95) * 1000,
            "runs": len(seconds)}


def traced_peak(work: Callable[[], Any]) -> float:
    """Peak Python allocations (MiB) while `work` runs once (tracing slows it: never timed at the same time)."""
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


def backend_cpu_seconds() -> float:
    """CPU time so far of this connection's PostgreSQL backend (on this machine), 0 elsewhere: with the process's
    own CPU time it splits a request's work between Python and the database, whatever else loads the machine."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_of(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return 0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


class RssSampler:
    """Samples the resident set of some processes every few milliseconds; `growth` is the largest rise of any one
    of them over its size when sampling began (the worker that did the work)."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.02) -> None:
        self.pids = pids
        self.interval = interval
        self.start: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        for pid in self.pids():
            rss = rss_of(pid)
            self.start.setdefault(pid, rss)
            self.peak[pid] = max(self.peak.get(pid, 0), rss)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def __enter__(self) -> RssSampler:
        self._sample()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    @property
    def growth_mib(self) -> float:
        return max((self.peak[p] - self.start[p] for p in self.peak), default=0) / MIB


def own_tree() -> list[int]:
    """This process and its children (a job may fan out to worker processes)."""
    return [os.getpid(), *children_of(os.getpid())]


# --- The record of a run -----------------------------------------------------------------------------------------


@dataclass
class Recorder:
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def record(self, key: str, **metrics: Any) -> None:
        if key not in BY_KEY:
            raise KeyError(f"unknown scenario {key!r}")
        metrics.setdefault("load_average_1m", round(os.getloadavg()[0], 2))
        self.results.setdefault(key, {}).update({k: v for k, v in metrics.items() if v is not None})
        shown = ", ".join(f"{k}={_short(v)}" for k, v in self.results[key].items())
        print(f"\n[bench] {key}: {shown}")

    @contextmanager
    def failure(self, key: str) -> Iterator[None]:
        """A crash is recorded as the scenario's result, then raised (the test fails)."""
        try:
            yield
        except Exception as exc:
            self.record(key, error=f"{type(exc).__name__}: {exc}"[:300])
            raise


def _short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "memory": memory, "python": platform.python_version(),
            "load_average": " / ".join(f"{x:.1f}" for x in os.getloadavg())}


def python_speed() -> float:
    """CPU seconds a fixed pure-Python workload takes here (best of 3): the machine's single-core speed for the kind of
    work a request does (loops, dicts, strings), so runs on different machines can be told apart. On the machine of the
    runs of 2026-12-02 (Intel Xeon) the bare view took 4.3 ms; a run whose workload is k times slower should expect
    about k times the times of every page."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        table: dict[str, int] = {}
        for i in range(400_000):
            key = f"k{i % 977}"
            table[key] = table.get(key, 0) + len(key) * i
        best = min(best, time.process_time() - started)
    return round(best, 3)


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" + uncommitted changes" if dirty else "")


# --- The report ---------------------------------------------------------------------------------------------------


def with_ratios(results: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    bare = results.get("bare", {}).get("median_ms")
    out = {key: dict(metrics) for key, metrics in results.items()}
    if bare:
        for key in PAGES_WITH_RATIO:
            if key in out and "median_ms" in out[key]:
                out[key]["ratio"] = out[key]["median_ms"] / bare
    return out


def _ms(value: Any) -> str:
    return f"{value:,.1f} ms" if isinstance(value, int | float) else "—"


def _other(metrics: dict[str, Any]) -> str:
    parts = []
    if "python_cpu_ms" in metrics:
        parts.append(f"CPU a request: Python {metrics['python_cpu_ms']:,.1f} ms, PostgreSQL "
                     f"{metrics.get('database_cpu_ms', 0):,.1f} ms")
    if "rps" in metrics:
        parts.append(f"{metrics['rps']:,.1f} req/s, {metrics.get('errors', 0):,} errors")
    if "events_per_s" in metrics:
        parts.append(f"{metrics['events_per_s']:,.0f} events/s ({metrics.get('events', 0):,} events)")
    if "mb_per_s" in metrics:
        parts.append(f"{metrics['mb_per_s']:,.0f} MB/s")
    if "rss_growth_mib" in metrics:
        parts.append(f"RSS +{metrics['rss_growth_mib']:,.1f} MiB")
    if "seconds" in metrics:
        parts.append(f"{metrics['seconds']:,.2f} s")
    if "queries_per_extra_deadline" in metrics:
        parts.append(f"{metrics.get('deadlines', 0)} deadlines, +{metrics['queries_per_extra_deadline']:.2f} "
                     "queries per extra deadline")
    if "detail" in metrics:
        parts.append(str(metrics["detail"]))
    if "error" in metrics:
        parts.append(f"**error**: {metrics['error']}")
    return "; ".join(parts) or "—"


def table(results: dict[str, dict[str, Any]]) -> str:
    results = with_ratios(results)
    lines = ["| scenario | median | p95 | queries | peak memory | × bare | other | target | result |",
             "|---|---:|---:|---:|---:|---:|---|---|---|"]
    for scenario in SCENARIOS:
        metrics = results.get(scenario.key)
        if metrics is None:
            lines.append(f"| {scenario.title} | | | | | | not measured in this run | {scenario.target} | — |")
            continue
        ok = verdict(scenario, metrics)
        result = "—" if ok is None else ("met" if ok else "**missed**")
        peak = metrics.get("peak_mib")
        ratio = metrics.get("ratio")
        lines.append(" | ".join([
            f"| {scenario.title}", _ms(metrics.get("median_ms")), _ms(metrics.get("p95_ms")),
            str(metrics.get("queries", "—")), f"{peak:,.1f} MiB" if isinstance(peak, int | float) else "—",
            f"{ratio:.1f}×" if isinstance(ratio, int | float) else "—", _other(metrics), scenario.target,
            f"{result} |"]))
    return "\n".join(lines)


def markdown(results: dict[str, dict[str, Any]], meta: dict[str, Any]) -> str:
    info = meta.get("machine", {})
    data = meta.get("dataset", {})
    head = [
        f"# Liaison benchmark, {meta.get('finished', '')}",
        "",
        f"- run: {meta.get('finished', '')}, code {meta.get('revision', '')}",
        f"- machine: {info.get('cpus')} CPUs ({info.get('cpu', '')}), {info.get('memory', '')}, Python "
        f"{info.get('python', '')}; load average at start {meta.get('load_start', '')}, at end {info.get('load_average')}",
        f"- single-core speed: a fixed pure-Python workload (`bench.python_speed`) took {meta.get('python_speed', '?')} s of "
        "CPU, best of 3 (smaller is faster; compare it before comparing the times of two runs)",
        f"- database: {meta.get('database', '')}",
        "- data: " + ", ".join(f"{v:,} {k}" for k, v in data.items() if isinstance(v, int)),
        f"- newest generated case created {data.get('now', '?')}; each page measured {meta.get('runs', '')} times after "
        "3 warm-up requests, queries and peak memory (tracemalloc) on one more request each",
        "",
    ]
    return "\n".join(head) + "\n" + table(results) + "\n"


def comparison(previous: dict[str, Any], latest: dict[str, Any]) -> list[str]:
    """One line per scenario measured in both runs: its headline figure then and now."""
    lines = []
    old, new = previous.get("scenarios", {}), latest.get("scenarios", {})
    for scenario in SCENARIOS:
        if scenario.key not in old or scenario.key not in new:
            continue
        for metric in ("median_ms", "rps", "events_per_s", "mb_per_s", "seconds", "p95_ms", "queries"):
            before, after = old[scenario.key]["metrics"].get(metric), new[scenario.key]["metrics"].get(metric)
            if isinstance(before, int | float) and isinstance(after, int | float):
                change = (after - before) / before * 100 if before else 0.0
                lines.append(f"{scenario.title}: {metric} {_short(float(before))} → {_short(float(after))} "
                             f"({change:+.0f} %)")
                break
    return lines


def write(recorder: Recorder, *, compare: bool, update_docs: bool | None = None) -> str:
    """Write var/bench/latest.md and .json (keeping the last run as previous.json); returns the Markdown. The table
    of docs/performance.md follows when every scenario ran without a crash."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    latest_json = BENCH_DIR / "latest.json"
    previous_json = BENCH_DIR / "previous.json"
    meta = {**recorder.meta, "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(),
            "revision": git_revision()}
    results = with_ratios(recorder.results)
    payload = {"meta": meta, "scenarios": {
        key: {"title": BY_KEY[key].title, "target": BY_KEY[key].target, "metrics": metrics,
              "result": verdict(BY_KEY[key], metrics)} for key, metrics in results.items()}}
    if latest_json.exists():
        shutil.copyfile(latest_json, previous_json)
    latest_json.write_text(json.dumps(payload, indent=2, default=str))
    text = markdown(recorder.results, meta)
    if compare and previous_json.exists():
        lines = comparison(json.loads(previous_json.read_text()), payload)
        text += "\n## Change against the previous run\n\n" + ("\n".join(f"- {line}" for line in lines) or "- nothing "
                                                                 "measured in both runs") + "\n"
    (BENCH_DIR / "latest.md").write_text(text)
    complete = all(s.key in results and "error" not in results[s.key] for s in SCENARIOS)
    if update_docs if update_docs is not None else complete:
        replace_docs_table(markdown(recorder.results, meta).split("\n", 1)[1])
    return text


def replace_docs_table(body: str) -> bool:
    """Put the run's table between the markers of docs/performance.md."""
    if not DOCS.exists():
        return False
    text = DOCS.read_text()
    if TABLE_START not in text or TABLE_END not in text:
        return False
    before, rest = text.split(TABLE_START, 1)
    _old, after = rest.split(TABLE_END, 1)
    DOCS.write_text(f"{before}{TABLE_START}\n{body.strip()}\n{TABLE_END}{after}")
    return True


def docs_from(path: Path) -> None:
    """Rewrite the table of docs/performance.md from a report (`latest.json` or an older one)."""
    payload = json.loads(path.read_text())
    results = {key: entry["metrics"] for key, entry in payload["scenarios"].items()}
    if not replace_docs_table(markdown(results, payload["meta"]).split("\n", 1)[1]):
        raise SystemExit(f"{DOCS} has no {TABLE_START} … {TABLE_END} markers")


if __name__ == "__main__":
    # python -m tests.perf.bench docs [var/bench/latest.json]
    import sys

    if len(sys.argv) < 2 or sys.argv[1] != "docs":
        raise SystemExit("usage: python -m tests.perf.bench docs [REPORT.json]")
    docs_from(Path(sys.argv[2]) if len(sys.argv) > 2 else BENCH_DIR / "latest.json")
