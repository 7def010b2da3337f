"""The demo people sign in on the local OpenID Connect provider's login page, as people do.

Reads the demo data `icp-seed demo` wrote (FILE), registers its `accounts` with the provider
(`infra/local/oidc/accounts.mjs add`), signs each customer, the reviewer and the operator in
through the login page (`accounts.mjs tokens`: Authorization Code with PKCE, client icp-cli, ID
tokens valid a day) and writes FILE back with their tokens in place of the accounts.
"""

import json
import pathlib
import subprocess
import sys

ACCOUNTS = pathlib.Path(__file__).resolve().parent / "oidc" / "accounts.mjs"


def accounts(command, payload):
    done = subprocess.run(
        ["node", str(ACCOUNTS), command], input=json.dumps(payload), capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"demo_sign_in.py: accounts.mjs {command} failed: {done.stderr.strip()}")
    return done.stdout


def main():
    path = pathlib.Path(sys.argv[1])
    demo = json.loads(path.read_text())
    accounts("add", demo.pop("accounts"))
    people = [{"username": c["username"], "password": c["password"]} for c in demo["customers"]]
    people += [demo["signIn"]["reviewer"], demo["signIn"]["operator"]]
    tokens = {t["username"]: t["idToken"] for t in json.loads(accounts("tokens", people))}
    for customer in demo["customers"]:
        customer["token"] = tokens[customer["username"]]
    demo["reviewerToken"] = tokens[demo["signIn"]["reviewer"]["username"]]
    demo["operatorToken"] = tokens[demo["signIn"]["operator"]["username"]]
    path.write_text(json.dumps(demo, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
