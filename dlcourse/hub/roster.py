"""Create the course in ngshare and enrol its students, checked (run by an ngshare admin).

::

    python -m dlcourse.hub.roster --course dlcourse --instructor instructor --students students.csv

``students.csv`` has the columns ``student_id,first_name,last_name,email`` (the format of
ngshare's own ``ngshare-course-management add_students``). The course is created if ngshare does
not have it yet (only ngshare admins may), the students are added or updated, and then ngshare is
asked for the course's instructors and students: the command exits 0 only when every one of them
is listed. ``ngshare-course-management`` exits 0 when a student could not be added; this does not.

ngshare is reached at ``--url`` (default: ``$DLCOURSE_NGSHARE_URL``) with the token in
``$JUPYTERHUB_API_TOKEN``, which every user's server has: run it in the instructor's terminal.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from pathlib import Path

import requests

__all__ = ["read_roster", "enrol", "main"]

COLUMNS = ("student_id", "first_name", "last_name", "email")
TIMEOUT = 60.0  # seconds per request


class RosterError(RuntimeError):
    """ngshare refused a step, or does not list what it was given."""


def read_roster(path: Path) -> list[dict]:
    """The students of ``path`` as ngshare wants them (``username``, names, email)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"students must be a CSV with columns {list(COLUMNS)}, {path} lacks {missing}")
        rows = [row for row in reader if any((v or "").strip() for v in row.values())]
    students = []
    for n, row in enumerate(rows, start=2):
        sid = row["student_id"].strip()
        if not sid:
            raise ValueError(f"{path}, line {n}: student_id is empty")
        students.append(
            {
                "username": sid,
                "first_name": row["first_name"] or "",
                "last_name": row["last_name"] or "",
                "email": row["email"] or "",
            }
        )
    if not students:
        raise ValueError(f"students: {path} lists no student")
    return students


def _call(
    method: str, url: str, endpoint: str, token: str, data: dict | None = None, allow: tuple[int, ...] = ()
) -> dict:
    try:
        r = requests.request(
            method, url + endpoint, data=data, timeout=TIMEOUT, headers={"Authorization": f"token {token}"}
        )
    except requests.RequestException as exc:
        raise RosterError(f"ngshare did not answer {method} {endpoint} at {url}: {exc}") from exc
    try:
        body = r.json()
    except ValueError:
        body = {"message": "answer is not JSON: " + " ".join(r.text.split())[:160]}
    if r.status_code in allow:
        return body
    if r.status_code != 200 or body.get("success") is not True:
        raise RosterError(
            f"ngshare refused {method} {endpoint} (HTTP {r.status_code}): {body.get('message', 'no message')}"
        )
    return body


def enrol(url: str, token: str, course: str, instructor: str, students: list[dict]) -> None:
    """Create ``course`` (if needed) with ``instructor``, add ``students``, and check both lists."""
    url = url.rstrip("/")
    created = _call(
        "POST", url, f"/course/{course}", token, {"instructors": json.dumps([instructor])}, allow=(409,)
    )  # 409: the course exists already
    print(f"course {course}: " + ("created" if created.get("success") else "exists already"))
    status = _call("POST", url, f"/students/{course}", token, {"students": json.dumps(students)})["status"]
    refused = [f"{s['username']} ({s.get('message', 'no message')})" for s in status if not s.get("success")]
    if refused:
        raise RosterError(f"ngshare did not enrol {', '.join(refused)} in {course}")
    teachers = {i["username"] for i in _call("GET", url, f"/instructors/{course}", token)["instructors"]}
    enrolled = {s["username"] for s in _call("GET", url, f"/students/{course}", token)["students"]}
    if instructor not in teachers:
        raise RosterError(
            f"ngshare does not list {instructor} as an instructor of {course} "
            f"(instructors: {sorted(teachers)})"
        )
    missing = sorted({s["username"] for s in students} - enrolled)
    if missing:
        raise RosterError(f"ngshare does not list {missing} as students of {course}")
    print(
        f"course {course}: instructor {instructor}; {len(enrolled)} students enrolled, "
        f"all {len(students)} of {len(students)} from the roster listed by ngshare"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dlcourse.hub.roster", description=__doc__.split("\n")[0])
    parser.add_argument("--course", required=True, help="course id (nbgrader's CourseDirectory.course_id)")
    parser.add_argument("--instructor", required=True, help="the instructor's JupyterHub user name")
    parser.add_argument(
        "--students", required=True, type=Path, help="CSV: student_id,first_name,last_name,email"
    )
    parser.add_argument(
        "--url",
        default=os.environ.get("DLCOURSE_NGSHARE_URL"),
        help="ngshare's URL (default: $DLCOURSE_NGSHARE_URL)",
    )
    args = parser.parse_args(argv)
    token = os.environ.get("JUPYTERHUB_API_TOKEN")
    try:
        if not args.url:
            raise ValueError("url: give --url or set DLCOURSE_NGSHARE_URL (ngshare's address)")
        if not token:
            raise ValueError(
                "JUPYTERHUB_API_TOKEN is not set: run this in a terminal of your JupyterHub server"
            )
        enrol(args.url, token, args.course, args.instructor, read_roster(args.students))
    except (ValueError, OSError, RosterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
