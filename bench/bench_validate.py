#!/usr/bin/env python3
"""Benchmark `blueprint validate` against the bare tools it wraps (not a test).

Scenarios, each measured side by side in one run, as the ratio of medians of
``--runs`` timed runs (rounds interleave A and B so drift on a noisy machine
hits both sides alike):

cold   A = ``blueprint validate --no-cache EXAMPLE``
       B = ``cfn-lint`` over the 4 rendered templates, then
           ``cfn-guard validate -r rules/ -i rules/data/ -d T1 -d T2 ...`` (B = sum)
       goal A <= 1.0 x B
warm   A = ``blueprint validate EXAMPLE`` on unchanged input, cache primed
       B = as for cold; goal A <= 0.15 x B
scale  A = ``blueprint validate --no-cache`` over N (default 20) distinct blueprints
       B = one cfn-lint call over the 4N rendered templates + one cfn-guard call
       goal A <= 0.5 x B, and the blueprint process' peak RSS under 300 MB
pack   A = ``blueprint validate --no-cache --pack control-tower EXAMPLE``
       B = as for cold, plus ``cfn-guard validate -r CT -d T1 -d T2 ...`` where CT is
           the Control Tower rules folder ``python -m blueprint.install_guard``
           installed (located and checked against its pin by ``blueprint.packs``)
       goal A <= 1.3 x B

Every command is a fresh subprocess; wall time is measured with
``time.perf_counter`` around it and peak memory read from ``os.wait4``
(``ru_maxrss`` of that child, which on Linux also covers its largest own
child, i.e. cfn-guard). The cache lives in a temporary folder
(``BLUEPRINT_CACHE_DIR``) so cold and warm are controlled. cfn-guard and the
Control Tower rules are found with blueprint's own locators
(``blueprint.tools.find_cfn_guard``, ``blueprint.packs``), so the bare side
runs the very binary and rules blueprint runs; only its command lines are bare.

Usage::

    .venv/bin/python bench/bench_validate.py [--runs 5] [--json] [--example FILE]

Exit code: 0 when every goal is met, 1 when one is missed, 2 when the
benchmark could not run (a tool or the Control Tower rules are missing,
blueprint cannot check the input, or the CLI rejects ``--no-cache``).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_EXAMPLE = REPO_ROOT / "examples" / "minimal.blueprint.yml"
RULES_DIR = REPO_ROOT / "rules"
RULES_DATA_DIR = RULES_DIR / "data"
REGION = "us-east-1"  # the region blueprint lints for by default
GOAL_COLD, GOAL_WARM, GOAL_SCALE, GOAL_RSS_MB = 1.0, 0.15, 0.5, 300.0
GOAL_PACK = 1.3  # issue 12
PACK = "control-tower"
BLUEPRINT_OK = (0, 1)  # 0 = clean, 1 = findings; 2 = could not check
GUARD_OK = (0, 19)  # 19 = rules failed; 5 and 255 are errors
CFN_LINT_OK = (0, 2, 4, 6, 8, 10, 12, 14)  # bit mask of findings; bit 1 = error
TEMPLATES = ("parent.yml", "vpc.yml", "cluster.yml", "service.yml")
_NO_SUCH_OPTION = re.compile(r"no such option", re.IGNORECASE)


class BenchError(Exception):
    """The benchmark cannot run; the message says why."""


# ---------------------------------------------------------------- measuring


@dataclass
class Run:
    argv: list[str]
    returncode: int
    seconds: float
    max_rss_mb: float
    stdout: str
    stderr: str


def run(argv: Sequence[str], env: dict[str, str], *, cwd: Path = REPO_ROOT,
        timeout: float = 600.0) -> Run:
    """Run ``argv`` in a fresh process; wall time and that process' peak RSS."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                env=env, cwd=cwd)
        deadline = start + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise BenchError(f"timed out after {timeout:g} s: {' '.join(argv)}")
            time.sleep(0.002)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        # ru_maxrss is in KiB on Linux (bytes on macOS)
        scale = 1024 * 1024 if sys.platform == "darwin" else 1024
        return Run(list(argv), proc.returncode, seconds, usage.ru_maxrss / scale,
                   out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace"))


def expect(result: Run, ok: Sequence[int], what: str) -> Run:
    if result.returncode not in ok:
        detail = (result.stderr.strip() or result.stdout.strip())[-1500:]
        raise BenchError(f"{what} exited {result.returncode} (expected one of {list(ok)}):\n"
                         f"  $ {' '.join(result.argv)}\n{detail}")
    return result


@dataclass
class Scenario:
    name: str
    goal: float
    a_label: str
    b_label: str
    a_seconds: list[float] = field(default_factory=list)
    b_seconds: list[float] = field(default_factory=list)
    a_rss_mb: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def a_median(self) -> float:
        return statistics.median(self.a_seconds)

    @property
    def b_median(self) -> float:
        return statistics.median(self.b_seconds)

    @property
    def ratio(self) -> float:
        return self.a_median / self.b_median

    @property
    def paired_ratio(self) -> float:
        """Median of per-round ratios (A_i / B_i): less sensitive to slow drift."""
        return statistics.median(a / b for a, b in zip(self.a_seconds, self.b_seconds,
                                                       strict=True))

    @property
    def passed(self) -> bool:
        return self.ratio <= self.goal

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.name, "a": self.a_label, "b": self.b_label,
            "a_median_s": round(self.a_median, 4), "b_median_s": round(self.b_median, 4),
            "ratio": round(self.ratio, 4), "paired_ratio": round(self.paired_ratio, 4),
            "goal": self.goal, "passed": self.passed,
            "a_runs_s": [round(s, 4) for s in self.a_seconds],
            "b_runs_s": [round(s, 4) for s in self.b_seconds],
            "a_max_rss_mb": round(max(self.a_rss_mb), 1) if self.a_rss_mb else None,
            "notes": self.notes,
        }


