#!/usr/bin/env python3
"""The first plugin run of a new consumer, cold: how long `swift package ... inject-secrets` takes in a
package that has never been built, with no SwiftPM cache, as on a CI runner without a build cache.

  scripts/benchmark/cold_plugin.py                       # before (d37f1a4, swift-crypto) and after (HEAD)
  scripts/benchmark/cold_plugin.py --variant HEAD        # one or more --variant, run in the order given
  scripts/benchmark/cold_plugin.py --variant binary:.build-release/dist

A variant is a commit (REV, or source:REV): the repository at REV is cloned into a temporary folder and the
consumer depends on that clone by path; or binary:DIST: the consumer depends on the binary plugin package
that scripts/release wrote into DIST (inject-secrets-plugin-local, the bundle by path). Each variant gets its
own temporary folder holding the clone, the consumer (fixtures/consumer: a library target and a manifest on
the file store), its .build and a SwiftPM cache (--cache-path), so nothing is shared between variants or
with other checkouts, and ~/.swiftpm's cache is not touched. Dependencies are fetched as a newcomer's
would be (swift-argument-parser, and swift-crypto before).

It prints, per variant: the time until SwiftPM reports the build complete (resolution, fetch and build),
the time from then until the render is done (for the binary plugin, which has no build to report, the
whole run: resolution, unzipping the bundle, compiling the plugin and the render), the total, the CPU time and peak RSS of the process tree
(wait4), the compile steps SwiftPM counted, and the load average before and after. Every run must render
the consumer's output, or the script fails. Nothing here is a pass/fail target: it prints numbers."""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CONSUMER_FIXTURE = os.path.join(ROOT, "fixtures", "consumer")
BEFORE = "d37f1a4"
PLUGIN_ARGUMENTS = ["--allow-writing-to-package-directory", "--allow-network-connections", "all", "inject-secrets"]
BUILD_DONE = re.compile(r"^(Build of product '[^']*' complete!|Build complete!)")
STEP = re.compile(r"^\[(\d+)/(\d+)\]")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def seconds(value):
    return "-" if value is None else f"{value:.1f} s"


def make_consumer(folder, dependency):
    """Copies fixtures/consumer into folder with Package.swift depending on `dependency` by path."""
    consumer = os.path.join(folder, "consumer")
    os.makedirs(consumer)
    for name in ["inject-secrets.yaml", "secrets.yaml"]:
        shutil.copy(os.path.join(CONSUMER_FIXTURE, name), consumer)
    shutil.copytree(os.path.join(CONSUMER_FIXTURE, "Sources"), os.path.join(consumer, "Sources"))
    with open(os.path.join(CONSUMER_FIXTURE, "Package.swift.template")) as f:
        manifest = f.read().replace("@INJECT_SECRETS_PATH@", dependency)
    with open(os.path.join(consumer, "Package.swift"), "w") as f:
        f.write(manifest)
    return consumer


def prepare(variant, folder):
    """Returns (label, consumer folder) for a variant, its sources laid out below folder."""
    if variant.startswith("binary:"):
        dist = os.path.abspath(variant[len("binary:"):])
        plugin = os.path.join(dist, "inject-secrets-plugin-local")
        if not os.path.isfile(os.path.join(plugin, "Package.swift")):
            sys.exit(f"{plugin}/Package.swift not found: run scripts/release first")
        copy = os.path.join(folder, "inject-secrets-plugin-local")
        shutil.copytree(plugin, copy, symlinks=True)
        return f"binary plugin ({os.path.relpath(dist, ROOT)})", make_consumer(folder, copy)
    rev = variant[len("source:"):] if variant.startswith("source:") else variant
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev], check=True,
                            capture_output=True, text=True).stdout.strip()
    clone = os.path.join(folder, "inject-secrets")
    subprocess.run(["git", "clone", "--quiet", "--no-checkout", ROOT, clone], check=True)
    subprocess.run(["git", "-C", clone, "checkout", "--quiet", commit], check=True)
    return f"source {rev} ({commit})", make_consumer(folder, clone)


def run_cold(consumer, cache):
    """Runs the plugin once; returns a dict of timings, or exits with the output on failure."""
    argv = ["swift", "package", "--cache-path", cache] + PLUGIN_ARGUMENTS
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=consumer, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    lines, build_done, steps = [], None, 0
    for line in process.stdout:
        lines.append(line)
        if build_done is None and BUILD_DONE.match(line):
            build_done = time.perf_counter() - start
        step = STEP.match(line)
        if step:
            steps = max(steps, int(step.group(2)))
    _, status, usage = os.wait4(process.pid, 0)
    total = time.perf_counter() - start
    output = "".join(lines)
    rendered = os.path.join(consumer, ".build", "inject-secrets", "handler.env")
    if os.waitstatus_to_exitcode(status) != 0 or not os.path.isfile(rendered):
        sys.exit(f"the plugin run failed in {consumer}:\n{output}")
    # The binary plugin builds nothing but the plugin itself, which SwiftPM does not report: its "render"
    # is the whole run.
    return {
        "build": build_done, "render": total - (build_done or 0), "total": total,
        "cpu": usage.ru_utime + usage.ru_stime, "rss": usage.ru_maxrss / 1024, "steps": steps,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variant", action="append",
                        help=f"REV, source:REV or binary:DIST (default: {BEFORE} then HEAD)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folders (their paths are printed)")
    arguments = parser.parse_args()
    variants = arguments.variant or [BEFORE, "HEAD"]

    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    print(f"{swift}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}", flush=True)
    results = []
    for variant in variants:
        folder = tempfile.mkdtemp(prefix="inject-secrets-cold-")
        try:
            label, consumer = prepare(variant, folder)
            load_before = loadavg()
            print(f"-- {label}: load {load_before}, in {folder}", flush=True)
            timing = run_cold(consumer, os.path.join(folder, "swiftpm-cache"))
            timing.update(label=label, load=f"{load_before} -> {loadavg()}")
            results.append(timing)
            print(f"   build {seconds(timing['build'])}, first render {timing['render']:.1f} s, "
                  f"total {timing['total']:.1f} s", flush=True)
        finally:
            if arguments.keep:
                print(f"   kept {folder}")
            else:
                shutil.rmtree(folder, ignore_errors=True)

    print()
    print("| variant | resolve + build | first render | total | CPU | peak RSS | compile steps | load (1/5/15 min) |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['label']} | {seconds(r['build'])} | {r['render']:.1f} s | {r['total']:.1f} s | {r['cpu']:.0f} s "
              f"| {r['rss']:.0f} MB | {r['steps']} | {r['load']} |")


if __name__ == "__main__":
    main()
