"""Every bad option value and every bad file: exit 2, one line on stderr, no traceback.

Nothing here trains: each case is refused before the first step.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile

import numpy as np
import pytest

from fromax.lab._cli import main


def _refused(argv: list[str], capsys) -> str:
    """Runs ``fromax ARGV``: exit 2 (returned or raised by argparse), one stderr line."""
    try:
        code = main(argv)
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert code == 2, (code, captured.err[-400:])
    assert len(err) == 1, err
    assert "Traceback" not in err[0] and "allow_pickle" not in err[0]
    assert "steps/s" not in captured.out + captured.err  # refused before any training
    return err[0]


def _classification_file(path, x, y):
    np.savez(path, x=x, **({} if y is None else {"y": y}))
    return str(path)


def _huge_member(path) -> str:
    """An .npz whose x declares a 100000 x 100000 float32 array (40 GB) and holds 40 bytes."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f4", "fortran_order": False, "shape": (100000, 100000)}
    )
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("x.npy", header.getvalue() + b"\0" * 40)  # magic, header, 40 bytes
        y = io.BytesIO()
        np.save(y, np.zeros(100000, np.int64))
        archive.writestr("y.npy", y.getvalue())
    return str(path)


def _files(tmp_path):
    """Bad --data/--dataset files, by name."""
    good = tmp_path / "good.npz"
    rng = np.random.default_rng(0)
    np.savez(good, x=rng.normal(size=(40, 3)).astype(np.float32), y=rng.integers(0, 3, 40))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    empty = tmp_path / "empty.npz"
    empty.write_bytes(b"")
    text = tmp_path / "text.npz"
    text.write_text("x,y\n1,2\n")
    npy = tmp_path / "array.npz"
    with npy.open("wb") as f:
        np.save(f, np.zeros((4, 3)))
    objects = tmp_path / "objects.npz"
    np.savez(objects, x=np.array([{}, {}], dtype=object), y=np.zeros(2, np.int64))
    n = 40
    x = rng.normal(size=(n, 3))
    labels = rng.integers(0, 3, n)
    return {
        "truncated": str(truncated),
        "empty": str(empty),
        "text": str(text),
        "npy": str(npy),
        "objects": str(objects),
        "huge": _huge_member(tmp_path / "huge.npz"),
        "label 200000": _classification_file(
            tmp_path / "big_label.npz", x, np.where(labels == 0, 200000, labels)
        ),
        "label -1": _classification_file(tmp_path / "neg.npz", x, labels - 1),
        "float64 1e300": _classification_file(tmp_path / "big.npz", x * 1e300, labels),
        "complex": _classification_file(tmp_path / "complex.npz", x + 1j, labels),
        "nan": _classification_file(tmp_path / "nan.npz", np.where(x > 1, np.nan, x), labels),
        "float labels": _classification_file(tmp_path / "fl.npz", x, labels + 0.5),
        "one example": _classification_file(tmp_path / "one.npz", x[:1], labels[:1]),
        "no y": _classification_file(tmp_path / "noy.npz", x, None),
    }


