"""What a bench run found: the rows, the half-rate runs, the checks against the issue's targets, table and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from loadgen import Measured
from payloads import SCENARIOS

MIN_RPS = 3000.0
MIN_RATIO = 0.25
MAX_HALF_RATE_P99_MS = 20.0
HEADLINE = "page-view"  # "single-event /track": one page-view per request, returning profile
FLOW = "flow"  # one event through a rule's 5-node flow, compared with the headline on the server
ROUNDED = frozenset({HEADLINE, FLOW})  # measured in rounds (--rounds), alternating, each reported by its median run
MIN_FLOW_SHARE = 0.60


@dataclass(frozen=True)
class Row:
    """One scenario against one target at full speed."""

    scenario: str
    target: str  # "server" (embedded storage), "opensearch" (the same server on OpenSearch) or "ceiling"
    measured: Measured
    target_cpu: float  # share of one core the target used while wrk ran
    steal: float  # cores' worth of CPU the hypervisor took meanwhile; more than a few % makes figures noisy
    osmem_cpu: float | None = None  # share of one core the target's osmem-server used meanwhile (same core)


@dataclass(frozen=True)
class HalfRate:
    """The headline scenario paced to about half the rate the target reached at full speed."""

    target: str
    offered_rps: float
    delay_ms: float
    measured: Measured


@dataclass(frozen=True)
class Check:
    """One target from the issue: PASS, MISS, or SKIP when this run cannot tell."""

    name: str
    verdict: str
    detail: str


def ratio(rows: list[Row], scenario: str) -> float | None:
    """server req/s divided by ceiling req/s for this scenario, when both ran."""
    by_target = {row.target: row.measured.rps for row in rows if row.scenario == scenario}
    server, ceiling = by_target.get("server"), by_target.get("ceiling")
    return server / ceiling if server is not None and ceiling else None


def backend_ratios(rows: list[Row]) -> dict[str, float]:
    """Per scenario, the OpenSearch-backed server's req/s divided by the embedded one's, when both ran."""
    found = {}
    for scenario in dict.fromkeys(row.scenario for row in rows):
        by_target = {row.target: row.measured.rps for row in rows if row.scenario == scenario}
        embedded, opensearch = by_target.get("server"), by_target.get("opensearch")
        if embedded and opensearch is not None:
            found[scenario] = opensearch / embedded
    return found


def flow_share(rows: list[Row]) -> float | None:
    """The server's flow-scenario rate as a share of its plain single-event rate, in this run."""
    rates = {row.scenario: row.measured.rps for row in rows if row.target == "server"}
    plain, flow = rates.get(HEADLINE), rates.get(FLOW)
    return flow / plain if plain and flow is not None else None


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def checks(rows: list[Row], halves: list[HalfRate]) -> list[Check]:
    """The issues' targets for single-event /track on the server, and the flow scenario's share of it."""
    return [*_collector_checks(rows, halves), _flow_check(rows)]


def _flow_check(rows: list[Row]) -> Check:
    name = f"with a 5-node flow >= {MIN_FLOW_SHARE:.0%} of plain"
    share = flow_share(rows)
    if share is None:
        return Check(name, "SKIP", f"needs the server with the {HEADLINE} and {FLOW} scenarios in this run")
    return Check(name, _verdict(share >= MIN_FLOW_SHARE), f"{share:.1%}")


