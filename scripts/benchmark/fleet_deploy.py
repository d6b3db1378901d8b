"""Fleet benchmark: `deploy` and `drift --deployed` of many Lambdas (issue 17, items 3, 4 and 6).

It starts moto_server and, in front of it, lambda_standin.py: every update keeps its function
InProgress for --delay seconds, and Lambda control-plane calls past --quota a second get 429. It creates
--functions Lambdas in moto directly, writes a manifest giving each one a secret and a `lambda:` target,
renders once, then per repetition, alternating:

- our `deploy` (defaults: --concurrency 16, --rate 13) against boto3_fleet.py deploy (16 threads,
  boto3's standard retries and waiter);
- our `drift --deployed` against boto3_fleet.py drift (the same GetResources pages).

Beside them the floor the stand-in imposes on a deploy: every function needs an update and a tag from
the control-plane quota (its status checks, GetFunction, have a quota of their own), so
(2 x functions - one second's burst) / quota seconds, plus the last wait. Call counts come from the stand-in; medians over --repetitions.

    python3 scripts/benchmark/fleet_deploy.py [--functions 500] [--repetitions 3] [--skip-build]
"""
import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import HERE, free_port, release_binary, timed, wait_for  # noqa: E402


def stats(port):
    base = f"http://127.0.0.1:{port}/__standin/"
    with urllib.request.urlopen(base + "stats") as answer:
        counted = json.load(answer)
    urllib.request.urlopen(urllib.request.Request(base + "reset", method="POST")).read()
    return counted


def calls(counted):
    return ", ".join(f"{name} {n}" for name, n in sorted(counted.items()) if not name.startswith("throttled "))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--functions", type=int, default=500)
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--delay", type=float, default=2.0)
    parser.add_argument("--quota", type=float, default=15.0)
    parser.add_argument("--threads", type=int, default=16, help="the boto3 baseline's threads")
    parser.add_argument("--skip-build", action="store_true")
    parser.add_argument("--binary", help="an inject-secrets binary to time instead of the release build")
    args = parser.parse_args()

    binary = args.binary or release_binary(args.skip_build)

    import boto3

    work = tempfile.mkdtemp(prefix="inject-secrets-fleet-")
    moto_port, standin_port = free_port(), free_port()
    moto = subprocess.Popen(["moto_server", "-p", str(moto_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    standin = subprocess.Popen([sys.executable, os.path.join(HERE, "lambda_standin.py"), "--port", str(standin_port),
                                "--upstream", f"http://127.0.0.1:{moto_port}", "--delay", str(args.delay),
                                "--rate", str(args.quota)])
    try:
        wait_for(moto_port, moto, "moto_server")
        wait_for(standin_port, standin, "the Lambda stand-in")
        moto_url = f"http://127.0.0.1:{moto_port}"
        env = dict(os.environ, AWS_ACCESS_KEY_ID="benchmark", AWS_SECRET_ACCESS_KEY="benchmark",
                   AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                   AWS_ENDPOINT_URL=f"http://127.0.0.1:{standin_port}", AWS_EC2_METADATA_DISABLED="true")
        env.pop("AWS_PROFILE", None)
        os.environ.update({k: env[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")})

        # Setup straight into moto, so it spends none of the stand-in's quota.
        secret_id = "bench-fleet/db"
        boto3.client("secretsmanager", endpoint_url=moto_url).create_secret(
            Name=secret_id, SecretString=json.dumps({"password": "fleet-benchmark-password"}))
        iam = boto3.client("iam", endpoint_url=moto_url)
        role = iam.create_role(RoleName="fleet", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as z:
            z.writestr("lambda_function.py", "def handler(e, c): return 1\n")
        lambda_moto = boto3.client("lambda", endpoint_url=moto_url)
        prefix = "fleet-"
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda i: lambda_moto.create_function(
                FunctionName=f"{prefix}{i:04d}", Runtime="python3.12", Role=role, Handler="lambda_function.handler",
                Code={"ZipFile": code.getvalue()}), range(args.functions)))
        manifest = ["version: 1", "providers:",
                    f"  aws: {{ type: aws-secrets-manager, region: us-east-1, endpoint: '{moto_url}' }}",
                    "secrets:", f"  db: {{ provider: aws, id: {secret_id} }}", "functions:"]
        for i in range(args.functions):
            manifest += [f"  f{i:04d}:", f"    env: {{ DB_PASSWORD: '${{secrets.db.password}}', NAME: f{i:04d} }}",
                         f"    lambda: {{ name: {prefix}{i:04d} }}"]
        with open(os.path.join(work, "inject-secrets.yaml"), "w") as f:
            f.write("\n".join(manifest) + "\n")
        subprocess.run([binary, "render"], cwd=work, env=env, check=True, stdout=subprocess.DEVNULL)
        # moto builds its tagging backends on the first GetResources (about 1.5 s): not anyone's time.
        boto3.client("resourcegroupstaggingapi", endpoint_url=moto_url).get_resources(ResourcesPerPage=1)
        stats(standin_port)

        baseline = [sys.executable, os.path.join(HERE, "boto3_fleet.py")]
        baseline_args = [prefix, str(args.functions), str(args.threads), secret_id, "inject-secrets:lock-digest", "sha256:x"]
        times = {"deploy": [], "boto3 deploy": [], "drift": [], "boto3 drift": [], "drift, stores only": []}
        counted = {}
        for repetition in range(args.repetitions):
            # Our deploy after boto3's, so the tags drift reads are its digests.
            for label, argv in [
                ("boto3 deploy", baseline + ["deploy"] + baseline_args),
                ("deploy", [binary, "deploy"]),
                ("drift", [binary, "drift", "--deployed"]),
                ("boto3 drift", baseline + ["drift"] + baseline_args),
                # What drift --deployed adds to the store drift every drift run does.
                ("drift, stores only", [binary, "drift"]),
            ]:
                seconds, rss, done = timed(argv, env, cwd=work)
                if done.returncode != 0:
                    sys.exit(f"{label} failed ({done.returncode}): {done.stderr.decode()[-2000:]}")
                times[label].append(seconds)
                counted[label] = stats(standin_port)
                print(f"run {repetition + 1} {label}: {seconds:.2f} s, {rss:.0f} MB; {calls(counted[label])}", flush=True)

        floor = max(0.0, 2 * args.functions - args.quota) / args.quota + args.delay
        median = {label: statistics.median(values) for label, values in times.items()}
        print()
        print(f"{args.functions} functions, {args.delay:g} s InProgress, quota {args.quota:g} calls/s, "
              f"medians of {args.repetitions}")
        print("| measure | inject-secrets | boto3, %d threads | floor | ours / floor |" % args.threads)
        print("|---|---|---|---|---|")
        print(f"| deploy | {median['deploy']:.1f} s | {median['boto3 deploy']:.1f} s | {floor:.1f} s | "
              f"{median['deploy'] / floor:.2f}x |")
        print(f"| drift --deployed | {median['drift']:.2f} s | {median['boto3 drift']:.2f} s | | |")
        print(f"| drift, stores only | {median['drift, stores only']:.2f} s | | | |")
        for label in times:
            print(f"| calls: {label} | {calls(counted[label])} |||| ")
    finally:
        for process in (standin, moto):
            process.terminate()
            process.wait()


if __name__ == "__main__":
    main()