# -------------------------------------------------------------------- tools


@dataclass
class Tools:
    python: str
    cfn_lint: list[str]
    cfn_guard: str
    control_tower_rules: Path  # the folder of .guard files cfn-guard reads
    env: dict[str, str]

    def blueprint(self, *args: str) -> list[str]:
        return [self.python, "-m", "blueprint", *args]

    def lint(self, files: Sequence[Path]) -> list[str]:
        return [*self.cfn_lint, "--regions", REGION, "--", *map(str, files)]

    def guard(self, files: Sequence[Path]) -> list[str]:
        argv = [self.cfn_guard, "validate", "-r", str(RULES_DIR), "-i", str(RULES_DATA_DIR)]
        for path in files:
            argv += ["-d", str(path)]
        return argv

    def guard_control_tower(self, files: Sequence[Path]) -> list[str]:
        argv = [self.cfn_guard, "validate", "-r", str(self.control_tower_rules)]
        for path in files:
            argv += ["-d", str(path)]
        return argv


def _import_checkout() -> None:
    """Import ``blueprint`` from this checkout, the code the timed subprocesses run."""
    if str(REPO_ROOT) not in sys.path:
        sys.path.insert(0, str(REPO_ROOT))


def locate_guard_and_pack() -> tuple[str, Path]:
    """cfn-guard and the Control Tower rules folder, found the way blueprint finds them."""
    _import_checkout()
    from blueprint.errors import BlueprintError
    from blueprint.packs import rule_pack
    from blueprint.tools import find_cfn_guard

    try:
        guard = find_cfn_guard()
        rules = rule_pack(PACK).directory  # also checks the files against the pinned digest
    except BlueprintError as err:
        raise BenchError(str(err)) from err
    return guard, rules


