"""The agent's pure functions, loaded in-process (milliseconds each): the
decisions the process tests reach only through whole runs."""

import os

import pycurl
import pytest

from agentrun import WEB, load_agent

SERVER = WEB
agent = load_agent()


def record(power_state=None, status="active"):
    server = {"id": SERVER.lower(), "status": status}
    if power_state is not None:
        server["details"] = {"powerState": power_state}
    return server


# ---------------------------------------------------------------- fence_status

@pytest.mark.parametrize("power_state, status, expected", [
    ("started", "active", "on"), ("paused", "active", "on"), ("stopped", "active", "off"),
    ("stopped", "archived", "off"), ("started", "underConstruction", "on")])
def test_fence_state(power_state, status, expected):
    assert agent.fence_status(record(power_state, status)) == expected


@pytest.mark.parametrize("server", [
    record(None), record("stopped", "underConstruction"), record("stopped", "queuedForDelete"),
    record("Stopped"), record("off"), {"status": "active", "details": "stopped"},
    {"status": ["active"], "details": {"powerState": "stopped"}}])
def test_fence_state_is_never_off_unless_clc_says_stopped(server):
    assert agent.fence_status(server) is None


@pytest.mark.parametrize("server", [
    record(None), record("stopped", "underConstruction"), record("stopped", "queuedForDelete"),
    record("Stopped"), record("paused")])
def test_a_power_off_is_confirmed_only_by_a_record_status_would_call_off(server):
    # the confirmation after powerOff and the status action share one rule
    assert agent.shows_power_state(server, "stopped") is False


def test_records_that_confirm_an_operation():
    assert agent.shows_power_state(record("stopped", "archived"), "stopped")
    assert agent.shows_power_state(record("started", "active"), "started")
    assert not agent.shows_power_state(record("paused", "active"), "started")


# ---------------------------------------------------------------- transport_error

@pytest.mark.parametrize("code, proxy, words, retryable, sent", [
    (pycurl.E_COULDNT_RESOLVE_HOST, "", ["resolve", "DNS"], False, False),
    (pycurl.E_COULDNT_CONNECT, "", ["cannot connect", "api_url"], True, False),
    (pycurl.E_COULDNT_CONNECT, "http://u:pass-word@proxy:3128", ["proxy", "***@proxy:3128"], True,
     False),
    (pycurl.E_OPERATION_TIMEDOUT, "", ["no answer", "within 20 s"], True, True),
    (pycurl.E_SSL_CACERT, "", ["not trusted", "cacert"], False, True),
    (pycurl.E_SSL_CACERT_BADFILE, "", ["not trusted", "cacert"], False, True),
    (pycurl.E_SSL_CONNECT_ERROR, "", ["TLS handshake"], True, False),
    (pycurl.E_RECV_ERROR, "", ["curl error 56"], True, True)])
def test_transport_error(code, proxy, words, retryable, sent):
    error = agent.transport_error(code, "libcurl says", "https://user:api-secret@clc:443/v2/x",
                                  proxy, 20)
    text = str(error)
    assert all(word in text for word in words), text
    assert (error.retryable, error.sent) == (retryable, sent)
    assert "api-secret" not in text and "pass-word" not in text and "user" not in text


@pytest.mark.parametrize("code", [pycurl.E_COULDNT_CONNECT, pycurl.E_SSL_CONNECT_ERROR,
                                  pycurl.E_RECV_ERROR])
def test_libcurls_timed_out_never_reaches_the_line(code):
    """Pacemaker 2.0 takes "timed out" in a failed agent's stderr for its own
    timeout. The kernel's "Connection timed out" comes through libcurl once
    login_timeout outlasts the SYN retries (about 127 s)."""
    message = "Failed to connect to clc port 443 after 130004 ms: Connection timed out"
    text = str(agent.transport_error(code, message, "https://clc/v2", "", 200))
    assert "timed out" not in text.lower() and "after 130004 ms" in text, text


def test_a_failure_given_up_keeps_its_line_unless_clc_failed_or_nothing_answered():
    """A refusal that is neither 429/5xx nor a request without an answer
    (a connection refused, a 401 on a power request's last try) is
    reported as it is."""
    given_up = agent.ClcClient._given_up  # these cases read nothing of the client
    for failure in (agent.ClcError("CLC answered x with HTTP 401"),
                    agent.transport_error(pycurl.E_COULDNT_CONNECT, "refused", "https://clc/v2", "", 5)):
        assert given_up(None, failure, 3) is failure
    response = agent.HttpResponse(503, {}, b"{}")
    assert "CLC is failing or overloaded (3 attempts)" in str(
        given_up(None, agent.http_failure(response, "x"), 3))


