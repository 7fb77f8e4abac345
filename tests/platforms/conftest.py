"""One agent runner per platform row (session-wide), the simulator per test."""

import pytest

from agentrun import fencing_world

from .rows import ROWS, VERSIONS_CODE, Unavailable, required

MEASURED = {}  # row name -> versions the row really ran with
STACKS = {}    # root row name -> versions of its Pacemaker stack


@pytest.fixture(scope="session", params=ROWS, ids=[row.name for row in ROWS])
def platform(request):
    row = request.param
    try:
        runner = row.make_runner()
    except Unavailable as missing:
        message = "platform row without its material in this clone: %s (%s): %s" % (
            row.name, row.title, missing)
        if required():
            pytest.fail(message + " [FENCE_CLC_REQUIRE_PLATFORMS=1]")
        pytest.skip(message)
    MEASURED[row.name] = "%s: %s" % (row.title, runner.python_code(VERSIONS_CODE))
    return runner


@pytest.fixture
def clc(sim_factory):
    return sim_factory(config=fencing_world())


@pytest.fixture
def clc_tls(sim_factory):
    return sim_factory(config=fencing_world(), tls=True)


@pytest.fixture
def token_dir(tmp_path):
    path = tmp_path / "tokens"
    path.mkdir(mode=0o700)
    return str(path)


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.write_sep("-", "platforms run")
        for name in sorted(MEASURED):
            terminalreporter.write_line("%-9s %s" % (name, MEASURED[name]))
    for name in sorted(STACKS):
        terminalreporter.write_line("%-9s %s" % (name, STACKS[name]))
