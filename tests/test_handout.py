"""The course outside the clone: ``sft-teach notebooks DIR [--update]``, ``sft-teach lab``, the wheel.

A copy records each notebook's SHA-256 in DIR/.sft-teach-course.json; a second copy is refused;
``--update`` refreshes untouched notebooks, adds new ones and keeps the learner's edits. The slow
tests build the wheel (it must hold the notebooks and the precomputed sweeps, and none of the
scripts that wrote the data) and start JupyterLab through ``sft-teach lab``.
"""

import hashlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest

from sft_teach import handout
from sft_teach.cli import main
from sft_teach.environment import sha256_of
from sft_teach.handout import MANIFEST, copy_course

REPO = Path(__file__).resolve().parent.parent
COURSE = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(err, *words):
    assert err.count("\n") == 1 and err.startswith("sft-teach: error: ") and "Traceback" not in err
    for word in words:
        assert word in err


def write_notebook(path, source):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source)]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A small course of two notebooks standing in for the installed one (as inside a wheel)."""
    folder = tmp_path / "package" / "_notebooks"
    folder.mkdir(parents=True)
    write_notebook(folder / "00_a.ipynb", "print('a, first edition')")
    write_notebook(folder / "01_b.ipynb", "print('b, first edition')")
    monkeypatch.setattr(handout, "PACKAGED_NOTEBOOKS", folder)
    return folder


def test_the_clone_has_the_course():
    assert handout.notebooks_dir() == REPO / "notebooks"  # an editable install reads the clone
    assert [p.name for p in handout.course_notebooks()] == COURSE and COURSE[0] == "00_start_here.ipynb"


def test_copy_puts_every_notebook_in_dest_and_records_its_hash(tmp_path, capsys):
    dest = tmp_path / "my course"
    code, out, err = run(["notebooks", str(dest)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in dest.glob("*.ipynb")) == COURSE
    assert out.splitlines()[0] == f"added      {COURSE[0]}" and f"sft-teach lab {shlex.quote(str(dest))}" in out  # pastes whole, space and all
    manifest = json.loads((dest / MANIFEST).read_text())["files"]
    assert manifest == {name: hashlib.sha256((REPO / "notebooks" / name).read_bytes()).hexdigest() for name in COURSE}
    assert all((dest / n).read_bytes() == (REPO / "notebooks" / n).read_bytes() for n in COURSE)


def test_a_second_copy_is_refused_and_nothing_is_overwritten(tmp_path, capsys):
    dest = tmp_path / "course"
    assert main(["notebooks", str(dest)]) == 0
    edited = dest / COURSE[1]
    edited.write_text("my notes")
    capsys.readouterr()
    code, out, err = run(["notebooks", str(dest)], capsys)
    assert code == 2 and out == ""
    one_line_error(err, "already holds the course", "--update", f"sft-teach lab {shlex.quote(str(dest))}")
    assert edited.read_text() == "my notes"


def test_a_folder_holding_a_notebook_of_the_same_name_is_refused(course, tmp_path, capsys):
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "01_b.ipynb").write_text("someone else's")
    code, _, err = run(["notebooks", str(dest)], capsys)
    assert code == 2
    one_line_error(err, "01_b.ipynb", "choose another folder")
    assert (dest / "01_b.ipynb").read_text() == "someone else's" and not (dest / "00_a.ipynb").exists()


def test_dest_that_is_a_file_is_refused(tmp_path, capsys):
    target = tmp_path / "course"
    target.write_text("keep me")
    code, _, err = run(["notebooks", str(target)], capsys)
    assert code == 2
    one_line_error(err, "is a file")
    assert target.read_text() == "keep me"


def test_update_refreshes_untouched_adds_new_and_keeps_edited(course, tmp_path, capsys):
    dest = tmp_path / "course"
    assert [a for _, a, _ in copy_course(dest)] == ["added", "added"]
    copied_b = sha256_of(dest / "01_b.ipynb")
    write_notebook(dest / "01_b.ipynb", "print('my own answer')")  # the learner's work
    # a newer course: both notebooks change, one is new
    write_notebook(course / "00_a.ipynb", "print('a, second edition')")
    write_notebook(course / "01_b.ipynb", "print('b, second edition')")
    write_notebook(course / "02_c.ipynb", "print('c is new')")

    code, out, err = run(["notebooks", str(dest), "--update"], capsys)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "updated    00_a.ipynb" and lines[2] == "added      02_c.ipynb"
    assert lines[1].startswith("kept       01_b.ipynb (you edited it, so the course's newer version was not copied")
    assert "a, second edition" in (dest / "00_a.ipynb").read_text()
    assert "my own answer" in (dest / "01_b.ipynb").read_text()
    assert "c is new" in (dest / "02_c.ipynb").read_text()
    manifest = json.loads((dest / MANIFEST).read_text())["files"]
    assert manifest["01_b.ipynb"] == copied_b  # still recorded as copied: it stays "edited"
    assert manifest["00_a.ipynb"] == sha256_of(course / "00_a.ipynb")

    # Again: nothing to do, and the edited notebook is still kept.
    assert [(n, a) for n, a, _ in copy_course(dest, update=True)] == [
        ("00_a.ipynb", "unchanged"), ("01_b.ipynb", "kept"), ("02_c.ipynb", "unchanged")]
    # Renamed away, the edit is safe and the next update brings the course's version.
    (dest / "01_b.ipynb").rename(dest / "01_b mine.ipynb")
    assert dict((n, a) for n, a, _ in copy_course(dest, update=True))["01_b.ipynb"] == "added"
    assert "b, second edition" in (dest / "01_b.ipynb").read_text()


def test_update_keeps_a_notebook_it_did_not_copy(course, tmp_path):
    dest = tmp_path / "course"
    dest.mkdir()
    write_notebook(dest / "00_a.ipynb", "print('written here, not copied')")
    actions = copy_course(dest, update=True)
    assert actions[0] == ("00_a.ipynb", "kept", "it was not copied by sft-teach notebooks")
    assert "written here" in (dest / "00_a.ipynb").read_text()
    assert json.loads((dest / MANIFEST).read_text())["files"].keys() == {"01_b.ipynb"}


def test_update_refuses_an_edition_folder_it_would_mix_answers_into(course, tmp_path, capsys):
    """A student edition of one notebook (a handout): --update would add the self-learner's copy of
    the other, quiz answers and all. Refused in one line naming the edition and what to do; nothing
    is added. A copy made by sft-teach notebooks still updates."""
    from sft_teach import editions
    from sft_teach.handout import EDITION_MARK

    handout_dir = tmp_path / "handout"
    editions.build_edition("student", handout_dir, course, only=["00_a.ipynb"])
    assert json.loads((handout_dir / EDITION_MARK).read_text())["edition"] == "student"
    code, out, err = run(["notebooks", str(handout_dir), "--update"], capsys)
    assert code == 2 and out == ""
    one_line_error(err, "holds the student edition", "--update would add the self-learner's notebooks",
                   "sft-teach course --edition student --output NEW")
    assert sorted(p.name for p in handout_dir.glob("*.ipynb")) == ["00_a.ipynb"] and not (handout_dir / MANIFEST).exists()
    copied = tmp_path / "copied"
    copy_course(copied)
    assert [action for _, action, _ in copy_course(copied, update=True)] == ["unchanged", "unchanged"]


def test_a_damaged_manifest_is_one_line_with_the_fix(course, tmp_path, capsys):
    dest = tmp_path / "course"
    copy_course(dest)
    (dest / MANIFEST).write_text("{not json")
    code, _, err = run(["notebooks", str(dest), "--update"], capsys)
    assert code == 2
    one_line_error(err, MANIFEST, "delete it")


def test_usage_errors(capsys):
    with pytest.raises(SystemExit) as info:
        main(["notebooks"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "DIR" in err


@pytest.mark.parametrize("port, words", [("abc", "--port must be a whole number, got 'abc'"),
                                         ("70000", "--port must be between 1 and 65535, got 70000")])
def test_lab_bad_port_is_refused_before_anything_is_copied(port, words, tmp_path, capsys):
    dest = tmp_path / "course"
    code, _, err = run(["lab", str(dest), "--port", port], capsys)
    assert code == 2
    one_line_error(err, words)
    assert not dest.exists()


@pytest.fixture
def started(monkeypatch):
    """Stands in for exec-ing JupyterLab: records the command instead."""
    commands = []
    monkeypatch.setattr("sft_teach.cli_course._exec", commands.append)
    monkeypatch.setattr("os.geteuid", lambda: 1000, raising=False)  # not root, whoever runs the tests
    return commands


def test_lab_as_root_without_allow_root_is_one_line_before_anything_is_copied(tmp_path, started, monkeypatch, capsys):
    """JupyterLab refuses root with a page of log and exit 1: sft-teach says it first, with the option."""
    monkeypatch.setattr("os.geteuid", lambda: 0, raising=False)
    dest = tmp_path / "course"
    code, _, err = run(["lab", str(dest)], capsys)
    assert code == 2 and not started and not dest.exists()
    one_line_error(err, "JupyterLab refuses to start as root: pass --allow-root")


def test_lab_copies_the_course_then_starts_jupyterlab_there(course, tmp_path, started, capsys):
    dest = tmp_path / "course"
    code, out, err = run(["lab", str(dest), "--port", "8899", "--no-browser", "--allow-root"], capsys)
    assert code == 0, err
    assert "added      00_a.ipynb" in out and f"starting JupyterLab in {dest}/" in out
    assert started == [[sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={dest.resolve()}",
                        "--port=8899", "--no-browser", "--allow-root"]]
    assert (dest / MANIFEST).is_file()

    # A second start opens the same copy, copies nothing, and says when the course has newer notebooks.
    write_notebook(dest / "00_a.ipynb", "print('my edit')")
    write_notebook(course / "02_c.ipynb", "print('c is new')")
    code, out, err = run(["lab", str(dest)], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == (f"the installed sft-teach has 1 notebook newer than {dest}/: sft-teach notebooks "
                                   f"{dest} --update brings it in (notebooks you edited are kept)")
    assert started[1] == [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={dest.resolve()}"]
    assert "my edit" in (dest / "00_a.ipynb").read_text() and not (dest / "02_c.ipynb").exists()


def test_lab_defaults_to_a_folder_in_the_working_directory(course, tmp_path, started, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["lab"]) == 0
    assert (tmp_path / "sft-teach-course" / "00_a.ipynb").is_file()
    assert started[0][3] == f"--ServerApp.root_dir={(tmp_path / 'sft-teach-course').resolve()}"


def test_lab_opens_a_clones_notebooks_folder_as_it_is(started, capsys):
    assert main(["lab", str(REPO / "notebooks")]) == 0
    assert not (REPO / "notebooks" / MANIFEST).exists()  # nothing copied, nothing recorded
    assert started[0][3] == f"--ServerApp.root_dir={REPO / 'notebooks'}"


def test_course_runs_the_installed_notebooks_with_outputs_in_the_output_folder(course, tmp_path, capsys):
    for name in ("00_a.ipynb", "01_b.ipynb"):
        (course / name).unlink()
    write_notebook(course / "00_writes.ipynb",
                   "from pathlib import Path\nPath('outputs').mkdir(exist_ok=True)\nPath('outputs/x.txt').write_text('hi')")
    out = tmp_path / "run"
    code, stdout, err = run(["course", "--output", str(out)], capsys)
    assert code == 0, err
    assert "[1/1] 00_writes.ipynb ..." in stdout
    assert (out / "outputs" / "x.txt").read_text() == "hi"  # the kernel ran in the output folder
    assert not (course / "outputs").exists()  # never inside the installed package


def _wheel(tmp_path) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(REPO), "--no-deps", "-q", "-w", str(tmp_path)],
                   check=True, capture_output=True)
    return zipfile.ZipFile(next(tmp_path.glob("sft_teach-*.whl")))


@pytest.mark.slow
def test_the_wheel_holds_the_course_and_not_the_data_generators(tmp_path):
    names = _wheel(tmp_path).namelist()
    notebooks = sorted(n.removeprefix("sft_teach/_notebooks/") for n in names if n.startswith("sft_teach/_notebooks/"))
    assert notebooks == COURSE  # the notebooks, and not notebooks/outputs/
    results = sorted(n.removeprefix("sft_teach/_results/") for n in names if n.startswith("sft_teach/_results/"))
    assert results == sorted(p.name for p in (REPO / "benchmarks" / "results").glob("*.json"))
    data = [n for n in names if n.startswith("sft_teach/_datasets/")]
    assert "sft_teach/_datasets/pets/train.csv" in data and "sft_teach/_datasets/tiny_lm/model.safetensors" in data
    assert not [n for n in data if n.endswith(".py")]  # instructions_source.py, pairs_source.py, make_tiny_lm.py
    assert "sft_teach/handout.py" in names and not [n for n in names if "__pycache__" in n]
    # the versions the notebooks were executed with, for sft-teach doctor; nothing at the wheel's top level
    assert "sft_teach/_constraints.txt" in names and not [n for n in names if "/" not in n]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_lab_starts_a_server_that_lists_the_course(tmp_path):
    dest, port, token = tmp_path / "course", _free_port(), "sft-teach-test"
    env = {**os.environ, "JUPYTER_TOKEN": token, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    log = open(tmp_path / "lab.log", "w")  # a file, not a pipe nobody reads: the server never blocks on it
    as_root = ["--allow-root"] if os.geteuid() == 0 else []  # CI runs as root; JupyterLab refuses root without it
    proc = subprocess.Popen([sys.executable, "-m", "sft_teach.cli", "lab", str(dest), "--no-browser", "--port", str(port),
                             *as_root],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        listed, deadline = None, time.monotonic() + 120
        while listed is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents?token={token}", timeout=5) as r:
                    listed = json.load(r)
            except OSError:
                time.sleep(1)
        assert listed is not None, f"JupyterLab did not answer on port {port}: {(tmp_path / 'lab.log').read_text()[-2000:]}"
        assert sorted(item["name"] for item in listed["content"] if item["type"] == "notebook") == COURSE
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    assert (dest / MANIFEST).is_file()


def test_lab_says_nothing_of_newer_notebooks_in_a_folder_sft_teach_did_not_copy(course, tmp_path, started, capsys):
    """A clone's notebooks/ (no manifest) is opened as it is: --update would keep every notebook
    there as the learner's, so advice to run it would do nothing."""
    mine = tmp_path / "mine"
    mine.mkdir()
    write_notebook(mine / "00_a.ipynb", "print('an older version, not copied by sft-teach')")
    code, out, err = run(["lab", str(mine)], capsys)
    assert code == 0, err
    assert "newer than" not in out and out.startswith(f"starting JupyterLab in {mine}/")