# ---------------------------------------------------------------- setting_problems

def settings(**options):
    base = {"clc_api_url": "https://clc.example", "--plug": SERVER, "--plug-separator": ","}
    base.update(options)
    return base


@pytest.mark.parametrize("options, words", [
    (settings(), []),
    (settings(clc_api_url="ftp://x"), ["api_url", "not an http(s) URL"]),
    (settings(clc_api_url="https://u:secret-pw@x y"), ["***@x y"]),
    (settings(**{"--plug": "a/b"}), ["not a CLC server id"]),
    (settings(**{"--plug": SERVER + ",ok2", "--plug-separator": ""}), ["plug_separator is empty"]),
    (settings(**{"--account": "AC CT"}), ["not a CLC account alias"]),
    (settings(**{"--proxy": "ftp://p:1"}), ["unknown scheme"]),
    (settings(**{"--proxy": "none"}), []),
    (settings(**{"--password": ""}), ["password is empty"]),
    (settings(**{"--username": "fencer\udcff"}), ["username is not UTF-8 text"]),
    # issue 21: numbers as given, empty plugs, a stdin line that may be the action
    (settings(**{"--plug": SERVER + ","}), ["empty server id"]),
    (settings(**{"--plug": ","}), ["empty server id"]),
    (settings(**{"--plug": "", "--action": "off"}), ["empty server id"]),
    (settings(**{"--plug": "", "--action": "validate-all"}), ["empty server id"]),
    (settings(**{"--plug": "", "--action": "list"}), []),
    (settings(**{"--plug": "", "--action": "monitor"}), []),
    (settings(clc_stdin_problem="stdin key 'x' reads like action"), ["reads like action"]),
])
def test_setting_problems(options, words):
    problems = agent.setting_problems(options)
    assert len(problems) == (1 if words else 0), problems
    assert all(word in problems[0] for word in words)
    assert not any("secret-pw" in problem for problem in problems)


@pytest.mark.parametrize("name, text, words", [
    ("retry_on", "0", ["retry_on '0' is out of range", "1 or more"]),
    ("power_wait", "-1", ["power_wait '-1'", "from 0 to 86400"]),
    ("delay", "86401", ["delay '86401'", "from 0 to 86400"]),
    ("power_timeout", "-5", ["power_timeout", "0: the default"]),
    ("monitor_timeout", "1.5", ["monitor_timeout '1.5' is not a whole number", "0: the default"]),
    ("login_timeout", "abc", ["login_timeout 'abc' is not a whole number"]),
    ("delay", "0", None), ("retry_on", "3", None), ("shell_timeout", "0", None)])
def test_number_problem(name, text, words):
    """Number options as given (issue 21): whole numbers in their range."""
    problem = agent.number_problem(name, text)
    assert (problem is None) == (words is None), problem
    assert all(word in problem for word in words or [])


STDIN_NAMES = ["action", "port", "login", "passwd", "power_timeout"]  # options with a longopt


@pytest.mark.parametrize("lines, words", [
    (["action=status\n", "port=X\n", "nodename=n1\n", "# note\n", "\n"], None),
    (["port=X\n", "login=u\n"], None),  # no action at all: the library's default
    (["action=off\n", "pcmk_off_action=off\n", "pcmk_host_list=n1\n"], None),
    (["action=off\n", "power-timeout=5\n"], None),  # the library reads '-' as '_'
    (["login=test\n", "ipaddr=test\n", "port=1\n", "managed=1\n"], None),  # upstream's checks
    (["s3cret-second-line\n"], None),
    (["\ufeffaction=status\n", "port=X\n"], ["'\\ufeffaction'", "reads like"]),
    (["ACTION=status\n"], ["'ACTION'"]),
    (["action =status\n"], ["'action '"]),
    (["action=off\n", "acton=status\n"], ["'acton'"]),
    (["operation=status\n", "port=X\n"], ["'operation'", "action's name"]),
    (["Status\n", "port=X\n"], ["line without '='", "action's name"]),
])
def test_stdin_action_problem(lines, words):
    problem = agent.stdin_action_problem(lines, STDIN_NAMES)
    assert (problem is None) == (words is None), problem
    assert all(word in problem for word in words or [])
    assert "status" not in (problem or "").lower() and "s3cret" not in (problem or "")