def find_tools(cache_dir: Path) -> Tools:
    python = sys.executable
    script = Path(python).parent / "cfn-lint"
    if script.is_file():
        cfn_lint = [str(script)]
    elif shutil.which("cfn-lint"):
        cfn_lint = [str(shutil.which("cfn-lint"))]
    else:
        cfn_lint = [python, "-m", "cfnlint"]
    guard, control_tower_rules = locate_guard_and_pack()
    env = dict(os.environ)
    env["CFN_GUARD"] = guard  # blueprint and the bare side use the very same binary
    env["BLUEPRINT_CACHE_DIR"] = str(cache_dir)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # use .pyc files, as an installed CLI would
    return Tools(python, cfn_lint, guard, control_tower_rules, env)


def version_of(argv: Sequence[str], env: dict[str, str]) -> str:
    with contextlib.suppress(OSError, BenchError):
        result = run(argv, env, timeout=60)
        text = (result.stdout or result.stderr).strip()
        return text.splitlines()[0] if text else "?"
    return "?"


def machine_info(tools: Tools) -> dict[str, Any]:
    cpu = platform.processor() or "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    memory = "?"
    with contextlib.suppress(OSError, ValueError, IndexError):
        total_kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    return {
        "nproc": usable, "cpu_count": os.cpu_count(), "cpu_model": cpu, "memory": memory,
        "os": f"{platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "cfn_lint": version_of([*tools.cfn_lint, "--version"], tools.env),
        "cfn_guard": version_of([tools.cfn_guard, "--version"], tools.env),
        "blueprint": version_of(tools.blueprint("--version"), tools.env),
        "git": _git_revision(),
        "loadavg_start": _loadavg(),
    }


def _git_revision() -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT,
                              capture_output=True, text=True, check=True, timeout=10).stdout
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True, timeout=10).stdout
        return head.strip() + ("+dirty" if dirty.strip() else "")
    return "?"


def _loadavg() -> str:
    try:
        return " ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "?"


# -------------------------------------------------------------------- input


def instance_types() -> list[str]:
    """The allow-list in rules/data/instance-types.yaml (read without PyYAML)."""
    path = RULES_DATA_DIR / "instance-types.yaml"
    types = re.findall(r"^\s*-\s*([a-z][a-z0-9-]*\.[a-z0-9-]+)\s*$",
                       path.read_text(encoding="utf-8"), re.MULTILINE)
    if not types:
        raise BenchError(f"no instance types found in {path}")
    return types


IMAGES = (
    "public.ecr.aws/docker/library/nginx:1.27",
    "public.ecr.aws/docker/library/httpd:2.4",
    "public.ecr.aws/docker/library/caddy:2",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com/orders:v{n}",
    "ghcr.io/example/api-{n}:latest",
)
CPU_MEMORY = ((256, 512), (512, 1024), (1024, 2048), (2048, 4096), (256, 1024))


def blueprint_text(index: int, types: Sequence[str]) -> str:
    """A distinct, schema-valid blueprint: values vary every time, shape now and then."""
    n = index + 1
    cpu, memory = CPU_MEMORY[index % len(CPU_MEMORY)]
    desired_capacity = index % 4
    lines = [
        "blueprint: v1",
        f"name: bench-env-{n:02d}",
        f"description: Benchmark environment number {n}",
        "tags:",
        f"  team: team-{index % 3}",
        f"  cost-center: cc-{1000 + index}",
        "network:",
        f"  cidr: 10.{index}.0.0/16",
        f"  availabilityZones: {2 if index % 4 else 3}",
        f"  natGateways: {'single' if index % 3 == 0 else 'per-az'}",
        "cluster:",
        f"  instanceType: {types[index % len(types)]}",
        f"  desiredCapacity: {desired_capacity}",
        f"  maxSize: {desired_capacity + 5 + index}",
        f"  rootVolumeGiB: {30 + 10 * (index % 5)}",
        f"  containerInsights: {'true' if index % 2 else 'false'}",
        "service:",
        f"  name: svc{n}",
        f"  image: {IMAGES[index % len(IMAGES)].format(n=n)}",
        f"  port: {8000 + index}",
        f"  cpu: {cpu}",
        f"  memory: {memory}",
        f"  desiredCount: {1 + index % 3}",
        "  healthCheck:",
        f"    path: /health/{n}",
        f"    intervalSeconds: {10 + index}",
        "    timeoutSeconds: 5",
    ]
    if index % 2 == 0:
        lines += ["  environment:", f"    LOG_LEVEL: {'debug' if index % 4 else 'info'}",
                  f"    FEATURE_{n}: 'on'"]
    if index % 5 == 1:
        lines += ["  autoscaling:", "    minCount: 1", f"    maxCount: {4 + index}",
                  f"    targetCpuPercent: {40 + index}"]
    if index % 4 == 3:
        lines += ["loadBalancer:", "  idleTimeoutSeconds: 60",
                  "  ingressCidrs: [203.0.113.0/24, 198.51.100.0/24]"]
    return "\n".join(lines) + "\n"