def _collector_checks(rows: list[Row], halves: list[HalfRate]) -> list[Check]:
    head = next((r for r in rows if r.scenario == HEADLINE and r.target == "server"), None)
    if head is None:
        skip = f"needs the server and the {HEADLINE} scenario in this run"
        return [Check(name, "SKIP", skip) for name in ("throughput", "ratio", "half-rate p99")]
    found = [
        Check(f">= {MIN_RPS:,.0f} req/s", _verdict(head.measured.rps >= MIN_RPS), f"{head.measured.rps:,.0f} req/s")
    ]
    share = ratio(rows, HEADLINE)
    if share is None:
        found.append(Check(f">= {MIN_RATIO:.0%} of ceiling", "SKIP", "no ceiling in this run"))
    else:
        found.append(Check(f">= {MIN_RATIO:.0%} of ceiling", _verdict(share >= MIN_RATIO), f"{share:.1%}"))
    half = next((h for h in halves if h.target == "server"), None)
    name = f"p99 < {MAX_HALF_RATE_P99_MS:g} ms at half rate"
    if half is None:
        found.append(Check(name, "SKIP", "half-rate run not done"))
    else:
        detail = f"p99 {half.measured.p99_ms:.2f} ms at {half.measured.rps:,.0f} req/s"
        found.append(Check(name, _verdict(half.measured.p99_ms < MAX_HALF_RATE_P99_MS), detail))
    return found


_HEAD = (
    f"{'scenario':<32} {'target':<10} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}"
    f" {'cpu':>5} {'wrk cpu':>8} {'steal':>6} {'ratio':>7}"
)


def _row_line(row: Row, share: float | None) -> str:
    m = row.measured
    title = SCENARIOS[row.scenario].title
    shown = f"{share:.1%}" if share is not None and row.target == "server" else ""
    cpu, client, steal = f"{row.target_cpu:.0%}", f"{m.client_cpu:.0%}", f"{row.steal:.0%}"
    figures = f"{m.rps:>9,.0f} {m.p50_ms:>8.2f} {m.p99_ms:>8.2f} {cpu:>5} {client:>8} {steal:>6}"
    return f"{title:<32} {row.target:<10} {figures} {shown:>7}"


def print_table(rows: list[Row], halves: list[HalfRate], found: list[Check]) -> None:
    """The report: one line per scenario and target, the half-rate runs, then the checks."""
    print()
    print(_HEAD)
    print("-" * len(_HEAD))
    for row in rows:
        print(_row_line(row, ratio(rows, row.scenario)))
        for reason in row.measured.failures:
            print(f"  !! {row.target} {row.scenario}: {reason}")
    print("ratio = server req/s / ceiling req/s; cpu, wrk cpu = share of one core used by the target, by wrk;")
    print("steal = CPU the hypervisor took from this VM meanwhile (in cores); high steal makes the figures noisy")
    print("server = embedded storage; opensearch = the same server on OpenSearch (its cpu excludes the cluster's)")
    for row in rows:
        if row.osmem_cpu is not None:
            print(f"osmem-server cpu during {row.scenario} (same core as the server): {row.osmem_cpu:.0%}")
    for scenario, share in backend_ratios(rows).items():
        print(f"opensearch/embedded {scenario}: {share:.2f}")
    for half in halves:
        m = half.measured
        print(
            f"half rate ({SCENARIOS[HEADLINE].title}, {half.target}): offered ~{half.offered_rps:,.0f} req/s,"
            f" achieved {m.rps:,.0f} req/s, p50 {m.p50_ms:.2f} ms, p99 {m.p99_ms:.2f} ms"
        )
        for reason in m.failures:
            print(f"  !! half rate {half.target}: {reason}")
    print()
    for check in found:
        print(f"{check.verdict}  single-event /track {check.name}: {check.detail}")


def _measured_json(m: Measured) -> dict[str, Any]:
    return {**asdict(m), "rps": round(m.rps, 1)}


def write_json(path: Path, meta: dict[str, Any], rows: list[Row], halves: list[HalfRate], found: list[Check]) -> None:
    """Everything above as JSON, for comparing runs (bench/results/ is git-ignored)."""
    doc = {
        **meta,
        "results": [
            {**asdict(r), "measured": _measured_json(r.measured), "ratio": ratio(rows, r.scenario)} for r in rows
        ],
        "half_rate": [{**asdict(h), "measured": _measured_json(h.measured)} for h in halves],
        "opensearch_vs_embedded": {scenario: round(share, 3) for scenario, share in backend_ratios(rows).items()},
        "checks": [asdict(c) for c in found],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")
