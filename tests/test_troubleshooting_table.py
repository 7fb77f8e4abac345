"""The README's troubleshooting table quotes what the agent really prints:
for each row, a run of the agent in that row's situation prints a line that
every message the row quotes in its first column matches. In a quote, `...`
stands for any text (also where a space before it is a ',' or ':'),
HOST, USER, ID, ... for one word, N for a number (see pattern_of)."""

import os
import re

import pytest

from agentrun import (FAST_ARGS, REPO, SENTINEL_PASSWORD, USERNAME, WEB, cli_args,
                      closed_port_url, fencing_world, namespaced_agent, run_agent, stdin_params,
                      unconnectable_url)
from support import SILENT_NAME_SERVER, RefusingProxy, require_root

PLACEHOLDERS = ("HOST", "USER", "ID", "ACCT", "URL", "DIR", "NODE", "ACTION", "X", "A", "B")
# Rows that quote Pacemaker, not the agent.
NOT_THE_AGENTS = ("Fence agent did not complete within Ns",)


def table_rows():
    """[(first column's quotes, the whole row)] of the troubleshooting table."""
    with open(os.path.join(REPO, "README.md")) as f:
        text = f.read()
    section = text.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| `")]
    return [(re.findall(r"`([^`]+)`", row.split(" | ")[0]), row) for row in rows]


def pattern_of(quote):
    pattern = re.escape(quote.replace(" ...", "...")).replace(re.escape("..."), ".*")
    pattern = re.sub(r"\b(%s)\b" % "|".join(PLACEHOLDERS), r"\\S+", pattern)
    pattern = re.sub(r"\bN\b", r"\\d+", pattern)
    return re.sub(r"\b5xx\b", r"5\\d\\d", pattern)


def run(sim, token_dir, action="status", plug=WEB, extra=(), **kwargs):
    return run_agent(cli_args(sim, token_dir, plug, action, FAST_ARGS + list(extra)), **kwargs)


def with_password(sim, token_dir, password, action="status", extra=()):
    args = cli_args(sim, token_dir, WEB, action, FAST_ARGS + list(extra))
    args[args.index(SENTINEL_PASSWORD)] = password
    return run_agent(args)


def offline(*args):
    return run_agent(["-o", "validate-all", "-l", USERNAME, "-p", SENTINEL_PASSWORD] + list(args))


def silent_dns(sim, token_dir, tmp_path):
    require_root("a private network and resolv.conf")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.1\noptions timeout:10 attempts:3\n")
    agent = namespaced_agent(str(tmp_path), binds=[(str(resolv), "/etc/resolv.conf")], net=True,
                             before=SILENT_NAME_SERVER)
    return run_agent(["-o", "status", "--api-url", "https://clc-api.example:8443", "-l", USERNAME,
                      "-p", SENTINEL_PASSWORD, "-n", WEB, "--token-file", "none"] + FAST_ARGS, agent=agent)


def connect_never_answered():
    with unconnectable_url() as url:
        return run_agent(["-o", "status", "--api-url", url, "-l", USERNAME, "-p", SENTINEL_PASSWORD,
                          "-n", WEB, "--token-file", "none", "--login-timeout", "1",
                          "--power-timeout", "2"])


def too_large_answers(sim, token_dir):
    """More bytes than the agent reads; then fewer bytes with more values."""
    sim.add_fault("body", path="^/v2/servers/", body="[" + "0," * (9 * 1024 * 1024) + "0]")
    too_many_bytes = run(sim, token_dir)
    sim.clear_faults()
    sim.add_fault("body", path="^/v2/servers/", body="[" + "0," * 2600000 + "0]")
    return [too_many_bytes, run(sim, token_dir)]


def stdin_without_action(sim, token_dir, **extra):
    params = stdin_params(sim, token_dir, WEB, "status", **extra)
    del params["action"]
    return run_agent(stdin=params)


def refusing_proxy(sim, token_dir, tls_sim):
    proxy = RefusingProxy()
    try:
        return run(tls_sim, token_dir, extra=["--proxy", proxy.url])
    finally:
        proxy.close()


def cache_file_of_another_mode(sim, token_dir):
    run(sim, token_dir)
    for name in os.listdir(token_dir):
        if name.endswith(".token"):
            os.chmod(os.path.join(token_dir, name), 0o644)
    return run(sim, token_dir)


def cache_directory_others_may_write(sim, token_dir):
    os.chmod(token_dir, 0o777)
    return run(sim, token_dir)


# The situation of each row, by the row's first quote: run(s) of the agent.
# Each gets (simulator, token directory, tmp_path, a TLS simulator).
SCENARIOS = {
    "CLC rejected the login of USER (HTTP 400 ...)":
        lambda sim, tokens, tmp, tls: with_password(sim, tokens, "wrong"),
    "server ID not found in CLC account ACCT - check plug/switch and account; if ID is a cluster "
    "node's name, map it ...":
        lambda sim, tokens, tmp, tls: run(sim, tokens, plug="web01"),
    "CLC denied access to account X (HTTP 403 ...)":
        lambda sim, tokens, tmp, tls: run(sim, tokens, extra=["-y", "NOPE"]),
    "cannot connect to the CLC API at HOST":
        lambda sim, tokens, tmp, tls: run_agent(["-o", "status", "--api-url", closed_port_url(),
                                                "-l", USERNAME, "-p", SENTINEL_PASSWORD, "-n", WEB,
                                                "--token-file", "none"] + FAST_ARGS),
    "cannot resolve the API host HOST (DNS)":
        lambda sim, tokens, tmp, tls: run_agent(["-o", "status", "--api-url",
                                                "https://clc-api.invalid", "-l", USERNAME, "-p",
                                                SENTINEL_PASSWORD, "-n", WEB] + FAST_ARGS),
    "cannot resolve ... (DNS): no answer within N s":
        lambda sim, tokens, tmp, tls: silent_dns(sim, tokens, tmp),
    "cannot connect to the CLC API at HOST within N s: N attempts to connect ...":
        lambda sim, tokens, tmp, tls: connect_never_answered(),
    "the CLC API at HOST answered with more than 16 MB":
        lambda sim, tokens, tmp, tls: too_large_answers(sim, tokens),
    "password_script did not finish within ...":
        lambda sim, tokens, tmp, tls: run_agent(["-o", "status", "--api-url", sim.url, "-l", USERNAME,
                                                "-S", "sleep 30", "-n", WEB, "--power-timeout", "1"]),
    "option --X is not written in full":
        lambda sim, tokens, tmp, tls: offline("--api-url", sim.url, "--ssl"),
    "cannot connect to proxy URL":
        lambda sim, tokens, tmp, tls: run(sim, tokens, extra=["--proxy", closed_port_url()]),
    "proxy URL refused the request (... response 403)":
        lambda sim, tokens, tmp, tls: refusing_proxy(sim, tokens, tls),
    "TLS certificate of HOST not trusted":
        lambda sim, tokens, tmp, tls: run_agent(["-o", "status", "--api-url", tls.url, "-l", USERNAME,
                                                "-p", SENTINEL_PASSWORD, "-n", WEB, "--token-file",
                                                "none"] + FAST_ARGS),
    "TLS handshake with HOST failed (...)":
        lambda sim, tokens, tmp, tls: run_agent(["-o", "status", "--api-url",
                                                sim.url.replace("http:", "https:"), "-l", USERNAME,
                                                "-p", SENTINEL_PASSWORD, "-n", WEB, "--token-file",
                                                "none"] + FAST_ARGS),
    "no answer from the CLC API at HOST within N s: N requests for ... each given up after ...":
        lambda sim, tokens, tmp, tls: (sim.add_fault("hang", path="^/v2/servers/"),
                                       run(sim, tokens, extra=["--shell-timeout", "1"]))[1],
    "CLC answered ... with HTTP 5xx ... - CLC is failing or overloaded":
        lambda sim, tokens, tmp, tls: (sim.add_fault("status", path="^/v2/servers/", status=503),
                                       run(sim, tokens))[1],
    "CLC answered ... with HTTP 200 and a body that is not JSON":
        lambda sim, tokens, tmp, tls: (sim.add_fault("malformed", path="^/v2/servers/"),
                                       run(sim, tokens))[1],
    "CLC reports server ID with status ... cannot tell whether it is off":
        lambda sim, tokens, tmp, tls: (sim.set_server(WEB, status="underConstruction"),
                                       run(sim, tokens))[1],
    "CLC did not queue powerOff for server ID (...); the server is ... - check the server in CLC":
        lambda sim, tokens, tmp, tls: (sim.set_server(WEB, inMaintenanceMode=True),
                                       run(sim, tokens, "off"))[1],
    "CLC reports that powerOff of server ID failed - check the server in CLC":
        lambda sim, tokens, tmp, tls: (sim.add_fault("op_fail", path="/servers/powerOff"),
                                       run(sim, tokens, "off"))[1],
    "gave up waiting for ... at the end of power_timeout (N s)":
        lambda sim, tokens, tmp, tls: (sim.add_fault("op_stuck", path="/servers/powerOff"),
                                       run(sim, tokens, "off", extra=["--power-timeout", "2"]))[1],
    "... the powerOff request ... it was not sent again on purpose ...":
        lambda sim, tokens, tmp, tls: (sim.add_fault("status", path="/servers/powerOff", status=500,
                                                     count=1),
                                       run(sim, tokens, "off", extra=["--power-timeout", "2"]))[1],
    "the reset request for server ID got no clear answer ...":
        lambda sim, tokens, tmp, tls: (sim.add_fault("status", path="/servers/reset", status=500,
                                                     count=1),
                                       run(sim, tokens, "reboot", extra=["-m", "cycle"]))[1],
    "plug 'X' is not a CLC server id":
        lambda sim, tokens, tmp, tls: offline("--api-url", sim.url, "-n", "a/b", "-s", "c?d"),
    "asked to fence server A but switch names server B":
        lambda sim, tokens, tmp, tls: run(sim, tokens, "off", plug="UC1ACCTWEB02",
                                          extra=["-s", WEB]),
    "plug 'X,' holds an empty server id":
        lambda sim, tokens, tmp, tls: offline("--api-url", sim.url, "-n", WEB + ","),
    "power_wait '-1' is out of range":
        lambda sim, tokens, tmp, tls: offline("--api-url", sim.url, "-n", WEB, "--power-wait", "-1"),
    "stdin key 'ACTION' is not 'action' but reads like it":
        lambda sim, tokens, tmp, tls: [stdin_without_action(sim, tokens, Action="status"),
                                       stdin_without_action(sim, tokens, operation="status")],
    "api_url http://... is plain HTTP":
        lambda sim, tokens, tmp, tls: run(sim, tokens),
    "token cache disabled: DIR is owned by USER with mode N, but must be a directory of this user ...":
        lambda sim, tokens, tmp, tls: cache_directory_others_may_write(sim, tokens),
    "ignoring the token cache file in DIR: it is owned by USER with mode N, but must be this user's ...":
        lambda sim, tokens, tmp, tls: cache_file_of_another_mode(sim, tokens),
}


def test_every_row_has_its_scenario_and_every_scenario_its_row():
    firsts = [quotes[0] for quotes, _ in table_rows()]
    assert sorted(set(firsts) - set(NOT_THE_AGENTS)) == sorted(SCENARIOS)


@pytest.mark.parametrize("quotes, row", [row for row in table_rows()
                                         if row[0][0] not in NOT_THE_AGENTS],
                         ids=lambda value: value[0][:40] if isinstance(value, list) else "")
def test_each_row_quotes_lines_the_agent_prints(sim_factory, token_dir, tmp_path, quotes, row):
    sim = sim_factory(config=fencing_world())
    tls = sim_factory(config=fencing_world(), tls=True)
    results = SCENARIOS[quotes[0]](sim, token_dir, tmp_path, tls)
    lines = [line for result in (results if isinstance(results, list) else [results])
             for line in result.output.splitlines()]
    for quote in quotes:
        assert any(re.search(pattern_of(quote), line) for line in lines), (quote, row, lines)
