"""The end-to-end demo behind `scripts/demo`: each step is printed with who runs it."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.box import FIXTURES, Box, edit_cell

ADD_CELL = """
import json
nb = json.load(open("analysis.ipynb"))
nb["cells"].append({"cell_type": "markdown", "id": "bob-note", "metadata": {},
                    "source": "Bob: the third quarter needs a second look."})
json.dump(nb, open("analysis.ipynb", "w"), indent=1)
"""


def step(
    box: Box, short: str, *cmd: str, cwd: Path | None = None, expect: int = 0, shown: str = ""
) -> str:
    where = f" (in {cwd.name})" if cwd else ""
    print(f"\n$ {short}{where}: {shown or ' '.join(cmd).replace(box.prefix, '')}")
    done = box.run(short, *cmd, cwd=cwd)
    output = (done.stdout + done.stderr).replace(box.prefix, "").rstrip()
    print("  " + output.replace("\n", "\n  ") if output else "  (no output)")
    if done.returncode != expect:
        raise SystemExit(f"demo failed: exit {done.returncode}, expected {expect}")
    return done.stdout


def demo(box: Box) -> None:
    alice, bob = box.user("alice"), box.user("bob")
    print(f"\nteammates are unix users {alice}, {bob}, ... (shown without the '{box.prefix}')")
    box.put("alice", FIXTURES / "notebooks" / "sales.ipynb", "analysis.ipynb")
    step(box, "alice", "ls", "-l")
    step(box, "alice", "git", "nbshare", bob, "analysis.ipynb")
    step(box, "bob", "git", "nbcollab", "list")
    step(box, "bob", "git", "nbcollab", "clone", f"{alice},{bob}:analysis")
    copy = box.home("bob") / "notebooks" / "analysis"
    step(box, "bob", "python3", "-c", ADD_CELL, cwd=copy, shown="(adds a markdown cell)")
    step(box, "bob", "git", "status", "--short", cwd=copy)
    step(box, "bob", "git", "commit", "-qam", "A note on Q3", cwd=copy)
    step(box, "bob", "git", "push", cwd=copy)
    mine = box.home("alice") / "notebooks" / "analysis"
    step(box, "alice", "git", "fetch", "-q", cwd=mine)
    step(box, "alice", "git", "log", "--oneline", "--all", cwd=mine)
    step(box, "bob", "git", "push", "origin", f"HEAD:u/{alice}/main", cwd=copy, expect=1)
    step(box, "carol", "git", "nbcollab", "clone", f"{alice},{bob}:analysis", expect=1)
    step(box, "carol", "ls", str(box.root / "collabs"), expect=2)
    print("\n(alice edits the first cell, as she would in Jupyter)")
    edit_cell(mine / "analysis.ipynb", 0, "# Sales analysis\nReviewed by alice.")
    step(box, "alice", "git", "nbcollab", "sync", cwd=mine)
    step(box, "alice", "git", "nbpublish", "-m", "Q3 numbers", "--", "analysis", cwd=mine)
    step(box, "bob", "git", "nbcollab", "sync", cwd=copy)
    print("\n(bob edits the third cell)")
    edit_cell(copy / "analysis.ipynb", 2, "print(max(sales), min(sales))")
    step(box, "bob", "git", "nbcollab", "sync", cwd=copy)
    step(box, "bob", "git", "nbpublish", "-version", "HOTFIX", "--", "analysis", cwd=copy)
    step(box, "carol", "git", "nbcollab", "versions", "analysis")
    step(box, "carol", "ls", "-l", "shared/analysis/latest/")
    for action in ("run", "status", "verify"):
        print(f"\n$ root: git nbcollab backup {action}")
        if box.admin("backup", action) != 0:
            raise SystemExit(f"demo failed: backup {action}")
    print(
        "\ndone: bob's cell reached alice through the hub; carol saw nothing of the work, and"
        " reads the published versions; the mirror replays to the same refs."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--keep", action="store_true", help="pause before removing the box")
    args = parser.parse_args()
    if shutil.which("runuser") is None:
        raise SystemExit("run scripts/demo as root on Debian: it creates throwaway unix users")
    with Box.started(keep=args.keep) as box:
        demo(box)


if __name__ == "__main__":
    main()
