import nbformat
import pytest

from sft_teach.cli import main


def write_notebook(path, *cells, tags=None):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    for index, cell_tags in (tags or {}).items():
        nb.cells[index].metadata["tags"] = cell_tags
    nbformat.write(nb, path)
    return path


@pytest.fixture
def notebooks(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(folder / "a_ok.ipynb", "print(6 * 7)",
                   "raise RuntimeError('a deliberate error')", "print('after the lesson')",
                   tags={1: ["raises-exception"]})
    return folder


def test_course_runs_every_notebook_and_writes_html(notebooks, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["course", "--notebooks", str(notebooks), "--output", str(out), "--html"]) == 0
    stdout = capsys.readouterr().out
    assert "[1/1] a_ok.ipynb ..." in stdout and "the course ran in" in stdout
    executed = nbformat.read(out / "a_ok.ipynb", as_version=4)
    assert executed.cells[0].outputs[0]["text"] == "42\n"
    assert executed.cells[2].outputs[0]["text"] == "after the lesson\n"  # went on past the tagged error
    assert "widgets" not in executed.metadata
    page = (out / "a_ok.html").read_text()
    assert "after the lesson" in page and "mathjax" not in page.lower() and "require.js" not in page


def test_course_html_never_replaces_an_html_file_unless_told(notebooks, tmp_path, capsys):
    """--html writes NAME.html beside each notebook: a file of that name is refused as a notebook is."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "a_ok.html").write_text("my notes")
    for extra in ([], ["--edition", "student"]):
        assert main(["course", "--notebooks", str(notebooks), "--output", str(out), "--html", *extra]) == 2
        assert "already holds a_ok.html, which would be replaced: pass --overwrite" in capsys.readouterr().err
        assert (out / "a_ok.html").read_text() == "my notes" and not (out / "a_ok.ipynb").exists()


def test_course_stops_at_the_first_failing_notebook_and_names_the_cell(notebooks, tmp_path, capsys):
    write_notebook(notebooks / "b_bad.ipynb", "x = 1", "raise ValueError('boom')", "print('never')")
    write_notebook(notebooks / "c_later.ipynb", "print('not reached')")
    code = main(["course", "--notebooks", str(notebooks), "--output", str(tmp_path / "run")])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.strip() == "sft-teach: error: b_bad.ipynb failed at cell 1: ValueError: boom"
    assert "[3/3]" not in captured.out and not (tmp_path / "run" / "c_later.ipynb").exists()


def test_a_cell_past_the_time_limit_is_named_with_the_option_that_allows_more(notebooks, tmp_path, capfd):
    """A slow or busy machine can take longer than a cell's limit: the message names the notebook, the
    cell and --timeout, in one line, with no traceback of the kernel's shutdown; exit 1, as any failed run.
    A cell tagged raises-exception that runs out of time fails too: its other errors are the lesson, a
    cell stopped halfway is not."""
    write_notebook(notebooks / "b_slow.ipynb", "x = 1", "import time; time.sleep(30)", "print('never')",
                   tags={1: ["raises-exception"]})
    code = main(["course", "--notebooks", str(notebooks), "--output", str(tmp_path / "run"), "--timeout", "2"])
    err = capfd.readouterr().err
    assert code == 1
    assert err.strip().splitlines()[-1] == (
        "sft-teach: error: b_slow.ipynb failed at cell 1: still running after 2 s, the limit a cell is given: allow "
        "more seconds (sft-teach course --timeout; timeout= in Python); a slow or busy machine needs more")
    assert "Traceback" not in err
    assert main(["course", "--notebooks", str(notebooks), "--output", str(tmp_path / "other"), "--timeout", "0"]) == 2
    assert "--timeout must be at least 1, got 0" in capfd.readouterr().err and not (tmp_path / "other").exists()


def test_an_exercise_cell_past_the_time_limit_and_a_dead_kernel_are_named(tmp_path, capfd, monkeypatch):
    """The teacher edition runs the exercise cells the same way (one way to run a cell), with --timeout."""
    from sft_teach import editions
    from sft_teach.course import NotebookFailed, run_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("# a slow exercise\nimport time; time.sleep(30)")]
    # an exercise cell whose teacher source is slow: marked by its comment, its source kept as it is
    monkeypatch.setattr(editions, "exercise_id", lambda cell: "00-slow" if "slow exercise" in cell.source else None)
    monkeypatch.setattr(editions.ExerciseSources, "preprocess", lambda self, nb, resources: (nb, resources))
    with pytest.raises(NotebookFailed, match="slow.ipynb failed at cell 0: still running after 2 s"):
        editions.build_notebook(nb, "teacher", timeout=2, name="slow.ipynb")
    assert "Traceback" not in capfd.readouterr().err
    dead = write_notebook(tmp_path / "dead.ipynb", "x = 1", "import os; os._exit(1)")
    with pytest.raises(NotebookFailed, match="dead.ipynb failed at cell 1: the kernel died"):
        run_notebook(dead, write=False)


def test_published_notebooks_keep_widget_fallbacks_and_drop_live_views():
    import nbformat

    from sft_teach.course import WIDGET_VIEW, drop_live_widgets

    nb = nbformat.v4.new_notebook(metadata={"widgets": {"state": {}}})
    view = {"model_id": "0" * 32, "version_major": 2, "version_minor": 0}
    nb.cells = [nbformat.v4.new_code_cell(outputs=[
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: view, "text/html": "<p>fallback</p>"}),
        nbformat.v4.new_output("display_data", data={WIDGET_VIEW: view})])]  # no fallback: left as it is
    drop_live_widgets(nb)
    first, second = nb.cells[0].outputs
    assert "widgets" not in nb.metadata
    assert dict(first.data) == {"text/html": "<p>fallback</p>"} and WIDGET_VIEW in second.data


def test_course_never_replaces_notebooks_in_its_output_folder_unless_told(notebooks, tmp_path, capsys):
    """A folder with the course's notebooks may be a learner's edited copy: refused, exit 2, nothing
    written; --overwrite replaces them. The same for an edition."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "a_ok.ipynb").write_text("my edits")
    for extra in ([], ["--edition", "student"]):
        assert main(["course", "--notebooks", str(notebooks), "--output", str(out), *extra]) == 2
        assert capsys.readouterr().err.strip() == (f"sft-teach: error: {out}/ already holds a_ok.ipynb, which would be "
                                                   f"replaced: pass --overwrite to replace it, or choose another --output")
        assert (out / "a_ok.ipynb").read_text() == "my edits"
    assert main(["course", "--notebooks", str(notebooks), "--output", str(out), "--overwrite"]) == 0
    assert nbformat.read(out / "a_ok.ipynb", as_version=4).cells[0].outputs[0]["text"] == "42\n"


def test_course_only_runs_the_notebooks_named(notebooks, tmp_path, capsys):
    write_notebook(notebooks / "b_other.ipynb", "print('b')")
    assert main(["course", "--notebooks", str(notebooks), "--output", str(tmp_path / "run"), "--only", "b"]) == 0
    assert "[1/1] b_other.ipynb ..." in capsys.readouterr().out and not (tmp_path / "run" / "a_ok.ipynb").exists()
    assert main(["course", "--notebooks", str(notebooks), "--output", str(tmp_path / "x"), "--only", "09"]) == 2
    assert capsys.readouterr().err.strip() == ("sft-teach: error: --only 09: no notebook's name starts with that; "
                                               "the notebooks are a_ok, b_other")


def test_re_executing_in_place_has_help_and_names_a_missing_notebook(capsys, tmp_path):
    from sft_teach.course import main as in_place

    with pytest.raises(SystemExit) as shown:
        in_place(["--help"])
    assert shown.value.code == 0 and "Re-execute notebooks in place" in capsys.readouterr().out
    with pytest.raises(SystemExit) as refused:
        in_place(["missing.ipynb"])
    assert refused.value.code == 2 and "error: no such notebook: missing.ipynb" in capsys.readouterr().err
    with pytest.raises(SystemExit) as a_folder:  # a folder is no notebook: not a traceback from nbformat
        in_place([str(tmp_path)])
    assert a_folder.value.code == 2 and f"error: no such notebook: {tmp_path}" in capsys.readouterr().err


def test_a_progress_bars_redraws_are_saved_as_its_last_state():
    from sft_teach.course import settle_streams

    redraws = ["\rrun:   0%| 0/2", "\rrun:  50%| 1/2", "\rrun: 100%| 2/2", "\n"]
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(outputs=[
        *[nbformat.v4.new_output("stream", name="stderr", text=t) for t in redraws],
        nbformat.v4.new_output("stream", name="stdout", text="done\n")])]
    settle_streams(nb)
    assert [(o.name, o.text) for o in nb.cells[0].outputs] == [("stderr", "run: 100%| 2/2\n"), ("stdout", "done\n")]


