#!/usr/bin/env python3
"""Runs puqbackup against its peers on the benchmark corpora.

For each comparison, after one warm-up run of each side, ours and the peer
run alternately on the same input (ours, peer, ours, peer, ...) for the given
number of pairs, or more for a short command: enough pairs for each side to
run about SHORT_RUN_SECONDS in all, up to MOST_PAIRS, since one scheduling
hiccup moves a 30 ms run by a tenth. Every run is a child process measured by wait4(2) for
wall time and user plus system CPU time, and by GNU time for peak resident
set size. Before every
run, untimed, its output is removed and `sync` flushes what earlier runs left
dirty, so no run pays for another's writeback.

The results go to a JSON file and, as Markdown, between the markers of the
results section of BENCHMARKS.md.

Usage: measure.py --binary PATH --corpora DIR --work DIR --pairs N
                  [--only panel,stats,tiny] [--json FILE] [--markdown FILE]
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

# Any run longer than this is killed and the benchmark stops.
RUN_TIMEOUT_SECONDS = 900

TIME = "/usr/bin/time"

# A short command runs in more pairs: enough for this many seconds a side.
SHORT_RUN_SECONDS = 2.0
MOST_PAIRS = 41



class RunFailed(Exception):
    pass


def run_once(argv, cwd=None):
    """Runs argv to its end; answers wall seconds, CPU seconds, peak RSS in
    KiB. Output is discarded; a failure raises with the error output."""
    error_path = os.path.join(WORK, "stderr.txt")
    rss_path = os.path.join(WORK, "rss.txt")
    # Peak RSS comes from GNU time, a small process that forks and execs the
    # command: wait4 on a child of this Python would count the copy of the
    # interpreter that the child is until its exec.
    timed = [TIME, "-f", "%M", "-o", rss_path, "--"] + argv
    with open(error_path, "wb") as error_file:
        started = time.perf_counter()
        process = subprocess.Popen(
            timed, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=error_file
        )
        timer = threading.Timer(RUN_TIMEOUT_SECONDS, os.kill, (process.pid, signal.SIGKILL))
        timer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        with open(error_path, "rb") as error_file:
            detail = error_file.read()[-2000:].decode(errors="replace")
        raise RunFailed(f"{' '.join(argv)} exited with {process.returncode}: {detail}")
    with open(rss_path) as rss_file:
        rss_kib = int(rss_file.read().split()[-1])
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_kib": rss_kib,
    }


def remove(path):
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path)
    elif os.path.lexists(path):
        os.remove(path)


def trash_folder():
    return os.path.join(WORK, "trash")


def set_aside(path):
    """Moves an earlier run's output out of the way without deleting it.

    Deleting tens of thousands of files just before a run would make that
    run slow: ext4 without a journal skips inodes freed in the last 30
    seconds when it allocates new ones, looking at each. Outputs are
    deleted after the comparison instead, and the warm-up absorbs what is
    left of the effect."""
    if not os.path.lexists(path):
        return
    trash = trash_folder()
    os.makedirs(trash, exist_ok=True)
    os.rename(path, os.path.join(trash, f"{len(os.listdir(trash))}-{os.path.basename(path)}"))


def empty_trash():
    remove(trash_folder())


class Side:
    """One command of a comparison: how to run it and what to clear first."""

    def __init__(self, label, argv, cwd=None, clear=(), fresh_folders=()):
        self.label = label
        self.argv = argv
        self.cwd = cwd
        self.clear = clear
        self.fresh_folders = fresh_folders

    def run(self):
        for path in self.clear:
            set_aside(path)
        for path in self.fresh_folders:
            set_aside(path)
            os.makedirs(path)
        subprocess.run(["sync"], check=True)
        return run_once(self.argv, self.cwd)


def spread(ratios):
    """Every ratio when there are few, else the lowest, quartiles and
    highest."""
    if len(ratios) <= 10:
        return ", ".join(f"{ratio:.2f}" for ratio in ratios)
    quartiles = statistics.quantiles(ratios, n=4)
    return (f"{min(ratios):.2f} / {quartiles[0]:.2f} / {quartiles[2]:.2f} / "
            f"{max(ratios):.2f} (lowest, quartiles, highest)")


def median_of(runs, key):
    return statistics.median(run[key] for run in runs)


def pairs_for(warm_up_seconds, pairs):
    """At least `pairs`; for a short command, enough for each side to run
    about SHORT_RUN_SECONDS in all, up to MOST_PAIRS."""
    wanted = math.ceil(SHORT_RUN_SECONDS / max(warm_up_seconds, 1e-3))
    return max(pairs, min(MOST_PAIRS, wanted))


def compare(ours, peer, pairs):
    """Warm-up, then at least `pairs` alternating pairs; answers the
    summary."""
    warm_ours = ours.run()
    warm_peer = peer.run()
    pairs = pairs_for(min(warm_ours["wall"], warm_peer["wall"]), pairs)
    ours_runs, peer_runs, ratios = [], [], []
    for _ in range(pairs):
        mine = ours.run()
        theirs = peer.run()
        ours_runs.append(mine)
        peer_runs.append(theirs)
        ratios.append(theirs["wall"] / mine["wall"])
    empty_trash()
    summary = {
        "peer": peer.label,
        "ours": {key: median_of(ours_runs, key) for key in ("wall", "cpu", "rss_kib")},
        "theirs": {key: median_of(peer_runs, key) for key in ("wall", "cpu", "rss_kib")},
        "ratio": statistics.median(ratios),
        "pairs": pairs,
        "ratios": ratios,
        "ours_runs": ours_runs,
        "peer_runs": peer_runs,
    }
    print(
        f"    {peer.label:<28} ours {summary['ours']['wall']:8.3f} s "
        f"peer {summary['theirs']['wall']:8.3f} s  ratio {summary['ratio']:5.2f} "
        f"({pairs} pairs: {spread(ratios)})",
        flush=True,
    )
    return summary


def seven_zip():
    for name in ("7z", "7zz", "7za"):
        found = shutil.which(name)
        if found:
            return found
    raise RunFailed("no 7-Zip found (7z, 7zz or 7za)")


def tree_size(root):
    total, files = 0, 0
    for folder, _, names in os.walk(root):
        for name in names:
            total += os.lstat(os.path.join(folder, name)).st_size
            files += 1
    return total, files


def benchmark_corpus(name, corpus, binary, pairs, commands):
    work = os.path.join(WORK, name)
    remove(work)
    os.makedirs(work)
    seven = seven_zip()
    tops = [top for top in ("config", "statistics") if os.path.isdir(os.path.join(corpus, top))]
    with_statistics = "statistics" in tops
    size, files = tree_size(corpus)
    print(f"  corpus {name}: {files} files, {size / 2**20:.1f} MiB", flush=True)
    result = {"corpus": name, "files": files, "bytes": size, "create": [], "verify": [], "restore": []}

    # create
    ours_zip = os.path.join(work, "ours.zip")
    create_argv = [binary, "create", "--config-dir", os.path.join(corpus, "config"),
                   "--host", "bench", "--output", ours_zip]
    if with_statistics:
        create_argv += ["--statistics-dir", os.path.join(corpus, "statistics")]
    ours_create = Side("puqbackup create", create_argv, clear=[ours_zip])
    zip_out = os.path.join(work, "zip.zip")
    seven_out = os.path.join(work, "7z.zip")
    peers = [
        Side("zip -r -q -6", ["zip", "-r", "-q", "-6", zip_out] + tops, cwd=corpus, clear=[zip_out]),
        Side("7z a -tzip -mx=5", [seven, "a", "-tzip", "-mx=5", seven_out] + tops,
             cwd=corpus, clear=[seven_out]),
    ]
    if not os.path.exists(ours_zip):
        ours_create.run()
    for peer, archive in zip(peers, (zip_out, seven_out)):
        if "create" not in commands:
            break
        summary = compare(ours_create, peer, pairs)
        summary["ours_size"] = os.path.getsize(ours_zip)
        summary["peer_size"] = os.path.getsize(archive)
        result["create"].append(summary)

    # verify, on the archive ours made
    ours_verify = Side("puqbackup verify", [binary, "verify", ours_zip])
    for peer in () if "verify" not in commands else (
        Side("unzip -tqq", ["unzip", "-tqq", ours_zip]),
        Side("7z t", [seven, "t", ours_zip]),
        Side("python3 -m zipfile -t", [sys.executable, "-m", "zipfile", "-t", ours_zip]),
    ):
        result["verify"].append(compare(ours_verify, peer, pairs))

    # restore, into an empty data folder each time
    target = os.path.join(work, "restored")
    restore_argv = [binary, "restore", ours_zip, "--config-dir", os.path.join(target, "config"),
                    "--keep-snapshots", "0"]
    if with_statistics:
        restore_argv += ["--statistics-dir", os.path.join(target, "statistics")]
    ours_restore = Side("puqbackup restore", restore_argv, fresh_folders=[target])
    unzipped = os.path.join(work, "unzipped")
    peer = Side("unzip -q -o -d", ["unzip", "-q", "-o", "-d", unzipped, ours_zip],
                fresh_folders=[unzipped])
    if "restore" in commands:
        result["restore"].append(compare(ours_restore, peer, pairs))

    remove(target)
    remove(unzipped)
    return result


def machine():
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = {}
    for label, argv in (
        ("zip", ["zip", "-v"]),
        ("unzip", ["unzip", "-v"]),
        ("7-Zip", [seven_zip()]),
        ("python3", [sys.executable, "--version"]),
    ):
        try:
            output = subprocess.run(argv, capture_output=True, text=True).stdout
            lines = [line.strip() for line in output.splitlines() if line.strip()]
            pick = [line for line in lines if "Zip" in line or "7-Zip" in line or "Python" in line]
            versions[label] = (pick or lines or ["?"])[0]
        except OSError:
            versions[label] = "missing"
    # findmnt names ext4 as such; stat -f calls every ext "ext2/ext3".
    try:
        filesystem = subprocess.run(
            ["findmnt", "-no", "FSTYPE", "--target", WORK], capture_output=True, text=True
        ).stdout.strip()
    except OSError:
        filesystem = ""
    if not filesystem:
        filesystem = subprocess.run(
            ["stat", "-f", "-c", "%T", WORK], capture_output=True, text=True
        ).stdout.strip()
    with open("/proc/meminfo") as handle:
        memory = handle.readline().split()[1]
    return {
        "cores": os.cpu_count(),
        "model": model,
        "kernel": platform.release(),
        "memory_gib": round(int(memory) / 2**20, 1),
        "filesystem": filesystem,
        "versions": versions,
    }


def seconds(value):
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def mib(kib):
    return f"{kib / 1024:.1f}"


def markdown(results):
    info = results["machine"]
    lines = [
        f"Run of {results['date']}: at least {results['pairs']} pairs after a warm-up "
        f"(more for short commands, as the pairs column says), "
        f"medians; {'full' if results['full'] else 'QUICK (reduced corpora, not the reference figures)'} "
        "corpora.",
        "",
        f"Machine: {info['cores']} cores, {info['model']}, {info['memory_gib']} GiB, "
        f"Linux {info['kernel']}, work folder on {info['filesystem']}. "
        f"Load average before {results['load_before']}, after {results['load_after']}.",
        "",
        "Peers: " + "; ".join(f"{value}" for value in info["versions"].values()) + ".",
        "",
        "| corpus | command | peer | pairs | ours wall s | peer wall s | ratio peer/ours | "
        "ours CPU s | peer CPU s | ours RSS MiB | peer RSS MiB | sizes ours / peer |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for corpus in results["corpora"]:
        label = f"{corpus['corpus']} ({corpus['files']} files, {corpus['bytes'] / 2**20:.0f} MiB)"
        for command in ("create", "verify", "restore"):
            for row in corpus[command]:
                sizes = ""
                if "ours_size" in row:
                    sizes = (f"{row['ours_size'] / 2**20:.2f} / {row['peer_size'] / 2**20:.2f} MiB "
                             f"({100 * (row['ours_size'] / row['peer_size'] - 1):+.1f}%)")
                lines.append(
                    f"| {label} | {command} | `{row['peer']}` | {row.get('pairs', results['pairs'])} | "
                    f"{seconds(row['ours']['wall'])} | "
                    f"{seconds(row['theirs']['wall'])} | **{row['ratio']:.2f}** | "
                    f"{seconds(row['ours']['cpu'])} | {seconds(row['theirs']['cpu'])} | "
                    f"{mib(row['ours']['rss_kib'])} | {mib(row['theirs']['rss_kib'])} | {sizes} |"
                )
    return "\n".join(lines) + "\n"


def write_markdown(path, text, section="Results", name="results"):
    """Puts `text` between the markers `<!-- NAME:begin -->` and
    `<!-- NAME:end -->` of the Markdown file at `path`, adding a section
    headed `section` with them when they are missing."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    try:
        with open(path) as handle:
            document = handle.read()
    except FileNotFoundError:
        document = "# Benchmarks\n"
    if begin not in document or end not in document:
        document += f"\n## {section}\n\n{begin}\n{end}\n"
    head, rest = document.split(begin, 1)
    _, tail = rest.split(end, 1)
    with open(path, "w") as handle:
        handle.write(f"{head}{begin}\n{text}{end}{tail}")


def load_average():
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def main():
    global WORK
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True)
    parser.add_argument("--corpora", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--only", default="panel,stats,tiny")
    parser.add_argument("--commands", default="create,verify,restore")
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--json")
    parser.add_argument("--markdown")
    arguments = parser.parse_args()
    WORK = arguments.work
    os.makedirs(WORK, exist_ok=True)

    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "pairs": arguments.pairs,
        "full": arguments.full,
        "load_before": load_average(),
        "machine": machine(),
        "corpora": [],
    }
    try:
        for name in arguments.only.split(","):
            corpus = os.path.join(arguments.corpora, name)
            results["corpora"].append(benchmark_corpus(
                name, corpus, arguments.binary, arguments.pairs, arguments.commands.split(",")))
    except RunFailed as failure:
        print(f"benchmark stopped: {failure}", file=sys.stderr)
        return 1
    results["load_after"] = load_average()

    if arguments.json:
        with open(arguments.json, "w") as handle:
            json.dump(results, handle, indent=1)
    text = markdown(results)
    print(text)
    if arguments.markdown:
        write_markdown(arguments.markdown, text)
    return 0


WORK = "."

if __name__ == "__main__":
    sys.exit(main())
