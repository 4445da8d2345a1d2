"""Pure parts of backups: chain planning, ref diffs, manifests, key names."""

from __future__ import annotations

from pathlib import Path

import pytest

from git_nbcollab.backup.replay import chain_names, collabs_in, meta_of
from git_nbcollab.backup.spool import Manifest, Spool, Step, plan
from git_nbcollab.errors import UserError
from git_nbcollab.layout import Hub
from git_nbcollab.names import CollabId, entry_name, parse_entry_name, published_key

CID = CollabId("0a1b2c3d")


def manifest(chain: int, seq: int, mirror: str = "/m") -> Manifest:
    return Manifest(CID, chain, seq, {"refs/heads/u/a/main": "1" * 40}, None, 0, {}, mirror)


def grown(chain: int, seq: int, *, total: int, full: int) -> Manifest:
    """A chain whose bundles add up to `total` bytes, `full` of them its full bundle."""
    return manifest(chain, seq)._replace(chain_bytes=total, full_bytes=full)


@pytest.mark.parametrize(
    ("last", "full_every", "step"),
    [
        (None, 100, Step(0, 0, True)),  # the first bundle is full
        (manifest(0, 0), 100, Step(0, 1, False)),
        (manifest(0, 98), 100, Step(0, 99, False)),
        (manifest(0, 99), 100, Step(1, 0, True)),  # every 100 bundles a new chain
        (manifest(3, 0), 1, Step(4, 0, True)),  # full every time
        (manifest(2, 5, mirror="s3://old/p"), 100, Step(3, 0, True)),  # a new mirror: full
        (grown(0, 4, total=50 << 20, full=30 << 20), 100, Step(0, 5, False)),  # 20 MB < 30 MB
        (grown(0, 4, total=70 << 20, full=30 << 20), 100, Step(1, 0, True)),  # 40 MB > 30 MB
        (grown(0, 4, total=(1 << 20) + 10, full=10), 100, Step(0, 5, False)),  # tiny: 1 MB floor
        (grown(0, 4, total=(3 << 20), full=10), 100, Step(1, 0, True)),
    ],
)
def test_plan_puts_the_next_bundle_in_its_chain(
    last: Manifest | None, full_every: int, step: Step
) -> None:
    assert plan(last, full_every, "/m") == step


def test_a_pruned_basis_starts_a_new_chain() -> None:
    assert plan(manifest(0, 3), 100, "/m", basis_gone=True) == Step(1, 0, True)


def test_manifests_round_trip_and_refuse_other_json() -> None:
    m = manifest(1, 2)._replace(bundle_sha256="ab" * 32, bundle_size=10, meta={"id": CID})
    assert Manifest.from_bytes(m.to_bytes()) == m
    for bad in (b"[]", b'{"format": 99}', b'{"format": 1, "collab": "../x"}'):
        with pytest.raises((ValueError, KeyError, TypeError, UserError)):
            Manifest.from_bytes(bad)


def test_key_names_sort_in_chain_order_and_parse_back() -> None:
    names = [entry_name(CID, c, s) for c, s in [(0, 0), (0, 1), (0, 10), (1, 0)]]
    assert names == sorted(names)
    assert names[2] == "collabs/0a1b2c3d/000000/000010"
    assert parse_entry_name(names[2]) == (CID, 0, 10)
    for bad in ("collabs/nothex!!/000000/000000", "published/x/y/z", "collabs/0a1b2c3d/a/b"):
        assert parse_entry_name(bad) is None
    assert (
        published_key("Sales/v1.0.0/Sales_FINAL.ipynb")
        == "published/Sales/v1.0.0/Sales_FINAL.ipynb"
    )


def test_restore_takes_the_newest_chain_and_names_a_gap() -> None:
    keys = {f"{entry_name(CID, c, s)}.json": 1 for c, s in [(0, 0), (0, 1), (1, 0), (1, 1)]}
    keys["published/x"] = 1
    found = collabs_in(keys)
    assert found == {CID: {0: {0, 1}, 1: {0, 1}}}
    assert chain_names(CID, found[CID]) == [entry_name(CID, 1, 0), entry_name(CID, 1, 1)]
    with pytest.raises(UserError, match=r"000001/000001\.json is missing"):
        chain_names(CID, {1: {0, 2}})


def test_collab_json_comes_from_the_newest_entry_that_carried_it() -> None:
    first = manifest(0, 0)._replace(meta={"members": ["a"]})
    later = manifest(0, 1)._replace(meta=None)
    changed = manifest(0, 2)._replace(meta={"members": ["a", "b"]})
    assert meta_of([first, later]) == {"members": ["a"]}
    assert meta_of([first, later, changed, later]) == {"members": ["a", "b"]}
    assert Manifest.from_bytes(later.to_bytes()).meta is None
    with pytest.raises(UserError, match=r"carries no collab\.json"):
        meta_of([later])


def test_a_request_taken_by_an_uploader_that_died_is_still_pending(tmp_path: Path) -> None:
    spool = Spool(Hub(tmp_path))
    (tmp_path / "spool" / "pending").mkdir(parents=True)
    (spool.pending / f".{CID}").touch()  # taken, then the uploader was killed
    (spool.pending / "not-an-id").touch()
    assert spool.requested() == [CID]
    (spool.pending / CID).touch()  # and a new push asked again
    assert spool.requested() == [CID]
