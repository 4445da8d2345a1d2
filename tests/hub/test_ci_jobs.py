"""The README's CI jobs (GitHub Actions, GitLab CI) run `git nbcollab check NAME:vX.Y.Z` on a
version tag: their command lines, taken from the README, run in real clones of a collaboration."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests.box import Box, edit_cell

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def job_lines() -> dict[str, list[str]]:
    """The `git nbcollab` lines of each yaml block of the README, by the CI it is for."""
    blocks = re.findall(r"```yaml\n(.*?)```", README.read_text(), re.S)
    jobs: dict[str, list[str]] = {}
    for block in blocks:
        ci = "github" if "runs-on:" in block else "gitlab"
        lines = [re.sub(r"^\s*- (run: )?", "", line) for line in block.splitlines()]
        jobs[ci] = [line for line in lines if line.startswith("git nbcollab")]
    return jobs


def test_the_readme_has_both_jobs_each_checking_the_tag() -> None:
    jobs = job_lines()
    assert sorted(jobs) == ["github", "gitlab"]
    assert all(len(lines) == 1 and "check" in lines[0] for lines in jobs.values()), jobs


def _publish(box: Box, name: str, broken: bool) -> tuple[str, Path]:
    cid = box.share("alice", ["bob"], f"{name}.ipynb")
    copy = box.home("alice") / "notebooks" / name
    if broken:
        edit_cell(copy / f"{name}.ipynb", 2, "raise ValueError('broken')")
        assert box.run("alice", "git", "nbcollab", "sync", cwd=copy).returncode == 0
    done = box.run("alice", "git", "nbpublish", cid, "--", name)
    assert done.returncode == 0, done.stderr
    assert box.run("alice", "git", "fetch", "-q", "origin", cwd=copy).returncode == 0
    return cid, copy


def test_the_github_job_passes_a_good_version_and_fails_a_broken_one(box: Box) -> None:
    (line,) = job_lines()["github"]
    for name, broken in (("cigood", False), ("cibroken", True)):
        _, copy = _publish(box, name, broken)
        env = ["env", f"GITHUB_REF_NAME={name}/v1.0.0"]
        done = box.run("alice", *env, "bash", "-c", line, cwd=copy)
        assert done.returncode == (1 if broken else 0), done.stdout + done.stderr
        assert f"{name}_FINAL.ipynb: {'failed' if broken else 'passed'}" in done.stdout


def test_the_gitlab_job_runs_as_root_in_a_mirror_with_a_runner_account(
    box: Box, tmp_path: Path
) -> None:
    (line,) = job_lines()["gitlab"]
    cid, _ = _publish(box, "cilab", broken=False)
    hub_repo = box.root / "collabs" / f"{cid}.git"
    mirror = tmp_path / "mirror"
    safe = ["git", "-c", "safe.directory=*"]
    upload = "git -c safe.directory=* upload-pack"
    subprocess.run([*safe, "clone", "-q", "--no-local", "-u", upload, str(hub_repo), str(mirror)],
                   check=True)  # fmt: skip
    path = f"{box.bin_dir}:/usr/bin:/bin"
    env = {"PATH": path, "CI_COMMIT_TAG": "cilab/v1.0.0", "NBCOLLAB_RUNNER": box.runner}
    done = subprocess.run(["bash", "-c", line], cwd=mirror, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cilab_FINAL.ipynb: passed" in done.stdout, done.stdout


def test_check_a_version_from_outside_any_clone_fetches_it_from_the_hub(box: Box) -> None:
    _publish(box, "cifar", broken=False)
    done = box.run("alice", "git", "nbcollab", "check", "cifar:v1.0.0", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    refused = box.run("carol", "git", "nbcollab", "check", "cifar:v1.0.0")
    assert refused.returncode == 1 and len(refused.stderr.strip().splitlines()) == 1