def render_all(tools: Tools, blueprints: Sequence[Path], out_root: Path) -> list[Path]:
    """Each blueprint rendered by the CLI into out_root/<stem>/; the template paths."""
    rendered: list[Path] = []
    for path in blueprints:
        target = out_root / path.name.removesuffix(".blueprint.yml")
        expect(run(tools.blueprint("render", str(path), "-o", str(target)), tools.env),
               (0,), f"blueprint render {path.name}")
        for name in TEMPLATES:
            if not (target / name).is_file():
                raise BenchError(f"blueprint render {path.name} did not write {name}")
            rendered.append(target / name)
    return rendered


def template_stats(paths: Sequence[Path]) -> tuple[int, int]:
    """(total bytes, number of distinct contents) of rendered templates."""
    contents = [path.read_bytes() for path in paths]
    return sum(map(len, contents)), len({hashlib.sha256(c).digest() for c in contents})


# ---------------------------------------------------------------- scenarios


@contextlib.contextmanager
def fresh_dir(parent: Path) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


class Bench:
    def __init__(self, tools: Tools, work: Path, *, runs: int, no_cache_flag: bool) -> None:
        self.tools = tools
        self.work = work
        self.runs = runs
        self.no_cache_flag = no_cache_flag

    def env_with_cache(self, cache_dir: Path) -> dict[str, str]:
        return {**self.tools.env, "BLUEPRINT_CACHE_DIR": str(cache_dir)}

    def cold(self, files: Sequence[Path], what: str, options: Sequence[str] = ()) -> Run:
        """blueprint validate with no usable cache: --no-cache, and an empty cache folder."""
        flag = ["--no-cache"] if self.no_cache_flag else []
        with fresh_dir(self.work) as empty:
            result = run(self.tools.blueprint("validate", *flag, *options, *map(str, files)),
                         self.env_with_cache(empty))
        if self.no_cache_flag and result.returncode == 2 \
                and _NO_SUCH_OPTION.search(result.stderr):
            raise BenchError(
                "`blueprint validate` rejects --no-cache: this blueprint CLI does not have "
                "the flag yet.\n  Rerun with --allow-missing-no-cache to measure cold runs "
                "with an empty cache folder instead (the same thing for a cache-less CLI).\n"
                f"  CLI said: {result.stderr.strip().splitlines()[0]}")
        return expect(result, BLUEPRINT_OK, f"blueprint validate ({what})")

    def bare(self, templates: Sequence[Path], what: str, *, pack: bool = False) -> float:
        lint = expect(run(self.tools.lint(templates), self.tools.env), CFN_LINT_OK,
                      f"cfn-lint ({what})")
        guard = expect(run(self.tools.guard(templates), self.tools.env), GUARD_OK,
                       f"cfn-guard ({what})")
        seconds = lint.seconds + guard.seconds
        if pack:
            seconds += expect(run(self.tools.guard_control_tower(templates), self.tools.env),
                              GUARD_OK, f"cfn-guard, Control Tower rules ({what})").seconds
        return seconds

    def single(self, example: Path, templates: Sequence[Path]) -> tuple[Scenario, Scenario]:
        cold = Scenario("cold: 1 blueprint", GOAL_COLD,
                        "blueprint validate --no-cache EXAMPLE"
                        if self.no_cache_flag else "blueprint validate EXAMPLE (empty cache)",
                        "cfn-lint 4 templates + cfn-guard 4 templates")
        warm = Scenario("warm: 1 blueprint, cache primed", GOAL_WARM,
                        "blueprint validate EXAMPLE (warm cache)", cold.b_label)
        warm_cache = self.work / "warm-cache"
        warm_cache.mkdir()
        warm_env = self.env_with_cache(warm_cache)
        reference = self.cold([example], "cold, untimed warm-up")  # also warms the OS cache
        self.bare(templates, "untimed warm-up")
        primed = expect(run(self.tools.blueprint("validate", str(example)), warm_env),
                        BLUEPRINT_OK, "blueprint validate (priming the cache)")
        if (primed.returncode, primed.stdout) != (reference.returncode, reference.stdout):
            cold.notes.append("priming run's report differs from the cold run's")
        mismatches = 0
        for round_ in range(self.runs):
            _progress(f"  round {round_ + 1}/{self.runs}: cold, bare, warm")
            result = self.cold([example], "cold")
            cold.a_seconds.append(result.seconds)
            cold.a_rss_mb.append(result.max_rss_mb)
            b_seconds = self.bare(templates, "single")
            cold.b_seconds.append(b_seconds)
            warm.b_seconds.append(b_seconds)
            hot = expect(run(self.tools.blueprint("validate", str(example)), warm_env),
                         BLUEPRINT_OK, "blueprint validate (warm)")
            warm.a_seconds.append(hot.seconds)
            warm.a_rss_mb.append(hot.max_rss_mb)
            if (hot.returncode, hot.stdout) != (reference.returncode, reference.stdout):
                mismatches += 1
        if mismatches:
            warm.notes.append(f"{mismatches}/{self.runs} warm reports differ from the cold "
                              "report (exit code or output): the cache changed the answer")
        cold.notes.append(f"exit code {reference.returncode}")
        if not any(warm_cache.rglob("*")):
            warm.notes.append("the cache folder stayed empty: this CLI does not cache yet")
        return cold, warm

    def scale(self, blueprints: Sequence[Path], templates: Sequence[Path]) -> Scenario:
        scenario = Scenario(f"scale: {len(blueprints)} blueprints", GOAL_SCALE,
                            f"blueprint validate --no-cache {len(blueprints)} blueprints"
                            if self.no_cache_flag else
                            f"blueprint validate {len(blueprints)} blueprints (empty cache)",
                            f"cfn-lint {len(templates)} templates + cfn-guard "
                            f"{len(templates)} templates")
        reference = self.cold(blueprints, "scale, untimed warm-up")
        self.bare(templates, "scale, untimed warm-up")
        for round_ in range(self.runs):
            _progress(f"  round {round_ + 1}/{self.runs}: blueprint, bare")
            result = self.cold(blueprints, "scale")
            scenario.a_seconds.append(result.seconds)
            scenario.a_rss_mb.append(result.max_rss_mb)
            scenario.b_seconds.append(self.bare(templates, "scale"))
        scenario.notes.append(f"exit code {reference.returncode}")
        return scenario

    def pack(self, example: Path, templates: Sequence[Path]) -> Scenario:
        options = ["--pack", PACK]
        scenario = Scenario(f"pack: 1 blueprint, {PACK}", GOAL_PACK,
                            f"blueprint validate --no-cache --pack {PACK} EXAMPLE"
                            if self.no_cache_flag else
                            f"blueprint validate --pack {PACK} EXAMPLE (empty cache)",
                            "cfn-lint 4 templates + cfn-guard 4 templates + cfn-guard "
                            f"{PACK} rules 4 templates")
        reference = self.cold([example], "pack, untimed warm-up", options)
        self.bare(templates, "pack, untimed warm-up", pack=True)
        for round_ in range(self.runs):
            _progress(f"  round {round_ + 1}/{self.runs}: blueprint, bare")
            result = self.cold([example], "pack", options)
            scenario.a_seconds.append(result.seconds)
            scenario.a_rss_mb.append(result.max_rss_mb)
            scenario.b_seconds.append(self.bare(templates, "pack", pack=True))
        scenario.notes.append(f"exit code {reference.returncode}; Control Tower rules "
                              f"{self.tools.control_tower_rules}")
        return scenario


