"""The ``sft-teach`` commands about the course itself: notebooks, lab, course, book, doctor, explain.

The commands that train and use models have modules of their own (:mod:`sft_teach.cli_finetune`,
:mod:`sft_teach.cli_check`, :mod:`sft_teach.cli_evaluate`, :mod:`sft_teach.cli_predict`); :mod:`sft_teach.cli` holds the parser
(one-line errors, exit code 2) and calls :func:`add_commands` here, and :mod:`sft_teach.cli_conventions`
the rules every command shares (whole numbers among them).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sft_teach import cli_conventions
from sft_teach.errors import ConfigError
from sft_teach.handout import DEFAULT_FOLDER as DEFAULT_COURSE


def add_commands(described) -> None:
    """Add the course's subcommands; ``described(name, help, description, example)`` makes a
    subparser of the command line's, in the house style."""
    nb = described("notebooks", "copy the course's notebooks into a folder of your own",
                   "Copy the course's notebooks into DIR, where you can run and edit them. DIR/.sft-teach-course.json "
                   "records what was copied, so that --update later brings in newer notebooks without touching the "
                   "ones you edited.",
                   "sft-teach notebooks my-course && jupyter lab my-course")
    nb.add_argument("dir", metavar="DIR", help="folder to copy the notebooks into (created if missing)")
    nb.add_argument("--update", action="store_true",
                    help="DIR already holds the course: refresh the notebooks you have not edited, add new ones, keep edited ones")

    lab = described("lab", "open the course in JupyterLab (copies it into DIR first if needed)",
                    "Open the course in JupyterLab, started with this Python. If DIR does not hold the course yet, "
                    "it is copied there first (as sft-teach notebooks DIR does).",
                    f"sft-teach lab                  # the course in ./{DEFAULT_COURSE}\n"
                    "  sft-teach lab my-course --port 8890 --no-browser")
    lab.add_argument("dir", metavar="DIR", nargs="?", default=DEFAULT_COURSE,
                     help=f"folder of the course (default {DEFAULT_COURSE})")
    lab.add_argument("--port", default=None, help="port for JupyterLab (default: JupyterLab's, 8888 or the next free one)")
    lab.add_argument("--no-browser", action="store_true", help="do not open a browser; open the printed URL yourself")
    lab.add_argument("--allow-root", action="store_true",
                     help="start even as root (JupyterLab refuses otherwise), as in a container")

    co = described("course", "run every notebook headless, or write the student or teacher edition",
                   "Without --edition: execute every notebook of the course in order, on copies in OUTPUT, and stop "
                   "at the first failing cell. With --edition student: the notebooks as shipped, their outputs "
                   "kept (every exercise a stub), without the quizzes' answers and without the exercises' pointers to their solutions. With --edition teacher: the solutions filled in and their cells run, "
                   "so every exercise shows its passing check.",
                   "sft-teach course --edition teacher --output teacher-notebooks\n"
                   "  sft-teach course --only 00 02   # run notebooks 00 and 02 only")
    co.add_argument("--output", default="course-output", help="folder for the notebooks written (default course-output)")
    co.add_argument("--only", nargs="+", action="extend", metavar="NN", default=None,
                    help="only the notebooks whose names start with these (e.g. 00 02, or 02_technical_recipe)")
    co.add_argument("--overwrite", action="store_true",
                    help="replace notebooks of the same names already in OUTPUT (refused otherwise: they may be yours)")
    co.add_argument("--html", action="store_true",
                    help="also write an HTML copy of each notebook, one file each, which opens offline in any "
                         "browser (formulas as MathML; figures embedded; widgets as their saved pictures)")
    co.add_argument("--edition", choices=("student", "teacher"), default=None,
                    help="write this edition of the notebooks instead of re-running them")
    co.add_argument("--timeout", default=None, metavar="SECONDS",
                    help="seconds one cell may run before the run stops (default 900; with --edition teacher, 120 "
                         "for an exercise cell; more on a slow or busy machine)")
    co.add_argument("--notebooks", default=None, help=argparse.SUPPRESS)  # another folder of notebooks (tests)

    bk = described("book", "build a browsable website (a book) of the course's executed notebooks",
                   "Build a static website of the course: an index page, one page per notebook with its outputs "
                   "and figures, previous/next links and search. The pages are the course's notebooks as shipped "
                   "with the package, executed (not a folder of your own). It works offline: open DIR/index.html in a "
                   f"browser, or serve DIR from any web server. Needs the book extra: {_book_install()}.",
                   "sft-teach book course-book && python -m http.server -d course-book")
    bk.add_argument("dir", metavar="DIR", help="folder for the website (new, or an earlier book)")
    bk.add_argument("--edition", choices=("student", "teacher"), default="student",
                    help="student: exercises to solve (default); teacher: solved and checked (its index says so)")
    bk.add_argument("--overwrite", action="store_true",
                    help="replace the book already in DIR (refused otherwise, and when DIR also holds other files)")

    described("doctor", "check versions, device and the bundled model",
              "Print the versions the course relies on, the device training will use, and whether the bundled "
              "model is in place with the weights the course was executed with. Exit code 1 when not ready.",
              "sft-teach doctor")

    ex = described("explain", "explain a concept of the course at three levels, or list them",
                   "Show a concept's explanation at three levels, Beginner, Technical and Academic, as a notebook "
                   "shows it with explain(\"NAME\"), as plain text wrapped to the terminal. NAME may be another name "
                   "of the concept, in any case; several words need no quotes. Without NAME: every concept, with "
                   "its other names.",
                   "sft-teach explain learning rate\n"
                   "  sft-teach explain lora --level beginner\n"
                   "  sft-teach explain                  # the list")
    ex.add_argument("name", nargs="*", metavar="NAME", help="the concept, e.g. warmup or learning rate")
    ex.add_argument("--level", type=str.lower, choices=("beginner", "technical", "academic"), default=None,
                    help="only this level of the explanation")



