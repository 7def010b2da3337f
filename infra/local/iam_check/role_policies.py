"""Writes, as JSON, the policies of each role named in the recorded calls, as the stack deployed
them into LocalStack's IAM (the template's statements with every reference resolved):
{role ARN: [{name, policy}]}, inline and attached managed policies alike.

usage: role_policies.py CALLS.jsonl ENDPOINT > POLICIES.json (run with LocalStack's venv)
"""

import json
import sys

import boto3


def role_policies(iam, role_name: str) -> list[dict]:
    policies = []
    for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        policies.append({"name": name, "policy": document})
    for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
        arn = attached["PolicyArn"]
        version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
        policies.append({"name": attached["PolicyName"], "policy": document["Document"]})
    return policies


def main() -> None:
    calls_path, endpoint = sys.argv[1:3]
    with open(calls_path, encoding="utf-8") as calls:
        roles = {json.loads(line)["role"] for line in calls if line.strip()}
    iam = boto3.client(
        "iam",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    json.dump({role: role_policies(iam, role.split("/")[-1]) for role in sorted(roles)}, sys.stdout)


if __name__ == "__main__":
    main()
