"""The hubgen speed benchmark (issue 6): hubgen against Hugo, Pelican and MkDocs on the same content.

    python benchmarks/run.py                  # N = 4000 items, memory at 10000, each case once
    python benchmarks/run.py --quick          # 300-item smoke run of every case
    python benchmarks/run.py --items 4000 --memory-items 10000 --repeat 3

Everything happens under benchmarks/work/ (gitignored): the generated sites, the tools' logs
(logs/), results.json and results.md. Each timed command runs in a fresh measuring wrapper
(measure.py): wall clock with time.perf_counter() around the process, peak RSS of the largest single
process from getrusage(RUSAGE_CHILDREN), and the peak of the whole process tree's summed RSS and PSS
sampled from /proc. See README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import platform
import queue
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generate import DEFAULT_SEED, Item, generate, make_items

HERE = Path(__file__).resolve().parent
MEASURE = HERE / "measure.py"
DEFAULT_WORK = HERE / "work"
SERVE_EVENTS = "/_hubgen/events"

# Issue 6's targets (2 cores; ratios measured in the same run).
TARGET_HUGO_RATIO = 1.3  # hubgen cold / Hugo cold <= 1.3
TARGET_PEER_SPEEDUP = 2.5  # Pelican / hubgen and MkDocs / hubgen >= 2.5
TARGET_NOCHANGE_S = 1.0
TARGET_ONE_EDIT_S = 1.5
TARGET_SERVE_S = 0.300
TARGET_MEMORY_MIB = 400
# Linear scaling: the marginal cost per item from N/2 to N may be at most this much higher than
# from N/4 to N/2 (pure O(N^2) work would make it 2x).
TARGET_SCALING_SLOPE_RATIO = 1.3


class CaseFailed(Exception):
    """A measured command failed; the message says which and shows its log's tail."""


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- running and measuring -------------------------------------------------------------------


@dataclass
class Bench:
    work: Path
    repeat: int
    seed: int
    hubgen: list[str]
    # Hugo, Pelican and MkDocs build no search index; hubgen's Pagefind index is left out too
    # unless --with-search, so the figures compare the same work.
    build_flags: list[str] = field(default_factory=lambda: ["--no-search"])
    logs: Path = field(init=False)
    counter: int = 0
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.logs = self.work / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def measured(self, name: str, cmd: Sequence[str], cwd: Path | None = None,
                 interval: float = 0.1) -> dict[str, Any]:
        """Run `cmd` in a fresh measure.py wrapper; record and return its measurements."""
        self.counter += 1
        stem = f"{self.counter:03d}-{name}"
        code = hubgen_fingerprint() if list(cmd[: len(self.hubgen)]) == self.hubgen else None
        result_file, log_file = self.logs / f"{stem}.json", self.logs / f"{stem}.log"
        wrapper = [sys.executable, str(MEASURE), "--result", str(result_file), "--log",
                   str(log_file), "--interval", str(interval)]
        if cwd is not None:
            wrapper += ["--cwd", str(cwd)]
        subprocess.run([*wrapper, "--", *cmd], check=False)
        if not result_file.exists():
            raise CaseFailed(f"{name}: the measuring wrapper failed for {' '.join(cmd)}")
        result: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        result["log"] = str(log_file)
        if code is not None:
            result["hubgen_code"] = code
        self.runs.setdefault(name, []).append(result)
        if result["returncode"] != 0:
            tail = log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-25:]
            raise CaseFailed(f"{name}: exit {result['returncode']} from {' '.join(cmd)}\n"
                             + "\n".join(f"    {line}" for line in tail))
        log(f"  {name:<28} {result['seconds']:8.3f} s   peak RSS (largest process) "
            f"{result['max_rss_single_kib'] / 1024:7.1f} MiB")
        return result


