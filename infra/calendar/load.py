"""Writes the working-day calendar's years into the stack's calendar table: each year of the file
(default: cn-working-days.json beside this script) replaces that year's item; years not in the
file stay. The functions read the table once per cold start, so a year added here counts from
their next cold start (at once for new requests on a quiet stack; a deploy or a function update
forces it).

    python3 infra/calendar/load.py --table TABLE [--endpoint URL] [--region REGION] [FILE]

`make up` runs it against LocalStack; `make deploy` against AWS (the table is the stack's
CalendarTableName output). Needs boto3 (the LocalStack and SAM virtualenvs have it).
"""

import argparse
import datetime
import json
import pathlib
import sys

import boto3

DEFAULT_FILE = pathlib.Path(__file__).with_name("cn-working-days.json")


def checked(year: dict) -> dict:
    """The year's entry if it is well formed (the functions refuse a calendar that is not)."""
    number = year["year"]
    dates = [d for run in year["daysOff"] for d in (run["from"], run["to"])] + year["workdays"]
    for text in dates:
        date = datetime.date.fromisoformat(text)
        if date.year != number:
            sys.exit(f"load.py: {text} is not in {number}")
    for text in year["workdays"]:
        if datetime.date.fromisoformat(text).weekday() < 5:
            sys.exit(f"load.py: the make-up working day {text} is not a Saturday or Sunday")
    if not year.get("source"):
        sys.exit(f"load.py: {number} names no source")
    return year


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", required=True)
    parser.add_argument("--endpoint")
    parser.add_argument("--region")
    parser.add_argument("file", nargs="?", default=DEFAULT_FILE, type=pathlib.Path)
    args = parser.parse_args()
    years = [checked(y) for y in json.loads(args.file.read_text())["years"]]
    table = boto3.resource("dynamodb", endpoint_url=args.endpoint, region_name=args.region).Table(args.table)
    for year in years:
        table.put_item(Item={"year": year["year"], "schedule": json.dumps(year, ensure_ascii=False)})
    print(f"load.py: calendar years {', '.join(str(y['year']) for y in years)} written to {args.table}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
