"""Tests for git_nbcollab.checks.scan: the secrets scanner (true positives, per cell and
place, and no false positives on real notebooks) and the sanitisers of `reproduces`."""

from __future__ import annotations

import json
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pytest

from git_nbcollab.checks import scan
from git_nbcollab.checks.report import Finding
from tests.box import FIXTURES

# Built from parts, so that no scanner flags this file: each is a well-formed secret.
AWS_ID = "AKIA" + "IOSFODNN7EXAMPLE"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/" + "bPxRfiCYEXAMPLEKEY"
GITHUB = "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8"
SLACK = "xoxb-" + "123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
GITLAB = "glpat-" + "x1Y2z3A4b5C6d7E8f9G0"
KEY = "-----BEGIN OPENSSH " + "PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU=\n-----END"


def code(source: str, *outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "cell_type": "code",
        "execution_count": 1,
        "id": "c",
        "metadata": {},
        "outputs": list(outputs),
        "source": source,
    }


def stream(text: str, name: str = "stdout") -> dict[str, Any]:
    return {"name": name, "output_type": "stream", "text": text}


def result(data: dict[str, Any]) -> dict[str, Any]:
    return {"data": data, "execution_count": 1, "metadata": {}, "output_type": "execute_result"}


def nb(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"cells": list(cells), "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.mark.parametrize(
    ("cell", "kind", "where"),
    [
        (code(f"key = '{AWS_ID}'"), "AWS access key id", "source"),
        (code(f"aws_secret_access_key = {AWS_SECRET}\n"), "AWS secret access key", "source"),
        (code(f"open('id').write('''{KEY}''')"), "private key", "source"),
        (code("print(t)", stream(f"token: {GITHUB}\n")), "GitHub token", "output 1"),
        (code("x", result({"text/plain": [f"'{SLACK}'"]})), "Slack token", "output 1"),
        (code("x", result({"text/html": f"<b>{GITLAB}</b>"})), "GitLab token", "output 1"),
        (
            code("engine = create_engine('postgresql://etl:Hunter2x9@db.internal:5432/sales')"),
            "password in a URL",
            "source",
        ),
        (
            code(
                "1/0",
                {
                    "output_type": "error",
                    "ename": "E",
                    "evalue": f"bad key {AWS_ID}",
                    "traceback": [],
                },
            ),
            "AWS access key id",
            "output 1",
        ),
    ],
)
def test_each_kind_of_secret_is_found_in_its_cell_and_place(
    cell: dict[str, Any], kind: str, where: str
) -> None:
    notebook = nb({"cell_type": "markdown", "id": "m", "metadata": {}, "source": "# Intro"}, cell)
    found = scan.secrets(notebook)
    assert [f.cell for f in found] == [2]
    assert found[0].message.startswith(f"{kind} in the {where} (")


def test_a_secret_is_never_printed_whole() -> None:
    found = scan.secrets(nb(code(f"k = '{AWS_ID}'; t = '{GITHUB}'")))
    assert len(found) == 2
    for finding in found:
        assert AWS_ID not in finding.message and GITHUB not in finding.message


def test_one_secret_in_source_and_output_is_two_findings_one_per_place() -> None:
    found = scan.secrets(nb(code(f"print('{AWS_ID}')", stream(AWS_ID + "\n"))))
    assert [f.message.split(" (")[0] for f in found] == [
        "AWS access key id in the source",
        "AWS access key id in the output 1",
    ]


@pytest.mark.parametrize(
    "source",
    [
        "url = 'postgresql://user:password@localhost/db'",
        "url = 'postgresql://user:***@localhost/db'",
        "url = f'postgresql://{user}:{password}@{host}/db'",
        "url = 'mysql://root:${DB_PASSWORD}@db/x'",
        "url = 'https://user:<password>@example.org/'",
        "url = 'https://example.org/path?x=1'  # no credentials",
        "key = 'AKIA'  # too short to be a key",
        "address = '<object at 0x7f3a2b1c9d00>'",
        "sha = 'ghp_short'",
        "header = '-----BEGIN PUBLIC KEY-----'",
    ],
)
def test_ordinary_code_is_not_a_secret(source: str) -> None:
    assert scan.secrets(nb(code(source))) == []


