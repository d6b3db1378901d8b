#!/usr/bin/env python3
"""Times `inject-secrets validate` (release build) on hostile manifests and reports wall time and peak RSS.

The manifests are the ones that once made validate slow or large:
- defaults: one 1 MiB `defaults.env` value and 1,100 functions (1.06 MB): each function used to re-parse
  and copy the defaults;
- unknown-vars: 1,000 unknown `${vars.*}` references against 1,000 near-miss variables: "did you mean"
  used to cost references x variables x length squared; and the same with 14,000 of each (about 1 MB);
- alias-bomb: 1,000 functions each aliasing a 1,000-variable mapping (under 1 KB of aliases);
- million: 1,000,000 empty functions (22 MB), and the same shape at 250,000 and 500,000 to show that
  memory grows linearly with the file.

Targets (issue 12): under 1 MB, at most 2 s and 256 MB; the 22 MB file at most 10 s and 1 GB. The script
prints numbers and whether each target was met; it is not a test. Everything is written to a temporary
folder that is removed at the end.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def timed(argv, cwd):
    """Runs argv under /usr/bin/time; returns (seconds, peak RSS in MB, completed process)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        lines = open(rss.name).read().strip().splitlines()
    kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return elapsed, kb / 1024, done


def defaults_manifest():
    lines = ["version: 1", "defaults:", "  env:", "    BIG: " + "x" * (1 << 20), "functions:"]
    lines += [f"  fn{i}: {{ env: {{ A: a }} }}" for i in range(1100)]
    return "\n".join(lines) + "\n"


def unknown_vars_manifest(count=1000):
    lines = ["version: 1", "vars:"]
    lines += [f"  variable_number_{i}: v" for i in range(count)]
    lines += ["functions:", "  checkout:", "    env:"]
    lines += [f'      K{i}: "${{vars.variable_numbr_{i}}}"' for i in range(count)]
    return "\n".join(lines) + "\n"


def alias_bomb_manifest():
    body = ", ".join(f"V{i}: x" for i in range(1000))
    lines = ["version: 1", "functions:", f"  f0: &body {{ env: {{ {body} }} }}"]
    lines += [f"  f{i}: *body" for i in range(1, 1000)]
    return "\n".join(lines) + "\n"


def million_manifest(count):
    return "version: 1\nfunctions:\n" + "".join(f"  function{i:07d}: {{}}\n" for i in range(count))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--repetitions", type=int, default=3)
    args = parser.parse_args()
    if not args.skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "inject-secrets"], cwd=ROOT, check=True)
    binary = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                            stdout=subprocess.PIPE, text=True).stdout.strip() + "/inject-secrets"

    cases = [
        ("defaults", defaults_manifest(), 2, 256),
        ("unknown-vars", unknown_vars_manifest(), 2, 256),
        ("unknown-vars-1mb", unknown_vars_manifest(14_000), 2, 256),
        ("alias-bomb", alias_bomb_manifest(), 2, 256),
        ("250k-functions", million_manifest(250_000), 10, 1024),
        ("500k-functions", million_manifest(500_000), 10, 1024),
        ("million-functions", million_manifest(1_000_000), 10, 1024),
    ]
    work = tempfile.mkdtemp(prefix="inject-secrets-validate-")
    try:
        print(f"{'manifest':<18} {'size':>9} {'exit':>4} {'median s':>9} {'peak MB':>8} {'MB per file MB':>14}  target")
        for name, text, seconds, megabytes in cases:
            folder = os.path.join(work, name)
            os.makedirs(folder)
            path = os.path.join(folder, "inject-secrets.yaml")
            with open(path, "w") as f:
                f.write(text)
            size = os.path.getsize(path)
            runs = [timed([binary, "validate", "--manifest", path], folder) for _ in range(args.repetitions)]
            times = sorted(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            status = runs[0][2].returncode
            median = times[len(times) // 2]
            met = median <= seconds and peak <= megabytes
            first_error = runs[0][2].stderr.decode(errors="replace").splitlines()[:1]
            print(f"{name:<18} {size / 1e6:>7.2f}MB {status:>4} {median:>9.2f} {peak:>8.1f} {peak / (size / 1e6):>14.1f}  "
                  f"{'met' if met else 'NOT MET'} (<= {seconds} s, <= {megabytes} MB)"
                  + (f"  [{first_error[0][:110]}]" if first_error else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
