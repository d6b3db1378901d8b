"""Baseline: what a team writes by hand. 16 threads, one GetSecretValue per distinct secret, then the
same dotenv files our render writes. Usage: boto3_render.py MANIFEST_JSON OUT_DIR"""
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

plan = json.load(open(sys.argv[1]))
out = sys.argv[2]
client = boto3.client("secretsmanager", config=Config(max_pool_connections=16, retries={"mode": "standard"}))


def fetch(secret_id):
    return secret_id, json.loads(client.get_secret_value(SecretId=secret_id)["SecretString"])


with ThreadPoolExecutor(16) as pool:
    values = dict(pool.map(fetch, sorted({s for f in plan["functions"].values() for s in f.values()})))

os.makedirs(out, mode=0o700, exist_ok=True)
for function, variables in plan["functions"].items():
    lines = []
    for key in sorted(variables):
        value = values[variables[key]]["password"]
        lines.append(key + '="' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"\n')
    path = os.path.join(out, function + ".env")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write("".join(lines))
