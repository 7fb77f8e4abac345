"""The fault matrix: every fault x every action (x input mode where the
modes differ), each a real agent run against a fresh simulator. Each cell
asserts the exit code, one clear error line, no traceback, no false OFF,
no leaked secret, no hang and no duplicate power POST; the report plugin
prints the whole matrix at the end of the run."""

import pytest

from .catalogue import FAULTS, cells
from .runner import run_cell

MODES = ("stdin", "argv")


def cell_params():
    params = []
    for fault, action, mode in cells():
        marks = []
        if action in fault.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason="agent bug: " + fault.xfail[action]))
        params.append(pytest.param(fault, action, mode, marks=marks,
                                   id="%s-%s-%s" % (fault.name, action, mode)))
    return params


@pytest.mark.parametrize("fault,action,mode", cell_params())
def test_cell(fault, action, mode, tmp_path, proxy_url, record_run):
    record = run_cell(fault, action, mode, str(tmp_path), proxy_url)
    record_run(record, kind="cell", order=FAULTS.index(fault) * len(MODES) + MODES.index(mode),
               known_bug=fault.xfail.get(action))
    assert not record["problems"], record
