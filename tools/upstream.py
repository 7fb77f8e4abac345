#!/usr/bin/python3
"""fence_clc as a pull request to ClusterLabs fence-agents.

    upstream.py [--out DIR] [--tarball FILE] [--python PATH] [--author "Name <mail>"]

Writes DIR/0001-fence_clc-new-fence-agent.patch: one `git format-patch`
commit against the upstream tree in FILE (an archive of fence-agents) that
adds
  agents/clc/fence_clc.py            generated from ./fence_clc (upstream_agent)
  tests/data/metadata/fence_clc.xml  written by upstream's own `make -C agents
                                     xml-upload`, from the agent as built there
  fence-agents.spec.in               a fence-agents-clc subpackage
Upstream's metadata comes from its own build, so this configures and builds
the tree in a temporary directory (about half a minute); nothing is kept.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(REPO, "fence_clc")
TARBALL = os.path.join(os.path.dirname(REPO), "shared", "upstream", "fence-agents-main.tar.gz")
PATCH_NAME = "0001-fence_clc-new-fence-agent.patch"

AGENT_PATH = "agents/clc/fence_clc.py"
METADATA_PATH = "tests/data/metadata/fence_clc.xml"
SPEC_PATH = "fence-agents.spec.in"
SUBPACKAGE = "clc"

# An archive has no tags for upstream's version script (make/git-version-gen):
# a development snapshot after release 4.17.0, as its version script names one.
TREE_VERSION = "4.17.0.99"

COMMIT_MESSAGE = """\
fence_clc: new fence agent

Fence agent for virtual machines on CenturyLink Cloud (CLC), through the
CLC v2 REST API (pycurl). Since 2020 users have installed it by hand from
a CLC knowledge-base article; this makes it available to distributions.

It reports OFF only when CLC says the server is stopped, confirms every
power operation on the server record, never repeats a power request
blindly, keeps its own request timeouts when Pacemaker zeroes the
library's ones, and caches its bearer token in @FENCETMPDIR@ (0600, locked).
"""

SPEC_STANZA = """\
%package {name}
License: GPL-2.0-or-later AND LGPL-2.0-or-later
Summary: {summary}
Requires: python3-pycurl
Requires: fence-agents-common = %{{version}}-%{{release}}
BuildArch: noarch
%description {name}
Fence agent for virtual machines on CenturyLink Cloud (CLC) that are
accessed via the CLC v2 REST API.
%files {name}
%{{_sbindir}}/fence_{name}
%{{_mandir}}/man8/fence_{name}.8*

