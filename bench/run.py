"""`make bench`: /track throughput and latency of the real server against a bare Starlette ceiling, in one run.

The server (``python -m tracardi --role api``) and the ceiling (``bench/ceiling.py`` under uvicorn) each run as one
process pinned to one core; wrk, pinned to the other core, drives them over loopback with ``bench/track.lua``.
Timings are reported, never asserted: the exit code is 0 unless something broke (a target did not start, wrk
failed, or a response was not 2xx). wrk is required: ``apt-get install wrk`` (Debian/Ubuntu).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import secrets
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import backends
import flows
import loadgen
import payloads
import procs
import report
from loadgen import Load, LoadError
from payloads import SCENARIOS, Pair, Scenario, WarmupError
from procs import StartError, Target

RESULTS = procs.BENCH_DIR / "results" / "latest.json"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class Plan:
    """The run's settings, from the command line."""

    wrk: str
    targets: tuple[str, ...]
    scenarios: tuple[Scenario, ...]
    duration: float
    warmup: float
    connections: int
    pairs: int
    rounds: int  # alternating ceiling/server runs of page-view and flow; the median of each is reported
    port_base: int
    target_cpu: int | None
    client_cpu: int | None
    half_rate: bool
    out: Path
    admin_token: str  # the server's, to install the flow scenario's rule and flow
    opensearch_url: str | None  # a real cluster; None: start osmem-server on the target core
    redis_url: str  # the OpenSearch-backed server's queues

    @property
    def servers(self) -> tuple[str, ...]:
        """The targets that are a real server (one per backend), as opposed to the ceiling."""
        return tuple(t for t in self.targets if t != "ceiling")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--duration", type=float, default=10.0, help="seconds of load per measured run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load before each run (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma list of: " + ", ".join(SCENARIOS))
    only = p.add_mutually_exclusive_group()
    only.add_argument("--server-only", action="store_true", help="measure only the real server")
    only.add_argument("--ceiling-only", action="store_true", help="measure only the bare Starlette ceiling")
    p.add_argument("--port-base", type=int, default=18686, help="server on this port, ceiling on the next")
    p.add_argument("--pairs", type=int, default=256, help="returning profile+session pairs per target (default 256)")
    p.add_argument("--no-half-rate", action="store_true", help="skip the latency run at half the page-view rate")
    p.add_argument(
        "--rounds", type=int, default=3,
        help="runs of each target for page-view and flow, alternating ceiling and server; each one's median is"
        " reported (default 3: this VM's speed drifts by several %% from one run to the next)",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    p.add_argument(
        "--backend", choices=(*backends.BACKENDS, "both"), default="embedded",
        help="the server's storage: embedded (default), opensearch (osmem-server unless --opensearch-url), or both",
    )  # fmt: skip
    p.add_argument("--opensearch-url", help="a real cluster for --backend opensearch/both (default: osmem-server)")
    p.add_argument(
        "--redis-url", default=DEFAULT_REDIS, help=f"Redis for the OpenSearch server (default {DEFAULT_REDIS})"
    )
    return p


def _cores() -> tuple[int | None, int | None]:
    """(target core, wrk core): 1 and 0 when there are two cores to pin to, else no pinning."""
    usable = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    if len(usable) < 2:
        print("bench: fewer than two usable cores; running unpinned, wrk and the target will compete")
        return None, None
    first, second = sorted(usable)[:2]
    return second, first


def _plan(argv: Sequence[str] | None, wrk: str) -> Plan:
    p = _parser()
    args = p.parse_args(argv)
    names = [n.strip() for n in args.scenarios.split(",") if n.strip()]
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown or not names:
        p.error(f"unknown scenario {unknown[0] if unknown else '(none)'}; choose from {', '.join(SCENARIOS)}")
    if args.rounds < 1:
        p.error("--rounds must be at least 1")
    if args.pairs <= args.connections:
        p.error("--pairs must exceed --connections, so two in-flight requests rarely share a profile")
    chosen = backends.BACKENDS if args.backend == "both" else (args.backend,)
    servers = tuple(backends.TARGET_OF[b] for b in chosen)
    # ceiling first in each scenario, so the runs compared with it sit close in time
    targets = servers if args.server_only else ("ceiling",) if args.ceiling_only else ("ceiling", *servers)
    target_cpu, client_cpu = _cores()
    scenarios = tuple(s for n, s in SCENARIOS.items() if n in names)  # always in SCENARIOS' order (see its comment)
    return Plan(
        wrk=wrk, targets=targets, scenarios=scenarios, duration=args.duration, warmup=args.warmup,
        connections=args.connections, pairs=args.pairs, rounds=args.rounds, port_base=args.port_base,
        target_cpu=target_cpu, client_cpu=client_cpu, half_rate=not args.no_half_rate, out=args.out,
        admin_token=secrets.token_urlsafe(16), opensearch_url=args.opensearch_url, redis_url=args.redis_url,
    )  # fmt: skip


def _start_targets(plan: Plan, tmp: Path, stack: contextlib.ExitStack) -> dict[str, Target]:
    """Start every target (stopped by `stack` whatever happens), then wait until each answers /healthz.

    The OpenSearch cluster (osmem-server unless --opensearch-url) is entered first, so it is stopped last.
    """
    env = dict(os.environ, TRACARDI_LOG_LEVEL="warning", TRACARDI_ADMIN_TOKEN=plan.admin_token)
    extra: dict[str, dict[str, str]] = {"ceiling": {}}
    cluster: backends.Cluster | None = None
    for name in plan.servers:
        data = tmp / f"data-{name}"
        data.mkdir()
        if name == "opensearch":
            cluster, extra[name] = _opensearch_env(plan, data, stack)
        else:
            extra[name] = backends.embedded_env(data)
    port = {"server": plan.port_base, "ceiling": plan.port_base + 1, "opensearch": plan.port_base + 2}
    started: dict[str, Target] = {}
    for name in plan.targets:
        argv = procs.ceiling_argv(port[name]) if name == "ceiling" else procs.server_argv(port[name])
        cmd = procs.pinned(plan.target_cpu, argv)
        started[name] = procs.start(name, cmd, port[name], tmp / f"{name}.log", {**env, **extra[name]})
        stack.callback(started[name].stop)
    if cluster is not None:
        started["opensearch"].cluster_pid = cluster.pid
    for target in started.values():
        procs.wait_ready(target)
        print(f"{target.name:<10} ready on 127.0.0.1:{target.port} (pid {target.proc.pid})", flush=True)
    if any(s.name == "flow" for s in plan.scenarios):
        for name in plan.servers:
            flows.install(started[name].port, plan.admin_token)
    return started


def _opensearch_env(plan: Plan, data: Path, stack: contextlib.ExitStack) -> tuple[backends.Cluster, dict[str, str]]:
    """Start (or name) the cluster, pick fresh index and Redis prefixes, and drop the Redis keys after the run."""
    cluster = stack.enter_context(backends.cluster(plan.opensearch_url, plan.target_cpu))
    names = backends.OpenSearchTarget.fresh()
    if cluster.started:
        where = f"pinned to core {cluster.pinned_to}" if cluster.pinned_to is not None else "unpinned"
        print(f"bench: osmem-server on {cluster.url}, {where} with the servers (it serves part of each /track)")
        print("bench: osmem is an in-memory stand-in: compare the two backends, not its absolute req/s with a cluster")
    else:
        shown = backends.without_credentials(cluster.url)
        print(f"bench: OpenSearch cluster {shown}, indices {names.index_prefix}.* (left there afterwards)")
    redis_shown = backends.without_credentials(plan.redis_url)
    print(f"bench: opensearch server queues on {redis_shown}, keys {names.redis_prefix}* (deleted afterwards)")
    stack.callback(names.drop_redis_keys, plan.redis_url)  # after the server stops: registered before it starts
    return cluster, names.env(data, cluster.url, plan.redis_url)


def _warm(target: Target, count: int) -> list[Pair]:
    """Create the returning visitors on this target and check it recognises them."""
    pairs = payloads.create_pairs(target.port, count)
    known = payloads.count_returning(target.port, pairs)
    if known < len(pairs):
        print(f"{target.name:<10} warning: only {known} of {len(pairs)} returning profiles were recognised")
    return pairs


def _bodies_file(tmp: Path, target: str, scenario: Scenario, pairs: list[Pair]) -> Path:
    path = tmp / f"{target}-{scenario.name}.ndjson"
    path.write_bytes(b"\n".join(payloads.bodies(scenario, pairs)) + b"\n")
    return path


def _load(plan: Plan, target: Target, bodies: Path, seconds: float, delay_ms: float = 0.0) -> Load:
    return Load(
        port=target.port, bodies=bodies, connections=plan.connections, seconds=seconds, cpu=plan.client_cpu,
        delay_ms=delay_ms,
    )  # fmt: skip


def _measure(plan: Plan, target: Target, scenario: Scenario, bodies: Path) -> report.Row:
    """Warm up, then one full-speed wrk run, with the target's CPU use over the same window."""
    if plan.warmup > 0:
        loadgen.run(plan.wrk, _load(plan, target, bodies, plan.warmup))
    cpu_before, steal_before = target.cpu_seconds(), procs.steal_seconds()
    cluster_before = target.cluster_cpu_seconds()
    m = loadgen.run(plan.wrk, _load(plan, target, bodies, plan.duration))
    target.check_alive()
    seconds = m.seconds or 1.0
    cpu, steal = (target.cpu_seconds() - cpu_before) / seconds, (procs.steal_seconds() - steal_before) / seconds
    cluster_after = target.cluster_cpu_seconds()
    osmem = None if cluster_before is None or cluster_after is None else (cluster_after - cluster_before) / seconds
    print(
        f"{target.name:<10} {scenario.name:<12} {m.rps:>9,.0f} req/s  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms"
        f"  cpu {cpu:4.0%}  wrk cpu {m.client_cpu:4.0%}  steal {steal:4.0%}"
        + (f"  osmem cpu {osmem:4.0%}" if osmem is not None else ""),
        flush=True,
    )
    return report.Row(
        scenario=scenario.name, target=target.name, measured=m, target_cpu=cpu, steal=steal, osmem_cpu=osmem
    )


def _half_rate(plan: Plan, target: Target, bodies: Path, full_rps: float) -> report.HalfRate:
    """Pace wrk to ~half the full-speed rate: a short probe measures per-request overhead, then the real run."""
    offered = full_rps / 2
    cycle_ms = 1000 * plan.connections / offered  # each connection sends one request per cycle
    probe = loadgen.run(plan.wrk, _load(plan, target, bodies, min(3.0, plan.duration), delay_ms=cycle_ms))
    overhead = 1000 * plan.connections / probe.rps - cycle_ms if probe.rps else 0.0
    delay = max(0.1, cycle_ms - overhead)
    measured = loadgen.run(plan.wrk, _load(plan, target, bodies, plan.duration, delay_ms=delay))
    target.check_alive()
    m = measured
    print(
        f"{target.name:<10} half rate    {m.rps:>9,.0f} req/s  p50 {m.p50_ms:6.2f} ms  p99 {m.p99_ms:6.2f} ms"
        f"  (offered ~{offered:,.0f})",
        flush=True,
    )
    return report.HalfRate(target=target.name, offered_rps=offered, delay_ms=delay, measured=measured)


def _bench(
    plan: Plan, targets: dict[str, Target], tmp: Path
) -> tuple[list[report.Row], list[report.HalfRate], list[report.Row]]:
    """The reported rows (per scenario and target, the median of its runs), the half-rate runs, and every run.

    page-view and flow run in ``plan.rounds`` rounds, each round every target on page-view then on flow: a store
    grows with every run and gets slower, so the flow's ratio to page-view compares runs made at the same size.
    The other scenarios run once, after them.
    """
    pairs = {name: _warm(target, plan.pairs) for name, target in targets.items()}
    rows: list[report.Row] = []
    runs: list[report.Row] = []
    halves: list[report.HalfRate] = []
    bodies = {s.name: {n: _bodies_file(tmp, n, s, pairs[n]) for n in targets} for s in plan.scenarios}
    rounded = [s for s in plan.scenarios if s.name in report.ROUNDED]
    measured: dict[tuple[str, str], list[report.Row]] = {(s.name, n): [] for s in plan.scenarios for n in targets}
    for _ in range(plan.rounds if rounded else 0):  # alternating, so a drift of the machine reaches all alike
        for scenario in rounded:
            for name, target in targets.items():
                measured[scenario.name, name].append(_measure(plan, target, scenario, bodies[scenario.name][name]))
    if rounded and plan.rounds > 1:
        names = " and ".join(s.name for s in rounded)
        print(f"bench: {names}: {plan.rounds} rounds of each target, alternating; the median run is reported")
    for scenario in [*rounded, *(s for s in plan.scenarios if s.name not in report.ROUNDED)]:
        for name, target in targets.items():
            if scenario not in rounded:
                measured[scenario.name, name].append(_measure(plan, target, scenario, bodies[scenario.name][name]))
            runs += measured[scenario.name, name]
            rows.append(_median(measured[scenario.name, name]))
            if scenario.name == "flow" and name in plan.servers:
                flows.verify(target.port, plan.admin_token, pairs[name][0].profile)
            if plan.half_rate and scenario.name == report.HEADLINE and rows[-1].measured.rps > 0:
                halves.append(_half_rate(plan, target, bodies[scenario.name][name], rows[-1].measured.rps))
    return rows, halves, runs


def _median(runs: list[report.Row]) -> report.Row:
    """The run with the median req/s (the lower middle one of an even count)."""
    return sorted(runs, key=lambda row: row.measured.rps)[(len(runs) - 1) // 2]


def _meta(plan: Plan) -> dict[str, Any]:
    return {
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": {"platform": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version()},
        "wrk": loadgen.wrk_version(plan.wrk),
        "settings": {
            "duration_s": plan.duration, "warmup_s": plan.warmup, "connections": plan.connections,
            "pairs": plan.pairs, "rounds": plan.rounds, "target_cpu": plan.target_cpu, "wrk_cpu": plan.client_cpu,
            "servers": list(plan.servers),
            "opensearch": backends.without_credentials(plan.opensearch_url) if plan.opensearch_url
            else "osmem-server" if "opensearch" in plan.servers else None,
        },
    }  # fmt: skip


def _intro(plan: Plan) -> None:
    pin = f"targets on core {plan.target_cpu}, wrk on core {plan.client_cpu}" if plan.target_cpu is not None else ""
    print(f"bench: {', '.join(plan.targets)} x {', '.join(s.name for s in plan.scenarios)}; {pin}")
    print(
        f"bench: wrk -t1 -c{plan.connections} -d{plan.duration:g}s (+{plan.warmup:g}s warm-up), {plan.pairs} pairs,"
        f" {plan.rounds} alternating runs per target of {' and '.join(sorted(report.ROUNDED))}"
    )


def _on_sigterm(signum: int, _: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the ExitStack, which stops the targets


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; 0 when every run completed with 2xx answers, 1 when something broke, 2 without wrk."""
    wrk = loadgen.wrk_binary()
    if wrk is None:
        print("bench: wrk is not installed; install it with: apt-get install wrk", file=sys.stderr)
        return 2
    plan = _plan(argv, wrk)
    signal.signal(signal.SIGTERM, _on_sigterm)
    _intro(plan)
    with tempfile.TemporaryDirectory(prefix="tracardi-bench-") as tmp, contextlib.ExitStack() as stack:
        try:
            targets = _start_targets(plan, Path(tmp), stack)
            rows, halves, runs = _bench(plan, targets, Path(tmp))
        except (StartError, LoadError, WarmupError) as exc:
            print(f"bench: {exc}", file=sys.stderr)
            return 1
    found = report.checks(rows, halves)
    report.print_table(rows, halves, found)
    report.write_json(plan.out, _meta(plan), rows, halves, found)
    print(f"\nresults: {plan.out}")
    broken = [r for r in runs if r.measured.failures] + [h for h in halves if h.measured.failures]
    return 1 if broken else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\nbench: interrupted; targets stopped", file=sys.stderr)
        sys.exit(130)
