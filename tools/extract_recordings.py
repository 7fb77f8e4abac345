#!/usr/bin/python3
"""Extract the conformance test's recorded CLC exchanges from the public
repositories in which CLC's SDK teams recorded real API traffic.

    extract_recordings.py --java GITDIR --node GITDIR --apidocs GITDIR [--out DIR]

Each GITDIR is a git directory (bare or a work tree's .git) of
CenturyLinkCloud/clc-java-sdk (WireMock mappings and __files),
CenturyLinkCloud/clc-node-sdk (nock cassettes) and CenturyLinkCloud/APIDocs
(raw HTTP captures in the docs). The three are Apache-2.0: the output keeps
each exchange with its source repository, commit and path beside it, the
licence text, and says what was changed (headers reduced to the ones that
matter, bearer tokens replaced). Writes DIR/exchanges.json and DIR/LICENSE
(default DIR: tests/data/clc-recordings).
"""

import argparse
import gzip
import json
import os
import posixpath
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "tests", "data", "clc-recordings")
KEPT_HEADERS = ("Content-Type", "Content-Encoding", "Content-Length")
TOKEN = "<bearer token removed>"

JAVA_OPS = "sdk/src/test/resources/com/centurylink/cloud/sdk/server/services/dsl/servers/operations/"
JAVA_DSL = "sdk/src/test/resources/com/centurylink/cloud/sdk/"
NODE_POWER = "cassettes/Power operations server operation [UNIT]/"

# name -> (source, path, how to find the exchange in it)
#   java: a WireMock mapping; node: (cassette, method, path suffix); apidocs: (doc, status line)
SELECTION = {
    "login_200": ("java", JAVA_OPS + "poweroff/mappings/mapping-authentication-login-90f9B.json", None),
    "login_400": ("apidocs", "Getting Started/api-v20-authentication-overview.md", "HTTP/1.1 400"),
    "server_started": ("java", JAVA_OPS + "poweron/mappings/mapping-ALTD-ca1altdpwrops01-QPYrx.json", None),
    "server_stopped": ("java", JAVA_OPS + "poweroff/mappings/mapping-ALTD-ca1altdpwrops01-S2Tu9.json", None),
    "server_paused": ("java", JAVA_OPS + "pause/mappings/mapping-ALTD-ca1altdpwrops01-nKqXH.json", None),
    "server_archived": ("java", JAVA_OPS + "archive/mappings/mapping-ALTD-ca1altdpwrops01-pmgCU.json", None),
    "server_under_construction": ("java", JAVA_DSL + "server/services/dsl/statistics/monitoring/mappings/"
                                  "mapping-ALTD-de1altdmd-srv324-SWjVh.json", None),
    "server_unknown": ("java", JAVA_DSL + "server/services/dsl/servers/ip/add_ip_test/mappings/"
                       "mapping-ALTD-de1altdtcrt959-SORHB.json", None),
    "operation_status": ("java", JAVA_OPS + "poweroff/mappings/mapping-status-ca1-28388-pGyIB.json", None),
    "datacenters_group_links": ("java", JAVA_DSL + "loadbalancer/services/dsl/group/create-super/assert/"
                                "mappings/mapping-datacenters-ALTD-00KVL.json", None),
    "power_powerOn": ("node", NODE_POWER + "Should power on servers.json", ("POST", "/servers/powerOn")),
    "power_powerOff": ("node", NODE_POWER + "Should power off servers.json", ("POST", "/servers/powerOff")),
    "power_shutDown": ("node", NODE_POWER + "Should shut down servers.json", ("POST", "/servers/shutDown")),
    "power_reboot": ("node", NODE_POWER + "Should reboot servers.json", ("POST", "/servers/reboot")),
    "power_reset": ("node", NODE_POWER + "Should reset servers.json", ("POST", "/servers/reset")),
    "power_pause": ("node", NODE_POWER + "Should pause servers.json", ("POST", "/servers/pause")),
    "power_startMaintenance": ("node", NODE_POWER + "Should start maintenance servers.json",
                               ("POST", "/servers/startMaintenance")),
    "power_stopMaintenance": ("node", NODE_POWER + "Should stop maintenance servers.json",
                              ("POST", "/servers/stopMaintenance")),
    "error_500": ("node", NODE_POWER + "Should pause servers.json", ("GET", "?serverDetail=detailed", 500)),
    "group_plain_root": ("node", "cassettes/Create server with managed OS operation  [UNIT]/"
                         "Should create new server.json", ("GET", "4356917d548341c8ae7b56e151314a9f")),
    "group_detailed_root": ("java", JAVA_DSL + "server/services/dsl/groups/infrastructure-policies/mappings/"
                            "mapping-ALTD-1f81abb4ea8c4ffbb360adff178f902b-8kSP9.json", None),
    "group_detailed_active": ("java", JAVA_OPS + "restore/mappings/"
                              "mapping-ALTD-68c30c5898584105902306f7f610b31b-SiHeY.json", None),
    "group_detailed_archive": ("node", NODE_POWER + "Should restore servers to Default Group.json",
                               ("GET", "105eacfe6b0f4572bba834a0b7f6aa91?serverDetail=detailed")),
    "group_detailed_restoring": ("node", NODE_POWER + "Should archive servers.json",
                                 ("GET", "105eacfe6b0f4572bba834a0b7f6aa91?serverDetail=detailed")),
}
REPOSITORIES = {"java": "CenturyLinkCloud/clc-java-sdk", "node": "CenturyLinkCloud/clc-node-sdk",
                "apidocs": "CenturyLinkCloud/APIDocs"}


