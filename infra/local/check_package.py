"""After `DEPLOY_PACKAGE_ONLY=1 infra/deploy.sh`: every function in the packaged template points
at an artifact in the bucket, a zip holding an executable `bootstrap` ELF for the architecture
built, so `sam deploy` would find each one. Exits non-zero, naming what is wrong, otherwise."""

import io
import sys
import zipfile

import boto3
import yaml

ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}


def main():
    packaged, endpoint, arch = sys.argv[1:4]
    template = yaml.load(open(packaged), Loader=yaml.BaseLoader)  # keeps !Ref and friends as text
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    functions = {name: r["Properties"]["CodeUri"] for name, r in template["Resources"].items()
                 if r["Type"] == "AWS::Serverless::Function"}
    problems = []
    for name, uri in sorted(functions.items()):
        if not uri.startswith("s3://"):
            problems.append(f"{name}: CodeUri {uri} is not an S3 artifact")
            continue
        bucket, key = uri[len("s3://"):].split("/", 1)
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        with zipfile.ZipFile(io.BytesIO(body)) as z:
            info = z.getinfo("bootstrap")
            head = z.read("bootstrap")[:20]
        mode = info.external_attr >> 16
        machine = int.from_bytes(head[18:20], "little")
        if head[:4] != b"\x7fELF" or machine != ELF_MACHINE[arch]:
            problems.append(f"{name}: bootstrap is not an {arch} ELF binary")
        if not mode & 0o111:
            problems.append(f"{name}: bootstrap is not executable in the zip")
        print(f"package: {name:<32} {uri} ({len(body) / 1e6:.1f} MB zipped)")
    if problems:
        sys.exit("check_package.py:\n  " + "\n  ".join(problems))
    print(f"package: all {len(functions)} functions resolve to {arch} artifacts")


if __name__ == "__main__":
    main()