def _print_actions(actions) -> None:
    for name, action, why in actions:
        print(f"{action:10s} {name}" + (f" ({why})" if why else ""))


def cmd_notebooks(args) -> int:
    from sft_teach.handout import copy_course

    _print_actions(copy_course(args.dir, update=args.update))
    print(f"the course is in {args.dir}/: open it with sft-teach lab {cli_conventions.shell_word(args.dir)}")
    return 0


def cmd_lab(args) -> int:
    from sft_teach import handout

    port = None if args.port is None else cli_conventions.whole_number("--port", args.port)
    handout.refuse_an_empty_name(args.dir)  # `sft-teach lab "$DIR"` with DIR unset: not the current folder
    command = handout.lab_command(args.dir, port=port, browser=not args.no_browser, allow_root=args.allow_root)  # fails before copying
    dest = Path(args.dir)
    if handout.holds_course(dest):  # open it as it is: a copy made earlier, or a clone's notebooks/
        brought_in, edited = handout.newer(dest)  # nothing for a folder sft-teach notebooks did not copy
        update = f"sft-teach notebooks {cli_conventions.shell_word(dest)} --update"
        if brought_in:
            n = len(brought_in)
            print(f"the installed sft-teach has {n} notebook{'s' * (n != 1)} newer than {dest}/: {update} brings "
                  f"{'it' if n == 1 else 'them'} in (notebooks you edited are kept)")
        if edited:
            one = len(edited) == 1
            print(f"the installed sft-teach has a newer version of {', '.join(edited)}, which you edited (or ran: "
                  f"saved outputs count): rename {'it' if one else 'them'}, then {update} copies the newer "
                  f"version{'s' * (not one)} beside {'it' if one else 'them'}")
    else:
        _print_actions(handout.copy_course(dest))
    print(f"starting JupyterLab in {dest}/ (press Ctrl-C twice to stop it)", flush=True)
    _exec(command)
    return 0  # only reached when _exec is replaced (tests)


def _exec(command) -> None:
    """Become ``command``: JupyterLab then owns the terminal, and Ctrl-C shuts it down cleanly."""
    import os

    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(command[0], command)


def _chosen(folder: Path, only) -> list[Path]:
    """The course's notebooks, or those whose names start with one of ``only``."""
    from sft_teach.handout import course_notebooks

    notebooks = course_notebooks(folder)
    if only is None:
        return notebooks
    unmatched = [prefix for prefix in only if not any(p.name.startswith(prefix) for p in notebooks)]
    if unmatched:
        raise ConfigError(f"--only {' '.join(unmatched)}: no notebook's name starts with that; the notebooks are "
                          f"{', '.join(p.stem for p in notebooks)}")
    return [p for p in notebooks if any(p.name.startswith(prefix) for prefix in only)]