def hubgen_fingerprint() -> str:
    """A cheap hash of the installed hubgen's code and bundled themes (paths, sizes, mtimes).

    hubgen may be edited while the benchmark runs (it is installed editable); comparing this before
    every hubgen run shows whether all hubgen figures of a report come from the same code.
    """
    roots: list[str] = []
    for name in ("hubgen", "hubgen.themes"):
        with contextlib.suppress(ImportError, ValueError):
            spec = importlib.util.find_spec(name)
            if spec and spec.submodule_search_locations:
                roots.extend(spec.submodule_search_locations)
    for root in list(roots):  # an editable checkout: src/hubgen -> the repo's themes/
        themes = Path(root).parents[1] / "themes"
        if themes.is_dir():
            roots.append(str(themes))
    h = hashlib.sha256()
    for root in sorted(set(roots)):
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                st = path.stat()
                h.update(f"{path}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:12]


def median_seconds(runs: Sequence[dict[str, Any]]) -> float:
    return float(statistics.median(r["seconds"] for r in runs))


def hubgen_command() -> list[str]:
    exe = shutil.which("hubgen", path=str(Path(sys.executable).parent)) or shutil.which("hubgen")
    if exe:
        return [exe]
    return [sys.executable, "-c", "import sys; from hubgen.cli import main; sys.exit(main())"]


def help_text(cmd: Sequence[str]) -> tuple[int, str]:
    proc = subprocess.run([*cmd, "--help"], capture_output=True, text=True, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def first_line(cmd: Sequence[str]) -> str:
    try:
        proc = subprocess.run(list(cmd), capture_output=True, text=True, check=False, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unavailable ({exc})"
    out = (proc.stdout or proc.stderr).strip().splitlines()
    return out[0] if out else f"unavailable (exit {proc.returncode})"


def machine_info(hubgen: list[str]) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError), open("/proc/meminfo", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    py = sys.executable
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu,
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "hubgen": first_line([*hubgen, "--version"]),
        "markdown": importlib.metadata.version("markdown"),
        "hugo": first_line(["hugo", "version"]) if shutil.which("hugo") else "not installed",
        "pelican": first_line([py, "-m", "pelican", "--version"])
        if importlib.util.find_spec("pelican") else "not installed",
        "mkdocs": first_line([py, "-m", "mkdocs", "--version"]).split(" from ")[0]
        .replace("python -m mkdocs, version ", "")
        if importlib.util.find_spec("mkdocs") else "not installed",
        "load_average_at_start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


# --- output trees ------------------------------------------------------------------------------


@dataclass
class TreeState:
    files: dict[str, str]  # relative path -> sha256 of the bytes
    mtimes: dict[str, int]  # relative path -> mtime_ns

    @property
    def digest(self) -> str:
        h = hashlib.sha256()
        for rel, sha in sorted(self.files.items()):
            h.update(f"{rel}\0{sha}\n".encode())
        return h.hexdigest()

    def differing(self, other: TreeState) -> list[str]:
        keys = self.files.keys() | other.files.keys()
        return sorted(k for k in keys if self.files.get(k) != other.files.get(k))


def tree_state(root: Path) -> TreeState:
    files: dict[str, str] = {}
    mtimes: dict[str, int] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        files[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        mtimes[rel] = path.stat().st_mtime_ns
    return TreeState(files, mtimes)


def rewritten(before: dict[str, int], after: dict[str, int]) -> int:
    """Files added, removed, or whose mtime changed."""
    return len(before.keys() ^ after.keys()) + sum(
        1 for k in before.keys() & after.keys() if before[k] != after[k])


def rmtree(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)


# --- hubgen cases ------------------------------------------------------------------------------


def hubgen_cold(bench: Bench, hub: Path, name: str, interval: float = 0.1) -> dict[str, Any]:
    """No cache and no previous output: the first CI build. The cache is written as usual."""
    rmtree(hub / "output")
    rmtree(hub / ".hubgen")
    return bench.measured(name, [*bench.hubgen, "build", *bench.build_flags, "--root", str(hub)],
                          interval=interval)


def edit_target(items: Sequence[Item]) -> Item:
    """An open article from the middle of the hub (deterministic)."""
    middle = [*items[len(items) // 2:], *items[: len(items) // 2]]
    return next(i for i in middle if i.type == "article" and not i.gated)


def append_sentence(hub: Path, item: Item, marker: str) -> None:
    path = hub / "content" / item.section / f"{item.slug}.md"
    with path.open("a", encoding="utf-8", newline="\n") as fh:
        fh.write(f"\nRedaktøren la til denne setningen i benchmarken ({marker}).\n")


def no_change_rebuilds(bench: Bench, hub: Path) -> dict[str, Any]:
    out: dict[str, Any] = {"identical": True, "rewritten": 0}
    for _ in range(bench.repeat):
        before = tree_state(hub / "output")
        bench.measured("hubgen-nochange", [*bench.hubgen, "build", *bench.build_flags, "--root", str(hub)])
        after = tree_state(hub / "output")
        changed = before.differing(after)
        out["identical"] = out["identical"] and not changed
        out["changed_files"] = changed[:20]
        out["rewritten"] = max(out["rewritten"], rewritten(before.mtimes, after.mtimes))
    out["seconds"] = median_seconds(bench.runs["hubgen-nochange"])
    return out


def one_edit_rebuilds(bench: Bench, hub: Path, items: Sequence[Item]) -> dict[str, Any]:
    target = edit_target(items)
    page = hub / "output" / target.section / target.slug / "index.html"
    visible = True
    for k in range(bench.repeat):
        marker = f"bench-edit-{k + 1}"
        append_sentence(hub, target, marker)
        bench.measured("hubgen-oneedit", [*bench.hubgen, "build", *bench.build_flags, "--root", str(hub)])
        visible = visible and page.is_file() and marker in page.read_text(encoding="utf-8")
    # Correctness: the incremental result must equal a clean build of the same content.
    clean = bench.work / f"{hub.parent.name}-clean"
    rmtree(clean)
    clean.mkdir(parents=True)
    shutil.copy2(hub / "hub.toml", clean / "hub.toml")
    shutil.copytree(hub / "content", clean / "content")
    bench.measured("hubgen-clean-for-compare",
                   [*bench.hubgen, "build", *bench.build_flags, "--root", str(clean)])
    differing = tree_state(hub / "output").differing(tree_state(clean / "output"))
    rmtree(clean)
    # Pagefind's filter and metadata indexes differ between two clean builds of the same pages
    # (Pagefind/pagefind#638), so they are reported apart from hubgen's own files.
    own = [d for d in differing if not d.startswith("pagefind/")]
    return {"seconds": median_seconds(bench.runs["hubgen-oneedit"]), "item": target.url,
            "edit_visible": visible, "equals_clean_build": not own,
            "differing_files": own[:20], "differing_pagefind_files": len(differing) - len(own)}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status), resp.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, ""


class EventListener(threading.Thread):
    """Reads the serve's Server-Sent Events stream; puts perf_counter() of every reload event."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.reloads: queue.Queue[float] = queue.Queue()
        self.connected = threading.Event()
        self.error: str | None = None

    def run(self) -> None:
        try:
            with urllib.request.urlopen(self.url, timeout=3600) as resp:
                self.connected.set()
                event, data = "message", ""
                for raw in resp:  # Server-Sent Events: fields, then a blank line dispatches
                    line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                    if line.startswith("event:"):
                        event = line[6:].strip()
                    elif line.startswith("data:"):
                        data += line[5:].strip()
                    elif not line:
                        if event == "reload" or (event == "message" and data == "reload"):
                            self.reloads.put(time.perf_counter())
                        event, data = "message", ""
        except Exception as exc:  # the stream ends when serve is stopped
            self.error = f"{type(exc).__name__}: {exc}"
            self.connected.set()


def serve_latency(bench: Bench, hub: Path, items: Sequence[Item], repeats: int) -> dict[str, Any]:
    """Save of one item -> `reload` event -> the changed page served, `repeats` times."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = bench.logs / "hubgen-serve.log"
    target = edit_target(items)
    page_url = base + target.url
    with log_path.open("wb") as out:
        proc = subprocess.Popen(
            [*bench.hubgen, "serve", "--root", str(hub), "--host", "127.0.0.1", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        start = time.perf_counter()
        while True:  # the first build of a big hub takes a while
            if proc.poll() is not None:
                raise CaseFailed(f"hubgen serve exited with {proc.returncode}; see {log_path}")
            with contextlib.suppress(OSError):
                if fetch(base + "/", timeout=5)[0] == 200:
                    break
            if time.perf_counter() - start > 1800:
                raise CaseFailed(f"hubgen serve did not serve / within 30 min; see {log_path}")
            time.sleep(0.2)
        startup = time.perf_counter() - start
        listener = EventListener(base + SERVE_EVENTS)
        listener.start()
        if not listener.connected.wait(30) or listener.error:
            raise CaseFailed(f"could not open {SERVE_EVENTS}: {listener.error or 'timeout'}")
        time.sleep(0.5)
        reloads: list[float] = []
        served: list[float] = []
        for k in range(repeats):
            while not listener.reloads.empty():
                listener.reloads.get_nowait()
            marker = f"bench-serve-{k + 1}"
            t0 = time.perf_counter()
            append_sentence(hub, target, marker)
            try:
                t_reload = listener.reloads.get(timeout=60)
                reloads.append(t_reload - t0)
            except queue.Empty:
                log("  serve: no reload event within 60 s")
            deadline = time.perf_counter() + 60
            while True:
                status, body = fetch(page_url)
                if status == 200 and marker in body:
                    served.append(time.perf_counter() - t0)
                    break
                if time.perf_counter() > deadline:
                    raise CaseFailed(f"serve never served the edit to {target.url} within 60 s")
                time.sleep(0.005)
            log(f"  serve edit {k + 1}: reload event "
                f"{(reloads[-1] * 1000 if len(reloads) == k + 1 else float('nan')):7.1f} ms, "
                f"page served {served[-1] * 1000:7.1f} ms")
            time.sleep(1.0)  # let the watcher settle before the next save
        return {
            "startup_seconds": startup,
            "reload_median_seconds": statistics.median(reloads) if reloads else None,
            "served_median_seconds": statistics.median(served),
            "reload_seconds": reloads, "served_seconds": served, "repeats": repeats,
            "item": target.url,
        }
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)  # the group of the serve we started
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# --- peers -------------------------------------------------------------------------------------


def hugo_cold(bench: Bench, site: Path) -> dict[str, Any]:
    for name in ("public", "resources", ".hugo_cache"):
        rmtree(site / name)
    return bench.measured("hugo-cold", ["hugo", "--source", str(site), "--quiet",
                                        "--cacheDir", str(site / ".hugo_cache")])


def pelican_cold(bench: Bench, site: Path) -> dict[str, Any]:
    for name in ("output", "cache", "__pycache__"):
        rmtree(site / name)
    return bench.measured("pelican-cold", [sys.executable, "-m", "pelican", "content", "-s",
                                           "pelicanconf.py", "-o", "output", "-q"], cwd=site)


def mkdocs_cold(bench: Bench, site: Path) -> dict[str, Any]:
    rmtree(site / "site")
    return bench.measured("mkdocs-cold", [sys.executable, "-m", "mkdocs", "build", "-q", "-f",
                                          "mkdocs.yml"], cwd=site)


# --- report ------------------------------------------------------------------------------------


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "FAIL")


def fmt_s(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f} s"


def build_report(results: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    """The targets table (rows for JSON) and the whole Markdown report."""
    p, c, m = results["params"], results["cases"], results["machine"]
    n = p["items"]
    rows: list[dict[str, Any]] = []

    def row(case: str, size: str, measured: str, ratio: str, target: str, ok: bool | None,
            note: str = "") -> None:
        rows.append({"case": case, "n": size, "measured": measured, "ratio": ratio,
                     "target": target, "result": verdict(ok), "note": note})

    cold = c.get("hubgen_cold", {}).get("seconds")
    for peer, label in (("hugo", "Hugo"), ("pelican", "Pelican"), ("mkdocs", "MkDocs")):
        peer_s = c.get(f"{peer}_cold", {}).get("seconds")
        err = c.get(f"{peer}_cold", {}).get("error") or c.get("hubgen_cold", {}).get("error")
        if peer == "hugo":
            ratio = cold / peer_s if cold and peer_s else None
            search = c.get("hubgen_cold", {}).get("pagefind_index")
            note = ("hubgen built a Pagefind search index" if search else
                    "hubgen built no search index" if search is False else "")
            row(f"cold build vs {label}", str(n), f"hubgen {fmt_s(cold)}, {label} {fmt_s(peer_s)}",
                f"hubgen/{label} = {ratio:.2f}x" if ratio else "–",
                f"<= {TARGET_HUGO_RATIO}x", None if ratio is None else ratio <= TARGET_HUGO_RATIO,
                err or note)
        else:
            ratio = peer_s / cold if cold and peer_s else None
            row(f"cold build vs {label}", str(n), f"hubgen {fmt_s(cold)}, {label} {fmt_s(peer_s)}",
                f"{label}/hubgen = {ratio:.2f}x" if ratio else "–",
                f">= {TARGET_PEER_SPEEDUP}x",
                None if ratio is None else ratio >= TARGET_PEER_SPEEDUP, err or "")
    nc = c.get("hubgen_nochange", {})
    if "seconds" in nc:
        row("no-change rebuild", str(n), fmt_s(nc["seconds"]), "",
            f"<= {TARGET_NOCHANGE_S} s, output identical",
            nc["seconds"] <= TARGET_NOCHANGE_S and nc["identical"],
            f"output {'identical' if nc['identical'] else 'CHANGED'}; "
            f"{nc['rewritten']} file(s) rewritten")
    else:
        row("no-change rebuild", str(n), "–", "", f"<= {TARGET_NOCHANGE_S} s", None,
            nc.get("error", ""))
    oe = c.get("hubgen_oneedit", {})
    if "seconds" in oe:
        row("one-edit rebuild (CLI)", str(n), fmt_s(oe["seconds"]), "",
            f"<= {TARGET_ONE_EDIT_S} s",
            oe["seconds"] <= TARGET_ONE_EDIT_S and oe["edit_visible"] and oe["equals_clean_build"],
            f"edit {'visible' if oe['edit_visible'] else 'NOT visible'}; "
            f"{'equals' if oe['equals_clean_build'] else 'DIFFERS from'} a clean build"
            + (f" (and {oe['differing_pagefind_files']} file(s) of Pagefind's index, which is "
               "not deterministic)" if oe["differing_pagefind_files"] else ""))
    else:
        row("one-edit rebuild (CLI)", str(n), "–", "", f"<= {TARGET_ONE_EDIT_S} s", None,
            oe.get("error", ""))
    sv = c.get("hubgen_serve", {})
    if "served_median_seconds" in sv:
        reload_ms = sv["reload_median_seconds"]
        row("serve: save -> page served", str(n), f"{sv['served_median_seconds'] * 1000:.0f} ms",
            "", f"<= {TARGET_SERVE_S * 1000:.0f} ms",
            sv["served_median_seconds"] <= TARGET_SERVE_S,
            f"median of {sv['repeats']}; reload event at "
            + (f"{reload_ms * 1000:.0f} ms" if reload_ms is not None else "– (none seen)"))
    else:
        row("serve: save -> page served", str(n), "–", "", f"<= {TARGET_SERVE_S * 1000:.0f} ms",
            None, sv.get("skipped") or sv.get("error", ""))
    mem = c.get("hubgen_memory", {})
    if "tree_rss_peak_mib" in mem:
        row("peak memory, cold build", str(p["memory_items"]),
            f"{mem['tree_rss_peak_mib']:.0f} MiB (tree RSS)", "",
            f"<= {TARGET_MEMORY_MIB} MiB", mem["tree_rss_peak_mib"] <= TARGET_MEMORY_MIB,
            f"tree PSS {mem['tree_pss_peak_mib']:.0f} MiB; largest process "
            f"{mem['max_rss_single_mib']:.0f} MiB; {mem['procs_peak']} processes; "
            f"build {mem['seconds']:.2f} s")
    else:
        row("peak memory, cold build", str(p["memory_items"]), "–", "",
            f"<= {TARGET_MEMORY_MIB} MiB", None, mem.get("error", ""))
    sc = c.get("scaling", {})
    if "slope_ratio" in sc:
        per_item = ", ".join(f"{k}: {v * 1000:.2f} ms" for k, v in sc["per_item_seconds"].items())
        row("scaling (cold, N/4, N/2, N)", "/".join(sc["per_item_seconds"]), per_item,
            f"marginal cost ratio {sc['slope_ratio']:.2f}",
            f"linear (ratio <= {TARGET_SCALING_SLOPE_RATIO})",
            sc["slope_ratio"] <= TARGET_SCALING_SLOPE_RATIO,
            "time per item; ratio = (t(N)-t(N/2))/(N/2) over (t(N/2)-t(N/4))/(N/4)")
    else:
        row("scaling (cold, N/4, N/2, N)", "", "–", "", "linear", None, sc.get("error", ""))

    lines = [f"## hubgen benchmark: N = {n} items (memory at {p['memory_items']}), "
             f"repeat {p['repeat']}", ""]
    codes: dict[str, list[str]] = {}
    for name, runs in results["runs"].items():
        for r in runs:
            if "hubgen_code" in r:
                codes.setdefault(r["hubgen_code"], []).append(name)
    if len(codes) > 1:
        lines += ["**Warning: hubgen's code changed during this run**, so its figures come from "
                  "different versions and are not comparable with each other: "
                  + "; ".join(f"`{code}`: {', '.join(dict.fromkeys(names))}"
                              for code, names in codes.items()), ""]
    lines += ["| case | N | measured | ratio | target | result | notes |",
              "|---|---:|---|---|---|---|---|"]
    for r in rows:
        note = r["note"].replace("\n", " ").replace("|", "\\|")
        if len(note) > 200:
            note = note[:200] + "…"
        lines.append(f"| {r['case']} | {r['n']} | {r['measured']} | {r['ratio']} | "
                     f"{r['target']} | **{r['result']}** | {note} |")
    lines += ["", "### Every measured run (median of repeats)", "",
              "| run | runs | seconds (median) | min | peak RSS, largest process | "
              "peak tree RSS / PSS (sampled) |", "|---|---:|---:|---:|---:|---:|"]
    for name, runs in results["runs"].items():
        secs = [r["seconds"] for r in runs]
        single = max(r["max_rss_single_kib"] for r in runs) / 1024
        tree = max((r["tree_rss_peak_kib"] or 0) for r in runs) / 1024
        pss = max((r["tree_pss_peak_kib"] or 0) for r in runs) / 1024
        lines.append(f"| {name} | {len(runs)} | {statistics.median(secs):.3f} | {min(secs):.3f} "
                     f"| {single:.0f} MiB | {tree:.0f} / {pss:.0f} MiB |")
    lines += ["", "### Machine", ""]
    lines += [f"- {k}: {v}" for k, v in m.items()]
    lines += ["", f"Command: `{results['command']}`", ""]
    return rows, "\n".join(lines)


# --- main --------------------------------------------------------------------------------------


def run_case(cases: dict[str, Any], key: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Run one case; a failure is recorded (and printed) instead of stopping the benchmark."""
    try:
        value = fn(*args)
        cases[key] = value
        return value
    except CaseFailed as exc:
        log(f"  FAILED: {exc}")
        cases[key] = {"error": str(exc)}
        return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Benchmark hubgen against Hugo, Pelican and MkDocs "
                                     "(issue 6). Writes benchmarks/work/results.json.")
    parser.add_argument("--items", type=int, default=None, help="N, items in the hub (default 4000)")
    parser.add_argument("--memory-items", type=int, default=None,
                        help="items for the peak-memory build (default 10000)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each timed case; the median is reported (default 1)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 300 items (and 300 for memory) unless given")
    parser.add_argument("--serve-repeats", type=int, default=5,
                        help="edits timed against `hubgen serve` (default 5)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="content seed (default 42)")
    parser.add_argument("--with-search", action="store_true",
                        help="let hubgen build its Pagefind index too (the peers build none)")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK,
                        help="work folder (default benchmarks/work)")
    args = parser.parse_args(argv)
    n = args.items or (300 if args.quick else 4000)
    memory_n = args.memory_items or (300 if args.quick else 10000)
    if n < 8 or memory_n < 1 or args.repeat < 1:
        parser.error("--items must be >= 8, --memory-items and --repeat >= 1")
    work: Path = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    rmtree(work / "logs")

    hubgen = hubgen_command()
    bench = Bench(work, args.repeat, args.seed, hubgen)
    if args.with_search:
        bench.build_flags = []
    build_help = help_text([*hubgen, "build"])[1]
    serve_rc, _serve_help = help_text([*hubgen, "serve"])
    results: dict[str, Any] = {
        "command": "python benchmarks/run.py " + " ".join(
            sys.argv[1:] if argv is None else argv),
        "params": {"items": n, "memory_items": memory_n, "repeat": args.repeat, "seed": args.seed,
                   "serve_repeats": args.serve_repeats},
        "machine": machine_info(hubgen),
        "hubgen_capabilities": {"build_no_cache": "--no-cache" in build_help,
                                "build_jobs": "--jobs" in build_help, "serve": serve_rc == 0},
        "cases": {},
    }
    cases: dict[str, Any] = results["cases"]
    log(f"machine: {results['machine']['nproc']} cores, {results['machine']['cpu_model']}")

    # 1. Content: the hub and the peers' sites, the same items.
    log(f"generating {n} items (hub, Hugo, Pelican, MkDocs) ...")
    t = time.perf_counter()
    sites = generate(work / f"n{n}", n, args.seed)
    items = make_items(n, args.seed)
    cases["generate_seconds"] = time.perf_counter() - t
    hub = sites["hub"]

    # 2. Cold builds, round-robin across the tools so that drift hits them alike.
    log(f"cold builds, N = {n} ...")
    cold_fns: dict[str, Callable[[Bench, Path], dict[str, Any]]] = {
        "hubgen": lambda b, root: hubgen_cold(b, root, "hubgen-cold"),
        "hugo": hugo_cold, "pelican": pelican_cold, "mkdocs": mkdocs_cold,
    }
    available = {"hubgen": True, "hugo": shutil.which("hugo") is not None,
                 "pelican": importlib.util.find_spec("pelican") is not None,
                 "mkdocs": importlib.util.find_spec("mkdocs") is not None}
    errors: dict[str, str] = {}
    for _ in range(args.repeat):
        for tool, fn in cold_fns.items():
            if available[tool] and tool not in errors:
                try:
                    fn(bench, sites["hub" if tool == "hubgen" else tool])
                except CaseFailed as exc:
                    log(f"  FAILED: {exc}")
                    errors[tool] = str(exc)
    for tool in cold_fns:
        if tool in errors:
            cases[f"{tool}_cold"] = {"error": errors[tool]}
        elif not available[tool]:
            cases[f"{tool}_cold"] = {"error": f"{tool} is not installed"}
        else:
            cases[f"{tool}_cold"] = {"seconds": median_seconds(bench.runs[f"{tool}-cold"]),
                                     "items": n}
    hubgen_ok = "hubgen" not in errors
    if hubgen_ok:
        cases["hubgen_cold"]["pagefind_index"] = (hub / "output" / "pagefind").is_dir()

    # 3. Rebuilds on the built hub.
    if hubgen_ok:
        log("no-change rebuild ...")
        run_case(cases, "hubgen_nochange", no_change_rebuilds, bench, hub)
        log("one-edit rebuild ...")
        run_case(cases, "hubgen_oneedit", one_edit_rebuilds, bench, hub, items)
    else:
        cases["hubgen_nochange"] = cases["hubgen_oneedit"] = {"error": "the cold build failed"}

    # 4. Preview latency.
    if serve_rc != 0:
        msg = "skipped: `hubgen serve --help` does not exit 0 (no serve command yet)"
        log(msg)
        cases["hubgen_serve"] = {"skipped": msg}
    else:
        log(f"serve edit-to-reload, {args.serve_repeats} edits ...")
        run_case(cases, "hubgen_serve", serve_latency, bench, hub, items, args.serve_repeats)

    # 5. Scaling: cold builds at N/4, N/2 and N, taken in turns in this one phase, so that all
    # three meet the same machine (the cold builds above alternate with the peers).
    if hubgen_ok:
        log("scaling ...")
        q, h = n // 4, n // 2
        times: dict[int, float] = {}
        try:
            hubs = {size: generate(work / f"n{size}", size, args.seed, ["hub"])["hub"]
                    for size in (q, h)}
            hubs[n] = hub
            for _ in range(args.repeat):
                for size in (q, h, n):
                    hubgen_cold(bench, hubs[size], f"hubgen-cold-n{size}")
            times = {size: median_seconds(bench.runs[f"hubgen-cold-n{size}"]) for size in hubs}
            slope_low = (times[h] - times[q]) / (h - q)
            slope_high = (times[n] - times[h]) / (n - h)
            cases["scaling"] = {
                "seconds": {str(k): times[k] for k in (q, h, n)},
                "per_item_seconds": {str(k): times[k] / k for k in (q, h, n)},
                "marginal_seconds_per_item": {f"{q}-{h}": slope_low, f"{h}-{n}": slope_high},
                "slope_ratio": slope_high / slope_low if slope_low > 0 else float("inf"),
            }
        except CaseFailed as exc:
            log(f"  FAILED: {exc}")
            cases["scaling"] = {"error": str(exc)}
    else:
        cases["scaling"] = {"error": "the cold build failed"}

    # 6. Peak memory at --memory-items, sampled finely.
    log(f"peak memory, cold build of {memory_n} items ...")
    try:
        mem_hub = generate(work / f"mem-n{memory_n}", memory_n, args.seed, ["hub"])["hub"]
        r = hubgen_cold(bench, mem_hub, f"hubgen-memory-n{memory_n}", interval=0.02)
        cases["hubgen_memory"] = {
            "items": memory_n, "seconds": r["seconds"],
            "tree_rss_peak_mib": r["tree_rss_peak_kib"] / 1024,
            "tree_pss_peak_mib": r["tree_pss_peak_kib"] / 1024,
            "max_rss_single_mib": r["max_rss_single_kib"] / 1024,
            "procs_peak": r["tree_procs_peak"],
            "method": "peak of summed RSS/PSS over the process tree, sampled from /proc every "
                      "20 ms; largest single process from getrusage(RUSAGE_CHILDREN).ru_maxrss",
        }
    except CaseFailed as exc:
        log(f"  FAILED: {exc}")
        cases["hubgen_memory"] = {"error": str(exc)}

    results["machine"]["load_average_at_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    rows, report = build_report({**results, "runs": bench.runs})
    results["targets"] = rows
    results["runs"] = bench.runs
    (work / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n",
                                       encoding="utf-8")
    (work / "results.md").write_text(report, encoding="utf-8")
    print(report)
    log(f"wrote {work / 'results.json'} and {work / 'results.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