def test_course_refuses_its_own_folder_however_it_is_spelt(course, tmp_path, capsys):
    spelt = tmp_path / "package" / "_notebooks" / ".." / "_notebooks"
    code, _, err = run(["course", "--notebooks", str(course), "--output", str(spelt)], capsys)
    assert code == 2
    one_line_error(err, f"--output {spelt} is the course's own folder")


def test_course_names_three_notebooks_it_would_replace_and_counts_the_rest(tmp_path, capsys):
    folder, out = tmp_path / "nbs", tmp_path / "out"
    folder.mkdir(), out.mkdir()
    for name in ("a", "b", "c", "d"):
        write_notebook(folder / f"{name}.ipynb", "print(1)")
        write_notebook(out / f"{name}.ipynb", "print('mine')")
    code, _, err = run(["course", "--notebooks", str(folder), "--output", str(out)], capsys)
    assert code == 2
    one_line_error(err, f"{out}/ already holds a.ipynb, b.ipynb, c.ipynb and 1 more, which would be replaced")
    (out / "d.ipynb").unlink()
    code, _, err = run(["course", "--notebooks", str(folder), "--output", str(out)], capsys)
    one_line_error(err, f"{out}/ already holds a.ipynb, b.ipynb, c.ipynb, which would be replaced: pass "
                        f"--overwrite to replace them")


