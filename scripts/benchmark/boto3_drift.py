"""Baseline: a drift check by hand. 16 threads, one DescribeSecret per distinct secret, compared with
the AWSCURRENT version recorded earlier. Usage: boto3_drift.py MANIFEST_JSON"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

plan = json.load(open(sys.argv[1]))
client = boto3.client("secretsmanager", config=Config(max_pool_connections=16, retries={"mode": "standard"}))


def current(secret_id):
    stages = client.describe_secret(SecretId=secret_id)["VersionIdsToStages"]
    return secret_id, next(v for v, s in stages.items() if "AWSCURRENT" in s)


with ThreadPoolExecutor(16) as pool:
    versions = dict(pool.map(current, sorted({s for f in plan["functions"].values() for s in f.values()})))
print(len(versions), "secrets checked")