@pytest.mark.parametrize(
    "name, message",
    [
        ("truncated", "is not a readable .npz file"),
        ("empty", "is not a readable .npz file"),
        ("text", "is not a readable .npz file"),
        ("npy", "is not a readable .npz file"),
        ("objects", "x holds Python objects"),
        ("huge", "x declares float32[100000, 100000] but the archive holds less"),
        ("label 200000", "a label of 200000 means 200001 classes, more than the 4096"),
        ("label -1", "labels must be >= 0"),
        ("float64 1e300", "x holds values beyond float32"),
        ("complex", "x is complex"),
        ("nan", "x holds NaN or infinite values"),
        ("float labels", "y must be 40 integer labels"),
        ("one example", "needs at least 2 examples"),
        ("no y", "must hold arrays 'x', 'y'; missing ['y']"),
    ],
)
def test_bad_data_files(name, message, tmp_path, capsys):
    path = _files(tmp_path)[name]
    line = _refused(["train", "--dataset", path, "--out", str(tmp_path / "out")], capsys)
    assert message in line and path in line


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("runs") / "run"
    assert main(["train", "--steps", "2", "--batch-size", "32", "--out", str(folder)]) == 0
    return folder


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda d: (d / "checkpoint.npz").write_bytes(b""), "not a readable fromax checkpoint"),
        (
            lambda d: (d / "checkpoint.npz").write_bytes((d / "checkpoint.npz").read_bytes()[:900]),
            "not a readable fromax checkpoint",
        ),
        (lambda d: (d / "checkpoint.npz").write_text("hello"), "not a readable fromax checkpoint"),
        (lambda d: (d / "run.json").write_text(""), "run.json is not readable JSON"),
        (lambda d: (d / "run.json").write_text("{"), "run.json is not readable JSON"),
        (lambda d: (d / "run.json").write_text("[1, 2]"), "run.json is not a JSON object"),
        (
            lambda d: (d / "run.json").write_text(json.dumps({"optimizer": "adam"})),
            "run.json has no valid 'learning_rate'",
        ),
        (lambda d: (d / "run.json").unlink(), "no run.json and checkpoint.npz there"),
    ],
)
def test_damaged_run_folders(saved_run, damage, message, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(saved_run, folder)
    damage(folder)
    assert message in _refused(["train", "--resume", str(folder), "--steps", "4"], capsys)


def test_damaged_checkpoint_for_sample(saved_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(saved_run, folder)
    (folder / "run.json").write_text("")
    assert "run.json is not readable JSON" in _refused(["sample", "--run", str(folder)], capsys)


def test_out_that_is_a_file_or_not_writable(tmp_path, capsys):
    a_file = tmp_path / "file"
    a_file.write_text("")
    for command in (["train"], ["compare"], ["sweep", "--learning-rate", "0.1,0.2"]):
        line = _refused([*command, "--steps", "2", "--out", str(a_file)], capsys)
        assert f"--out {a_file} is a file" in line
        line = _refused([*command, "--steps", "2", "--out", str(a_file / "sub")], capsys)
        assert "cannot be written" in line
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        assert "cannot be written" in _refused(["train", "--out", str(locked)], capsys)


def _text_file(tmp_path, name, content: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


@pytest.mark.parametrize(
    "argv, message",
    [
        # train
        (["train", "--steps", "-1"], "--steps: expected a positive integer, got -1"),
        (["train", "--steps", "ten"], "--steps: expected a positive integer, got 'ten'"),
        (["train", "--steps", str(10**30)], "up to 2147483647"),
        (["train", "--batch-size", "0"], "--batch-size: expected a positive integer"),
        (["train", "--batch-size", "100000"], "batch_size 100000 is larger than the 1438"),
        (["train", "--seed", "-1"], "--seed: expected an integer >= 0, got -1"),
        (["train", "--seed", str(2**70)], "--seed: expected an integer >= 0 up to 4294967295"),
        (["train", "--seed", "1.5"], "--seed: expected an integer >= 0, got '1.5'"),
        (["train", "--eval-every", "0"], "--eval-every: expected a positive integer"),
        (["train", "--devices", "0"], "--devices: expected a positive integer"),
        (["train", "--devices", "64"], "devices=64 but JAX sees"),
        (["train", "--checkpoint-every", "-2"], "--checkpoint-every: expected a positive"),
        (["train", "--model", "resnet"], "unknown model 'resnet'"),
        (["train", "--dataset", "mnist"], "no data set named 'mnist'"),
        (["train", "--optimizer", ""], "unknown optimizer ''"),
        (["train", "--learning-rate", "nan"], "--learning-rate"),
        (["train", "--learning-rate=-1"], "learning_rate must be a finite number >= 0"),
        (["train", "--learning-rate", "cosine_decay("], "--learning-rate"),
        (["train", "--learning-rate", "cosine_decay(1e-3, decay_steps=-5)"], "decay_steps"),
        (["train", "--hyper", "bogus=1"], "bogus"),
        (["train", "--hyper", "novalue"], "expected NAME=SPEC"),
        (["train", "--layers", "2"], "--layers sets the GPT's shape: add --model gpt"),
        (["train", "--model", "gpt", "--width", "10", "--heads", "4"], "multiple of heads"),
        (["train", "--model", "gpt", "--width", "100000"], "a GPT of about 4.8e+11 parameters"),
        (["train", "--model", "gpt", "--context", "100000"], "attention scores a step"),
        (["train", "--model", "gpt", "--batch-size", "2000000000"], "lower --context or --batch"),
        (["train", "--model", "gpt", "--dataset", "digits"], "--model gpt reads text"),
        (["train", "--resume", "/nonexistent/run"], "--resume /nonexistent/run: no run.json"),
        (["train", "--resume", "R", "--overwrite"], "--overwrite starts a new run"),
        (["train", "--resume", "R", "--out", "S"], "not both"),
        # compare
        (["compare", "--optimizers", ""], "--optimizers: expected comma-separated names"),
        (["compare", "--optimizers", ",,"], "--optimizers: expected comma-separated names"),
        (["compare", "--optimizers", "fromage,nope"], "unknown optimizer 'nope'"),
        (["compare", "--steps", "0"], "--steps: expected a positive integer"),
        (["compare", "--batch-size", "-3"], "--batch-size: expected a positive integer"),
        # sweep
        (["sweep", "--learning-rate", ""], "--learning-rate: expected values like"),
        (["sweep", "--learning-rate", "a,b"], "--learning-rate: expected values like"),
        (["sweep", "--learning-rate", "log:1:0:3"], "--learning-rate: expected values like"),
        (["sweep", "--learning-rate", "0.1,nan"], "--learning-rate: values must be finite"),
        (["sweep", "--learning-rate=-1,2"], "a learning rate must be >= 0"),
        (["sweep", "--learning-rate", "-1,2"], "--learning-rate: expected one argument"),
        (["sweep", "--learning-rate", "0.1", "--optimizer", "nope"], "unknown optimizer 'nope'"),
        (["sweep", "--learning-rate", "0.1", "--seed", "-4"], "--seed: expected an integer"),
        # sample
        (["sample", "--run", "/nonexistent/run"], "--run /nonexistent/run: no run.json"),
        (["sample", "--run", "R", "--length", "-1"], "--length: expected an integer >= 0"),
        (["sample", "--run", "R", "--length", str(10**12)], "up to 1000000"),
        (["sample", "--run", "R", "--temperature", "nan"], "--temperature: expected a finite"),
        (["sample", "--run", "R", "--temperature", "inf"], "--temperature: expected a finite"),
        (["sample", "--run", "R", "--temperature", "-1"], "--temperature must be >= 0"),
        (["sample", "--run", "R", "--seed", "-5"], "--seed: expected an integer >= 0"),
        # the command itself
        (["bogus"], "invalid choice: 'bogus'"),
        (["train", "--no-such-option"], "unrecognized arguments: --no-such-option"),
    ],
)
def test_bad_option_values(argv, message, tmp_path, capsys):
    argv = [str(tmp_path / "R") if a == "R" else a for a in argv]
    needs_out = argv[0] in ("train", "compare", "sweep") and "--resume" not in argv
    line = _refused([*argv, "--out", str(tmp_path / "out")] if needs_out else argv, capsys)
    assert message in line


@pytest.mark.parametrize(
    "content, message",
    [
        (b"caf\xe9 au lait " * 20, "is not UTF-8 text"),
        (b"", "is empty"),
        (b"too short", "a context of 64 needs at least 65"),
        (b"text\0with NUL", "holds NUL bytes"),
    ],
)
def test_bad_text_files(content, message, tmp_path, capsys):
    path = _text_file(tmp_path, "text.txt", content)
    argv = ["train", "--model", "gpt", "--data", path, "--out", str(tmp_path / "out")]
    assert message in _refused(argv, capsys)
