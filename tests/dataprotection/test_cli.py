"""`shieldwall privacy` and `shieldwall retention`, run as an administrator would."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factories import bundle, indicator
from tests.test_cli import run


def test_find_erase_and_retention_from_the_command_line(database_url: str, tmp_path: Path) -> None:
    run("init", database_url=database_url)
    run("member", "add", "CERT North", "--kind", "national-cert", database_url=database_url)
    run("user", "add", "a@north.example", "--member", "CERT North", "--role", "analyst",
        database_url=database_url)  # fmt: skip
    ioc = indicator("198.51.100.99") | {"description": "reported by maria.garcia@victim.example"}
    path = tmp_path / "bundle.json"
    path.write_text(json.dumps(bundle(ioc)))
    run("import", str(path), "--user", "a@north.example", database_url=database_url)
    found = json.loads(run("privacy", "find", "maria.garcia@victim.example", "--json",
                           database_url=database_url).stdout)  # fmt: skip
    assert [(f["id"], f["properties"]) for f in found] == [(ioc["id"], ["description"])]
    refused = run("privacy", "erase", "maria.garcia@victim.example", "--reason", "x",
                  database_url=database_url, check=False)  # fmt: skip
    assert refused.returncode == 1 and "reason" in refused.stderr
    erased = run("privacy", "erase", "maria.garcia@victim.example", "--reason",
                 "data subject request DP-7", database_url=database_url)  # fmt: skip
    assert "1 version(s)" in erased.stdout
    assert json.loads(run("privacy", "find", "maria.garcia@victim.example", "--json",
                          database_url=database_url).stdout) == []  # fmt: skip
    run("retention", "set", "30", "--type", "indicator", database_url=database_url)
    rules = json.loads(run("retention", "list", "--json", database_url=database_url).stdout)
    assert rules == [{"days": 30, "member_id": None, "type": "indicator"}]
    assert "removed 0" in run("retention", "run", database_url=database_url).stdout
    unknown = run("retention", "set", "5", "--member", "Nobody", database_url=database_url,
                  check=False)  # fmt: skip
    assert unknown.returncode == 1 and "Nobody" in unknown.stderr
    run("audit", "verify", database_url=database_url)
