"""Deploys the packaged template to LocalStack's CloudFormation (create or update, polled every
second: awscli's `cloudformation deploy` waits in 30 s steps), writes the stack's outputs to
.local/stack.json and verifies the sender's email address with SES. The demo data is seeded
after it, by `icp-seed demo` (deploy.sh).
"""

import argparse
import json
import os
import sys
import time
import tomllib
from pathlib import Path

import boto3
import yaml

SENDER_EMAIL = "filing-noreply@provider.example.com"  # the template's default SenderEmail


DEPLOY_TIMEOUT_SECONDS = 600


def deploy_stack(cfn, name, template_url, parameters):
    """Creates or updates the stack from the template at `template_url` (S3: templates over
    51,200 bytes cannot be sent inline) and waits for it; returns its description."""
    params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
    caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
    try:
        status = cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]
    except cfn.exceptions.ClientError:
        status = None
    if status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"):
        cfn.delete_stack(StackName=name)
        wait(cfn, name, {"DELETE_COMPLETE"}, time.time(), gone_ok=True)
        status = None
    since = time.time() - 1
    if status is None:
        print(f"deploy: creating stack {name}", file=sys.stderr)
        cfn.create_stack(StackName=name, TemplateURL=template_url, Parameters=params, Capabilities=caps)
        return wait(cfn, name, {"CREATE_COMPLETE"}, since)
    try:
        cfn.update_stack(StackName=name, TemplateURL=template_url, Parameters=params, Capabilities=caps)
    except cfn.exceptions.ClientError as e:
        if "No updates are to be performed" not in str(e):
            raise
        print(f"deploy: stack {name} is up to date", file=sys.stderr)
        return cfn.describe_stacks(StackName=name)["Stacks"][0]
    print(f"deploy: updating stack {name}", file=sys.stderr)
    return wait(cfn, name, {"UPDATE_COMPLETE"}, since)


def failed_events(cfn, name, since):
    events = cfn.describe_stack_events(StackName=name)["StackEvents"]
    return [
        f"  {e['LogicalResourceId']}: {e.get('ResourceStatusReason', '')}"
        for e in events
        if e["ResourceStatus"].endswith("FAILED") and e["Timestamp"].timestamp() >= since
    ]


class Progress:
    """Prints each resource as it completes, with a count and the seconds since the deploy began:
    a stack takes a minute or more, which should not be a silent one."""

    def __init__(self, cfn, name, since):
        self.cfn, self.name, self.since = cfn, name, since
        self.seen = set()

    def show(self):
        try:
            events = self.cfn.describe_stack_events(StackName=self.name)["StackEvents"]
        except self.cfn.exceptions.ClientError:
            return
        for e in reversed(events):  # oldest first
            done = e["ResourceStatus"].endswith("_COMPLETE") and e["LogicalResourceId"] != self.name
            if not done or e["EventId"] in self.seen or e["Timestamp"].timestamp() < self.since:
                continue
            self.seen.add(e["EventId"])
            elapsed = int(time.time() - self.since)
            print(f"deploy: {len(self.seen):3d} {e['ResourceStatus']:<16} {e['LogicalResourceId']} ({elapsed} s)",
                  file=sys.stderr)


def wait(cfn, name, success, since, gone_ok=False):
    """Polls until the stack reaches `success`, showing each resource as it completes.
    LocalStack can report a stack complete while resources failed, so events since `since`
    (epoch seconds) are checked too."""
    deadline = time.monotonic() + DEPLOY_TIMEOUT_SECONDS
    progress = Progress(cfn, name, since)
    while time.monotonic() < deadline:
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except cfn.exceptions.ClientError:
            if gone_ok:
                return None
            raise
        progress.show()
        status = stack["StackStatus"]
        failed = failed_events(cfn, name, since) if status in success else []
        if status in success and not failed:
            return stack
        if failed or status.endswith("_FAILED") or status.endswith("ROLLBACK_COMPLETE"):
            failed = failed or failed_events(cfn, name, since)
            sys.exit(f"deploy.py: stack {name} ended {status}:\n" + "\n".join(failed[:20]))
        time.sleep(1)
    sys.exit(f"deploy.py: stack {name} not done after {DEPLOY_TIMEOUT_SECONDS}s")


def definitions_as_json(s3, template_path):
    """LocalStack's CloudFormation hands a state machine's DefinitionS3Location object to Step
    Functions as it is, and its Step Functions reads JSON only; AWS's reads YAML too. So, here
    only, each packaged YAML definition is replaced in S3 by its JSON (anchors expanded)."""

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)  # !Ref, !Sub, ...
    with open(template_path) as f:
        resources = yaml.load(f, Loader=Loader)["Resources"]
    for resource in resources.values():
        location = (resource.get("Properties") or {}).get("DefinitionS3Location")
        if resource.get("Type") == "AWS::StepFunctions::StateMachine" and location:
            body = s3.get_object(Bucket=location["Bucket"], Key=location["Key"])["Body"].read()
            definition = json.dumps(yaml.safe_load(body))
            s3.put_object(Bucket=location["Bucket"], Key=location["Key"], Body=definition.encode())


def local_parameters():
    """The local stage's parameters: infra/samconfig.toml's `local` environment."""
    config = tomllib.loads((Path(__file__).resolve().parent.parent / "samconfig.toml").read_text())
    overrides = config["local"]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in overrides)


def main():
    args = argparse.ArgumentParser()
    for flag in ("--endpoint", "--region", "--stage", "--stack-name", "--template", "--bucket", "--stack-file",
                 "--oidc-issuer"):
        args.add_argument(flag, required=True)
    args = args.parse_args()

    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=args.region
    )
    cfn = session.client("cloudformation", endpoint_url=args.endpoint)
    # Host-mode functions reach LocalStack as we do; in Docker-based LocalStack they are in
    # containers and need its in-network name (ICP_LAMBDA_ENDPOINT).
    lambda_endpoint = os.environ.get("ICP_LAMBDA_ENDPOINT", args.endpoint)
    key = f"{args.stack_name}/template.yaml"
    s3 = session.client("s3", endpoint_url=args.endpoint)
    definitions_as_json(s3, args.template)
    s3.upload_file(args.template, args.bucket, key)
    stack = deploy_stack(
        cfn,
        args.stack_name,
        f"{args.endpoint}/{args.bucket}/{key}",
        {
            **local_parameters(),
            "Stage": args.stage,
            # The machine's: the local OpenID Connect provider (infra/local/oidc), and how
            # functions reach this API (the authority simulator and its callbacks).
            "OidcIssuer": args.oidc_issuer,
            "OidcJwksUrl": f"{args.oidc_issuer}/jwks",
            "ApiBaseUrl": f"{lambda_endpoint}/_aws/execute-api/{{apiId}}/{args.stage}",
        },
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    api_url = f"{args.endpoint}/_aws/execute-api/{outputs['ApiId']}/{args.stage}"
    outputs.update(localstackUrl=args.endpoint, region=args.region, apiUrl=api_url)
    with open(args.stack_file, "w") as f:
        json.dump(outputs, f, indent=2)

    session.client("ses", endpoint_url=args.endpoint).verify_email_identity(EmailAddress=SENDER_EMAIL)


if __name__ == "__main__":
    main()
