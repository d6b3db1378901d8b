"""Not a baseline but the store's own floor: the same BatchGetSecretValue calls render makes (20 ids a
call, 32 in flight), and nothing else: no manifest, no rendering, no files. Only the calls are timed
(not Python's start or boto3's import), and the seconds are printed. What render takes beyond this
is the tool's own cost. Usage: boto3_batch_floor.py MANIFEST_JSON"""
import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

plan = json.load(open(sys.argv[1]))
client = boto3.client("secretsmanager", config=Config(max_pool_connections=32, retries={"mode": "standard"}))
ids = sorted({s for f in plan["functions"].values() for s in f.values()})


def batch(start):
    return len(client.batch_get_secret_value(SecretIdList=ids[start:start + 20])["SecretValues"])


client.list_secrets(MaxResults=1)  # connect and sign once before the clock starts
start = time.perf_counter()
with ThreadPoolExecutor(32) as pool:
    read = sum(pool.map(batch, range(0, len(ids), 20)))
elapsed = time.perf_counter() - start
assert read == len(ids), f"read {read} of {len(ids)} values"
print(json.dumps({"seconds": elapsed}))
