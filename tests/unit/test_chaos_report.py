"""The chaos run rewrites its section of docs/reliability.md and keeps the sections after it."""

from __future__ import annotations

from onebudget.chaos.__main__ import INTRO, with_last_run


def test_a_new_run_replaces_the_last_and_keeps_what_follows() -> None:
    old = f"{INTRO}\n## The last run\n\nold figures\n\n## Tampering\n\nby hand\n"
    new = with_last_run(old, "new figures")
    assert new == f"{INTRO}\n## The last run\n\nnew figures\n\n## Tampering\n\nby hand\n"


def test_a_file_without_later_sections_gets_only_the_run() -> None:
    assert with_last_run("", "figures") == f"{INTRO}\n## The last run\n\nfigures\n"
    old = f"{INTRO}\n## The last run\n\nold\n"
    assert with_last_run(old, "figures") == f"{INTRO}\n## The last run\n\nfigures\n"
