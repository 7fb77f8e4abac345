"""Options and input: the command line and Pacemaker's stdin, the plug and switch, the
offline actions (metadata, validate-all, help, version) and input that must be refused in
one clear line.

Real agent processes against the CLC simulator over real HTTP(S). The cases
taking the `hostile` fixture came from a hostile review: each run is also
judged as the reliability matrix judges it and counted in its totals."""

import os
import re
import subprocess

import pytest

from agentrun import (FAST_ARGS, REPO, SENTINEL_PASSWORD, TRACEBACK, USERNAME, WEB, agent,
                      agent_env, assert_one_clear_error, cli_args, fencing_world, run_agent,
                      states, stdin_params, stdin_text)
from reliability import checks
from reliability.hostile import run_stdin_bytes
from support import power_posts


# ---------------------------------------------------------------- Pacemaker's way: stdin

def test_stdin_with_the_seed_option_names_fences_the_switch_server(clc, token_dir):
    """pacemaker-fenced sends the device's parameters plus nodename/port;
    the seed's switch names the server; port, the node name, is no server (404)."""
    params = {"action": "off", "nodename": "node2", "port": "node2", "account": "ACCT",
              "login": USERNAME, "passwd": SENTINEL_PASSWORD, "switch": WEB,
              "api_url": clc.url, "token_file": os.path.join(token_dir, "[hash].token"),
              "pcmk_host_list": WEB, "power_timeout": "5"}
    result = run_agent(stdin=params, pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    assert clc.server(WEB)["powerState"] == "stopped"
    assert clc.server("UC1ACCTWEB02")["powerState"] == "started"


def test_stdin_with_plug_and_new_option_names(clc, token_dir):
    params = stdin_params(clc, token_dir, plug=WEB, action="reboot", method="cycle")
    result = run_agent(stdin=params, pacemaker=True)
    assert (result.rc, result.stdout.strip()) == (0, "Success: Rebooted"), result
    assert [p["path"].rsplit("/", 1)[1] for p in power_posts(clc)] == ["reset"]


def test_switch_on_the_command_line(clc, token_dir):
    args = cli_args(clc, token_dir, None, "status") + ["-s", WEB.lower()]
    result = run_agent(args)
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_plug_naming_another_server_than_switch_is_refused_before_any_power_request(clc, token_dir):
    """-n A -s B by hand (or pcmk_host_map plus a stray switch): plug is a
    server of the account, not switch's: fencing B would report A fenced."""
    other = "UC1ACCTWEB02"
    for action in ("off", "reboot", "on"):
        result = agent(clc, token_dir, action, plug=other, extra=["-s", WEB])
        assert_one_clear_error(result, "asked to fence server %s" % other,
                               "switch names server %s" % WEB, "pcmk_host_list")
    assert power_posts(clc) == []
    assert states(clc) == ["started"] and states(clc, other) == ["started"]


def test_switch_with_a_node_name_in_plug_reads_the_plug_only_before_power_requests(clc, token_dir):
    """Pacemaker's plug is the node name there: a warm status of switch's
    server stays one request; off first proves the name is no server (404),
    then fences switch's server."""
    agent(clc, token_dir, "status", plug=WEB, extra=["-s", WEB.lower()])
    clc.clear_requests()
    assert agent(clc, token_dir, "status", plug=WEB, extra=["-s", WEB.lower()]).rc == 0
    assert [(r["method"], r["path"]) for r in clc.requests()] == [
        ("GET", "/v2/servers/ACCT/" + WEB.lower())]

    clc.clear_requests()
    result = agent(clc, token_dir, "off", plug="node2", extra=["-s", WEB])
    assert (result.rc, result.stdout.strip()) == (0, "Success: Powered OFF"), result
    first = clc.requests()[0]
    assert (first["path"], first["status"]) == ("/v2/servers/ACCT/node2", 404)
    assert [(p["path"], p["body"]) for p in power_posts(clc)] == [
        ("/v2/operations/ACCT/servers/powerOff", [WEB])]


def test_switch_with_a_plug_clc_cannot_check_sends_no_power_request(clc, token_dir):
    clc.add_fault("status", path="^/v2/servers/ACCT/node2$", status=403)
    result = agent(clc, token_dir, "off", plug="node2", extra=["-s", WEB])
    assert_one_clear_error(result, "cannot tell", "node2", WEB)
    assert power_posts(clc) == []


def test_account_option_reaches_a_sub_account(clc, token_dir):
    result = agent(clc, token_dir, "status", plug="UC1SUBAWEB01", extra=["-y", "SUBA"])
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


# ---------------------------------------------------------------- errors an admin meets

def test_missing_password_is_a_usage_error(clc, token_dir):
    result = run_agent(["-o", "status", "--api-url", clc.url, "-l", USERNAME, "-n", WEB])
    assert result.rc == 1 and "password" in result.stderr and not TRACEBACK.search(result.output)


def test_wrong_password(clc, token_dir):
    args = cli_args(clc, token_dir, WEB, "off", FAST_ARGS)
    args[args.index(SENTINEL_PASSWORD)] = "wrong"
    assert_one_clear_error(run_agent(args), "rejected the login", "password")
    assert power_posts(clc) == []


def test_a_node_name_as_plug_gets_a_hint_at_pcmk_host_map(clc, token_dir):
    """Pacemaker passes the node name as plug when no pcmk_host_map maps it."""
    result = run_agent(stdin=stdin_params(clc, token_dir, plug="web01", action="off"),
                       pacemaker=True)
    assert_one_clear_error(result, "server web01 not found", "pcmk_host_map=web01:",
                           "a cluster node's name")


def test_unknown_account(clc, token_dir):
    assert_one_clear_error(agent(clc, token_dir, "status", extra=["-y", "NOPE"]), "account")


@pytest.mark.parametrize("value", ["abc", "-5", "1.5"])
def test_validate_all_refuses_a_monitor_timeout_that_is_not_whole_seconds(clc, token_dir, value):
    result = run_agent(stdin=stdin_params(clc, token_dir, plug=WEB, action="validate-all",
                                          monitor_timeout=value))
    assert_one_clear_error(result, "monitor_timeout", value)
    assert clc.requests() == []


# ---------------------------------------------------------------- offline actions

def test_metadata_equals_the_checked_in_copy_and_validates(tmp_path):
    result = run_agent(["-o", "metadata"])
    with open(os.path.join(REPO, "tests", "data", "metadata", "fence_clc.xml")) as f:
        assert result.stdout == f.read()
    xml = tmp_path / "meta.xml"
    xml.write_text(result.stdout)
    subprocess.run(["xmllint", "--noout", "--relaxng", "/usr/share/cluster/relaxng/metadata.rng",
                    str(xml)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.mark.parametrize("extra, rc", [([], 0), (["--api-url", "ftp://x"], 1),
                                       (["--cacert", "/nonexistent.pem"], 1)])
def test_validate_all_checks_options_without_network(clc, token_dir, extra, rc):
    result = run_agent(cli_args(clc, token_dir, WEB, "validate-all", extra))
    assert result.rc == rc and not TRACEBACK.search(result.output), result
    assert clc.requests() == [] and os.listdir(token_dir) == []


@pytest.mark.parametrize("plug, switch, named", [("node/2", WEB, "plug 'node/2'"),
                                                 ("node2", "UC1/../x", "switch 'UC1/../x'"),
                                                 ("node2,node3", WEB, "one plug")])
def test_validate_all_checks_plug_and_switch_each(clc, token_dir, plug, switch, named):
    result = run_agent(cli_args(clc, token_dir, plug, "validate-all", ["-s", switch]))
    assert_one_clear_error(result, named)
    assert clc.requests() == []


def help_texts(usage):
    """{long option: its text} of -h's output (continuation lines joined)."""
    texts = {}
    for entry in re.split(r"\n   (?=-)", usage.split("Options:\n", 1)[1]):
        option = re.search(r"--([a-z-]+)", entry).group(1)
        texts[option] = " ".join(entry.split())
    return texts


def test_help_says_what_0_means_and_which_options_are_ignored():
    result = run_agent(["-h"])
    assert result.rc == 0, result
    texts = help_texts(result.stdout)
    assert "(0: " not in result.stdout
    for option, default in (("login-timeout", 10), ("shell-timeout", 20),
                            ("power-timeout", 60), ("monitor-timeout", 15)):
        assert "(default %d; 0 means the default)" % default in texts[option], texts[option]
    assert "whole action" in texts["power-timeout"]
    assert "overrides plug" in texts["switch"] and "pcmk_host_map" in texts["switch"]
    assert "not needed" in texts["plug"]
    for option in ("stonith-status-sleep", "disable-timeout"):
        assert "Ignored:" in texts[option], texts[option]


def test_version_is_the_agents():
    result = run_agent(["-V"])
    assert result.rc == 0 and result.stdout.strip()[0].isdigit()
    with open(os.path.join(REPO, "fence_clc")) as f:
        assert 'RELEASE_VERSION = "%s"' % result.stdout.strip() in f.read()


def test_a_misspelt_stdin_parameter_never_shows_its_value(clc, token_dir):
    """The library logs ignored stdin lines whole; a 'pasword=' typo must not leak."""
    params = stdin_params(clc, token_dir, plug=WEB, action="status")
    params["pasword"] = SENTINEL_PASSWORD
    result = run_agent(stdin=params, pacemaker=True)
    assert result.rc == 0, result
    assert "pasword" in result.stderr and SENTINEL_PASSWORD not in result.output


def test_each_log_line_appears_once_after_a_stdin_warning(clc, token_dir):
    params = stdin_params(clc, token_dir, plug="UC1NOSUCH01", action="status",
                          pcmk_host_list="node1")
    result = run_agent(stdin=params, pacemaker=True)
    assert result.rc == 1, result
    lines = result.stderr.splitlines()
    assert len(result.error_lines()) == 1 and len(lines) == len(set(l.split(" ", 2)[2] for l in lines))


@pytest.mark.parametrize("option", [["-n", "sérvér"], ["-n", "UC1/../x"], ["-y", "AC CT"],
                                    ["-s", "a?b"], ["--api-url", "http://clc-äpi"]])
def test_names_that_would_change_the_url_are_refused_clearly(clc, token_dir, option):
    result = run_agent(cli_args(clc, token_dir, WEB, "status", option))
    assert_one_clear_error(result, "not a")
    assert clc.requests() == []


def test_a_huge_timeout_is_capped_not_an_internal_error(clc, token_dir):
    result = agent(clc, token_dir, "status", extra=["--login-timeout", "99999999999999999"])
    assert (result.rc, result.stdout.strip()) == (0, "Status: ON"), result


def test_a_closed_stdin_gives_a_usage_error_not_an_internal_error():
    proc = subprocess.run([os.path.join(REPO, "fence_clc")], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=30,
                          preexec_fn=lambda: os.close(0))
    assert proc.returncode == 1, proc
    assert "internal error" not in proc.stderr and not TRACEBACK.search(proc.stderr), proc


# ---------------------------------------------------------------- abbreviated options

def test_validate_all_refuses_an_abbreviation_but_takes_an_option_value_as_a_value(hostile):
    result = run_agent(["-o", "validate-all", "-l", "u", "-p", "pw12", "-n", WEB, "--ssl"])
    hostile.count(result)
    assert_one_clear_error(result, "--ssl", "--ssl-insecure")
    for value in (["-p", "--ssl"], ["--password", "--ssl"], ["-p--ssl"]):
        result = run_agent(["-o", "validate-all", "-l", "u", "-n", WEB] + value)
        hostile.count(result)
        assert result.rc == 0, result
    hostile.assert_sane()


# ---------------------------------------------------------------- password_script

def live_processes_with(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                if text.encode() in f.read():
                    found.append(pid)
        except OSError:
            pass
    return found


@pytest.mark.parametrize("option", ["debug_file", "password_script", "cacert"])
def test_a_nul_byte_in_a_path_or_command_is_one_clear_line(clc, hostile, option):
    """Only stdin can carry it. It ended in "internal error: ValueError:
    embedded null byte" (debug_file, password_script), or a line that
    printed the NUL (cacert)."""
    params = hostile.params(clc, "validate-all", **{option: "/tmp/a\0b"})
    if option == "password_script":
        del params["passwd"]
    result = run_stdin_bytes(stdin_text(params).encode())
    hostile.count(result)
    assert_one_clear_error(result, "%s holds a NUL byte" % option, "- fix it")
    assert "\0" not in result.output, result
    hostile.assert_sane()


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_a_password_script_is_killed_at_power_timeout_with_one_clear_line(clc, hostile, mode):
    """The library waits for password_script as long as it runs; the
    README's worst case counts it in power_timeout."""
    marker = "9.%d" % os.getpid()  # sleep's own argument: finds it among the processes
    params = hostile.params(clc, "off", power_timeout="2")
    del params["passwd"]
    params["password_script"] = "sleep %s; echo %s" % (marker, SENTINEL_PASSWORD)
    result = hostile.run(params, mode)
    assert_one_clear_error(result, "password_script did not finish within power_timeout (2 s)",
                           "- fix the script")
    assert result.seconds < 2 + 1 + 1.5, result
    assert clc.requests() == [] and live_processes_with("sleep\0" + marker) == []
    hostile.assert_sane()


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_a_password_script_within_power_timeout_gives_the_password(clc, hostile, mode):
    params = hostile.params(clc, "off", power_timeout="4")
    del params["passwd"]
    params["passwd_script" if mode == "stdin" else "password_script"] = \
        "sleep 1; printf '%s \\n\\n'" % SENTINEL_PASSWORD
    result = hostile.run(params, mode)
    assert (result.rc, result.stdout) == (0, "Success: Powered OFF\n"), result
    assert result.seconds < 4 + 1 + 1.5, result
    hostile.assert_sane()


# ---------------------------------------------------------------- input that broke the agent

def non_ascii_world():
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": "fénceur@acct", "password": "Pässwörd-ü1"})
    return world


def test_non_ascii_credentials_on_stdin_under_an_ascii_locale(sim_factory, hostile):
    """Python 3.6 under a C/POSIX locale reads stdin as ASCII; PYTHONIOENCODING
    does the same on newer Pythons."""
    sim = sim_factory(config=non_ascii_world())
    hostile.secrets.append("Pässwörd-ü1")
    env = agent_env(True, {"PYTHONIOENCODING": "ascii", "LC_ALL": "C", "LANG": "C"})
    params = hostile.params(sim, "status", login="fénceur@acct", passwd="Pässwörd-ü1")
    result = hostile.run(params, env=env)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    hostile.assert_sane()


def test_a_username_with_an_invalid_utf8_byte_is_one_clear_line(clc, hostile):
    params = hostile.params(clc, "status", login=os.fsdecode(b"fencer\xff@acct"))
    for mode in ("argv", "stdin"):
        if mode == "stdin":
            result = run_stdin_bytes(stdin_text(params).encode("utf-8", "surrogateescape"))
            hostile.count(result)
        else:
            result = hostile.run(params, mode)
        assert_one_clear_error(result, "UTF-8")
    assert clc.requests() == []
    hostile.assert_sane()


def test_an_empty_plug_separator_is_one_clear_line(clc, hostile):
    result = hostile.run(hostile.params(clc, "status", plug_separator=""), "argv")
    assert_one_clear_error(result, "plug_separator")
    hostile.assert_sane()


EVERY_ACTION = ("validate-all", "status", "off", "on", "reboot", "monitor", "list")


def assert_refused_by_every_action(hostile, sim, mode, words, **params):
    """One clear line from validate-all and every action, and no request."""
    for action in EVERY_ACTION:
        assert_one_clear_error(hostile.run(hostile.params(sim, action, **params), mode), *words)
    assert sim.requests() == []
    hostile.assert_sane()


@pytest.mark.parametrize("option, value", [
    ("retry_on", "0"), ("retry_on", "-1"), ("power_wait", "-1"), ("delay", "-2"),
    ("login_timeout", "-1"), ("shell_timeout", "-3"), ("power_timeout", "-60"),
    ("stonith_status_sleep", "-1"), ("power_wait", "1" + "0" * 20), ("delay", "99999999999")])
def test_a_number_option_out_of_range_is_refused_before_any_request(clc, hostile, option, value):
    """retry_on=0 made a reboot leave the VM off yet say "Rebooted"; a
    negative power_wait ended a successful off in an internal error; both
    passed validate-all (issue 21)."""
    assert_refused_by_every_action(hostile, clc, "stdin", [option], **{option: value})
    assert clc.server(WEB)["powerState"] == "started"


@pytest.mark.parametrize("plug", [",", WEB + ",", "," + WEB, WEB + ",,UC1ACCTWEB02"])
@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_an_empty_server_id_in_plug_is_refused_before_any_request(clc, hostile, mode, plug):
    """An empty plug once read /v2/servers/ACCT/ and failed as "server  not
    found" after validate-all had accepted it (issue 21)."""
    assert_refused_by_every_action(hostile, clc, mode, ["plug", "empty"], port=plug)


@pytest.mark.parametrize("mode", ["stdin", "argv"])
def test_an_empty_plug_is_refused_where_a_server_is_needed(clc, hostile, mode):
    for action in ("validate-all", "status", "off", "reboot"):
        assert_one_clear_error(hostile.run(hostile.params(clc, action, port=""), mode), "plug", "empty")
    assert clc.requests() == []
    for action, shown in (("monitor", ""), ("list", WEB.lower() + "," + WEB)):
        result = hostile.run(hostile.params(clc, action, port=""), mode)
        assert result.rc == 0 and shown in result.stdout, result
    hostile.assert_sane()


def test_a_bom_before_the_action_is_ignored_never_a_reboot(clc, hostile):
    """A UTF-8 BOM made the first key '\\ufeffaction': ignored, so the
    default action, reboot, ran instead of status (issue 21)."""
    params = hostile.params(clc, "status")
    assert list(params)[0] == "action"
    result = run_stdin_bytes(b"\xef\xbb\xbf" + stdin_text(params).encode())
    hostile.count(result)
    assert (result.rc, result.stdout) == (0, "Status: ON\n"), result
    assert power_posts(clc) == [], clc.requests()
    hostile.assert_sane()


@pytest.mark.parametrize("line", [
    "\u200baction=status", "action =status", "ACTION=status", "act\u00adion=status",
    "acton=status", "actions=status", "operation=status"])
def test_a_stdin_line_that_may_be_the_action_is_refused_never_a_reboot(clc, hostile, line):
    """Without a readable action= line the library runs its default,
    reboot: an unknown key that may have meant the action is refused."""
    params = hostile.params(clc, "status")
    del params["action"]
    result = run_stdin_bytes((line + "\n" + stdin_text(params)).encode())
    hostile.count(result)
    assert_one_clear_error(result, "action")
    assert "status" not in checks.failure_lines(result)[0], result  # names the key, not its value
    assert clc.requests() == []
    hostile.assert_sane()