def _real_notebooks() -> list[Path]:
    spec = find_spec("nbdime")
    assert spec and spec.submodule_search_locations
    nbdime = Path(next(iter(spec.submodule_search_locations)), "tests", "files")
    return sorted((FIXTURES / "notebooks").glob("*.ipynb")) + sorted(nbdime.glob("*.ipynb"))


def test_no_false_positives_on_real_notebooks() -> None:
    notebooks = _real_notebooks()
    assert len(notebooks) > 20
    flagged = {}
    for path in notebooks:
        doc = json.loads(path.read_bytes())
        if doc.get("nbformat") == 4 and (found := scan.secrets(doc)):
            flagged[path.name] = found
    assert flagged == {}


def test_images_are_not_scanned_but_their_text_is() -> None:
    image = result({"image/png": "iVBOR" + AWS_ID, "text/plain": "<Figure>"})
    assert scan.secrets(nb(code("plot()", image))) == []


def test_sizes_name_each_output_over_the_limit() -> None:
    big = stream("x" * 2 * 1024 * 1024)
    found = scan.sizes(nb(code("a", stream("small")), code("b", stream("ok"), big)), 1)
    assert found == [Finding(2, "output 2 is 2.0 MB, over the 1 MB limit")]


@pytest.mark.parametrize(
    ("published", "rerun"),
    [
        ("run at 2025-03-01 10:22:01.123456\n", "run at 2026-11-26T03:41:00Z\n"),
        ("started 10:22:01\n", "started 03:41:59\n"),
        ("<__main__.A object at 0x7f3a2b1c9d00>", "<__main__.A object at 0x55d0c0ffee10>"),
        ("saved /tmp/tmpa1b2c3/out.csv\n", "saved /tmp/tmpzz99/out.csv\n"),
        ("cache /var/folders/x1/T/abc\n", "cache /tmp/q/abc\n"),
    ],
)
def test_sanitisers_hide_what_changes_between_runs(published: str, rerun: str) -> None:
    assert scan.sanitise(published) == scan.sanitise(rerun)


@pytest.mark.parametrize(
    ("published", "rerun"),
    [
        ("total 117\n", "total 118\n"),
        ("2025-03-01\n", "2025-03-02\n"),  # a date alone is data, not a timestamp
        ("saved /home/alice/out.csv\n", "saved /home/bob/out.csv\n"),
        ("id 0x10\n", "id 0x11\n"),  # small hex numbers are values, not addresses
    ],
)
def test_sanitisers_keep_real_differences(published: str, rerun: str) -> None:
    assert scan.sanitise(published) != scan.sanitise(rerun)


def test_the_run_folder_is_sanitised_wherever_it_is() -> None:
    assert scan.sanitise("wrote /srv/run/x/work/a.csv", ("/srv/run/x/work",)) == (
        "wrote TEMPPATH/a.csv"
    )


def test_differences_join_split_streams_and_skip_counts_and_unrun_cells() -> None:
    published = nb(
        code("print(1); print(2)", stream("1\n2\n")),
        {**code("never run"), "execution_count": None},
        code("x", result({"text/plain": "117", "image/png": "AAAA"})),
    )
    rerun = nb(
        code("print(1); print(2)", stream("1\n"), stream("2\n")),
        code("never run", stream("now it prints\n")),
        {**code("x", result({"text/plain": "117", "image/png": "BBBB"})), "execution_count": 7},
    )
    assert scan.differences(published, rerun, images=False) == []
    assert scan.differences(published, rerun, images=True) == [
        Finding(3, "image/png differs: published 'AAAA', the run gave 'BBBB'")
    ]


def test_differences_say_what_the_run_gave() -> None:
    published = nb(code("a", stream("total 117\n")), code("b", stream("x\n")), code("c"))
    rerun = nb(code("a", stream("total 118\n")), code("b"), code("c", stream("new\n")))
    assert scan.differences(published, rerun, images=False) == [
        Finding(1, "stream stdout differs: published 'total 117', the run gave 'total 118'"),
        Finding(2, "the run gave no stream stdout (published 1 outputs)"),
        Finding(3, "the run gave a new stream stdout output"),
    ]
