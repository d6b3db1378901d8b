#!/usr/bin/env python3
"""The fleet benchmark of the README: render and drift at 20,000 secrets x 5,000 functions against the
fast Secrets Manager stand-in (fast_store.py: 20 ms a call, a dict lookup, AWS's quotas as token
buckets), each beside its quota floor and beside a 16-thread boto3 script doing the same work.

  scripts/benchmark/fleet.py [--repetitions N] [--secrets N] [--functions N] [--skip-build] [--no-boto3]

Measures, alternating, medians over the repetitions:
  render                          batch-overflow: none (the default), vs its floor: BatchGetSecretValue's
                                  quota, ceil(secrets / 20) calls, 100 at once then 100 a second
  render, batch-overflow          batch-overflow: get-secret-value, the same floor for comparison
  drift                           vs its floor: the ListSecrets plan's calls at 100 a second after 100
  boto3 render, boto3 drift       boto3_render.py (GetSecretValue) and boto3_drift.py (DescribeSecret)
Calls are counted by the stand-in, throttled ones apart; peak RSS comes from /usr/bin/time."""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from run import HERE, by_kind, counts, free_port, release_binary, timed, wait_for


def floor(calls, rate=100.0, burst=100, delay=0.020):
    """The least time `calls` calls take within a quota of `rate` a second after a burst of `burst`."""
    return max(0, calls - burst) / rate + delay


def write_manifest(directory, secrets, functions, overflow):
    os.makedirs(directory)
    ids = [f"fleet/secret-{i:05d}" for i in range(secrets)]
    setting = ", batch-overflow: get-secret-value" if overflow else ""
    lines = ["version: 1", "providers:", f"  aws: {{ type: aws-secrets-manager, region: us-east-1{setting} }}", "secrets:"]
    lines += [f"  s{i}: {{ provider: aws, id: {secret_id} }}" for i, secret_id in enumerate(ids)]
    lines += ["functions:"]
    plan = {"functions": {}}
    per = max(1, -(-secrets // functions))
    for f in range(functions):
        chosen = [(f * per + k) % secrets for k in range(per)]
        plan["functions"][f"fn{f:05d}"] = {f"SECRET_{k}": ids[s] for k, s in enumerate(chosen)}
        lines += [f"  fn{f:05d}:", "    env:"] + [f"      SECRET_{k}: ${{secrets.s{s}.password}}" for k, s in enumerate(chosen)]
    path = os.path.join(directory, "inject-secrets.yaml")
    open(path, "w").write("\n".join(lines) + "\n")
    json.dump(plan, open(os.path.join(directory, "plan.json"), "w"))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--secrets", type=int, default=20000)
    parser.add_argument("--functions", type=int, default=5000)
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--no-boto3", action="store_true", help="leave out the boto3 baselines (25 s each at 20,000)")
    args = parser.parse_args()

    binary = release_binary(args.skip_build)

    work = tempfile.mkdtemp(prefix="inject-secrets-fleet-")
    port = free_port()
    store = subprocess.Popen([sys.executable, os.path.join(HERE, "fast_store.py"), str(port), str(args.secrets), "0.020"])
    try:
        wait_for(port, store, "the fast store")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark",
                   AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}", AWS_EC2_METADATA_DISABLED="true")
        env.pop("AWS_PROFILE", None)
        plain = write_manifest(os.path.join(work, "plain"), args.secrets, args.functions, overflow=False)
        overflowing = write_manifest(os.path.join(work, "overflow"), args.secrets, args.functions, overflow=True)
        plan = os.path.join(work, "plain", "plan.json")

        measures = [("render", [binary, "render", "--manifest", plain]),
                    ("render, batch-overflow", [binary, "render", "--manifest", overflowing]),
                    ("drift", [binary, "drift", "--manifest", plain])]
        if not args.no_boto3:
            measures += [("boto3 render", [sys.executable, os.path.join(HERE, "boto3_render.py"), plan, os.path.join(work, "boto3-out")]),
                         ("boto3 drift", [sys.executable, os.path.join(HERE, "boto3_drift.py"), plan])]
        seconds = {name: [] for name, _ in measures}
        rss = {name: [] for name, _ in measures}
        windows = {name: [] for name, _ in measures}
        calls = {}
        for rep in range(args.repetitions):
            # drift needs the lock of a render: it stays after the renders in either order.
            order = measures[:2] + (measures[3:] if rep % 2 else []) + [measures[2]] + ([] if rep % 2 else measures[3:])
            for name, argv in order:
                # The stand-in's quota buckets count arrivals, as AWS's do: a run started within a second
                # of the last would find them partly spent by it (at 2,000 secrets, 84 of the overflow
                # render's batch calls were throttled after the plain render's 100), so each run starts
                # with them full.
                time.sleep(1.0)
                counts(port, reset=True)
                start = time.time()
                elapsed, mb, done = timed(argv, env)
                end = time.time()
                if done.returncode != 0:
                    sys.exit(f"{name} failed ({done.returncode}):\n{done.stdout.decode()[-2000:]}{done.stderr.decode()[-3000:]}")
                seconds[name].append(elapsed)
                rss[name].append(mb)
                calls[name] = counts(port)
                first, last = calls[name].pop("first", start), calls[name].pop("last", start)
                windows[name].append(last - first)
                print(f"  rep {rep + 1} {name}: {elapsed:.2f} s: {first - start:.2f} s to the first call, "
                      f"{last - first:.2f} s of calls, {end - last:.2f} s after; {mb:.0f} MB, {by_kind(calls[name])}",
                      file=sys.stderr)

        batch_floor = floor(-(-args.secrets // 20))
        list_calls = calls["drift"].get("secretsmanager.ListSecrets", 0)
        floors = {"render": batch_floor, "render, batch-overflow": batch_floor, "drift": floor(list_calls)}
        baselines = {"render": "boto3 render", "render, batch-overflow": "boto3 render", "drift": "boto3 drift"}
        print(f"\n{args.secrets} secrets x {args.functions} functions, 20 ms a call, medians of {args.repetitions}\n")
        print("| measure | inject-secrets | first to last call | floor | x floor | boto3, 16 threads | x faster | calls | peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in floors:
            median = statistics.median(seconds[name])
            baseline = baselines[name]
            boto = statistics.median(seconds[baseline]) if baseline in seconds else None
            print(f"| {name} | {median:.2f} s | {statistics.median(windows[name]):.2f} s | {floors[name]:.2f} s | "
                  f"{median / floors[name]:.2f}x | "
                  + (f"{boto:.2f} s | {boto / median:.1f}x" if boto else "- | -")
                  + f" | {by_kind(calls[name])} | {max(rss[name]):.0f} MB |")
        for name in ("boto3 render", "boto3 drift"):
            if name in calls:
                print(f"| {name} | | {statistics.median(windows[name]):.2f} s | | | {statistics.median(seconds[name]):.2f} s | | "
                      f"{by_kind(calls[name])} | {max(rss[name]):.0f} MB |")
    finally:
        store.terminate()
        store.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