"""


class GeneratorError(Exception):
    """Something the generator cannot do; one line naming what to fix."""


# ------------------------------------------------------------------ the agent

def replace_once(text, pattern, replacement, what, required=True):
    """re.sub that insists on exactly one match (at most one if optional),
    so that a change in fence_clc shows up here instead of in the patch."""
    new_text, count = re.subn(pattern, replacement, text, flags=re.M | re.S)
    if count > 1 or (required and count == 0):
        raise GeneratorError("%s: expected one match of %r in fence_clc, found %d"
                             % (what, pattern, count))
    return new_text


def upstream_agent(source):
    """fence_clc in upstream's conventions. The build fills in the
    @PLACEHOLDERS@ (make/fencebuild.mk); everything else stays as it is, so
    the agent upstream ships is the one this project tests."""
    text = replace_once(source, r"\A#!.*?\n", "#!@PYTHON@ -tt\n", "interpreter")
    text = replace_once(text, r'^sys\.path\.append\("/usr/share/fence"\)$',
                        'sys.path.append("@FENCEAGENTSLIBDIR@")', "library path")
    # The token cache lives in upstream's state directory, as fence_ibm_vpc's.
    text = replace_once(text, r'^(DEFAULT_TOKEN_FILE = ")[^"\n]*(/fence_clc/\[hash\]\.token")$',
                        r"\1@FENCETMPDIR@\2", "token cache default")
    # Upstream agents have no version of their own: -V shows the package's.
    text = replace_once(text, r"^#BEGIN_VERSION_GENERATION\n.*?^#END_VERSION_GENERATION\n\n*",
                        "", "version block", required=False)
    text = replace_once(text, r"^[ \t]*fencing\.RELEASE_VERSION = RELEASE_VERSION\b[^\n]*\n",
                        "", "version override", required=False)
    # Files of this project that the upstream tree does not have.
    for reference in ("README.md", "LICENSE"):
        text = replace_once(text, r" \(see %s\)" % re.escape(reference), "",
                            "reference to " + reference, required=False)
    check_upstream_agent(text)
    return text


def check_upstream_agent(text):
    leftovers = [(r"\bRELEASE_VERSION\b", "a version of its own"),
                 (r"/usr/share/fence\b", "the library's path (use @FENCEAGENTSLIBDIR@)"),
                 (r'"/(run|var|tmp)/', "a state path (use @FENCETMPDIR@)")]
    for pattern, what in leftovers:
        match = re.search(pattern, text)
        if match:
            line = text.count("\n", 0, match.start()) + 1
            raise GeneratorError("the upstream agent would keep %s (line %d of the generated "
                                 "agent): teach tools/upstream.py about it" % (what, line))
    compile(text, AGENT_PATH, "exec")


# ------------------------------------------------------------------ the spec

def add_subpackage(spec, summary, name=SUBPACKAGE):
    """The fence-agents-NAME stanza and its entry in fence-agents-all's list,
    each in alphabetical place, as upstream adds a new agent."""
    if re.search(r"^%%package %s$" % re.escape(name), spec, re.M):
        raise GeneratorError("%s already has a %s subpackage" % (SPEC_PATH, name))
    lines = spec.splitlines(True)

    entries = [i for i, line in enumerate(lines)
               if re.match(r"fence-agents-[\w-]+ \\\\$", line)]
    after = [i for i in entries if lines[i].split()[0][len("fence-agents-"):] > name]
    if not entries or not after:
        raise GeneratorError("%s: no fence-agents-all list found" % SPEC_PATH)
    lines.insert(after[0], "fence-agents-%s \\\\\n" % name)

    packages = [(match.group(1), i) for i, line in enumerate(lines)
                for match in [re.match(r"%package ([\w-]+)$", line)] if match]
    before = [package for package, _ in packages if package < name]
    if not before:
        raise GeneratorError("%s: no subpackage sorts before %s" % (SPEC_PATH, name))
    files_line = lines.index("%%files %s\n" % max(before))
    end = next(i for i in range(files_line, len(lines)) if not lines[i].strip())
    lines.insert(end + 1, SPEC_STANZA.format(name=name, summary=summary))
    return "".join(lines)


def metadata_shortdesc(metadata):
    match = re.search(r'<resource-agent name="[^"]*" shortdesc="([^"]*)"', metadata)
    if not match:
        raise GeneratorError("the agent's metadata has no shortdesc")
    return match.group(1)


# ------------------------------------------------------------------ the tree

def run(command, cwd, log, env=None):
    """Run a build step, its output appended to log; on failure show the
    log's tail and stop."""
    with open(log, "a") as out:
        out.write("$ %s\n" % " ".join(command))
        out.flush()
        rc = subprocess.call(command, cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                             env=dict(os.environ, **(env or {})))
    if rc != 0:
        with open(log) as f:
            tail = f.read().splitlines()[-25:]
        raise GeneratorError("%s failed (exit %d):\n  %s" % (" ".join(command), rc,
                                                            "\n  ".join(tail)))


def unpack(tarball, into):
    """The archive's tree (git archive --prefix=fence-agents/)."""
    subprocess.check_call(["tar", "-xzf", tarball, "-C", into])
    tree = os.path.join(into, "fence-agents")
    if not os.path.isfile(os.path.join(tree, "agents", "Makefile.am")):
        raise GeneratorError("%s is not a fence-agents source archive" % tarball)
    return tree


def upstream_commit(tarball):
    """The upstream commit the archive was made from (git archive records it)."""
    gunzip = subprocess.Popen(["gzip", "-dc", tarball], stdout=subprocess.PIPE)
    commit = subprocess.run(["git", "get-tar-commit-id"], stdin=gunzip.stdout,
                            stdout=subprocess.PIPE, universal_newlines=True).stdout.strip()
    gunzip.stdout.close()
    gunzip.wait()
    return commit if re.match(r"^[0-9a-f]{40}$", commit) else None