def _refuse_to_replace(output: Path, notebooks, overwrite: bool, html: bool = False) -> list[str]:
    """Writing into a folder that already holds these notebooks or their HTML pages replaces them:
    perhaps a learner's edited copy (``sft-teach notebooks``). Refused, naming them, unless
    ``--overwrite``; then returns the pages this run writes no new one for (no ``--html``), to delete
    once it has succeeded (:func:`_delete_pages`)."""
    from sft_teach.errors import OutputExistsError

    names = [name for p in notebooks for name in (p.name, p.with_suffix(".html").name)]
    there = [name for name in names if (output / name).exists()]
    if there and not overwrite:
        shown = ", ".join(there[:3]) + (f" and {len(there) - 3} more" if len(there) > 3 else "")
        it = "it" if len(there) == 1 else "them"
        raise OutputExistsError(f"{output}/ already holds {shown}, which would be replaced: pass --overwrite to "
                                f"replace {it}, or choose another --output")
    return [] if html else [name for name in there if name.endswith(".html")]


def _delete_pages(output: Path, stale: list[str]) -> None:
    """Once the notebooks are written (a run stopped before keeps its pages), the pages left showing
    the notebooks replaced (a teacher's solved page beside the student's notebook)."""
    for name in stale:
        (output / name).unlink(missing_ok=True)
    if stale:
        print(f"deleted {', '.join(stale)}: the page{'s' * (len(stale) > 1)} of the notebook{'s' * (len(stale) > 1)} "
              f"replaced (--html writes new ones)")


def cmd_course(args) -> int:
    from sft_teach import handout
    from sft_teach.course import NotebookFailed, run_course
    from sft_teach.handout import PACKAGED_NOTEBOOKS, notebooks_dir

    folder = Path(args.notebooks) if args.notebooks else notebooks_dir()
    notebooks = _chosen(folder, args.only)
    # before anything is written; None: each kind of run's own default
    timeout = None if args.timeout is None else cli_conventions.whole_number("--timeout", args.timeout, least=1)
    if Path(args.output).resolve() == folder.resolve():
        raise ConfigError(f"--output {args.output} is the course's own folder: choose another folder")
    if args.edition:  # before anything is replaced or deleted
        from sft_teach.editions import refuse_to_mix

        refuse_to_mix(args.edition, Path(args.output), [p.name for p in _chosen(folder, None)], [p.name for p in notebooks])
    elif (Path(args.output) / handout.EDITION_MARK).is_file():  # its mark would then vouch for answers
        raise ConfigError(f"'{args.output}' holds the {handout.edition_of(args.output)} edition: running the course there "
                          f"would put the self-learner's notebooks, quiz answers and all, beside it: choose another "
                          f"--output")
    stale = _refuse_to_replace(Path(args.output), notebooks, args.overwrite, html=args.html)
    if args.edition:
        code = _edition(args, folder, notebooks, timeout)
        if code == 0:
            _delete_pages(Path(args.output), stale)
        return code
    # The notebooks write their files (outputs/...) where their kernel runs: in a clone, the clone's
    # notebooks/ folder (its outputs/ is git-ignored); from an installed wheel, the output folder,
    # never the installed package.
    workdir = Path(args.output) if folder == PACKAGED_NOTEBOOKS else None
    try:
        total = run_course(notebooks, args.output, html=args.html, workdir=workdir, timeout=timeout or 900)
    except NotebookFailed as failed:
        print(" failed", flush=True)
        print(f"sft-teach: error: {failed}", file=sys.stderr)
        return 1
    _delete_pages(Path(args.output), stale)
    print(f"the course ran in {total:.0f} s; executed notebooks are in {args.output}/")
    return 0


def _edition(args, folder: Path, notebooks: list[Path], timeout: int | None = None) -> int:
    from sft_teach.course import NotebookFailed
    from sft_teach.editions import build_edition

    try:
        written = build_edition(args.edition, args.output, source_dir=folder, only=[p.name for p in notebooks],
                                timeout=timeout or 120)
    except NotebookFailed as failed:
        print(f"sft-teach: error: {failed}", file=sys.stderr)
        return 1
    if args.html:
        import nbformat

        from sft_teach.book import write_notebook_page

        for path in written:
            write_notebook_page(nbformat.read(path, as_version=4), path)
    print(f"{args.edition} edition: {len(written)} notebook{'s' * (len(written) != 1)} in {args.output}/")
    return 0


