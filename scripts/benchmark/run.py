#!/usr/bin/env python3
"""The benchmark of the README: inject-secrets against the baselines a team would otherwise use, in one
run, alternating, with medians and ratios.

  scripts/benchmark/run.py [--repetitions N] [--secrets N] [--functions N]

It starts moto_server on loopback behind a proxy that adds 20 ms to every call and counts calls by
X-Amz-Target, seeds JSON secrets, writes a manifest of functions using 8 secrets each (two shared by
every function), and measures:
  render   vs a 16-thread boto3 GetSecretValue script writing the same dotenv files
           vs an `aws secretsmanager get-secret-value` loop, timed on a sample and scaled
           and beside the store's floor: render's own batch calls made from boto3, nothing else
  drift    vs a 16-thread boto3 DescribeSecret loop
  validate of a 10,000-function manifest (50 variables each) vs PyYAML's C loader parsing it
Peak RSS comes from /usr/bin/time. Nothing here is a pass/fail test: it prints numbers."""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(port, process, what, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            sys.exit(f"{what} exited before listening on {port}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{what} did not listen on {port} within {timeout}s")


def release_binary(skip_build):
    """The release build of inject-secrets, built first unless skip_build."""
    if not skip_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "inject-secrets"], cwd=ROOT, check=True)
    return subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                          stdout=subprocess.PIPE, text=True).stdout.strip() + "/inject-secrets"


def timed(argv, env, cwd=None):
    """Runs argv under /usr/bin/time; returns (seconds, peak RSS in MB, completed process)."""
    with tempfile.NamedTemporaryFile("r") as rss:
        start = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss.name] + argv, env=env, cwd=cwd,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        elapsed = time.perf_counter() - start
        text = open(rss.name).read().strip().splitlines()
    kb = int(text[-1]) if text and text[-1].isdigit() else 0
    return elapsed, kb / 1024, done


def by_kind(counted):
    """'BatchGetSecretValue 100, ListSecrets 3' from {'secretsmanager.BatchGetSecretValue': 100, ...}."""
    return ", ".join(f"{target.split('.')[-1]} {n}" for target, n in sorted(counted.items()))


