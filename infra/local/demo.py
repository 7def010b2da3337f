"""`make demo`: on a running stack, one request of each type from submit to completed, plus
one rejected at first review and resubmitted, through the public API as a customer, a
reviewer and the authority (simulator) would. Prints each status change, then the SMS and
emails that went out, read back from LocalStack's /_aws/sns/sms-messages and /_aws/ses.
"""

import json
import os
import sys
import time
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from api_client import ApiClient  # noqa: E402 (the one Python client of the stack's API)

DEMO_FILE = sys.argv[1] if len(sys.argv) > 1 else ".local/demo.json"
WAIT_SECONDS = 60


def sent_emails(localstack):
    with urllib.request.urlopen(f"{localstack}/_aws/ses") as r:
        return json.load(r)["messages"]


def wait_for_email(localstack, to, subject_part):
    """Notifications go out just after the status they announce: wait for one (bounded)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if any(to in m["Destination"]["ToAddresses"] and subject_part in m["Subject"]
               for m in sent_emails(localstack)):
            return
        time.sleep(0.3)
    sys.exit(f"demo: no email to {to} with {subject_part!r} within {WAIT_SECONDS}s")


class Demo:
    def __init__(self, demo):
        self.demo = demo
        self.api = ApiClient(demo["apiUrl"])
        self.reviewer = demo["reviewerToken"]

    def call(self, method, path, token=None, body=None, headers=None):
        status, answer, _ = self.api.call(method, path, token, body, headers)
        return status, answer

    def review_waits(self, website):
        """As a reviewer would, act on the 'awaiting first review' email."""
        wait_for_email(self.demo["localstackUrl"], self.demo["reviewerEmail"], website["domain"])

    def expect(self, what, status, body, wanted):
        if status != wanted:
            sys.exit(f"demo: {what} answered {status}: {json.dumps(body, ensure_ascii=False)}")
        return body

    def follow(self, label, token, request_id, until, seen):
        """Prints each new status of the request until it reaches `until`."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            status, body = self.call("GET", f"/requests/{request_id}", token)
            self.expect("GET /requests/{id}", status, body, 200)
            for entry in body["history"][len(seen):]:
                seen.append(entry)
                print(f"  {label:<34} {entry['status']:<24} {entry['actor']:<32} {entry['note']}")
            if body["status"] == until:
                return body
            time.sleep(0.3)
        sys.exit(f"demo: {label} did not reach {until} within {WAIT_SECONDS}s")

    def run(self, customer, website, request_type, label, reject_first=False, service_ips=None):
        token = customer["token"]
        body = {"type": request_type, "websiteId": website["websiteId"], "licensePassword": customer["licensePassword"]}
        if service_ips:
            body["serviceIps"] = service_ips
        status, answer = self.call("POST", "/requests", token, body, {"Idempotency-Key": str(uuid.uuid4())})
        request_id = self.expect("POST /requests", status, answer, 202)["requestId"]
        label = f"{label} {website['domain']}"
        seen = []
        self.follow(label, token, request_id, "pending_first_review", seen)
        self.review_waits(website)
        if reject_first:
            reasons = ["The website owner's ID photo is blurred; please upload a clear copy."]
            status, answer = self.call("POST", f"/reviews/{request_id}/decision", self.reviewer,
                                  {"decision": "reject", "reasons": reasons})
            self.expect("reject", status, answer, 200)
            self.follow(label, token, request_id, "first_review_rejected", seen)
            status, answer = self.call("POST", f"/requests/{request_id}/resubmit", token,
                                  {"licensePassword": customer["licensePassword"]})
            self.expect("resubmit", status, answer, 202)
            self.follow(label, token, request_id, "pending_first_review", seen)
        status, answer = self.call("POST", f"/reviews/{request_id}/decision", self.reviewer, {"decision": "approve"})
        self.expect("approve", status, answer, 200)
        forwarded = self.follow(label, token, request_id, "forwarded_to_authority", seen)
        decide = f"/authority-sim/submissions/{forwarded['submissionId']}/decision"
        status, answer = self.call("POST", decide, self.demo["operatorToken"], {"decision": "approved"})
        self.expect("authority simulator", status, answer, 200)
        self.follow(label, token, request_id, "completed", seen)
        wait_for_email(self.demo["localstackUrl"], customer["email"], "申请已完成：")


def free_websites(customer, demo):
    status, body = demo.call("GET", "/websites", customer["token"])
    return [w for w in body.get("websites", []) if w["openRequest"] is None] if status == 200 else []


def main():
    demo = json.load(open(DEMO_FILE))
    d = Demo(demo)
    first, second = demo["customers"][0], demo["customers"][1]
    mine, theirs = free_websites(first, d), free_websites(second, d)
    if len(mine) < 3 or len(theirs) < 1:
        sys.exit("demo: not enough active websites left (each run clears two): make down && make up")
    print("Requests and their status changes (request, status, actor, note):")
    d.run(first, mine[0], "website_cancellation", "注销网站 Website cancellation")
    d.run(first, mine[1], "access_cancellation", "取消接入 Access cancellation")
    d.run(first, mine[2], "access_change", "变更接入 Access change", service_ips=["203.0.113.200", "2001:db8::200"])
    d.run(second, theirs[0], "access_cancellation", "取消接入 (rejected, resubmitted)", reject_first=True)

    with urllib.request.urlopen(f"{demo['localstackUrl']}/_aws/sns/sms-messages") as r:
        sms = json.load(r)["sms_messages"]
    emails = sent_emails(demo["localstackUrl"])
    print("\nSMS sent (LocalStack SNS):")
    for c in (first, second):
        for m in sms.get(c["phone"], []):
            print(f"  to {c['phone']}: {m['Message']}")
    print("\nEmails sent (LocalStack SES):")
    wanted = {first["email"], second["email"], demo["reviewerEmail"]}
    for m in emails:
        to = ", ".join(m["Destination"]["ToAddresses"])
        if wanted & set(m["Destination"]["ToAddresses"]):
            print(f"  to {to}: {m['Subject']}")


if __name__ == "__main__":
    main()