def test_re_executing_in_place_saves_the_outputs_and_stops_with_exit_code_1_naming_the_cell(tmp_path, capsys):
    """How the committed notebooks are made: a failure must stop the command with an error, or a
    script that re-executes them all would carry on past a broken notebook."""
    from sft_teach.course import main as in_place

    good = write_notebook(tmp_path / "good.ipynb", "print(6 * 7)")
    assert in_place([str(good)]) == 0
    assert capsys.readouterr().out.startswith(f"{good}: ")
    assert nbformat.read(good, as_version=4).cells[0].outputs[0]["text"] == "42\n"  # saved in place
    # a deliberate error (tagged) before the real one: the message names the real one's cell
    bad = write_notebook(tmp_path / "bad.ipynb", "x = 1", "raise RuntimeError('the lesson')", "y = 2",
                         "raise ValueError('boom')", tags={1: ["raises-exception"]})
    assert in_place([str(bad)]) == 1
    assert capsys.readouterr().err.strip() == "error: bad.ipynb failed at cell 3: ValueError: boom"
    first = write_notebook(tmp_path / "first.ipynb", "raise KeyError('at once')")
    assert in_place([str(first)]) == 1
    assert "first.ipynb failed at cell 0: KeyError" in capsys.readouterr().err  # cell 0 is a cell, not start-up


def test_an_executed_notebook_is_saved_with_a_progress_bar_s_last_state_only(tmp_path, capsys):
    from sft_teach.course import run_notebook

    path = write_notebook(tmp_path / "bar.ipynb", "import sys, time\n"
                          "for i in range(3):\n    sys.stderr.write(f'\\rbar {i}/2'); sys.stderr.flush(); time.sleep(0.05)\n"
                          "_ = sys.stderr.write('\\n')")
    _, seconds = run_notebook(path)
    (output,) = nbformat.read(path, as_version=4).cells[0].outputs
    assert output["text"] == "bar 2/2\n" and seconds > 0.15


def test_the_course_s_total_time_adds_up_its_notebooks(tmp_path):
    from sft_teach.course import run_course

    folder = tmp_path / "nbs"
    folder.mkdir()
    paths = [write_notebook(folder / f"{n}.ipynb", "import time; time.sleep(0.3)") for n in ("a", "b")]
    lines = []
    total = run_course(paths, tmp_path / "out", echo=lambda text, **_: lines.append(text))
    each = [float(line.split()[0]) for line in lines if line.strip().endswith(" s")]
    assert len(each) == 2 and total >= 0.6 and abs(total - sum(each)) <= 1  # each printed rounded to a second