def counts(port, reset=False):
    """The calls a counting server (latency_proxy.py, fast_store.py) has seen; `reset` clears them."""
    url = f"http://127.0.0.1:{port}/" + ("__reset" if reset else "__counts")
    with urllib.request.urlopen(urllib.request.Request(url, method="POST" if reset else "GET", data=b"" if reset else None)) as r:
        return json.load(r)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--secrets", type=int, default=2000)
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--cli-sample", type=int, default=20)
    parser.add_argument("--validate-functions", type=int, default=10000)
    parser.add_argument("--skip-build", action="store_true")
    args = parser.parse_args()

    binary = release_binary(args.skip_build)

    work = tempfile.mkdtemp(prefix="inject-secrets-bench-")
    moto_port, proxy_port = free_port(), free_port()
    moto = subprocess.Popen(["moto_server", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "latency_proxy.py"), str(moto_port), str(proxy_port), "0.020"])
    try:
        wait_for(moto_port, moto, "moto_server")
        wait_for(proxy_port, proxy, "the latency proxy")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark",
                   AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{proxy_port}", AWS_EC2_METADATA_DISABLED="true")
        env.pop("AWS_PROFILE", None)

        # Seed straight into moto, not through the proxy.
        import boto3
        seed = boto3.client("secretsmanager", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{moto_port}",
                            aws_access_key_id="benchmark", aws_secret_access_key="benchmark")
        ids = [f"bench/secret-{i:04d}" for i in range(args.secrets)]
        for i, secret_id in enumerate(ids):
            seed.create_secret(Name=secret_id, SecretString=json.dumps({"user": f"u{i}", "password": f"bench-password-{i}"}))

        # Functions of 8 secrets: two shared by all, six spread so that every secret is used.
        plan = {"functions": {}}
        lines = ["version: 1", "providers:", "  aws: { type: aws-secrets-manager, region: us-east-1 }", "secrets:"]
        lines += [f"  s{i}: {{ provider: aws, id: {secret_id} }}" for i, secret_id in enumerate(ids)]
        lines += ["functions:"]
        spread = max(1, (args.secrets - 2 + args.functions - 1) // args.functions)
        for f in range(args.functions):
            chosen = [0, 1] + [2 + (f * spread + k) % (args.secrets - 2) for k in range(6)]
            variables = {f"SECRET_{k}": ids[s] for k, s in enumerate(chosen)}
            plan["functions"][f"fn{f:04d}"] = variables
            lines += [f"  fn{f:04d}:", "    env:"]
            lines += [f"      SECRET_{k}: ${{secrets.s{s}.password}}" for k, s in enumerate(chosen)]
        manifest = os.path.join(work, "inject-secrets.yaml")
        open(manifest, "w").write("\n".join(lines) + "\n")
        plan_path = os.path.join(work, "plan.json")
        json.dump(plan, open(plan_path, "w"))
        distinct = len({s for f in plan["functions"].values() for s in f.values()})

        results = {k: [] for k in ("render", "boto3", "floor", "drift", "boto3-drift")}
        rss = {k: [] for k in results}
        calls = {}
        for rep in range(args.repetitions):
            order = [("render", [binary, "render", "--manifest", manifest]),
                     ("boto3", [sys.executable, os.path.join(HERE, "boto3_render.py"), plan_path, os.path.join(work, "boto3-out")]),
                     ("floor", [sys.executable, os.path.join(HERE, "boto3_batch_floor.py"), plan_path])]
            if rep % 2:
                order.reverse()
            for name, argv in order:
                counts(proxy_port, reset=True)
                seconds, mb, done = timed(argv, env)
                if done.returncode != 0:
                    sys.exit(f"{name} failed ({done.returncode}):\n{done.stderr.decode()[-3000:]}")
                # The floor times its calls alone, without Python's start.
                results[name].append(json.loads(done.stdout)["seconds"] if name == "floor" else seconds)
                rss[name].append(mb)
                calls[name] = counts(proxy_port)
            order = [("drift", [binary, "drift", "--manifest", manifest]),
                     ("boto3-drift", [sys.executable, os.path.join(HERE, "boto3_drift.py"), plan_path])]
            if rep % 2:
                order.reverse()
            for name, argv in order:
                counts(proxy_port, reset=True)
                seconds, mb, done = timed(argv, env)
                if done.returncode not in (0,):
                    sys.exit(f"{name} failed ({done.returncode}):\n{done.stdout.decode()[-2000:]}{done.stderr.decode()[-3000:]}")
                results[name].append(seconds)
                rss[name].append(mb)
                calls[name] = counts(proxy_port)

        # The aws CLI: one process per call, timed on a sample and scaled to every distinct secret.
        aws = shutil.which("aws")
        cli_per_call = None
        if aws:
            samples = []
            for secret_id in ids[: args.cli_sample]:
                seconds, _, done = timed([aws, "secretsmanager", "get-secret-value", "--secret-id", secret_id,
                                          "--query", "VersionId", "--output", "text"], env)
                if done.returncode != 0:
                    sys.exit("aws cli failed: " + done.stderr.decode()[-2000:])
                samples.append(seconds)
            cli_per_call = statistics.median(samples)

        # validate vs PyYAML's C loader on a large manifest.
        big = os.path.join(work, "big", "inject-secrets.yaml")
        os.makedirs(os.path.dirname(big))
        with open(big, "w") as f:
            f.write("version: 1\nproviders:\n  local: { type: file, path: store.yaml }\nsecrets:\n")
            for i in range(50):
                f.write(f"  s{i}: {{ provider: local, id: app/s{i} }}\n")
            f.write("vars: { stage: prod }\nfunctions:\n")
            for fn in range(args.validate_functions):
                f.write(f"  fn{fn:05d}:\n    env:\n")
                for v in range(50):
                    value = f"${{secrets.s{v}.password}}" if v % 5 == 0 else f"value-{fn}-{v}-${{vars.stage}}"
                    f.write(f"      VAR_{v:02d}: \"{value}\"\n")
        validate, pyyaml, validate_rss, pyyaml_rss = [], [], [], []
        for rep in range(max(3, args.repetitions // 2)):
            order = [("ours", [binary, "validate", "--manifest", big]),
                     ("pyyaml", [sys.executable, "-c", "import sys, yaml; yaml.load(open(sys.argv[1]), Loader=yaml.CLoader)", big])]
            if rep % 2:
                order.reverse()
            for name, argv in order:
                seconds, mb, done = timed(argv, env)
                if done.returncode != 0:
                    sys.exit(f"{name} validate failed:\n{done.stderr.decode()[-3000:]}")
                (validate if name == "ours" else pyyaml).append(seconds)
                (validate_rss if name == "ours" else pyyaml_rss).append(mb)

        med = {k: statistics.median(v) for k, v in results.items()}
        floor = -(-distinct // 20)
        render_calls = sum(calls["render"].values())
        value_reads_in_drift = sum(n for t, n in calls["drift"].items() if "GetSecretValue" in t or "BatchGetSecretValue" in t)
        cli_total = cli_per_call * distinct if cli_per_call else None
        size_mb = os.path.getsize(big) / 1e6
        print(f"\n## inject-secrets benchmark ({args.functions} functions x 8 secrets, {distinct} distinct secrets, "
              f"20 ms per call, {args.repetitions} repetitions, medians)\n")
        print("| measure | inject-secrets | baseline | ratio | target |")
        print("|---|---|---|---|---|")
        print(f"| render vs boto3 16 threads | {med['render']:.2f} s | {med['boto3']:.2f} s | {med['boto3'] / med['render']:.1f}x faster | >= 10x |")
        floor_calls = sum(calls['floor'].values()) - calls['floor'].get('secretsmanager.ListSecrets', 0)
        print(f"| render beside the store's floor: its {floor_calls} batch calls alone, timed inside boto3 | "
              f"{med['render']:.2f} s | {med['floor']:.2f} s | render is the floor + {med['render'] - med['floor']:.2f} s | |")
        if cli_total:
            print(f"| render vs aws-cli loop ({args.cli_sample} calls sampled, scaled to {distinct}) | {med['render']:.2f} s | "
                  f"{cli_total:.0f} s | {cli_total / med['render']:.0f}x faster | >= 50x |")
        print(f"| store calls for render | {render_calls} ({by_kind(calls['render'])}) | "
              f"floor {floor} | {render_calls / floor:.2f}x floor | <= 1.05x |")
        print(f"| peak RSS of render | {statistics.median(rss['render']):.1f} MB | boto3 {statistics.median(rss['boto3']):.1f} MB | | <= 64 MB |")
        print(f"| drift vs boto3 DescribeSecret 16 threads | {med['drift']:.2f} s | {med['boto3-drift']:.2f} s | "
              f"{med['boto3-drift'] / med['drift']:.1f}x faster | >= 10x |")
        print(f"| store calls for drift | {sum(calls['drift'].values())} ({by_kind(calls['drift'])}); "
              f"value reads: {value_reads_in_drift} | boto3 {sum(calls['boto3-drift'].values())} | | 0 value reads |")
        print(f"| validate {args.validate_functions} functions x 50 vars ({size_mb:.0f} MB) vs PyYAML CLoader parse | "
              f"{statistics.median(validate):.2f} s, {statistics.median(validate_rss):.0f} MB | {statistics.median(pyyaml):.2f} s, "
              f"{statistics.median(pyyaml_rss):.0f} MB | {statistics.median(pyyaml) / statistics.median(validate):.1f}x faster | faster |")
        print(f"\nraw seconds: {json.dumps({k: [round(x, 3) for x in v] for k, v in results.items()})}")
        print(f"validate: {[round(x, 3) for x in validate]}  pyyaml: {[round(x, 3) for x in pyyaml]}")
    finally:
        for p in (proxy, moto):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
