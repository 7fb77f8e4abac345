"""The power POST outcome table, in-process (milliseconds each): the agent's
CLC client over a fake transport that answers each power POST as the table
says (queued, not queued, 401, 429, 503, 500, a 200 without a readable
answer, a request certainly not sent, one sent without an answer), for each
operation. What is checked: how many POSTs went out (a POST is repeated only
when it was certainly not processed), logins, and success or the error.
The process tests (tests/test_power.py) cover the same paths end to end.

Coupling to the agent's internals is kept to: ClcClient(options, deadline)
with its `http` replaced and its `token` and `account` set (what log_in
leaves), its power_operation(op, server_id), HttpResponse,
TransportError, Deadline and ClcError."""

import json

import pytest

from agentrun import WEB, load_agent

agent = load_agent()

OPS = ("powerOff", "powerOn", "reset")
# The power state each operation starts from, and the one it leads to.
BEFORE = {"powerOff": "started", "powerOn": "stopped", "reset": "started"}
AFTER = {"powerOff": "stopped", "powerOn": "started", "reset": "started"}
POWER_TIMEOUT = 30
STATUS_HREF = "/v2/operations/ACCT/status/op-1"


class FakeClc:
    """Stands in for the client's HttpTransport. Each power POST takes the
    next outcome of the script: a name, and for outcomes whose fate the
    agent cannot know, whether CLC ran the operation ("500 ran")."""

    def __init__(self, op, outcomes):
        self.power_state = BEFORE[op]
        self.outcomes = list(outcomes)
        self.posts = []      # the token each power POST carried
        self.logins = 0
        self.server_reads = 0

    def perform(self, url, deadline, body=None, token=None, fresh=False):
        path = url.split("://", 1)[1].partition("/")[2]
        if path == "v2/authentication/login":
            self.logins += 1
            return answer(200, {"bearerToken": "token-%d" % (self.logins + 1),
                                "accountAlias": "ACCT"})
        if path == STATUS_HREF.lstrip("/"):
            return answer(200, {"status": "succeeded"})
        if path == "v2/servers/ACCT/" + WEB:
            self.server_reads += 1
            return answer(200, {"id": WEB.lower(), "status": "active",
                                "details": {"powerState": self.power_state}})
        op = path.rsplit("/", 1)[1]
        assert body == [WEB] and fresh, "a power POST goes on a fresh connection"
        self.posts.append(token)
        outcome, _, ran = self.outcomes.pop(0).partition(" ")
        if outcome == "queued" or ran == "ran":
            self.power_state = AFTER[op]
        return respond(outcome)

    def close(self):
        pass


def answer(status, data, headers=None):
    return agent.HttpResponse(status, headers or {}, json.dumps(data).encode())


def respond(outcome):
    if outcome == "queued":
        return answer(200, [{"server": WEB.lower(), "isQueued": True,
                             "links": [{"rel": "status", "href": STATUS_HREF}]}])
    if outcome == "not":  # "not queued"
        return answer(200, [{"server": WEB.lower(), "isQueued": False,
                             "errorMessage": "The server is in maintenance mode"}])
    if outcome == "unreadable":
        return agent.HttpResponse(200, {}, b"<html>gateway</html>")
    if outcome == "unsent":
        raise agent.TransportError("cannot connect to CLC", True, False)
    if outcome == "unanswered":
        raise agent.TransportError("no answer from CLC", True, True, waited=3)
    return answer(int(outcome), {"message": "CLC says %s" % outcome}, {"retry-after": "1"})


@pytest.fixture
def clock(monkeypatch):
    """The agent's time, advanced only by its own sleeps: no test waits."""
    now = [1000.0]
    monkeypatch.setattr(agent.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(agent.time, "sleep", lambda seconds: now.__setitem__(0, now[0] + seconds))
    return now


def power(op, outcomes):
    """One power operation of a fresh client whose POSTs meet `outcomes`:
    (the fake, the ClcError raised or None)."""
    options = {"--action": "off", "--username": "fencer@acct", "--password": "pw",
               "--account": "ACCT", "--token-file": "none", "clc_api_url": "https://clc.example",
               "clc_request_timeout": 3, "clc_connect_timeout": 2, "clc_verbose_level": 0,
               "clc_power_timeout": POWER_TIMEOUT}
    client = agent.ClcClient(options, agent.Deadline(POWER_TIMEOUT))
    client.http = clc = FakeClc(op, outcomes)
    client.token, client.account = "token-1", "ACCT"  # as log_in leaves them: a cached token
    try:
        client.power_operation(op, WEB)
    except agent.ClcError as ex:
        return clc, ex
    return clc, None


ANSWERED = {
    # outcome script -> (POSTs, fresh logins, None for success or words of the error)
    ("queued",): (1, 0, None),
    ("not queued",): (1, 0, "did not queue"),
    ("400",): (1, 0, "HTTP 400"),
    ("401", "queued"): (2, 1, None),
    ("401", "401"): (2, 1, "refused a fresh token"),
    ("429", "queued"): (2, 0, None),
    ("429", "429", "429"): (3, 0, "CLC is failing or overloaded (3 attempts)"),
    ("503", "queued"): (2, 0, None),
    ("503", "503", "503"): (3, 0, "CLC is failing or overloaded (3 attempts)"),
    ("unsent", "queued"): (2, 0, None),
}


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("outcomes", sorted(ANSWERED))
def test_a_post_certainly_not_processed_is_sent_again_and_any_other_never(clock, op, outcomes):
    posts, logins, error = ANSWERED[outcomes]
    clc, raised = power(op, outcomes)
    assert (len(clc.posts), clc.logins) == (posts, logins), raised
    if error is None:
        assert raised is None and clc.power_state == AFTER[op]
    else:
        assert error in str(raised)
    if logins:
        assert clc.posts == ["token-1", "token-2"]  # the fresh token, at once


@pytest.mark.parametrize("op", ["powerOff", "powerOn"])
def test_a_post_sent_again_only_after_a_fresh_read_shows_it_still_needed(clock, op):
    clc, raised = power(op, ["unsent", "queued"])
    assert raised is None and clc.server_reads >= 2  # one before the second POST, one to confirm
    clc, raised = power(op, ["unsent ran"])  # done meanwhile (another run's POST)
    assert raised is None and len(clc.posts) == 1


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("outcome", ["500", "unreadable", "unanswered"])
@pytest.mark.parametrize("ran", [True, False])
def test_a_post_of_unknown_fate_is_never_sent_again(clock, op, outcome, ran):
    """CLC may have run it: only the server's state can tell, which proves a
    power off or on, never a reset (a running server proves nothing)."""
    clc, raised = power(op, [outcome + (" ran" if ran else "")])
    assert len(clc.posts) == 1
    if op == "reset":
        assert "cannot be confirmed from the server's state" in str(raised)
    elif ran:
        assert raised is None and clc.power_state == AFTER[op]
    else:
        assert "it was not sent again on purpose" in str(raised)
        assert clock[0] - 1000.0 <= POWER_TIMEOUT  # ended at the action's deadline
