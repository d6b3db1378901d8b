"""The boto3 baseline of scripts/benchmark/fleet_deploy.py, doing the work of `deploy` or of
`drift --deployed` for the manifest's functions the way a script would: a thread pool, boto3's own
retries (standard mode, 10 attempts) for throttling and conflicts, and its `function_updated_v2` waiter.

    python3 boto3_fleet.py deploy|drift PREFIX COUNT THREADS SECRET_ID TAG_KEY TAG_VALUE
"""
import json
import sys
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config


def main():
    mode, prefix, count, threads, secret_id, tag_key, tag_value = sys.argv[1:8]
    count, threads = int(count), int(threads)
    config = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=threads)
    lambda_client = boto3.client("lambda", config=config)
    names = [f"{prefix}{i:04d}" for i in range(count)]
    if mode == "deploy":
        password = json.loads(boto3.client("secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"])["password"]
        waiter = lambda_client.get_waiter("function_updated_v2")

        def deploy(index):
            name = names[index]
            arn = lambda_client.update_function_configuration(
                FunctionName=name, Environment={"Variables": {"DB_PASSWORD": password, "NAME": f"f{index:04d}"}})["FunctionArn"]
            waiter.wait(FunctionName=name)
            lambda_client.tag_resource(Resource=arn, Tags={tag_key: tag_value})

        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(deploy, range(count)))
    else:
        tagging = boto3.client("resourcegroupstaggingapi", config=config)
        found = {}
        for page in tagging.get_paginator("get_resources").paginate(
                ResourceTypeFilters=["lambda:function"], TagFilters=[{"Key": tag_key}], ResourcesPerPage=100):
            for mapping in page["ResourceTagMappingList"]:
                found[mapping["ResourceARN"].split(":")[-1]] = {t["Key"]: t["Value"] for t in mapping["Tags"]}[tag_key]
        missing = [name for name in names if name not in found]
        if missing:
            sys.exit(f"{len(missing)} functions without the tag")


if __name__ == "__main__":
    main()