def build_metadata(tree, python, log):
    """tests/data/metadata/fence_clc.xml as upstream makes it: the tree
    configured for this agent and built, then `make -C agents xml-upload`."""
    with open(os.path.join(tree, ".tarball-version"), "w") as f:
        f.write(TREE_VERSION + "\n")
    run(["./autogen.sh"], tree, log)
    run(["./configure", "--with-agents=" + SUBPACKAGE], tree, log, env={"PYTHON": python})
    run(["make"], tree, log)
    run(["make", "-C", "agents", "xml-upload"], tree, log)
    with open(os.path.join(tree, METADATA_PATH)) as f:
        return f.read()


def git(tree, *args, **kwargs):
    """git with a fixed identity and date: the same fence_clc gives the same patch."""
    author, date = kwargs["author"], kwargs["date"]
    name, _, email = author.partition("<")
    env = dict(os.environ, GIT_AUTHOR_NAME=name.strip(), GIT_AUTHOR_EMAIL=email.strip(" >"),
               GIT_COMMITTER_NAME=name.strip(), GIT_COMMITTER_EMAIL=email.strip(" >"),
               GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date, GIT_CONFIG_NOSYSTEM="1",
               HOME=tree)
    return subprocess.run(["git", "-c", "init.defaultBranch=main", "-c", "core.autocrlf=false"]
                          + list(args), cwd=tree, env=env, check=True, stdout=subprocess.PIPE,
                          universal_newlines=True).stdout


def project_date():
    """The date of this project's last commit (now, outside a git clone)."""
    result = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%ad", "--date=raw"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            universal_newlines=True)
    return result.stdout.strip() if result.returncode == 0 and result.stdout.strip() else \
        subprocess.check_output(["date", "-R"], universal_newlines=True).strip()


def write_file(tree, path, text):
    full = os.path.join(tree, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as f:
        f.write(text)


def make_patch(tarball, out, python, author, workdir):
    with open(AGENT) as f:
        agent = upstream_agent(f.read())
    tree = unpack(tarball, workdir)
    identity = {"author": author, "date": project_date()}
    git(tree, "init", "-q", **identity)
    # -f: upstream's .gitignore matches files it tracks (fence-agents.spec.in)
    git(tree, "add", "-A", "-f", **identity)
    git(tree, "commit", "-q", "--no-verify", "-m", "upstream", **identity)

    write_file(tree, AGENT_PATH, agent)
    metadata = build_metadata(tree, python, os.path.join(workdir, "build.log"))
    with open(os.path.join(tree, SPEC_PATH)) as f:
        spec = add_subpackage(f.read(), metadata_shortdesc(metadata))
    write_file(tree, SPEC_PATH, spec)

    git(tree, "add", "-f", "--", AGENT_PATH, METADATA_PATH, SPEC_PATH, **identity)
    git(tree, "commit", "-q", "--no-verify", "-m", COMMIT_MESSAGE, **identity)
    patch = git(tree, "format-patch", "-1", "--stdout", "--no-signature", **identity)
    commit = upstream_commit(tarball)
    if commit:  # tells reviewers (and git am -3) what the patch is against
        patch += "\nbase-commit: %s\n" % commit
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    path = os.path.join(out, PATCH_NAME)
    with open(path, "w") as f:
        f.write(patch)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "build", "upstream"),
                        help="directory for the patch (emptied first; default build/upstream)")
    parser.add_argument("--tarball", default=os.environ.get("FENCE_AGENTS_TARBALL", TARBALL),
                        help="fence-agents source archive (env FENCE_AGENTS_TARBALL)")
    parser.add_argument("--python", default="/usr/bin/python3",
                        help="interpreter with pycurl that upstream's build uses")
    parser.add_argument("--author", default="fence_clc maintainers <fence-clc@example.org>",
                        help="the patch's author, 'Name <mail>'")
    args = parser.parse_args()
    if not os.path.isfile(args.tarball):
        print("upstream tree not found: %s - it comes with the project's shared material "
              "(../shared/upstream) or set FENCE_AGENTS_TARBALL" % args.tarball, file=sys.stderr)
        return 1
    workdir = tempfile.mkdtemp(prefix="fence-clc-upstream-")
    try:
        path = make_patch(os.path.abspath(args.tarball), os.path.abspath(args.out),
                          args.python, args.author, workdir)
    except (GeneratorError, subprocess.CalledProcessError) as ex:
        print("upstream.py: %s" % ex, file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print("wrote %s" % os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
