"""The agent's core behaviours on every platform row (rows x behaviours):
the same agent file, each platform's fencing library and Python, the
project's simulator over real HTTP."""

import os
import subprocess

import pytest

from agentrun import (SENTINEL_PASSWORD, TRACEBACK, USERNAME, cli_args, fencing_world,
                      stdin_params, stdin_text)
from support import logins, power_operations

WEB = "UC1ACCTWEB01"
FAST = ["--power-timeout", "10", "--shell-timeout", "5", "--login-timeout", "3"]
FAST_STDIN = {"power_timeout": "10", "shell_timeout": "5", "login_timeout": "3"}


def agent(platform, sim, token_dir, action, plug=WEB, extra=(), password=SENTINEL_PASSWORD):
    args = cli_args(sim, token_dir, plug, action, list(FAST) + list(extra))
    args[args.index(SENTINEL_PASSWORD)] = password
    return platform.run(args, share=[token_dir])


def assert_clean(result, rc, stdout=None):
    assert result.rc == rc and not TRACEBACK.search(result.output), result
    assert "internal error" not in result.output, result
    if stdout is not None:
        assert result.stdout.strip() == stdout, result


def test_metadata_is_valid_against_the_platforms_schema(platform, tmp_path):
    result = platform.run(["-o", "metadata"])
    assert_clean(result, 0)
    assert '<resource-agent name="fence_clc"' in result.stdout
    xml = tmp_path / "metadata.xml"
    xml.write_text(result.stdout)
    check = subprocess.run(["xmllint", "--noout", "--relaxng", platform.metadata_rng(), str(xml)],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert check.returncode == 0, check.stdout


@pytest.mark.parametrize("extra, rc", [([], 0), (["--api-url", "ftp://x"], 1)])
def test_validate_all(platform, clc, token_dir, extra, rc):
    result = agent(platform, clc, token_dir, "validate-all", extra=extra)
    assert_clean(result, rc)
    assert clc.requests() == [] and os.listdir(token_dir) == []
    if rc:
        assert "api_url" in result.stderr, result


@pytest.mark.parametrize("power_state, rc, shown", [
    ("started", 0, "Status: ON"), ("paused", 0, "Status: ON"), ("stopped", 2, "Status: OFF")])
def test_status(platform, clc, token_dir, power_state, rc, shown):
    clc.set_server(WEB, powerState=power_state)
    assert_clean(agent(platform, clc, token_dir, "status"), rc, shown)


def test_off(platform, clc, token_dir):
    assert_clean(agent(platform, clc, token_dir, "off"), 0, "Success: Powered OFF")
    assert clc.server(WEB)["powerState"] == "stopped"
    assert power_operations(clc) == ["powerOff"]


def test_on(platform, clc, token_dir):
    clc.set_server(WEB, powerState="stopped")
    assert_clean(agent(platform, clc, token_dir, "on"), 0, "Success: Powered ON")
    assert clc.server(WEB)["powerState"] == "started"
    assert power_operations(clc) == ["powerOn"]


@pytest.mark.parametrize("method, posts", [("onoff", ["powerOff", "powerOn"]), ("cycle", ["reset"])])
def test_reboot(platform, clc, token_dir, method, posts):
    result = agent(platform, clc, token_dir, "reboot", extra=["--method", method])
    assert_clean(result, 0, "Success: Rebooted")
    assert power_operations(clc) == posts
    assert [state for _, state in clc.server(WEB)["power_history"]][-2:] == ["stopped", "started"]


def test_list(platform, clc, token_dir):
    result = agent(platform, clc, token_dir, "list", plug=None)
    assert_clean(result, 0)
    lines = result.stdout.split()
    assert "uc1acctweb01,UC1ACCTWEB01" in lines and "va1acctapp02,VA1ACCTAPP02" in lines, result


def test_status_through_a_host_name_the_agent_resolves_itself(platform, clc, token_dir):
    """The agent looks host names up itself and hands libcurl the address."""
    args = cli_args(clc, token_dir, WEB, "status", FAST)
    args[args.index(clc.url)] = clc.url.replace("127.0.0.1", "localhost")
    assert_clean(platform.run(args, share=[token_dir]), 0, "Status: ON")


def test_list_under_an_ascii_locale_escapes_names_never_ids(platform, clc, token_dir):
    """Python 3.6 writes ASCII under the C locale: the library printed b'...'."""
    clc.set_server(WEB, name="Wéb-ü")
    args = cli_args(clc, token_dir, None, "list", FAST)
    result = platform.run(args, share=[token_dir], env={"LC_ALL": "C", "LANG": "C",
                                                         "PYTHONIOENCODING": "ascii"})
    assert_clean(result, 0)
    lines = result.stdout.split()
    assert "uc1acctweb01,W\\xe9b-\\xfc" in lines and "va1acctapp02,VA1ACCTAPP02" in lines, result


def test_a_hanging_password_script_is_killed_at_power_timeout(platform, clc, token_dir):
    args = cli_args(clc, token_dir, WEB, "status", FAST + ["--power-timeout", "2"])
    args[args.index("-p"):args.index("-p") + 2] = ["-S", "sleep 9; echo " + SENTINEL_PASSWORD]
    result = platform.run(args, share=[token_dir])
    assert_clean(result, 1)
    assert "password_script" in result.stderr and result.seconds < 6, result


def test_monitor(platform, clc, token_dir):
    assert_clean(agent(platform, clc, token_dir, "monitor"), 0)
    assert [r["path"] for r in clc.requests() if r["method"] == "GET"] == ["/v2/servers/ACCT/" + WEB]


def test_wrong_password(platform, clc, token_dir):
    result = agent(platform, clc, token_dir, "off", password="wrong-password")
    assert_clean(result, 1)
    errors = result.error_lines()
    assert len(errors) == 1 and "rejected the login" in errors[0], result
    assert power_operations(clc) == []


def test_pacemaker_stdin_with_the_seeds_names(platform, clc, token_dir):
    """What pacemaker-fenced sends for the seed's `pcs stonith create`:
    its parameter names, plus nodename and port (the node's name)."""
    params = {"action": "reboot", "nodename": "node2", "port": "node2",
              "pcmk_host_check": "static-list", "pcmk_host_list": "node2",
              "account": "ACCT", "login": USERNAME, "passwd": SENTINEL_PASSWORD, "switch": WEB,
              "api_url": clc.url, "token_file": os.path.join(token_dir, "[hash].token"),
              "power_timeout": "10"}
    result = platform.run(stdin=params, pacemaker=True, share=[token_dir])
    assert_clean(result, 0, "Success: Rebooted")
    assert power_operations(clc) == ["powerOff", "powerOn"]
    assert len(clc.server("UC1ACCTWEB02")["power_history"]) == 1  # only the switch server


def test_token_cache_is_reused(platform, clc, token_dir):
    for _ in range(2):
        assert_clean(agent(platform, clc, token_dir, "status"), 0, "Status: ON")
    assert len(logins(clc)) == 1
    (name,) = [n for n in os.listdir(token_dir) if n.endswith(".token")]
    assert os.stat(os.path.join(token_dir, name)).st_mode & 0o777 == 0o600


def test_tls_is_verified_with_the_platforms_pycurl(platform, clc_tls, token_dir):
    """cacert trusts the simulator's CA; without it the certificate is refused."""
    share = [token_dir, os.path.dirname(clc_tls.ca_file)]
    trusted = platform.run(cli_args(clc_tls, token_dir, WEB, "status", FAST), share=share)
    assert_clean(trusted, 0, "Status: ON")
    args = cli_args(clc_tls, token_dir, WEB, "status", FAST)
    del args[args.index("--cacert"):args.index("--cacert") + 2]
    refused = platform.run(args, share=share)
    assert_clean(refused, 1)
    assert "not trusted" in refused.stderr, refused


@pytest.mark.parametrize("ssl_insecure, verified", [("0", True), ("false", True), ("1", False)])
def test_only_a_true_ssl_insecure_from_pacemaker_skips_verification(
        platform, clc_tls, token_dir, ssl_insecure, verified):
    """Library 4.12+ keeps a stdin ssl_insecure=0 as the value "0" (older
    ones drop it): that is no request to skip verification. No CA given."""
    params = stdin_params(clc_tls, token_dir, WEB, "status", ssl_insecure=ssl_insecure,
                          **FAST_STDIN)
    del params["cacert"]
    result = platform.run(stdin=params, pacemaker=True, share=[token_dir])
    if verified:
        assert_clean(result, 1)
        errors = result.error_lines()
        assert len(errors) == 1 and "not trusted" in errors[0], result
        assert clc_tls.requests() == [], result
    else:
        assert_clean(result, 0, "Status: ON")


# Under a C or POSIX locale Python 3.6 decodes argv and stdin as ASCII
# (3.7+ switch to UTF-8 mode); the fencer's environment may be that bare.
ASCII_LOCALES = {"C": {"LC_ALL": "C", "LANG": "C"}, "POSIX": {"LC_ALL": "POSIX", "LANG": "POSIX"}}
NON_ASCII_USER, NON_ASCII_PASSWORD = "fénceur@acct", "Pässwörd-ü1"
INVALID_UTF8_USER = os.fsdecode(b"fencer\xff@acct")


def run_as(platform, mode, sim, token_dir, login, password, env):
    """status as an admin types it (argv) or as pacemaker-fenced sends it
    (stdin, as raw bytes: a byte that is not UTF-8 stays that byte)."""
    if mode == "argv":
        args = cli_args(sim, token_dir, WEB, "status", FAST)
        args[args.index(USERNAME)] = login
        args[args.index(SENTINEL_PASSWORD)] = password
        return platform.run(args, share=[token_dir], env=env)
    params = stdin_params(sim, token_dir, WEB, "status", login=login, passwd=password,
                          **FAST_STDIN)
    raw = stdin_text(params).encode("utf-8", "surrogateescape")
    return platform.run(stdin=raw, pacemaker=True, share=[token_dir], env=env)


@pytest.fixture
def clc_non_ascii(sim_factory):
    world = fencing_world()
    world["accounts"][0]["users"].append({"username": NON_ASCII_USER,
                                          "password": NON_ASCII_PASSWORD})
    return sim_factory(config=world)


@pytest.mark.parametrize("locale", sorted(ASCII_LOCALES))
@pytest.mark.parametrize("mode", ["argv", "stdin"])
def test_non_ascii_credentials_under_an_ascii_locale(platform, clc_non_ascii, token_dir,
                                                     mode, locale):
    result = run_as(platform, mode, clc_non_ascii, token_dir, NON_ASCII_USER,
                    NON_ASCII_PASSWORD, ASCII_LOCALES[locale])
    assert_clean(result, 0, "Status: ON")


@pytest.mark.parametrize("locale", ["C.UTF-8", "C"])
@pytest.mark.parametrize("mode", ["argv", "stdin"])
def test_a_username_with_an_invalid_utf8_byte_is_one_clear_line(platform, clc, token_dir,
                                                                mode, locale):
    result = run_as(platform, mode, clc, token_dir, INVALID_UTF8_USER, SENTINEL_PASSWORD,
                    {"LC_ALL": locale, "LANG": locale})
    assert_clean(result, 1)
    errors = result.error_lines()
    assert len(errors) == 1 and "username is not UTF-8" in errors[0], result
    assert clc.requests() == []