def _book_install() -> str:
    """The command that installs the book's extra, quoted for this system's shell."""
    return f"pip install {cli_conventions.shell_word('sft-teach[book]')}"


def _book_missing() -> list[str]:
    """The packages of the book extra that are not installed."""
    from importlib.util import find_spec

    return [name for name in ("sphinx", "myst_nb", "sphinx_book_theme", "latex2mathml") if find_spec(name) is None]


def cmd_book(args) -> int:
    missing = _book_missing()
    if missing:
        raise ConfigError(f"the book needs Sphinx, myst-nb, sphinx-book-theme and latex2mathml ({', '.join(missing)} "
                          f"not installed): {_book_install()}")
    from sft_teach.book import build_book, built_edition

    before = built_edition(args.dir) if Path(args.dir).is_dir() else None
    index = build_book(args.dir, edition=args.edition, overwrite=args.overwrite)
    print(f"the book is in {args.dir}/: open {index} in a browser")
    if before == "student" and args.edition == "teacher":  # a folder students may already be served from
        print(f"warning: {args.dir}/ held the student edition and now holds the teacher edition, with every "
              f"solution: do not publish it where students can see it", file=sys.stderr)
    return 0


def cmd_explain(args) -> int:
    from sft_teach.explain import UnknownConceptError, explain, plain_text, terminal_width

    width = terminal_width()  # 100 columns, or a narrower terminal's width
    if any(not word.strip() for word in args.name):  # explain "$NAME" with NAME unset: not the whole list
        raise ConfigError("the concept's name is empty: name one, e.g. sft-teach explain warmup (without a name: "
                          "the list of concepts)")
    name = " ".join(args.name)
    if not name:
        if args.level:
            raise ConfigError(f"--level {args.level} shows one level of one concept: name it, e.g. "
                              f"sft-teach explain warmup --level {args.level}")
        print(explain().text(width))
        return 0
    try:
        shown = explain(name)
    except UnknownConceptError as exc:  # the Python hint, explain(), said as this command's
        raise UnknownConceptError(str(exc).replace("explain() lists", "sft-teach explain lists")) from None
    if args.level:
        level = args.level.capitalize()
        print(f"{shown.concept.title}: {level}\n\n{plain_text(shown.concept.levels[level], width)}")
    else:
        print(shown.text(width))
    return 0


def cmd_doctor(args) -> int:
    from sft_teach.environment import report

    info = report()
    for name, version in info["versions"].items():
        executed = info["drift"].get(name)
        print(f"{name:22s} {version}" + (f"  (the notebooks were executed with {executed[1]})" if executed else ""))
    dev = info["device"]
    print(f"{'device':22s} {dev['device']}" + (f" ({dev['gpu']})" if dev.get("gpu") else "")
          + f", {dev['cpu_cores']} CPU cores, torch uses {dev['torch_threads']} threads")
    model = info["bundled_model"]
    print(f"{'bundled model':22s} {model['name']}: " + (f"found ({model['weights_mb']} MB)" if model["found"] else "NOT FOUND"))
    if model["found"]:
        if model["weights_match"]:
            print(f"{'model weights':22s} sha256 {model['sha256'][:16]}..., the weights the course was executed with")
        else:
            print(f"{'model weights':22s} sha256 {model['sha256'][:16]}..., NOT the weights the course was executed with "
                  f"({model['sha256_expected'][:16]}...): everything runs, but trained accuracies and losses may differ "
                  "from the shipped notebooks, and their checked cells may fail")
    if info["drift"]:
        pins = " ".join(f"{name}=={executed}" for name, (_, executed) in info["drift"].items())
        several = len(info["drift"]) != 1
        print(f"{'versions':22s} {len(info['drift'])} package{'s differ' if several else ' differs'} from the versions "
              f"the notebooks were executed with: everything runs, but trained figures may differ from the shipped "
              f"notebooks in their last digits; to match them: pip install {pins}")
    missing = _book_missing()
    print(f"{'book (optional)':22s} " + ("installed" if not missing else
                                         f"not installed (sft-teach book needs it): {_book_install()}"))
    print("ready" if info["ok"] else f"not ready: missing {', '.join(info['missing']) or 'the bundled model'}")
    return 0 if info["ok"] else 1


COMMANDS = {"notebooks": cmd_notebooks, "lab": cmd_lab, "course": cmd_course, "book": cmd_book, "doctor": cmd_doctor,
            "explain": cmd_explain}