def _progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ------------------------------------------------------------------- report


def print_table(result: dict[str, Any]) -> None:
    machine, inputs = result["machine"], result["input"]
    print(f"machine: {machine['nproc']} usable CPUs ({machine['cpu_count']} online), "
          f"{machine['cpu_model']}, {machine['memory']}, {machine['os']}")
    print(f"         {machine['python']}; {machine['cfn_lint']}; {machine['cfn_guard']}; "
          f"{machine['blueprint']} (git {machine['git']})")
    print(f"         load average at start {machine['loadavg_start']}, "
          f"at end {result['loadavg_end']}")
    print(f"input:   {inputs['example']} (sha256 {inputs['example_sha256']}, "
          f"{inputs['example_templates_bytes']:,} bytes of rendered templates); "
          f"scale: {inputs['scale_blueprints']} generated blueprints -> "
          f"{inputs['scale_templates']} templates ({inputs['scale_templates_bytes']:,} bytes, "
          f"{inputs['scale_distinct_templates']} distinct)")
    print(f"method:  median of {result['runs']} runs per side, interleaved; ratio = "
          "median(blueprint) / median(bare tools); every command a fresh process")
    if not result["no_cache_flag"]:
        print("note:    --allow-missing-no-cache: cold runs used an empty cache folder and no "
              "--no-cache flag")
    print()
    header = ("scenario", "blueprint s", "bare s", "ratio", "goal", "result")
    rows = [(s["scenario"], f"{s['a_median_s']:.3f}", f"{s['b_median_s']:.3f}",
             f"{s['ratio']:.2f}x", f"<= {s['goal']:g}x", "PASS" if s["passed"] else "FAIL")
            for s in result["scenarios"]]
    memory = result["memory"]
    rows.append((f"peak RSS, {memory['scenario']}", f"{memory['max_rss_mb']:.0f} MB", "",
                 "", f"< {memory['goal_mb']:g} MB", "PASS" if memory["passed"] else "FAIL"))
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for index, row in enumerate([header, *rows]):
        print("  ".join(str(cell).ljust(widths[i]) if i == 0 else str(cell).rjust(widths[i])
                        for i, cell in enumerate(row)))
        if index == 0:
            print("  ".join("-" * w for w in widths))
    print()
    for s in result["scenarios"]:
        print(f"{s['scenario']}: A = {s['a']}; B = {s['b']}")
        print(f"    A runs {s['a_runs_s']}  B runs {s['b_runs_s']}  "
              f"paired ratio {s['paired_ratio']:.2f}x"
              + (f"  A max RSS {s['a_max_rss_mb']} MB" if s["a_max_rss_mb"] else ""))
        for note in s["notes"]:
            print(f"    note: {note}")