class Source:
    def __init__(self, name, git_dir):
        self.repo = REPOSITORIES[name]
        self.git_dir = git_dir
        self.commit = self.git("rev-parse", "HEAD").decode().strip()

    def git(self, *args):
        return subprocess.run(["git", "--git-dir", self.git_dir] + list(args),
                              stdout=subprocess.PIPE, check=True).stdout

    def read(self, path):
        return self.git("show", "%s:%s" % (self.commit, path))


def gunzip(raw):
    return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw


def json_or_text(raw):
    if not raw:
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        return raw.decode("utf-8", "replace")


def kept_headers(headers):
    by_lower = {name.lower(): value for name, value in (headers or {}).items()}
    return {name: by_lower[name.lower()] for name in KEPT_HEADERS if name.lower() in by_lower}


def from_wiremock(source, path, _how):
    mapping = json.loads(source.read(path))
    request, response = mapping["request"], mapping["response"]
    body = None
    if response.get("bodyFileName"):
        body_path = posixpath.join(posixpath.dirname(posixpath.dirname(path)), "__files",
                                   response["bodyFileName"])
        body = json_or_text(gunzip(source.read(body_path)))
    request_body = None
    for pattern in request.get("bodyPatterns") or []:
        if "equalToJson" in pattern:
            request_body = json.loads(pattern["equalToJson"])
    return {"request": {"method": request["method"], "path": request.get("url") or request["urlPattern"],
                        "body": request_body},
            "response": {"status": response["status"], "headers": kept_headers(response.get("headers")),
                         "body": body}}, {}


def nock_body(response):
    """A cassette keeps a gzipped body as hex chunks of its bytes read as latin-1, then UTF-8 encoded."""
    if isinstance(response, list) and response and all(isinstance(chunk, str) for chunk in response):
        raw = bytes.fromhex("".join(response))
        try:
            raw = raw.decode("utf-8").encode("latin-1")
        except (UnicodeDecodeError, UnicodeEncodeError):
            pass
        return json_or_text(gunzip(raw))
    return response


def from_nock(source, path, how):
    method, suffix = how[0], how[1]
    status = how[2] if len(how) > 2 else None
    for index, exchange in enumerate(json.loads(source.read(path))):
        if exchange["method"].upper() == method and exchange["path"].endswith(suffix) and \
                (status is None or exchange["status"] == status):
            return {"request": {"method": method, "path": exchange["path"], "body": exchange.get("body") or None},
                    "response": {"status": exchange["status"], "headers": kept_headers(exchange.get("headers")),
                                 "body": nock_body(exchange.get("response"))}}, {"index": index}
    raise SystemExit("%s: no %s ...%s in %s" % (source.repo, method, suffix, path))


def from_apidocs(source, path, status_line):
    """A raw HTTP capture quoted (indented) in a doc page: status line, headers, blank, body."""
    lines = source.read(path).decode("utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(status_line))
    headers, i = {}, start + 1
    while lines[i].strip():
        name, _, value = lines[i].strip().partition(":")
        headers[name.strip()] = value.strip()
        i += 1
    body_lines = []
    for line in lines[i + 1:]:
        if not line.startswith("    ") and line.strip():
            break
        body_lines.append(line.strip())
    body = json.loads("\n".join(body_lines).strip())
    request = {"method": "POST", "path": "/v2/authentication/login",
               "body": {"username": "[username]", "password": "[password]"}}
    return {"request": request, "response": {"status": int(lines[start].split()[1]),
                                             "headers": kept_headers(headers), "body": body}}, \
        {"line": start + 1}


READERS = {"java": from_wiremock, "node": from_nock, "apidocs": from_apidocs}


def without_token(body):
    if isinstance(body, dict) and "bearerToken" in body:
        return dict(body, bearerToken=TOKEN)
    return body


def extract(sources):
    exchanges = []
    for name, (kind, path, how) in SELECTION.items():
        source = sources[kind]
        exchange, where = READERS[kind](source, path, how)
        exchange["response"]["body"] = without_token(exchange["response"]["body"])
        exchanges.append(dict({"name": name, "source": dict({"repo": source.repo, "commit": source.commit,
                                                            "path": path}, **where)}, **exchange))
    return exchanges


NOTICE = ("Exchanges recorded by CenturyLink Cloud's SDK teams in the repositories named beside each "
          "(Apache License 2.0, see LICENSE). Changed by the fence_clc project: only the listed exchanges "
          "are kept, headers are reduced to Content-Type, Content-Encoding and Content-Length, "
          "gzipped or hex-encoded bodies are decoded, and bearer tokens are replaced. "
          "Regenerate with tools/extract_recordings.py.")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name in REPOSITORIES:
        parser.add_argument("--" + name, required=True, metavar="GITDIR",
                            help="git directory of " + REPOSITORIES[name])
    parser.add_argument("--out", default=DEFAULT_OUT, metavar="DIR")
    args = parser.parse_args()
    sources = {name: Source(name, getattr(args, name)) for name in REPOSITORIES}
    exchanges = extract(sources)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "exchanges.json"), "w") as out:
        json.dump({"notice": NOTICE, "exchanges": exchanges}, out, indent=1, sort_keys=False)
        out.write("\n")
    with open(os.path.join(args.out, "LICENSE"), "wb") as out:
        out.write(sources["java"].read("LICENSE"))
    print("%d exchanges written to %s" % (len(exchanges), args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