def test_an_edition_says_where_it_is_and_one_that_fails_exits_1_naming_the_cell(tmp_path, monkeypatch, capsys):
    from sft_teach import editions
    from sft_teach.course import NotebookFailed

    folder = tmp_path / "nbs"
    folder.mkdir()
    write_notebook(folder / "00_x.ipynb", "print(1)")
    code, out, err = run(["course", "--notebooks", str(folder), "--edition", "student", "--output",
                          str(tmp_path / "student")], capsys)
    assert code == 0, err
    assert out.strip() == f"student edition: 1 notebook in {tmp_path / 'student'}/"

    def failing(*args, **kwargs):
        raise NotebookFailed("00_x.ipynb", 3, "ValueError: boom")

    monkeypatch.setattr(editions, "build_edition", failing)  # as a teacher edition's solution that raises
    code, _, err = run(["course", "--notebooks", str(folder), "--edition", "teacher", "--output",
                        str(tmp_path / "teacher")], capsys)
    assert code == 1  # as sft-teach course without an edition: a notebook failed, not a usage error (2)
    one_line_error(err, "00_x.ipynb failed at cell 3: ValueError: boom")


def test_a_name_of_spaces_is_an_empty_name_not_a_folder_called_so(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(["notebooks", "  "], capsys)
    assert code == 2 and not (tmp_path / "  ").exists()
    one_line_error(err, "the folder for the course has an empty name")


def test_copying_into_an_edition_without_update_says_it_is_an_edition(course, tmp_path, capsys):
    """'already holds the course: pass --update' sent a teacher to a command refused next: the folder
    is a handout, to open as it is."""
    from sft_teach import editions

    dest = tmp_path / "handout"
    editions.build_edition("student", dest, course, only=["00_a.ipynb"])
    code, _, err = run(["notebooks", str(dest)], capsys)
    assert code == 2
    one_line_error(err, f"'{dest}' holds the student edition (sft-teach course --edition student), not a copy made "
                        f"by sft-teach notebooks: open it as it is with sft-teach lab {dest}, or choose another folder")
    assert sorted(p.name for p in dest.iterdir()) == [".sft-teach-edition.json", "00_a.ipynb"]


def test_an_edition_is_never_written_beside_other_notebooks_of_the_course(course, tmp_path, capsys):
    """The teacher edition of 01, then the student edition of 00 into the same folder: the mark said
    student over the teacher's solved 01. Refused in each way two kinds of notebooks could meet."""
    out = tmp_path / "week1"
    argv = ["course", "--notebooks", str(course), "--output", str(out)]
    assert run([*argv, "--edition", "teacher", "--only", "01"], capsys)[0] == 0
    code, _, err = run([*argv, "--edition", "student", "--only", "00", "--overwrite"], capsys)
    assert code == 2
    one_line_error(err, f"'{out}' holds the teacher edition: the student edition written there would mix the two in "
                        f"one folder: write it to a folder of its own (--output student-notebooks)")
    code, _, err = run([*argv, "--only", "00", "--overwrite"], capsys)  # the course run: the self-learner's notebooks
    assert code == 2
    one_line_error(err, f"'{out}' holds the teacher edition: running the course there would put the self-learner's "
                        f"notebooks, quiz answers and all, beside it")
    assert sorted(p.name for p in out.glob("*.ipynb")) == ["01_b.ipynb"]
    copied = tmp_path / "mine"
    copy_course(copied)
    code, _, err = run(["course", "--notebooks", str(course), "--output", str(copied), "--edition", "student",
                        "--overwrite"], capsys)
    assert code == 2
    one_line_error(err, "holds a self-learner's copy of the course (sft-teach notebooks), quiz answers and all")
    loose = tmp_path / "loose"  # no mark, no manifest: notebooks of the course it would not write
    loose.mkdir()
    write_notebook(loose / "01_b.ipynb", "print('solved')")
    code, _, err = run(["course", "--notebooks", str(course), "--output", str(loose), "--edition", "student",
                        "--only", "00"], capsys)
    assert code == 2
    one_line_error(err, f"'{loose}' holds 01_b.ipynb, not written as the student edition")
    # its own edition again, every notebook replaced: allowed, as before
    assert run([*argv, "--edition", "teacher", "--only", "00", "01", "--overwrite"], capsys)[0] == 0


def test_overwrite_deletes_the_page_of_a_notebook_it_replaces_without_a_new_one(course, tmp_path, capsys, monkeypatch):
    """A teacher's HTML page stayed beside the student notebook that replaced its notebook."""
    out = tmp_path / "h"
    argv = ["course", "--notebooks", str(course), "--output", str(out), "--only", "00"]
    assert run([*argv, "--edition", "student", "--html"], capsys)[0] == 0
    (out / "00_a.html").write_text("the page as it was")
    code, _, err = run([*argv, "--edition", "student"], capsys)
    assert code == 2
    one_line_error(err, f"{out}/ already holds 00_a.ipynb, 00_a.html, which would be replaced")
    from sft_teach import editions
    from sft_teach.course import NotebookFailed

    def failing(*args, **kwargs):
        raise NotebookFailed("00_a.ipynb", 1, "ValueError: boom")

    with monkeypatch.context() as broken:  # a run that fails keeps the pages: only one that succeeds replaces
        broken.setattr(editions, "build_edition", failing)
        assert run([*argv, "--edition", "student", "--overwrite"], capsys)[0] == 1
    assert (out / "00_a.html").read_text() == "the page as it was"
    code, out_text, err = run([*argv, "--edition", "student", "--overwrite"], capsys)
    assert code == 0, err
    assert out_text.splitlines()[1] == "deleted 00_a.html: the page of the notebook replaced (--html writes new ones)"
    assert not (out / "00_a.html").exists() and (out / "00_a.ipynb").is_file()


def test_an_edition_stopped_halfway_is_written_on_into_its_own_folder(course, tmp_path, capsys, monkeypatch):
    """The mark is written first: a build stopped after 00 left 00 with no mark, and the rest was then
    refused as 'not written as the teacher edition'. lab opens such a folder as it is."""
    from sft_teach import editions

    out, real = tmp_path / "t", editions.build_notebook

    def stopped_at_01(nb, edition, execute, workdir=None, timeout=120, name="notebook"):
        if name == "01_b.ipynb":
            raise KeyboardInterrupt
        return real(nb, edition, execute, workdir=workdir, timeout=timeout, name=name)

    with monkeypatch.context() as stopping, pytest.raises(KeyboardInterrupt):
        stopping.setattr(editions, "build_notebook", stopped_at_01)
        editions.build_edition("teacher", out, course)
    assert sorted(p.name for p in out.iterdir()) == [".sft-teach-edition.json", "00_a.ipynb"]
    assert run(["course", "--notebooks", str(course), "--output", str(out), "--edition", "teacher", "--only", "01"],
               capsys)[0] == 0
    assert handout.holds_course(out)
    (out / "00_a.ipynb").rename(out / "00_old_name.ipynb")  # an older course's names: still the edition's folder
    (out / "01_b.ipynb").unlink()
    assert handout.holds_course(out)


def test_only_given_twice_takes_both(course, tmp_path, capsys):
    code, out, err = run(["course", "--notebooks", str(course), "--output", str(tmp_path / "o"), "--edition",
                          "student", "--only", "00", "--only", "01"], capsys)
    assert code == 0, err
    assert out.strip() == f"student edition: 2 notebooks in {tmp_path / 'o'}/"


def test_a_full_disk_leaves_no_half_notebook_and_update_copies_the_rest(course, tmp_path, capsys, monkeypatch):
    """A copy stopped by a full disk left 03 cut short, which --update then kept as the learner's; the
    error named the installed package's file, not the folder."""
    import errno
    import shutil

    real, dest = shutil.copyfile, tmp_path / "c"

    def full_on_the_second(source, target):
        if Path(source).name == "01_b.ipynb":
            Path(target).write_text("{\"cells\": [")  # half written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device", str(source))
        return real(source, target)

    with monkeypatch.context() as full:
        full.setattr(shutil, "copyfile", full_on_the_second)
        code, _, err = run(["notebooks", str(dest)], capsys)
    assert code == 2
    one_line_error(err, f"'{dest}': could not copy 01_b.ipynb there (No space left on device): the notebooks copied "
                        f"before it are whole and recorded; make room, then run sft-teach notebooks {dest} --update")
    assert sorted(p.name for p in dest.iterdir()) == [MANIFEST, "00_a.ipynb"]  # no half notebook, no temporary file
    # a disk too full for the record too: the same advice, and no half record left behind
    other = tmp_path / "d"
    with monkeypatch.context() as full:
        full.setattr(shutil, "copyfile", full_on_the_second)
        full.setattr(handout, "_write_manifest", lambda *a: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
        code, _, err = run(["notebooks", str(other)], capsys)
    one_line_error(err, f"'{other}': could not copy 01_b.ipynb there (No space left on device)")
    assert sorted(p.name for p in other.iterdir()) == ["00_a.ipynb"]
    assert [action for _, action, _ in copy_course(other, update=True)] == ["unchanged", "added"]
    assert [action for _, action, _ in copy_course(dest, update=True)] == ["unchanged", "added"]
    assert (dest / "01_b.ipynb").read_bytes() == (course / "01_b.ipynb").read_bytes()


def test_lab_refuses_an_empty_name_and_says_which_edited_notebooks_have_newer_versions(course, tmp_path, started,
                                                                                      capsys, monkeypatch):
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    code, _, err = run(["lab", ""], capsys)  # `sft-teach lab "$DIR"` with DIR unset: not the current folder
    assert code == 2 and started == [] and list((tmp_path / "here").iterdir()) == []
    one_line_error(err, "the folder for the course has an empty name")
    dest = tmp_path / "course"
    copy_course(dest)
    write_notebook(dest / "01_b.ipynb", "print('ran it, outputs saved')")
    write_notebook(course / "01_b.ipynb", "print('b, second edition')")
    code, out, err = run(["lab", str(dest)], capsys)
    assert code == 0, err
    assert out.splitlines()[0] == (f"the installed sft-teach has a newer version of 01_b.ipynb, which you edited (or "
                                   f"ran: saved outputs count): rename it, then sft-teach notebooks {dest} --update "
                                   f"copies the newer version beside it")


def test_a_folder_left_with_its_manifest_only_still_holds_the_course(course, tmp_path, started, capsys):
    """A learner deleted the notebooks: a second copy is refused, and lab opens the folder with advice."""
    dest = tmp_path / "copy"
    copy_course(dest)
    for name in ("00_a.ipynb", "01_b.ipynb"):
        (dest / name).unlink()
    code, _, err = run(["notebooks", str(dest)], capsys)
    assert code == 2
    one_line_error(err, f"'{dest}' already holds the course ({MANIFEST})")
    code, out, err = run(["lab", str(dest)], capsys)
    assert code == 0, err
    assert out.startswith(f"the installed sft-teach has 2 notebooks newer than {dest}/") and len(started) == 1


def test_lab_accepts_the_highest_port(course, tmp_path, started, capsys):
    code, _, err = run(["lab", str(tmp_path / "c"), "--port", "65535"], capsys)
    assert code == 0, err
    assert "--port=65535" in started[0]


def test_a_folder_named_like_the_manifest_is_no_manifest(tmp_path):
    (tmp_path / MANIFEST).mkdir()
    assert handout.read_manifest(tmp_path) is None  # not an IsADirectoryError
