"""cfn-lint, in-process through its Python API.

cfn-lint is imported only when a template actually needs linting: its
import alone costs about a second. Any exception inside cfn-lint becomes a
``ToolError`` (fail closed), never a pass.
"""

from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from blueprint.errors import ToolError
from blueprint.finding import Severity
from blueprint.resources import DEFAULT_REGION


@dataclass(frozen=True)
class LintMatch:
    rule_id: str
    severity: Severity
    message: str
    line: int
    column: int


_SEVERITY = {"error": Severity.ERROR, "warning": Severity.WARNING,
             "informational": Severity.INFO, "info": Severity.INFO}


@cache
def _runner(region: str) -> Any:
    """One cfn-lint runner per region and process: building its rules costs ~0.3 s."""
    from cfnlint.config import ConfigMixIn
    from cfnlint.runner import Runner

    return Runner(ConfigMixIn(regions=[region]))


def _set_up(region: str) -> Any:
    """The runner, or a ToolError: a cfn-lint that cannot load fails closed."""
    try:
        return _runner(region)
    except Exception as err:
        raise ToolError(f"cfn-lint cannot be set up: {type(err).__name__}: {err}",
                        hint="reinstall blueprint (pip install blueprint) or use --no-lint") \
            from err


@lru_cache(maxsize=512)
def lint_text(text: str, *, region: str = DEFAULT_REGION) -> tuple[LintMatch, ...]:
    """cfn-lint's matches for one template; identical templates are linted once."""
    runner = _set_up(region)
    try:
        from cfnlint.decode.decode import decode_str

        template, matches = decode_str(text)
        if not matches and template is not None:
            matches = list(runner.validate_template(template))
    except Exception as err:
        raise ToolError(f"cfn-lint crashed: {type(err).__name__}: {err}") from err
    result = []
    for match in matches:
        try:
            severity = _SEVERITY.get(str(match.rule.severity).lower(), Severity.ERROR)
            result.append(LintMatch(str(match.rule.id), severity, str(match.message),
                                    int(match.linenumber), int(match.columnnumber)))
        except (AttributeError, TypeError, ValueError) as err:
            raise ToolError(f"cfn-lint returned a result blueprint cannot read: {err}") \
                from err
    return tuple(result)


def lint_config_files() -> str:
    """The cfn-lint configuration files cfn-lint reads on its own (they change results)."""
    parts = []
    for candidate in (Path.cwd() / ".cfnlintrc", Path.cwd() / ".cfnlintrc.yaml",
                      Path.cwd() / ".cfnlintrc.yml", Path.home() / ".cfnlintrc"):
        try:
            parts.append(f"{candidate}:{candidate.read_text(encoding='utf-8', errors='replace')}")
        except OSError:
            continue
    return "\x00".join(parts)


def cfn_lint_version() -> str:
    from importlib.metadata import version

    return version("cfn-lint")


def _lint_in_worker(job: tuple[str, str]) -> tuple[LintMatch, ...]:
    text, region = job
    return lint_text(text, region=region)


class LintBatch:
    """Lint many templates, spread over the cores when there is more than one.

    Workers are forked after cfn-lint's rules are built in this process, so
    none of them pays for the import or the rule set again. Forking happens
    in ``__init__``, before the caller starts any thread, and only in a
    single-threaded process on Linux; otherwise templates are linted serially.
    """

    def __init__(self, texts: list[str], *, region: str = DEFAULT_REGION) -> None:
        self.region = region
        self.texts = list(dict.fromkeys(texts))
        self._async: Any = None
        self._pool: Any = None
        workers = min(len(self.texts), os.cpu_count() or 1)
        # Forking a process that runs other threads can copy a lock some thread
        # holds; then serial it is.
        if workers < 2 or sys.platform != "linux" or threading.active_count() > 1:
            return
        _set_up(region)  # built once here, inherited by every worker
        import multiprocessing

        self._pool = multiprocessing.get_context("fork").Pool(workers)
        self._async = self._pool.map_async(
            _lint_in_worker, [(text, region) for text in self.texts], chunksize=1)

    def results(self) -> dict[str, tuple[LintMatch, ...]]:
        if self._async is None:
            return {text: lint_text(text, region=self.region) for text in self.texts}
        try:
            matches = self._async.get()
        finally:
            self._pool.terminate()
            self._pool.join()
        return dict(zip(self.texts, matches, strict=True))
