"""Transport: TLS, proxies, plain HTTP, DNS, hanging or failing APIs, retries and time
bounds, and what an answer may do to the agent (malformed, huge, hostile JSON).

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import os
import subprocess
import types

import pytest

from agentrun import (AGENT, FAST_ARGS, SENTINEL_PASSWORD, USERNAME, WEB, agent, agent_env,
                      assert_one_clear_error, closed_port_url, namespaced_agent, run_agent,
                      stdin_params, unconnectable_url)
from reliability.catalogue import SERVER
from reliability.hostile import warnings
from support import RefusingProxy, SILENT_NAME_SERVER, require_root


# ---------------------------------------------------------------- API unreachable, hanging, failing

def test_api_unreachable(token_dir):
    url = closed_port_url()
    result = run_agent(["-o", "status", "--api-url", url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
                        "-n", WEB, "--token-file", "none"] + FAST_ARGS)
    assert_one_clear_error(result, "cannot connect", "api_url")


def test_dns_failure(token_dir):
    result = run_agent(["-o", "status", "--api-url", "https://clc-api.invalid", "-l", USERNAME,
                        "-p", SENTINEL_PASSWORD, "-n", WEB, "--token-file", "none"] + FAST_ARGS)
    assert_one_clear_error(result, "resolve", "DNS")


def test_a_proxy_that_refuses_the_api_says_what_to_check(clc_tls, token_dir):
    """The CONNECT of an https API refused (a proxy's 403 to a plain-http
    request cannot be told from CLC's own)."""
    sim = clc_tls
    proxy = RefusingProxy()
    try:
        result = agent(sim, token_dir, "status", extra=["--proxy", proxy.url])
    finally:
        proxy.close()
    assert_one_clear_error(result, "proxy %s refused" % proxy.url, "403",
                           "- check that the proxy lets this host reach")
    assert sim.requests() == []


def test_https_to_a_plain_http_port_says_so(clc, token_dir):
    result = run_agent(["-o", "status", "--api-url", clc.url.replace("http:", "https:"),
                        "-l", USERNAME, "-p", SENTINEL_PASSWORD, "-n", WEB,
                        "--token-file", "none"] + FAST_ARGS)
    assert_one_clear_error(result, "TLS handshake with 127.0.0.1:%d failed" % clc.port,
                           "- check that api_url's port speaks HTTPS")


def test_proxy_refused(clc, token_dir):
    proxy = closed_port_url()
    result = agent(clc, token_dir, "status", extra=["--proxy", proxy])
    assert_one_clear_error(result, "proxy")
    assert clc.requests() == []


def test_api_hang_ends_within_its_timeouts_under_pacemaker(clc, token_dir):
    """pacemaker-fenced makes the library zero its timeouts; ours still hold."""
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "status", extra=["--shell-timeout", "1", "--power-timeout", "3"],
                   pacemaker=True)
    assert_one_clear_error(result, "no answer")
    assert result.seconds < 8


def test_a_hanging_api_is_reported_in_the_options_the_admin_set(clc, token_dir):
    """How many requests went unanswered, after which option, and what to check."""
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "off", extra=["--shell-timeout", "2", "--power-timeout", "5"],
                   pacemaker=True)
    assert_one_clear_error(result, "no answer from the CLC API at 127.0.0.1:%d within" % clc.port,
                           "2 requests for the status of server %s" % WEB,
                           "each given up after shell_timeout (2 s)",
                           "power_timeout (5 s) left no time for another",
                           "- check that the API is up and that this host reaches it")


def test_a_hanging_api_with_attempts_spent_before_the_deadline(clc, token_dir):
    clc.add_fault("hang", path="^/v2/servers/")
    result = agent(clc, token_dir, "status", extra=["--shell-timeout", "1", "--power-timeout", "30"])
    assert_one_clear_error(result, "4 requests for the status of server %s" % WEB,
                           "each given up after shell_timeout (1 s)", "gave up after 4 attempts")


# Pacemaker runs a fence device's monitor (and a probe) under its default
# operation timeout, 20 s, and kills the agent then: its own line is lost.
PACEMAKER_OPERATION_TIMEOUT = 20


@pytest.mark.parametrize("timeouts", [{}, {"monitor_timeout": "0", "power_timeout": "0"}],
                         ids=["defaults", "zero-means-default"])
