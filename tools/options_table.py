#!/usr/bin/python3
"""The README's options table, generated from the agent's own metadata so
that the two cannot drift apart.

    options_table.py                  print the table
    options_table.py --write README   replace the table between the markers
    options_table.py --check README   exit 1 (and show a diff) when it differs
    --metadata FILE                   read metadata from FILE instead of
                                      running the agent
"""

import argparse
import difflib
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AGENT = os.path.join(REPO, "fence_clc")
BEGIN = "<!-- options:begin"
END = "<!-- options:end -->"
HEADER = ("| stdin name | command line | default | description |\n"
          "|---|---|---|---|\n")


def agent_metadata():
    """What Pacemaker reads: the XML the agent prints for -o metadata."""
    return subprocess.run([AGENT, "-o", "metadata"], stdout=subprocess.PIPE,
                          check=True, universal_newlines=True).stdout


def cell(text):
    """Markdown table cells end at '|' and at a line break."""
    return " ".join(text.split()).replace("|", "\\|")


def code(text):
    return "`%s`" % text if text else ""


def stdin_name(param):
    """The current name, plus the old one it replaces (both still work)."""
    name = code(param.get("name"))
    if param.get("obsoletes"):
        name += " (or %s)" % code(param.get("obsoletes"))
    return name


def command_line(param):
    """'-n, --plug=[id]' becomes '`-n`, `--plug=[id]`'."""
    spellings = param.find("getopt").get("mixed").split(", ")
    return ", ".join(code(spelling) for spelling in spellings)


def sentence(text):
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def description(param):
    parts = [sentence(param.findtext("shortdesc", ""))]
    choices = [option.get("value") for option in param.iter("option")]
    if choices:
        parts.append("One of %s." % ", ".join(code(choice) for choice in choices))
    if param.get("required") == "1" and param.find("content").get("default") is None:
        parts.append("Required.")
    return " ".join(parts)


def table_rows(metadata_xml):
    """One row per parameter the man page also lists: deprecated spellings
    appear next to the name that replaces them."""
    root = ET.fromstring(metadata_xml)
    for param in root.iter("parameter"):
        if param.get("deprecated") == "1":
            continue
        default = param.find("content").get("default")
        yield "| %s | %s | %s | %s |\n" % (
            cell(stdin_name(param)), cell(command_line(param)),
            cell(code(default)), cell(description(param)))


def options_table(metadata_xml):
    return HEADER + "".join(table_rows(metadata_xml))


def with_table(readme_text, table):
    """The README text with the region between the markers replaced."""
    lines = readme_text.splitlines(True)
    starts = [i for i, line in enumerate(lines) if line.startswith(BEGIN)]
    ends = [i for i, line in enumerate(lines) if line.strip() == END]
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SystemExit("README: expected one '%s ...' line followed by one "
                         "'%s' line" % (BEGIN, END))
    return "".join(lines[:starts[0] + 1]) + "\n" + table + "\n" + "".join(lines[ends[0]:])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--metadata", help="metadata XML file (default: run the agent)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--write", metavar="README", help="update the table in README")
    mode.add_argument("--check", metavar="README", help="fail when README's table is stale")
    args = parser.parse_args(argv)

    if args.metadata:
        with open(args.metadata) as f:
            table = options_table(f.read())
    else:
        table = options_table(agent_metadata())
    readme = args.write or args.check
    if not readme:
        sys.stdout.write(table)
        return 0
    with open(readme) as f:
        current = f.read()
    wanted = with_table(current, table)
    if args.write:
        if wanted != current:
            with open(readme, "w") as f:
                f.write(wanted)
        return 0
    if wanted == current:
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        current.splitlines(True), wanted.splitlines(True), readme, readme + " (generated)"))
    sys.stderr.write("%s: the options table differs from the agent's metadata; "
                     "run: %s %s --write %s\n" % (readme, sys.executable, sys.argv[0], readme))
    return 1


if __name__ == "__main__":
    sys.exit(main())
