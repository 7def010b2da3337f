"""The README stays a newcomer's page: at most 250 lines, and every link it has leads to a file
of this repository (nothing outside it, nothing missing)."""
import pathlib
import re
import sys

MAX_LINES = 250
root = pathlib.Path(__file__).resolve().parents[2]
text = (root / "README.md").read_text()
problems = []
lines = text.count("\n")
if lines > MAX_LINES:
    problems.append(f"README.md has {lines} lines, more than {MAX_LINES}")
links = re.findall(r"\]\(([^)\s]+)\)", text)
for target in links:
    if re.match(r"[a-z][a-z0-9+.-]*:", target, re.I) or target.startswith("//"):
        problems.append(f"README.md links outside the repository: {target}")
    elif not (root / target.split("#")[0]).exists():
        problems.append(f"README.md links to a missing file: {target}")
for problem in problems:
    print(problem)
if not problems:
    print(f"check_readme: {lines} lines, {len(links)} links, each to a file of the repository")
sys.exit(1 if problems else 0)