def test_as_utf8_repairs_python36_c_locale_text_and_leaves_bad_bytes():
    assert agent.as_utf8(os.fsdecode("Pässwörd".encode())) == "Pässwörd"
    assert agent.as_utf8("P\udcc3\udca4ss") == "Päss"
    assert agent.not_decoded(agent.as_utf8("fencer\udcff"))
    assert not agent.not_decoded("Päss") and not agent.not_decoded(0)


# ---------------------------------------------------------------- CLC data

def test_servers_in_group_finds_every_nested_server():
    tree = {"servers": [{"id": "a"}, "junk"], "groups": [
        {"servers": [{"id": "b"}], "groups": [{"servers": [{"id": "c"}]}, None]},
        {"groups": "not a list of groups"}]}
    assert sorted(s["id"] for s in agent.servers_in_group(tree)) == ["a", "b", "c"]
    with pytest.raises(agent.ClcError):
        agent.servers_in_group([])


def test_link_href():
    entry = {"links": [{"rel": "self", "href": "/x"}, {"rel": "status", "href": 5},
                       {"rel": "status", "href": "/v2/operations/acct/status/1"}]}
    assert agent.link_href(entry, "status") == "/v2/operations/acct/status/1"
    assert agent.link_href({"links": {"rel": "status"}}, "status") is None
    assert agent.link_href("not a dict", "group") is None


# ---------------------------------------------------------------- timing

def test_backoff_is_capped_and_retry_after_wins():
    delays = [agent.backoff_delay(attempt) for attempt in range(1, 10)]
    assert 0.4 <= delays[0] <= 0.6 and all(delay <= agent.MAX_BACKOFF * 1.2 for delay in delays)
    assert agent.backoff_delay(3, retry_after=7.0) == 7.0


def test_poll_interval_eases_off_for_long_operations():
    assert [agent.poll_interval(t) for t in (0, 59, 60, 299, 300, 3600)] == \
        [0.25, 0.25, 0.5, 0.5, 1.0, 1.0]


def test_pause_before_retry_never_sleeps_past_the_deadline(monkeypatch):
    slept = []
    monkeypatch.setattr(agent.time, "sleep", slept.append)
    failure = agent.ClcError("503")
    assert agent.pause_before_retry(1, 4, failure, 0.5, agent.Deadline(5))
    assert slept == [0.5]
    for attempt, retry_after, seconds in ((4, 0.5, 5), (1, 9.0, 5)):
        assert not agent.pause_before_retry(attempt, 4, failure, retry_after, agent.Deadline(seconds))
    assert slept == [0.5]