# --------------------------------------------------------------------- main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per side (default 5)")
    parser.add_argument("--example", type=Path, default=DEFAULT_EXAMPLE,
                        help="blueprint for the cold, warm and pack scenarios")
    parser.add_argument("--scale-count", type=int, default=20,
                        help="distinct blueprints in the scale scenario (default 20)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--allow-missing-no-cache", action="store_true",
                        help="if the CLI has no --no-cache flag, run cold without it in an "
                             "empty cache folder instead of stopping")
    parser.add_argument("--keep", type=Path,
                        help="copy the generated blueprints and rendered templates here")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.scale_count < 1:
        parser.error("--runs and --scale-count must be at least 1")
    return args


def supports_no_cache(tools: Tools, example: Path, work: Path) -> bool:
    with fresh_dir(work) as empty:
        result = run(tools.blueprint("validate", "--no-cache", str(example)),
                     {**tools.env, "BLUEPRINT_CACHE_DIR": str(empty)})
    return not (result.returncode == 2 and _NO_SUCH_OPTION.search(result.stderr))


def bench(args: argparse.Namespace) -> dict[str, Any]:
    example = args.example.resolve()
    if not example.is_file():
        raise BenchError(f"no such example: {example}")
    with tempfile.TemporaryDirectory(prefix="blueprint-bench-") as scratch:
        work = Path(scratch)
        tools = find_tools(work / "unused-cache")
        machine = machine_info(tools)
        no_cache_flag = supports_no_cache(tools, example, work)
        if not no_cache_flag and not args.allow_missing_no_cache:
            raise BenchError(
                "`blueprint validate --no-cache` is rejected by this CLI (no such option): "
                "the flag is not implemented yet.\n  Rerun with --allow-missing-no-cache to "
                "measure cold runs with an empty cache folder instead.")
        _progress(f"rendering {example.name} ...")
        templates = render_all(tools, [example], work / "rendered-example")
        _progress(f"generating and rendering {args.scale_count} blueprints ...")
        generated = work / "generated"
        generated.mkdir()
        types = instance_types()
        blueprints = []
        for index in range(args.scale_count):
            path = generated / f"env{index + 1:02d}.blueprint.yml"
            path.write_text(blueprint_text(index, types), encoding="utf-8")
            blueprints.append(path)
        scale_templates = render_all(tools, blueprints, work / "rendered-scale")
        example_bytes, _ = template_stats(templates)
        scale_bytes, scale_distinct = template_stats(scale_templates)
        if args.keep:
            shutil.copytree(generated, args.keep / "blueprints", dirs_exist_ok=True)
            shutil.copytree(work / "rendered-scale", args.keep / "rendered", dirs_exist_ok=True)

        runner = Bench(tools, work, runs=args.runs, no_cache_flag=no_cache_flag)
        _progress(f"single blueprint, {args.runs} rounds ...")
        cold, warm = runner.single(example, templates)
        _progress(f"{args.scale_count} blueprints, {args.runs} rounds ...")
        scale = runner.scale(blueprints, scale_templates)
        _progress(f"single blueprint with --pack {PACK}, {args.runs} rounds ...")
        pack = runner.pack(example, templates)

    peak = max(scale.a_rss_mb)
    return {
        "machine": machine,
        "loadavg_end": _loadavg(),
        "input": {
            "example": str(example.relative_to(REPO_ROOT) if example.is_relative_to(REPO_ROOT)
                           else example),
            "example_sha256": hashlib.sha256(example.read_bytes()).hexdigest()[:12],
            "example_templates_bytes": example_bytes,
            "scale_blueprints": len(blueprints),
            "scale_templates": len(scale_templates),
            "scale_templates_bytes": scale_bytes,
            "scale_distinct_templates": scale_distinct,
        },
        "runs": args.runs,
        "no_cache_flag": no_cache_flag,
        "scenarios": [s.as_dict() for s in (cold, warm, scale, pack)],
        "memory": {"scenario": scale.name, "max_rss_mb": round(peak, 1),
                   "goal_mb": GOAL_RSS_MB, "passed": peak < GOAL_RSS_MB},
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        result = bench(args)
    except BenchError as err:
        print(f"bench_validate: cannot run: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bench_validate: interrupted", file=sys.stderr)
        return 130
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print_table(result)
    passed = all(s["passed"] for s in result["scenarios"]) and result["memory"]["passed"]
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
