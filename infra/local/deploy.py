"""Deploys the packaged template to LocalStack's CloudFormation (create or update, polled every
second: awscli's `cloudformation deploy` waits in 30 s steps), writes the stack's outputs to
.local/stack.json and seeds the demo data: two customers (entities with a license password,
phone, email) with three active websites each, and one reviewer, then writes .local/demo.json in
the shape the API contract gives. Existing items are left as they are, so running it again on a
live stack keeps its requests consistent.
"""

import argparse
import json
import os
import sys
import time

import boto3
import jwt
import yaml
from argon2 import PasswordHasher
from argon2.low_level import Type

TOKEN_LIFETIME_SECONDS = 30 * 24 * 3600
# The parameters the functions hash with (functions/domain/src/password.rs).
HASHER = PasswordHasher(time_cost=3, memory_cost=12 * 1024, parallelism=1, type=Type.ID)

CUSTOMERS = [
    {
        "entityId": "ent-bj-yunfan",
        "name": "北京云帆科技有限公司 (Beijing Yunfan Technology Co., Ltd.)",
        "entityLicenseNumber": "京ICP备20231234号",
        "licensePassword": "Yunfan-Filing-2026",
        "phone": "+8613800000001",
        "email": "filing@yunfan.example.cn",
        "domains": ["yunfan.example.cn", "shop.yunfan.example.cn", "blog.yunfan.example.cn"],
        "ipBase": "203.0.113.",
    },
    {
        "entityId": "ent-sh-haitao",
        "name": "上海海涛网络有限公司 (Shanghai Haitao Network Co., Ltd.)",
        "entityLicenseNumber": "沪ICP备20235678号",
        "licensePassword": "Haitao-Filing-2026",
        "phone": "+8613900000002",
        "email": "icp@haitao.example.cn",
        "domains": ["haitao.example.cn", "m.haitao.example.cn", "api.haitao.example.cn"],
        "ipBase": "198.51.100.",
    },
]
SENDER_EMAIL = "filing-noreply@provider.example.com"  # the template's default SenderEmail
REVIEWER = {"reviewerId": "rev-demo", "email": "reviewer@provider.example.com"}


def put_new(table, item, key):
    try:
        table.put_item(Item=item, ConditionExpression=f"attribute_not_exists({key})")
    except table.meta.client.exceptions.ConditionalCheckFailedException:
        pass  # seeded by an earlier run; keep its state


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


def wait(cfn, name, success, since, gone_ok=False):
    """Polls until the stack reaches `success`. LocalStack can report a stack complete while
    resources failed, so events since `since` (epoch seconds) are checked too."""
    deadline = time.monotonic() + DEPLOY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        try:
            stack = cfn.describe_stacks(StackName=name)["Stacks"][0]
        except cfn.exceptions.ClientError:
            if gone_ok:
                return None
            raise
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


def main():
    args = argparse.ArgumentParser()
    for flag in ("--endpoint", "--region", "--stage", "--stack-name", "--template", "--bucket", "--stack-file", "--demo-file"):
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
            "Stage": args.stage,
            "IncludeAuthoritySimulator": "true",
            "IncludeBenchBaseline": "true",
            # How functions reach this API (the authority simulator and its callbacks).
            "ApiBaseUrl": f"{lambda_endpoint}/_aws/execute-api/{{apiId}}/{args.stage}",
            "ReviewerEmails": REVIEWER["email"],
            "CreateSenderIdentity": "false",
            "CreateDashboard": "false",
        },
    )
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    api_url = f"{args.endpoint}/_aws/execute-api/{outputs['ApiId']}/{args.stage}"
    outputs.update(localstackUrl=args.endpoint, region=args.region, apiUrl=api_url)
    with open(args.stack_file, "w") as f:
        json.dump(outputs, f, indent=2)

    dynamodb = session.resource("dynamodb", endpoint_url=args.endpoint)
    secrets = session.client("secretsmanager", endpoint_url=args.endpoint)
    session.client("ses", endpoint_url=args.endpoint).verify_email_identity(EmailAddress=SENDER_EMAIL)
    jwt_key = secrets.get_secret_value(SecretId=outputs["JwtSecretArn"])["SecretString"]
    authority_secret = secrets.get_secret_value(SecretId=outputs["AuthoritySecretArn"])["SecretString"]
    entities = dynamodb.Table(outputs["EntitiesTableName"])
    websites = dynamodb.Table(outputs["WebsitesTableName"])
    expires = int(time.time()) + TOKEN_LIFETIME_SECONDS

    def token(sub, role):
        return jwt.encode({"sub": sub, "role": role, "exp": expires}, jwt_key, algorithm="HS256")

    demo_customers = []
    for c in CUSTOMERS:
        put_new(
            entities,
            {
                "entityId": c["entityId"],
                "name": c["name"],
                "entityLicenseNumber": c["entityLicenseNumber"],
                "passwordHash": HASHER.hash(c["licensePassword"]),
                "phone": c["phone"],
                "email": c["email"],
                "failedPasswordAttempts": 0,
            },
            "entityId",
        )
        demo_sites = []
        for n, domain in enumerate(c["domains"], start=1):
            website_id = f"web-{domain.replace('.', '-')}"
            put_new(
                websites,
                {
                    "websiteId": website_id,
                    "entityId": c["entityId"],
                    "domain": domain,
                    "websiteLicenseNumber": f"{c['entityLicenseNumber'][:-1]}号-{n}",
                    "serviceIps": [f"{c['ipBase']}{10 + n}"],
                    "status": "active",
                },
                "websiteId",
            )
            demo_sites.append({"websiteId": website_id, "domain": domain})
        demo_customers.append(
            {
                "token": token(c["entityId"], "customer"),
                "entityId": c["entityId"],
                "licensePassword": c["licensePassword"],
                "phone": c["phone"],
                "email": c["email"],
                "websites": demo_sites,
            }
        )

    demo = {
        "apiUrl": api_url,
        "localstackUrl": args.endpoint,
        "region": args.region,
        "customers": demo_customers,
        "reviewerToken": token(REVIEWER["reviewerId"], "reviewer"),
        "reviewerEmail": REVIEWER["email"],
        "authority": {
            "simulatorUrl": f"{api_url}/authority-sim",
            "callbackUrl": f"{api_url}/authority/callbacks",
            "secret": authority_secret,
        },
    }
    with open(args.demo_file, "w") as f:
        json.dump(demo, f, indent=2, ensure_ascii=False)


if __name__ == "__main__":
    main()