def test_monitor_on_a_hanging_api_ends_inside_pacemakers_operation_timeout(clc, token_dir,
                                                                           timeouts):
    """With the default timeouts, as the fencer runs it (timeouts zeroed)."""
    clc.add_fault("hang", path="^/v2/")
    result = run_agent(stdin=stdin_params(clc, token_dir, action="monitor", **timeouts),
                       pacemaker=True, timeout=90)
    assert_one_clear_error(result, "no answer", "within 15 s", "given up at the end of monitor_timeout (15 s)",
                           "- check that the API is up")
    # Pacemaker 2.0 takes "timed out" in a failed agent's stderr for a
    # timeout of its own (op status Timed Out), whoever ended the run.
    assert "timed out" not in result.stderr.lower(), result
    # Pacemaker retries a failed monitor only when it failed within 70 % of
    # the operation timeout: one that hangs again would then be killed.
    assert 0.7 * PACEMAKER_OPERATION_TIMEOUT < result.seconds < PACEMAKER_OPERATION_TIMEOUT - 3


def test_monitor_that_cannot_connect_ends_inside_pacemakers_operation_timeout(token_dir):
    """Packets to the API dropped (a firewall): no connection is made, nor
    refused. The line counts the attempts in the options' numbers."""
    with unconnectable_url() as url:
        result = run_agent(stdin=stdin_params(types.SimpleNamespace(url=url), token_dir,
                                              action="monitor"), pacemaker=True, timeout=90)
    assert_one_clear_error(result, "cannot connect to the CLC API at 127.0.0.1:", "within 15 s: ",
                           "2 attempts to connect for the login, given up after login_timeout (10 s), "
                           "the last at the end of monitor_timeout (15 s)", "- check that the API is up")
    assert "timed out" not in result.stderr.lower(), result
    assert 0.7 * PACEMAKER_OPERATION_TIMEOUT < result.seconds < PACEMAKER_OPERATION_TIMEOUT - 3


def test_a_power_action_that_cannot_connect_names_the_options_that_ended_it(token_dir):
    with unconnectable_url() as url:
        result = run_agent(stdin=stdin_params(types.SimpleNamespace(url=url), token_dir, plug=WEB,
                                              action="off", login_timeout="1", power_timeout="3"),
                           pacemaker=True)
    assert_one_clear_error(result, "cannot connect to the CLC API at 127.0.0.1:",
                           "attempts to connect for the login, each given up after login_timeout "
                           "(1 s); power_timeout (3 s) left no time for another")


def test_a_monitor_whose_password_script_hangs_ends_at_its_deadline(clc, token_dir):
    params = stdin_params(clc, token_dir, action="monitor", monitor_timeout="2",
                          password_script="sleep 30")
    del params["passwd"]
    result = run_agent(stdin=params, pacemaker=True)
    assert_one_clear_error(result, "password_script did not finish within monitor_timeout (2 s)",
                           "- fix the script")
    assert result.seconds < 2 + 1, result


@pytest.mark.parametrize("action, plug", [("list", None), ("list-status", None), ("status", WEB)])
def test_list_and_status_on_their_own_end_at_monitor_timeout(clc, token_dir, action, plug):
    clc.add_fault("hang", path="^/v2/")
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=plug, action=action,
                                          monitor_timeout="3"), pacemaker=True, timeout=90)
    assert_one_clear_error(result, "no answer", "within 3 s")
    assert result.seconds < 3 + 1 + 1, result


def test_off_keeps_power_timeout_when_it_outlasts_monitor_timeout(clc, token_dir):
    """The status read inside off (and the whole off) runs under power_timeout."""
    clc.configure(op_duration=4.0)
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=WEB, action="off",
                                          monitor_timeout="2", power_timeout="10"), pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc.server(WEB)["powerState"] == "stopped"


def test_malformed_json(clc, token_dir):
    clc.add_fault("malformed", path="^/v2/servers/")
    assert_one_clear_error(agent(clc, token_dir, "status"), "not JSON",
                           "- check that api_url is the CLC API")


@pytest.mark.parametrize("action, path", [("status", "^/v2/servers/"),
                                          ("off", "/servers/powerOff")])
def test_a_503_that_persists_says_what_to_do(clc, token_dir, action, path):
    clc.add_fault("status", path=path, status=503)
    assert_one_clear_error(agent(clc, token_dir, action), "HTTP 503",
                           "- CLC is failing or overloaded", "check CLC's status")
    assert clc.server(WEB)["powerState"] == "started"


def test_transient_503_on_a_read_is_retried(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=503, count=2)
    result = agent(clc, token_dir, "status")
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_429_retry_after_is_honoured(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=429, retry_after=1, count=1)
    result = agent(clc, token_dir, "status")
    assert result.rc == 0, result
    reads = [r for r in clc.requests() if r["path"].startswith("/v2/servers/")]
    assert reads[1]["time"] - reads[0]["time"] >= 0.9


