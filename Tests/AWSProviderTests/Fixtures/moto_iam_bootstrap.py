#!/usr/bin/env python3
"""Creates the identities the AWS provider tests sign with, on a moto_server started with
INITIAL_NO_AUTH_ACTION_COUNT=0 (so every later call must be signed and allowed by IAM).

`POST /moto-api/reset-auth` with body `3` allows exactly three unsigned calls: create the admin user, its
policy and its access key. Everything after that is signed with the admin key:
  - a metadata-only user (secretsmanager:DescribeSecret and ListSecrets, ssm:DescribeParameters),
  - a user allowed only secretsmanager:GetSecretValue (no BatchGetSecretValue),
  - a role with full Secrets Manager and SSM access, assumed through STS for session credentials.

Prints one JSON object with the three identities on stdout (for the test process only; the test never
prints it). Usage: moto_iam_bootstrap.py ENDPOINT_URL
"""
import json
import sys
import urllib.request

import boto3

endpoint = sys.argv[1]
region = "us-east-1"

request = urllib.request.Request(
    endpoint + "/moto-api/reset-auth", data=b"3", method="POST", headers={"Content-Type": "text/plain"})
urllib.request.urlopen(request).read()


def client(service, key=None):
    key = key or {"AccessKeyId": "bootstrap", "SecretAccessKey": "bootstrap"}
    return boto3.client(
        service, endpoint_url=endpoint, region_name=region,
        aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
        aws_session_token=key.get("SessionToken"))


def policy(actions):
    return json.dumps({"Version": "2012-10-17",
                       "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}]})


unsigned = client("iam")
unsigned.create_user(UserName="admin")
unsigned.put_user_policy(UserName="admin", PolicyName="everything", PolicyDocument=policy("*"))
admin = unsigned.create_access_key(UserName="admin")["AccessKey"]

iam = client("iam", admin)
iam.create_user(UserName="metadata-reader")
iam.put_user_policy(
    UserName="metadata-reader", PolicyName="metadata-only",
    PolicyDocument=policy(["secretsmanager:DescribeSecret", "secretsmanager:ListSecrets",
                           "ssm:DescribeParameters"]))
metadata = iam.create_access_key(UserName="metadata-reader")["AccessKey"]

iam.create_user(UserName="get-only")
iam.put_user_policy(UserName="get-only", PolicyName="get-only",
                    PolicyDocument=policy(["secretsmanager:GetSecretValue"]))
get_only = iam.create_access_key(UserName="get-only")["AccessKey"]

iam.create_role(
    RoleName="secrets-reader",
    AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
iam.put_role_policy(RoleName="secrets-reader", PolicyName="read",
                    PolicyDocument=policy(["secretsmanager:*", "ssm:*"]))
session = client("sts", admin).assume_role(
    RoleArn="arn:aws:iam::123456789012:role/secrets-reader", RoleSessionName="inject-secrets-tests",
    DurationSeconds=3600)["Credentials"]


def pick(key):
    return {k: key[k] for k in ("AccessKeyId", "SecretAccessKey", "SessionToken") if k in key}


print(json.dumps({"admin": pick(admin), "metadata": pick(metadata), "getSecretValueOnly": pick(get_only),
                  "session": pick(session)}))