def test_next_poll_waits_the_interval_and_times_out_at_the_deadline(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(agent.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(agent.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + seconds))
    deadline = agent.Deadline(1)
    for _ in range(3):
        agent.wait_for_next_poll(0.0, deadline, "late")
    assert clock[0] == 0.75  # polls 0.25 s apart
    with pytest.raises(agent.ClcError, match="waiting for late: executing"):
        agent.wait_for_next_poll(0.0, deadline, "late: executing")


# ---------------------------------------------------------------- URLs and secrets

@pytest.mark.parametrize("url, shown, host", [
    ("https://clc.example/v2", "https://clc.example/v2", "clc.example"),
    ("http://u:pw@proxy:3128", "http://***@proxy:3128", "proxy:3128"),
    ("u:p/w@d@proxy:3128", "***@proxy:3128", "proxy:3128"),
    ("socks5h://user:p%40ss@127.0.0.1:1080", "socks5h://***@127.0.0.1:1080", "127.0.0.1:1080"),
    # a password may hold '?', '#' or '://': all up to the last '@' is hidden
    ("https://u:p@clc.example/v2?next=a@b", "https://***@b", "b"),
    ("http://u:pa?ss@proxy:3128", "http://***@proxy:3128", "proxy:3128"),
    ("http://u:pa#ss@proxy:3128", "http://***@proxy:3128", "proxy:3128"),
    ("u:pa://ss@proxy:3128", "***@proxy:3128", "proxy:3128"),
])
def test_redact_url_and_url_host(url, shown, host):
    assert agent.redact_url(url) == shown
    assert agent.url_host(url) == host


@pytest.mark.parametrize("url, proxy, names", [
    ("https://clc.example", "", [("clc.example", 443, "api")]),
    ("http://u:p@CLC.example:8080/v2", "", [("clc.example", 8080, "api")]),
    ("https://127.0.0.1:8443", "", []),
    ("https://[::1]:8443", "", []),
    ("https://clc.example", "http://u:p?w@proxy.example:3128", [("proxy.example", 3128, "proxy")]),
    ("https://clc.example", "proxy.example", [("proxy.example", 1080, "proxy")]),
    ("https://clc.example", "https://proxy.example", [("proxy.example", 443, "proxy")]),
    ("https://clc.example", "socks5h://proxy.example:1080", [("proxy.example", 1080, "proxy")]),
    ("https://clc.example", "socks5://[::1]:1080", [("clc.example", 443, "api")]),
])
def test_names_the_agent_resolves_itself_are_those_libcurl_would(url, proxy, names):
    assert agent.names_to_resolve(url, proxy) == names


LONGOPTS = ["ssl-insecure", "password=", "plug=", "api-url=", "verbose"]


@pytest.mark.parametrize("args, refused", [
    (["--ssl"], True), (["--ssl-insecur"], True), (["--pass=x"], True), (["--api=x"], True),
    (["--ssl-insecure", "--password=x", "--api-url", "--ssl"], False),
    (["-p", "--ssl"], False), (["-p--ssl"], False), (["--password", "--ssl"], False),
    (["--", "--ssl"], False), (["-vp", "--ssl"], False), (["-v", "--ssl"], True),
])
def test_only_whole_long_option_names_are_taken(args, refused):
    try:
        agent.refuse_abbreviations(args, "p:n:v", LONGOPTS)
    except SystemExit:
        assert refused, args
    else:
        assert not refused, args


def test_url_secrets_as_written_and_decoded():
    assert set(agent.url_secrets("http://us%65r:p%40ss@h:1")) == {"us%65r", "user", "p%40ss", "p@ss"}
    assert agent.url_secrets("https://clc.example") == []


def test_secret_filter_masks_long_secrets_everywhere_and_short_ones_standing_alone():
    secrets = agent.SecretFilter()
    for secret in ("long-secret", "pw"):
        secrets.add(secret)
    import logging
    record = logging.LogRecord("x", logging.ERROR, "", 0, "a%sb 'pw' pwned pw=1 password",
                               ("long-secret",), None)
    secrets.filter(record)
    assert record.getMessage() == "a<hidden>b '<hidden>' pwned pw=1 password"


@pytest.mark.parametrize("value, insecure", [
    (None, False), ("", True), ("1", True), ("true", True), ("0", False), ("false", False),
    ("no", False), ("off", False)])
def test_tls_insecure_only_when_true(value, insecure):
    options = {} if value is None else {"--ssl-insecure": value}
    assert agent.tls_insecure(options) is insecure


def test_a_group_whose_lists_are_not_lists_holds_no_server():
    assert agent.servers_in_group({"groups": 5, "servers": "x", "links": 7}) == []
    assert agent.link_href({"links": 7}, "status") is None


def test_a_traceback_is_masked_like_any_message():
    import logging
    import sys
    secrets = agent.SecretFilter()
    secrets.add("Pässword-in-a-traceback")
    try:
        raise ValueError("bad value Pässword-in-a-traceback")
    except ValueError:
        record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "internal error", (),
                                   sys.exc_info())
    secrets.filter(record)
    assert record.exc_info is None and "Traceback" in record.msg
    assert "Pässword" not in logging.Formatter().format(record)


def test_write_private_removes_no_name_once_the_file_is_in_place(tmp_path, monkeypatch):
    removed = []
    monkeypatch.setattr(agent, "remove_quietly", removed.append)
    path = str(tmp_path / "entry")
    agent.write_private(path, b"one")
    agent.write_private(path, b"two")
    assert removed == [] and open(path, "rb").read() == b"two"  # a renamed name may be another run's
    with pytest.raises(FileExistsError):
        agent.write_private(path, b"three", replace=False)
    assert len(removed) == 1 and open(path, "rb").read() == b"two"


# ---------------------------------------------------------------- operation marker

def operation_lock(tmp_path, password="pw-one"):
    """The operation lock of SERVER, for a cache in tmp_path (power_timeout 60)."""
    cache = agent.TokenCache(str(tmp_path / "x.token"), "binding", b"k" * 32)
    options = {"clc_api_url": "https://clc.example", "--username": "u", "--password": password,
               "clc_power_timeout": 60}
    return agent.OperationLock.for_server(cache, options, "ACCT", SERVER)


