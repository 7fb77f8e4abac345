"""What `make check` guards, as tests: the checked-in metadata is the
agent's and is valid, the README's options table is generated from it, and
the agent stays within Python 3.6 syntax (RHEL 8's platform-python)."""

import ast
import os

from agentrun import AGENT, REPO, run_agent
from pkgbuild import METADATA, run

RNG = "/usr/share/cluster/relaxng/metadata.rng"
README = os.path.join(REPO, "README.md")
OPTIONS_TABLE = os.path.join(REPO, "tools", "options_table.py")
VERMIN = os.path.join(REPO, ".tools", "bin", "vermin")


def options_table(*args):
    return run(["/usr/bin/python3", OPTIONS_TABLE] + list(args))


def read(path):
    with open(path) as f:
        return f.read()


def test_checked_in_metadata_is_the_agents():
    metadata = run_agent(["-o", "metadata"])
    assert metadata.rc == 0, metadata
    assert metadata.stdout == read(METADATA), "refresh it with: make metadata"


def test_checked_in_metadata_validates():
    result = run(["xmllint", "--noout", "--relaxng", RNG, METADATA])
    assert result.returncode == 0, result.stderr


def test_readme_options_table_is_up_to_date():
    result = options_table("--check", README)
    assert result.returncode == 0, result.stdout + result.stderr


def test_readme_table_lists_each_current_option_with_its_default():
    table = options_table("--metadata", METADATA).stdout
    assert "| `api_url` | `--api-url=[url]` | `https://api.ctl.io` |" in table
    assert "| `plug` (or `port`) | `-n`, `--plug=[id]` |" in table
    assert "`onoff`, `cycle`" in table
    assert "| `port`" not in table  # deprecated spellings only next to their successor


def test_check_fails_when_the_metadata_changes(tmp_path):
    changed = tmp_path / "fence_clc.xml"
    changed.write_text(read(METADATA).replace("CLC API base URL", "API endpoint"))
    result = options_table("--metadata", str(changed), "--check", README)
    assert result.returncode == 1
    assert "+| `api_url` | `--api-url=[url]` | `https://api.ctl.io` | API endpoint - set it" \
        in result.stdout
    assert "--write" in result.stderr


def test_write_replaces_only_the_table(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# Title\n\n<!-- options:begin generated -->\nstale\n"
                      "<!-- options:end -->\n\nAfter.\n")
    assert options_table("--metadata", METADATA, "--write", str(readme)).returncode == 0
    text = readme.read_text()
    assert text.startswith("# Title\n\n<!-- options:begin generated -->\n\n| stdin name |")
    assert text.endswith("|\n\n<!-- options:end -->\n\nAfter.\n")
    assert "stale" not in text
    assert options_table("--metadata", METADATA, "--check", str(readme)).returncode == 0


def test_agent_parses_as_python_3_6():
    ast.parse(read(AGENT), filename=AGENT, feature_version=(3, 6))


def test_agent_needs_nothing_newer_than_python_3_6():
    assert os.path.exists(VERMIN), "vermin is missing: make test installs it (make .tools/bin/vermin)"
    result = run([VERMIN, "-q", "--no-tips", "--target=3.6-", "--violations", AGENT])
    assert result.returncode == 0, result.stdout + result.stderr
