"""One agent runner per platform row (session-wide), the simulator per test;
every run of a test is scanned for the secrets it was given."""

import pytest

from agentrun import SENTINEL_PASSWORD, secrets_found

from .rows import ROWS, VERSIONS_CODE, Unavailable, required

MEASURED = {}  # row name -> versions the row really ran with
STACKS = {}    # root row name -> versions of its Pacemaker stack


@pytest.fixture(scope="session", params=ROWS, ids=[row.name for row in ROWS])
def platform_runner(request):
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


class Watched:
    """A row's runner that keeps every run of one test with its passwords."""

    def __init__(self, runner):
        self.runner = runner
        self.runs = []

    def run(self, args=None, stdin=None, **kwargs):
        result = self.runner.run(args, stdin, **kwargs)
        self.runs.append((result, passwords_given(args, stdin)))
        return result

    def __getattr__(self, name):
        return getattr(self.runner, name)


def passwords_given(args, stdin):
    args = list(args or [])
    passwords = [args[i + 1] for i, arg in enumerate(args[:-1]) if arg in ("-p", "--password")]
    if isinstance(stdin, bytes):
        lines = stdin.decode("utf-8", "surrogateescape").splitlines()
        stdin = dict(line.partition("=")[::2] for line in lines)
    if stdin:
        passwords += [stdin[name] for name in ("passwd", "password") if name in stdin]
    return passwords


@pytest.fixture
def platform(platform_runner, sim_factory):
    """The row's runner. After the test: no run printed a password it was
    given (nor the sentinel one) or a token a simulator issued."""
    watched = Watched(platform_runner)
    yield watched
    tokens = [token for sim in sim_factory.started for token in sim.issued_tokens()]
    for result, passwords in watched.runs:
        secrets = [SENTINEL_PASSWORD] + passwords + tokens
        leaks = secrets_found([result.output], secrets + [escaped(s) for s in secrets])
        assert not leaks, "secret %r shown by %r" % (leaks, result)


def escaped(secret):
    """A secret as an ASCII stream shows it (Python 3.6 under a C locale)."""
    return secret.encode("ascii", "backslashreplace").decode("ascii")


@pytest.fixture
def sim_factory(sim_factory):
    """tests/conftest.py's, remembering the simulators it started."""
    started = []

    def start(**kwargs):
        sim = sim_factory(**kwargs)
        started.append(sim)
        return sim
    start.started = started
    return start


def pytest_terminal_summary(terminalreporter):
    if MEASURED:
        terminalreporter.write_sep("-", "platforms run")
        for name in sorted(MEASURED):
            terminalreporter.write_line("%-9s %s" % (name, MEASURED[name]))
    for name in sorted(STACKS):
        terminalreporter.write_line("%-9s %s" % (name, STACKS[name]))