@pytest.mark.parametrize("op, outcome, sent_ago, noted_ago, href, follows", [
    ("reset", "sent", 1, 1, "/v2/operations/acct/status/x", True),     # under way
    ("reset", "sent", 119, 119, "/v2/operations/acct/status/x", True),  # a retry after a timeout
    ("reset", "sent", 121, 121, "/v2/operations/acct/status/x", False),  # older than 2 x power_timeout
    ("reset", "sending", 1, 1, None, False),                          # fate not known yet
    ("reset", "unknown", 1, 1, None, False),
    ("reset", "failed", 1, 1, "/v2/operations/acct/status/x", False),
    ("reset", "confirmed", 5, -1, "/v2/operations/acct/status/x", True),  # since this run began
    ("reset", "confirmed", 5, 1, "/v2/operations/acct/status/x", False),  # a past fence
    ("powerOff", "confirmed", 5, -1, None, True),                     # its state proves it
    ("reset", "confirmed", 5, -1, None, False),                       # nothing proves a reset
])
def test_operation_marker_to_follow(tmp_path, op, outcome, sent_ago, noted_ago,
                                    href, follows):
    """Only the same operation, for the same credentials, CLC queued
    lately or confirmed since this run began is followed."""
    import json
    lock = operation_lock(tmp_path)
    marker = {"binding": lock.binding, "op": op, "outcome": outcome, "href": href,
              "sent": agent.time.time() - sent_ago, "noted": agent.RUN_STARTED - noted_ago}
    agent.write_private(lock.path, json.dumps(marker).encode())
    assert bool(lock.to_follow(op)) is follows
    assert lock.to_follow("powerOn") is None
    assert operation_lock(tmp_path, password="pw-two").to_follow(op) is None
    os.chmod(lock.path, 0o644)
    assert lock.to_follow(op) is None


def test_operation_lock_is_one_file_per_server_whatever_the_credentials(tmp_path):
    one, two = operation_lock(tmp_path), operation_lock(tmp_path, password="pw-two")
    assert one.path == two.path and one.binding != two.binding
    assert os.path.dirname(one.path) == str(tmp_path)
    assert agent.OperationLock.for_server(None, {}, "ACCT", SERVER).path is None  # no cache


def test_a_lock_taken_on_a_file_its_holder_removed_is_taken_again_on_the_new_one(tmp_path):
    """The holder removes the lock file before it lets go: a run that waited
    on the removed file must not hold the lock beside one that opened the
    path anew."""
    import fcntl
    path = str(tmp_path / "x.lock")
    holder, waiter = agent.open_lock(path), agent.open_lock(path)  # the same file
    assert agent.lock_current(holder, path) is True
    with pytest.raises(BlockingIOError):
        agent.lock_current(waiter, path)
    agent.unlock_and_remove(holder, path)
    newcomer = agent.open_lock(path)  # a new file at the path
    assert agent.lock_current(newcomer, path) is True
    assert agent.lock_current(waiter, path) is False  # it got the old file's lock: no lock
    os.close(waiter)
    waiter = agent.open_lock(path)
    with pytest.raises(BlockingIOError):
        agent.lock_current(waiter, path)
    agent.unlock_and_remove(newcomer, path)
    assert not os.path.exists(path)
    fcntl.flock(waiter, fcntl.LOCK_UN)
    os.close(waiter)


# ---------------------------------------------------------------- token cache

def jwt(payload):
    import base64
    return "h.%s.s" % base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


@pytest.mark.parametrize("payload, expiry", [
    ('{"exp": 1700000000}', 1700000000), ('{"exp": 1700000000.5}', 1700000000),
    ('{"exp": 1e999}', None), ('{"exp": -1e999}', None), ('{"exp": NaN}', None),
    ('{"exp": 1%s}' % ("0" * 400), None), ('{"exp": 1e300}', None), ('{"exp": -5}', None),
    ('{"exp": "1700000000"}', None), ('{"exp": true}', None), ('{"exp": [1]}', None),
    ('{}', None), ('[1]', None), ('not json', None)])
def test_jwt_expiry_is_none_when_it_is_no_time(payload, expiry):
    assert agent.jwt_expiry(jwt(payload)) == expiry


@pytest.mark.parametrize("one, other", [
    (("https://clc", "u\nx", "y"), ("https://clc", "u", "x\ny")),
    (("https://clc\nu", "x", "y"), ("https://clc", "u\nx", "y")),
    (("https://clc", "", "u"), ("https://clc", "u", ""))])
def test_cache_entries_of_different_url_user_password_never_match(tmp_path, one, other):
    def cache(url, user, password):
        return agent.TokenCache.from_options({
            "--token-file": str(tmp_path / "[hash].token"), "clc_api_url": url,
            "--username": user, "--password": password})
    first, second = cache(*one), cache(*other)
    assert first.binding != second.binding and first.path != second.path
    assert cache(*one).binding == first.binding