def test_persistent_500_fails_after_bounded_retries(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/", status=500)
    assert_one_clear_error(agent(clc, token_dir, "status"), "500")
    assert len([r for r in clc.requests() if r["path"].startswith("/v2/servers/")]) == 4


# ---------------------------------------------------------------- TLS

def tls_args(sim, token_dir, extra=()):
    return ["-o", "status", "--api-url", sim.url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
            "-n", WEB, "--token-file", os.path.join(token_dir, "[hash].token")] + FAST_ARGS + list(extra)


def test_tls_is_verified_by_default(clc_tls, token_dir):
    assert_one_clear_error(run_agent(tls_args(clc_tls, token_dir)), "not trusted", "cacert")
    assert clc_tls.requests() == []


def test_tls_with_the_ca_trusted(clc_tls, token_dir):
    result = run_agent(tls_args(clc_tls, token_dir, ["--cacert", clc_tls.ca_file]))
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_tls_insecure_when_asked(clc_tls, token_dir):
    result = run_agent(tls_args(clc_tls, token_dir, ["--ssl-insecure"]))
    assert result.rc == 0, result


def test_tls_through_a_proxy_tunnel_is_verified_end_to_end(clc_tls, token_dir, loopback_proxy):
    args = tls_args(clc_tls, token_dir, ["--cacert", clc_tls.ca_file, "-x", loopback_proxy.url,
                                         "-o", "off"])
    result = run_agent(args)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc_tls.server(WEB)["powerState"] == "stopped"
    with open(loopback_proxy.access_log) as log:
        assert "CONNECT 127.0.0.1:%d" % clc_tls.port in log.read()


@pytest.mark.parametrize("value", ["0", "false", "no", "off"])
def test_ssl_insecure_set_false_keeps_tls_verified(clc_tls, hostile, value):
    params = hostile.params(clc_tls, "status", ssl_insecure=value)
    del params["cacert"]
    result = hostile.run(params)
    assert_one_clear_error(result, "not trusted")
    assert clc_tls.requests() == []
    hostile.assert_sane()


def test_ssl_insecure_set_true_still_turns_verification_off(clc_tls, hostile):
    params = hostile.params(clc_tls, "status", ssl_insecure="1")
    del params["cacert"]
    result = hostile.run(params)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result


@pytest.mark.parametrize("typed", ["--ssl", "--ssl-", "--ssl-in", "--ssl-insecur"])
def test_an_abbreviated_option_never_turns_tls_verification_off(clc_tls, hostile, typed):
    """getopt takes a unique prefix for the whole name: --ssl was read as
    --ssl-insecure and sent the password to an unverified server."""
    params = hostile.params(clc_tls, "status")
    del params["cacert"]
    args = ["--action=status", "--username=" + params["login"], "--password=" + params["passwd"],
            "--plug=" + WEB, "--api-url=" + clc_tls.url, "--token-file=none", typed]
    result = run_agent(args)
    hostile.count(result)
    assert_one_clear_error(result, typed, "in full")
    assert clc_tls.requests() == []
    hostile.assert_sane()


def private_trust_store(tmp_path, ca_file):
    """A directory like /etc/ssl/certs that trusts only ca_file."""
    store = tmp_path / "system-certs"
    store.mkdir()
    with open(ca_file) as f:
        pem = f.read()
    (store / "ca-certificates.crt").write_text(pem)
    (store / "test-ca.pem").write_text(pem)
    subprocess.run(["openssl", "rehash", str(store)], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return str(store)


def test_cacert_replaces_the_system_trust_store(sim_factory, clc_tls, hostile, tmp_path):
    """The README promises: cacert names the CAs to trust *instead* of the
    system's. A server signed by a system CA must not get the password."""
    require_root("a private /etc/ssl/certs in a mount namespace")
    store = private_trust_store(tmp_path, clc_tls.ca_file)
    agent = namespaced_agent(str(tmp_path), binds=[(store, "/etc/ssl/certs")])
    params = hostile.params(clc_tls, "status")
    del params["cacert"]
    result = hostile.run(params, agent=agent)  # the system store trusts the server
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    clc_tls.clear_requests()
    other_ca = sim_factory(tls=True).ca_file
    result = hostile.run(dict(params, cacert=other_ca), agent=agent)
    assert_one_clear_error(result, "not trusted", "cacert")
    assert clc_tls.requests() == []
    hostile.assert_sane()


# ---------------------------------------------------------------- plain HTTP

@pytest.mark.parametrize("action", ["status", "validate-all"])
def test_plain_http_api_url_is_warned_once_per_run(clc, hostile, action):
    result = hostile.run(hostile.params(clc, action))
    assert result.rc == 0, result
    plain = [line for line in warnings(result) if "http://" in line or "plain HTTP" in line]
    assert len(plain) == 1 and "https" in plain[0], result


def test_https_api_url_has_no_plain_http_warning(clc_tls, hostile):
    result = hostile.run(hostile.params(clc_tls, "status"))
    assert result.rc == 0 and warnings(result) == [], result


# ---------------------------------------------------------------- environment proxies

def test_no_proxy_in_the_environment_does_not_bypass_the_proxy(clc, hostile):
    proxy = closed_port_url()
    env = agent_env(True, {"no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost"})
    result = hostile.run(hostile.params(clc, "status", proxy=proxy), env=env)
    assert_one_clear_error(result, "proxy")
    assert clc.requests() == []


# ---------------------------------------------------------------- DNS

@pytest.mark.parametrize("action", ["off", "status"])
@pytest.mark.parametrize("where", ["api_url", "proxy"])
def test_dns_that_never_answers_ends_within_the_time_bound(clc, hostile, tmp_path, where, action):
    """libcurl's threaded resolver is waited for when a transfer times out:
    a lookup of 10 s x 3 tries per name outlived power_timeout."""
    require_root("a private network and resolv.conf")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:10 attempts:3\n")
    agent = namespaced_agent(str(tmp_path), binds=[(str(resolv), "/etc/resolv.conf")], net=True,
                             before=SILENT_NAME_SERVER)
    names = {"api_url": "https://clc-api.example:8443"} if where == "api_url" else \
        {"api_url": "https://127.0.0.1:8443", "proxy": "http://proxy.example:3128"}
    params = hostile.params(clc, action, power_timeout="3", login_timeout="10", **names)
    result = hostile.run(params, agent=agent)
    assert_one_clear_error(result, "resolve", "DNS")
    assert result.seconds < 3 + 1 + 1.5, result
    hostile.assert_sane()


# ---------------------------------------------------------------- memory: huge answers

PEAK_RSS_LAUNCHER = """#!/usr/bin/python3
# Runs the agent and writes its peak RSS (KiB) to $PEAK_RSS_FILE: measured
# from this small process, since a child's peak is never below its parent's.
import os, resource, subprocess, sys
rc = subprocess.call([os.environ["AGENT"]] + sys.argv[1:])
with open(os.environ["PEAK_RSS_FILE"], "w") as f:
    f.write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))
sys.exit(rc)
"""


MEMORY_BOUND_MB = 300  # the README's figure


def run_measuring_memory(hostile, tmp_path, params):
    launcher, peak_file = tmp_path / "launcher", tmp_path / "peak-rss"
    launcher.write_text(PEAK_RSS_LAUNCHER)
    launcher.chmod(0o755)
    env = agent_env(True, {"AGENT": AGENT, "PEAK_RSS_FILE": str(peak_file)})
    result = hostile.run(params, env=env, agent=str(launcher))
    return result, int(peak_file.read_text()) / 1024.0


def json_of_size(megabytes, item):
    count = int(megabytes * 1e6 / (len(item) + 1))
    return "[" + ",".join([item] * count) + "]"


@pytest.mark.parametrize("megabytes, item", [(16, "{}"), (63, "{}"), (15.9, "[]"), (15.9, '"ab"'),
                                             (15.9, "1.5"), (15.9, '{"a":[]}'),
                                             (15.9, '"\\ud83d\\ude00"'), (15.9, '"abcde"'),
                                             (15.9, '{"id":"x","name":"abcdefghijklmnopq"}')])
def test_a_huge_or_hostile_json_answer_keeps_memory_bounded(clc, hostile, tmp_path, megabytes,
                                                            item):
    """A 63 MB JSON body took 1.77 GB of RSS, 16 MB 449 MB. The last ones
    are as costly as the value counts allow."""
    clc.add_fault("body", path=SERVER, method="GET", body=json_of_size(megabytes, item))
    result, peak_mb = run_measuring_memory(hostile, tmp_path, hostile.params(clc, "status"))
    assert_one_clear_error(result, "MB" if megabytes > 16 else WEB)
    assert peak_mb < MEMORY_BOUND_MB, "peak RSS %.0f MB: %r" % (peak_mb, result)
    hostile.assert_sane()


def test_a_5000_server_account_in_one_data_center_is_listed_within_the_memory_bound(
        sim_factory, hostile, tmp_path):
    from clcsim.world import generate_config
    world = generate_config(5000, datacenters=1, groups=200, username=USERNAME,
                            password=SENTINEL_PASSWORD)
    sim = sim_factory(config=world)
    result, peak_mb = run_measuring_memory(hostile, tmp_path,
                                           hostile.params(sim, "list", plug=None, power_timeout="20"))
    assert result.rc == 0 and len(result.stdout.splitlines()) == 5000, result

    assert peak_mb < MEMORY_BOUND_MB, "peak RSS %.0f MB" % peak_mb
    hostile.assert_sane()


# ---------------------------------------------------------------- hostile JSON

def test_json_nested_100000_deep_is_not_json_to_the_agent(clc, hostile):
    clc.add_fault("body", path=SERVER, method="GET", body="[" * 100000 + "]" * 100000)
    result = hostile.run(hostile.params(clc, "status"))
    assert_one_clear_error(result, "not JSON")
    hostile.assert_sane()
