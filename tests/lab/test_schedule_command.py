"""``fromax schedule``: key points, a text chart, a PNG, and one-line errors."""

from __future__ import annotations

import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from fromax import schedules
from fromax.lab._cli import main

# The schedules page shows the command's output and the table of schedules.
SCHEDULES_PAGE = pathlib.Path(__file__).parents[2] / "docs" / "concepts" / "schedules.md"
WARMUP_COSINE = (
    "warmup_cosine_decay(init_value=0, peak_value=1e-3, warmup_steps=500, decay_steps=10000)"
)


def _key_points(out):
    """{(label, step): value} from the printed key points."""
    points = {}
    for line in out.splitlines():
        words = line.split()
        if len(words) == 4 and words[1] == "step":
            points[(words[0], int(words[2]))] = float(words[3])
    return points


def test_prints_key_points_and_a_text_chart(capsys):
    assert main(["schedule", WARMUP_COSINE, "--steps", "12000"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == (
        "warmup_cosine_decay(init_value=0.0, peak_value=0.001, warmup_steps=500, "
        "decay_steps=10000, end_value=0.0, exponent=1.0)"
    )
    assert _key_points(out) == {
        ("start", 0): 0.0,
        ("peak", 500): 1e-3,
        ("boundary", 500): 1e-3,
        ("boundary", 10000): 0.0,
        ("end", 12000): 0.0,
    }
    chart = [line for line in out.splitlines() if "|" in line]
    assert len(chart) == 12
    assert chart[0].startswith("     0.001 |") and chart[-1].startswith("         0 |")
    assert out.rstrip().endswith("12000")


def test_several_specs_are_marked_and_share_the_chart(capsys):
    specs = ["rex(1.0, decay_steps=100)", "0.25"]
    assert main(["schedule", *specs, "--steps", "100"]) == 0
    out = capsys.readouterr().out
    assert "[*] rex(init_value=1.0, decay_steps=100, end_value=0.0)" in out
    assert "[o] constant(value=0.25)" in out
    chart = "\n".join(line for line in out.splitlines() if "|" in line)
    assert "*" in chart and "o" in chart


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "schedules.png"
    specs = [WARMUP_COSINE, "warmup_stable_decay(0, 1e-3, 500, 10000, cooldown_shape='1-sqrt')"]
    assert main(["schedule", *specs, "--steps", "10000", "--plot", str(path)]) == 0
    data = path.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and ("peak", 500) in _key_points(out)


def test_plot_without_matplotlib_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now fails
    path = tmp_path / "schedules.png"
    assert main(["schedule", "0.1", "--steps", "10", "--plot", str(path)]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'fromax[plot]'" in err
    assert not path.exists()


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("cosin(1.0, 10)", "unknown schedule 'cosin' at column 1"),
        ("cosine_decay(1.0, decay_steps=0)", "decay_steps must be positive"),
        ("__import__('os').system('echo hacked')", "only schedules can be called"),
        ("cosine_decay(1.0,", "invalid spec syntax"),
    ],
)
def test_bad_spec_exits_2_with_one_line(spec, words, capsys):
    assert main(["schedule", "0.1", spec, "--steps", "10"]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and words in captured.err
    assert captured.out == ""


def test_the_console_command_end_to_end(tmp_path):
    """The installed entry point: exit codes, and no traceback for a bad spec."""
    command = [sys.executable, "-m", "fromax", "schedule"]
    bad = subprocess.run([*command, "cosin(1)", "--steps", "5"], capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
    good = subprocess.run([*command, "inverse_sqrt(0, 1, 4)", "--steps", "16"],
                          capture_output=True, text=True)  # fmt: skip
    assert good.returncode == 0, good.stderr
    assert _key_points(good.stdout)[("end", 16)] == 0.5


def test_docs_show_what_the_command_prints(capsys):
    page = SCHEDULES_PAGE.read_text()
    block = re.search(r"```console\n\$ fromax (schedule .*?)\n(.*?)```", page, flags=re.S)
    assert main(shlex.split(block.group(1))) == 0
    assert capsys.readouterr().out == block.group(2)


def test_docs_table_lists_every_schedule():
    page = SCHEDULES_PAGE.read_text()
    section = page.split("## The schedules")[1].split("\n## ")[0]
    for name in schedules.__all__:
        if isinstance(getattr(schedules, name), type) and name not in ("Schedule", "SpecError"):
            assert f"| `{name}(" in section, name
