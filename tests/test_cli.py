import json
import os
import re
import subprocess
import sys
import warnings

import pytest
from support import GOOD, write_csv

from sft_teach.cli import main


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_importing_the_command_loads_no_deep_learning_library():
    # `sft-teach --help` and every usage error answer at once: torch, transformers and datasets are
    # imported inside the commands that use them, never when a cli module is imported
    code = ("import sys, sft_teach.cli; loaded = [m for m in ('torch', 'transformers', 'datasets') if m in sys.modules]; "
            "assert not loaded, loaded")
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})


def test_usage_errors_are_one_line_too(capsys):
    with pytest.raises(SystemExit) as info:
        main(["finetune", "--no-such-flag"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "unrecognized argument: --no-such-flag" in err


def test_a_fine_tuned_model_trains_again_on_data_of_other_classes_with_a_new_head(tiny_model_dir, tmp_path, capsys):
    """A folder fine-tuned for cat and dog, fine-tuned again on notes with a third class: a traceback
    from transformers (exit 1) before; now a warning that the head is new, in the JSON line too."""
    from support import GOOD

    birds = ["Sang at dawn on the sill.", "Pecked seed from my palm.", "Preened on the perch all morning.",
             "Whistled back at the kettle.", "Flapped when the cage door opened.", "Bathed in the saucer again.",
             "Chewed the cuttlebone to crumbs.", "Mimicked the doorbell twice.", "Hopped along the curtain rail.",
             "Shredded the newspaper in the cage."]
    data = write_csv(tmp_path / "three.csv", GOOD + [(t, "bird") for t in birds])
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(data), "--epochs", "1",
                             "--batch-size", "4", "--output", str(tmp_path / "run"), "--quiet"], capsys)
    assert code == 0, err
    said = (f"{tiny_model_dir}: a classifier fine-tuned for the classes 'cat', 'dog'; the data's are 'bird', 'cat', "
            f"'dog': its body is kept and its head is new, trained for the data's classes")
    assert f"sft-teach: warning: {said}\n" in err and "Traceback" not in err
    assert said in json.loads(stdout.strip().splitlines()[-1])["warnings"]


def test_finetune_evaluate_predict_end_to_end(tiny_model_dir, small_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs", "1",
                             "--batch-size", "4", "--output", str(out), "--quiet"], capsys)
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    assert {"accuracy", "macro_f1", "train_seconds"} <= set(final)
    # before the JSON, the same in words: the epoch kept, then the held-out score with its interval
    kept, scored = stdout.strip().splitlines()[-4:-2]
    curve = {row["epoch"]: row["macro_f1"] for row in json.loads((out / "metrics.json").read_text())["validation_curve"]}
    assert kept == f"kept epoch {final['best_epoch']} of 1 (validation macro-F1 {curve[1.0]:.3f}, the best)"
    low, high = final["accuracy_interval_95"]
    assert scored.startswith(f"{final['eval_split']} split, {final['eval_size']} rows: accuracy {final['accuracy']:.3f} "
                             f"(95 % interval {low:.3f} to {high:.3f}), macro-F1 {final['macro_f1']:.3f}; trained in ")
    for name in ("model/model.safetensors", "model/config.json", "model/tokenizer.json", "metrics.json", "loss.png", "confusion.png"):
        assert (out / name).is_file(), name
    assert not (tmp_path / ".run.partial").exists()  # the staging folder is gone

    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(small_csv)], capsys)
    assert code == 0
    scores = json.loads(stdout.strip().splitlines()[-1])
    assert scores["n"] == 16
    # the scores are those of the saved model's own answers on the file's rows
    from sklearn.metrics import f1_score

    from sft_teach.csv_files import read_csv_rows
    from sft_teach.inference import load_finetuned, predict

    texts, labels = read_csv_rows(small_csv)
    answers = [row["label"] for row in predict(*load_finetuned(out / "model"), texts)]
    assert scores["accuracy"] == pytest.approx(sum(a == y for a, y in zip(answers, labels)) / 16, abs=1e-4)
    assert scores["macro_f1"] == pytest.approx(f1_score(labels, answers, average="macro"), abs=1e-4)
    # per class, and the supports add up to the items scored
    assert set(scores["per_class"]) == {"cat", "dog"}
    assert sum(row["support"] for row in scores["per_class"].values()) == 16

    code, stdout, err = run(["predict", "--model", str(out / "model"), "Sunny windowsill nap.", "Muddy walk."], capsys)
    rows = [json.loads(line) for line in stdout.strip().splitlines()]
    assert code == 0 and [r["text"] for r in rows] == ["Sunny windowsill nap.", "Muddy walk."]


def test_real_process_exit_code_and_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "sft_teach.cli", "finetune", "--lr", "-1"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == ["sft-teach: error: learning rate (--lr, learning_rate=) must be a finite number greater than 0, got -1: try 1e-4"]
    assert not (tmp_path / "sft-output").exists()


def test_a_closed_pipe_is_not_a_traceback(tmp_path, monkeypatch):
    """`sft-teach check ... | head -1`: the reader stops early; the command stops quietly, with the
    status of a command stopped by SIGPIPE, as `yes | head -1` gives (128 + 13)."""
    from support import GOOD

    data = write_csv(tmp_path / "notes.csv", GOOD * 2)
    read, write = os.pipe()
    os.close(read)  # the reader has gone: every write now fails with a broken pipe
    with open(write, "w", buffering=1) as closed:  # line-buffered: the first print already writes
        monkeypatch.setattr("sys.stdout", closed)
        assert main(["check", "--data", str(data)]) == 141


def test_doctor_reports_the_bundled_model(capsys):
    code, out, err = run(["doctor"], capsys)
    assert code == 0 and "found" in out and "ready" in out.splitlines()[-1]
    assert "the weights the course was executed with" in out and "NOT" not in out
    assert "book (optional)        installed" in out  # the test extra installs the book's packages


def test_doctor_says_the_book_needs_its_extra_and_is_still_ready_without_it(capsys, monkeypatch):
    """The book is optional: doctor names the extra that `sft-teach book` would ask for, and stays ready."""
    from importlib import util

    find_spec = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *a: None if name == "myst_nb" else find_spec(name, *a))
    code, out, err = run(["doctor"], capsys)
    assert code == 0 and out.splitlines()[-1] == "ready"
    assert "book (optional)        not installed (sft-teach book needs it): pip install 'sft-teach[book]'" in out


def test_doctor_says_when_the_model_weights_are_not_the_courses(capsys, monkeypatch, tmp_path):
    import hashlib

    from sft_teach import environment

    other = tmp_path / "model.safetensors"
    other.write_bytes(b"other weights")
    assert environment.sha256_of(other) == hashlib.sha256(b"other weights").hexdigest()
    monkeypatch.setattr(environment, "BUNDLED_WEIGHTS_SHA256", "0" * 64)
    code, out, err = run(["doctor"], capsys)
    assert code == 0  # it still runs the course
    assert "NOT the weights the course was executed with" in out and "may differ" in out


def test_doctor_says_which_versions_differ_from_the_notebooks_and_how_to_match_them(capsys, monkeypatch):
    from sft_teach import environment

    pins = environment.executed_with()
    assert pins["transformers"] and pins["torch"]  # read from constraints.txt (in a wheel: _constraints.txt)
    real = environment.versions

    def drifted():
        return {**real(), "transformers": "9.9.9", "torch": pins["torch"] + "+cpu"}  # +cpu is the same torch

    monkeypatch.setattr(environment, "versions", drifted)
    code, out, _ = run(["doctor"], capsys)
    assert code == 0 and out.splitlines()[-1] == "ready"
    assert f"transformers           9.9.9  (the notebooks were executed with {pins['transformers']})" in out
    assert "1 package differs from the versions" in out and f"pip install transformers=={pins['transformers']}" in out
    assert "torch" not in environment.drift(drifted())


def test_doctor_counts_two_differing_packages_in_the_plural(capsys, monkeypatch):
    from sft_teach import environment

    real = environment.versions
    monkeypatch.setattr(environment, "versions", lambda: {**real(), "transformers": "9.9.9", "peft": "9.9.9"})
    code, out, _ = run(["doctor"], capsys)
    assert code == 0 and "2 packages differ from the versions" in out


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0 and capsys.readouterr().out.startswith("sft-teach 0.")


@pytest.mark.parametrize("command", ["finetune", "check", "evaluate", "predict", "notebooks", "lab", "course", "book",
                                     "doctor"])
def test_every_subcommand_help_has_a_description_and_an_example(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "\nexample:\n  sft-teach " + command in text
    assert len(text.split("\n\n")[1]) > 60  # the description paragraph after the usage lines


def test_predict_reads_a_file_or_standard_input(tiny_model_dir, tmp_path, capsys, monkeypatch):
    texts = tmp_path / "texts.txt"
    texts.write_text("Sunny windowsill nap.\n\nMuddy walk.\n", encoding="utf-8")
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "--file", str(texts)], capsys)
    assert code == 0 and [json.loads(line)["text"] for line in out.splitlines()] == ["Sunny windowsill nap.", "Muddy walk."]
    # blank lines get no answer, so each answer names its line, to join it to the file's
    assert [json.loads(line)["line"] for line in out.splitlines()] == [1, 3]
    monkeypatch.setattr("sys.stdin", __import__("io").TextIOWrapper(__import__("io").BytesIO(b"\nOne from stdin.\n")))
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "-"], capsys)
    assert code == 0 and json.loads(out)["text"] == "One from stdin." and json.loads(out)["line"] == 2
    # only a line break ends a text: U+2028, NEL and form feed are characters inside it, as in a CSV
    odd = ["Sat\u2028on the mat.", "Dug\u0085a hole.", "Slept\x0call day."]
    texts.write_text("\r\n".join(odd) + "\r\n", encoding="utf-8")
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "--file", str(texts)], capsys)
    assert code == 0 and [json.loads(line)["text"] for line in out.splitlines()] == odd
    code, _, err = run(["predict", "--model", str(tiny_model_dir)], capsys)
    assert code == 2 and "no texts to classify" in err
    # each argument is one text, an empty one too, so the output lines follow the arguments
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "Purred.", "", "  ", "Barked."], capsys)
    assert code == 0 and err.strip() == "sft-teach: warning: text arguments 2, 3 are empty: their predictions say nothing about a text"
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["Purred.", "", "  ", "Barked."]
    # echoed as given, spaces and all, so that a script can join the answers to its texts
    texts.write_text("  Sunny windowsill nap. \n", encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(texts), "  Muddy walk."], capsys)
    assert code == 2  # a file or arguments, not both
    for given in (["  Muddy walk. "], ["--file", str(texts)]):
        code, out, err = run(["predict", "--model", str(tiny_model_dir), *given], capsys)
        assert code == 0 and json.loads(out)["text"] in ("  Muddy walk. ", "  Sunny windowsill nap. ")
    # classified as training read it, without those spaces (a byte-level tokenizer would read them as tokens)
    from sft_teach.inference import load_finetuned, predict

    code, out, err = run(["predict", "--model", str(tiny_model_dir), "  Muddy walk. "], capsys)
    model, tokenizer = load_finetuned(tiny_model_dir)
    assert json.loads(out)["score"] == round(predict(model, tokenizer, "Muddy walk.")[0]["score"], 4)


def test_predict_prints_a_long_file_a_part_at_a_time(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """17,850 lines once gave 100 s of silence, then every answer: now each part is printed, and
    flushed to a pipe, before the next is classified, in the file's order, with its lines."""
    import io

    from sft_teach import cli_predict, inference

    events = []

    class Terminal(io.StringIO):
        def flush(self):  # a pipe's reader gets what was printed when it is flushed
            events.append(("flush", self.getvalue().count("\n")))

    texts = tmp_path / "texts.txt"
    texts.write_text("".join(f"Note {i}: {'purred ' * (i % 4)}on the mat.\n" for i in range(7)), encoding="utf-8")
    monkeypatch.setattr(cli_predict, "PART", 3)
    monkeypatch.setattr("sys.stdout", Terminal())
    real = inference.predict

    def predict(model, tokenizer, part, **kwargs):
        events.append(("classify", len(part)))
        return real(model, tokenizer, part, **kwargs)

    monkeypatch.setattr(inference, "predict", predict)
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(texts)]) == 0
    assert events == [("classify", 3), ("flush", 3), ("classify", 3), ("flush", 6), ("classify", 1), ("flush", 7)]
    model, tokenizer = inference.load_finetuned(tiny_model_dir)
    whole = real(model, tokenizer, texts.read_text(encoding="utf-8").splitlines())
    out = [json.loads(line) for line in sys.stdout.getvalue().splitlines()]
    assert [row["line"] for row in out] == list(range(1, 8))
    assert [(row["text"], row["label"], row["score"]) for row in out] == [
        (row["text"], row["label"], round(row["score"], 4)) for row in whole]
    # what the texts' lengths say is said once, of all of them, after the parts; each cut text is marked
    monkeypatch.setattr("sys.stdout", Terminal())
    assert main(["predict", "--model", str(tiny_model_dir), "--file", str(texts), "--max-length", "10"]) == 0
    err = capsys.readouterr().err
    from sft_teach.checks import token_lengths

    lengths = token_lengths(texts.read_text(encoding="utf-8").splitlines(), tokenizer)
    longer = sum(n > 10 for n in lengths)
    assert 3 < longer < 7  # texts of more than one part
    assert err.count("sft-teach: warning: ") == 1 and (
        f'{longer} of the 7 texts (their JSON lines say "cut": true) are longer than 10 tokens') in err
    cut = [json.loads(line).get("cut", False) for line in sys.stdout.getvalue().splitlines()]
    assert cut == [n > 10 for n in lengths]  # the right texts, in every part


def test_predict_and_evaluate_warn_of_texts_the_model_can_hardly_read(tiny_model_dir, tmp_path, capsys):
    """'ok', two emoji, a run of letters it cannot spell: the model still answers a class for each, as sure
    as it may look; one warning names how many and the first, as check does of training data."""
    hardly = ["ok", "🐶🐶", "Purred all night on the radiator shelf.", "x" * 300]
    code, out, err = run(["predict", "--model", str(tiny_model_dir), *hardly], capsys)
    assert code == 0 and len(out.splitlines()) == 4 and err.count("\n") == 1
    assert err.startswith("sft-teach: warning: 3 of the 4 texts have fewer than 3 letters or digits or read mostly as "
                          "the unknown token [UNK] (the first: 'ok'): the model sees next to nothing of them")
    code, _, err = run(["predict", "--model", str(tiny_model_dir), "Purred all night on the radiator shelf."], capsys)
    assert code == 0 and not err  # a text it reads: nothing to say
    scored = write_csv(tmp_path / "few.csv", [("ok", "cat"), *GOOD[:4]])
    code, out, err = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(scored)], capsys)
    assert code == 0 and any(w.startswith("1 of the 5 texts has fewer than 3 letters") for w in json.loads(out)["warnings"])
    from sft_teach.inference import load_finetuned, max_length_of

    assert json.loads(out)["max_length"] == max_length_of(*load_finetuned(tiny_model_dir))  # the cut it read with
    code, out, _ = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(scored), "--max-length", "16"], capsys)
    assert code == 0 and json.loads(out)["max_length"] == 16


def test_predict_warns_when_a_text_file_starts_with_a_csv_header(tiny_model_dir, tmp_path, capsys):
    """A CSV export saved as .txt is read line by line, label and all: a warning names the option."""
    export = tmp_path / "export.txt"
    export.write_text("text,label\nPurred all night.,cat\n", encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 0 and len(out.splitlines()) == 2 and err.count("\n") == 1
    assert "export.txt: line 1 reads like a CSV header (text,label)" in err and "--text-column text" in err
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export), "--text-column", "text"],
                         capsys)
    assert code == 0 and json.loads(out)["text"] == "Purred all night." and not err
    shouted = tmp_path / "EXPORT.CSV"  # a CSV however its suffix is written: its text column, not its rows
    shouted.write_text("text,label\nPurred all night.,cat\n", encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(shouted)], capsys)
    assert code == 0 and json.loads(out)["text"] == "Purred all night." and not err
    export.write_text("Text, with a comma, about a label\nPurred.\n", encoding="utf-8")  # a text, not a header
    code, _, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 0 and not err


def test_predict_refuses_a_json_file_and_warns_of_json_or_a_header_read_line_by_line(tiny_model_dir, tmp_path, capsys,
                                                                                      monkeypatch):
    """A JSON Lines export was classified line by line, keys and label inside each "text", without a
    word; a CSV piped to standard input likewise. The first is refused, the others warned about."""
    import io

    records = tmp_path / "data.jsonl"
    records.write_text('{"text": "Purred all night.", "label": "cat"}\n', encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(records)], capsys)
    assert code == 2 and not out and err.count("\n") == 1
    assert "data.jsonl: is a JSONL file, not a text file of one text per line or a CSV file" in err
    saved_as_text = tmp_path / "data.txt"
    saved_as_text.write_text(records.read_text(), encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(saved_as_text)], capsys)
    assert code == 0 and "data.txt: line 1 reads like JSON" in err and "--text-column NAME" in err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"text,label\nPurred all night.,cat\n")))
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "-"], capsys)
    assert code == 0 and "standard input: line 1 reads like a CSV header (text,label), but standard input is read as one " \
                         "text per line" in err


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="named pipes are POSIX")
def test_a_csv_from_a_pipe_is_read_once_not_found_empty_the_second_time(tiny_model_dir, tmp_path, capsys):
    """A pipe (``<(...)``, /dev/stdin) can be read once; its encoding was guessed from a first read,
    and the second found it empty: 'the file is empty'. Each command now reads a file's bytes once."""
    import os
    import threading

    pipe = tmp_path / "pipe"
    for command in (["predict", "--file", str(pipe), "--text-column", "text"], ["evaluate", "--data", str(pipe)]):
        os.mkfifo(pipe)
        writer = threading.Thread(target=lambda: pipe.write_bytes(b"text,label\nPurred all night.,cat\n"),
                                  daemon=True)  # left blocked, not hanging the tests, if the command never reads
        writer.start()
        # a second read of the pipe would wait for a writer for ever: one that writes nothing comes
        # after 30 s, so that the test fails ("the file is empty") instead of hanging
        watchdog = threading.Timer(30, lambda: os.close(os.open(pipe, os.O_WRONLY | os.O_NONBLOCK)))
        watchdog.start()
        code, out, err = run([command[0], "--model", str(tiny_model_dir), *command[1:]], capsys)
        watchdog.cancel()
        writer.join(timeout=10)
        pipe.unlink()
        assert code == 0 and not writer.is_alive(), err
        assert json.loads(out.splitlines()[0])["text" if command[0] == "predict" else "n"] in ("Purred all night.", 1)


def test_predict_reads_a_csv_from_standard_input_with_text_column(tiny_model_dir):
    """``cat export.csv | sft-teach predict --model M --text-column text -``: refused before, now read."""
    done = subprocess.run([sys.executable, "-m", "sft_teach.cli", "predict", "--model", str(tiny_model_dir),
                           "--text-column", "text", "-"], input=b"text,label\nPurred all night.,cat\n",
                          capture_output=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["text"] == "Purred all night." and json.loads(done.stdout)["line"] == 2


def test_predict_and_evaluate_name_the_models_own_columns_first(tiny_model_dir, tmp_path, capsys):
    """A model trained on a 'summary' column: a text file whose header has both text and summary is
    advised --text-column summary; a CSV with neither is refused about summary, the column tried first,
    by predict and by evaluate."""
    from types import SimpleNamespace

    from sft_teach.inference import load_finetuned
    from sft_teach.model_folder import save_model

    model, tokenizer = load_finetuned(tiny_model_dir)
    folder = save_model(SimpleNamespace(model=model, processing_class=tokenizer), tmp_path / "m",
                        data={"text_column": "summary", "label_column": "component", "data_sha256": None})
    export = tmp_path / "export.txt"
    export.write_text("text,summary,label\nold note,Purred all night.,cat\n", encoding="utf-8")
    code, _, err = run(["predict", "--model", str(folder), "--file", str(export)], capsys)
    assert code == 0 and "pass --text-column summary to read its 'summary' column" in err, err
    neither = write_csv(tmp_path / "neither.csv", [("Purred all night.", "cat")], header=("note", "label"))
    code, _, err = run(["predict", "--model", str(folder), "--file", str(neither)], capsys)
    assert code == 2 and err.count("\n") == 1 and "'summary'" in err and "'text'" not in err, err
    code, _, err = run(["evaluate", "--model", str(folder), "--data", str(neither)], capsys)  # so does evaluate
    assert code == 2 and err.count("\n") == 1 and "no column 'summary' and no column 'component'" in err, err
    assert "'text'" not in err and "trained with" not in err  # the columns tried are the training's: said once
    code, _, err = run(["evaluate", "--model", str(folder), "--data", str(neither), "--label-column", "label"], capsys)
    assert code == 2 and err.strip().endswith("(this model was trained with --text-column summary --label-column "
                                              "component)"), err  # one option given: the other is the training's


def test_predict_reads_the_text_column_of_a_csv_file(tiny_model_dir, tmp_path, capsys):
    """A CSV export is read as rows, never as lines: the header and the label column are not texts,
    and each result names the row's line (the header is line 1; a quoted text may span lines)."""
    export = write_csv(tmp_path / "new.csv", [("T-1", "Chain slips, in third gear", "repair"),
                                               ("T-2", "Where is my order?\nOrdered on the 3rd.", "order"),
                                               ("T-3", "Refund please", "refund")], header=("id", "body", "category"))
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export), "--text-column", "body"],
                         capsys)
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(r["text"], r["line"]) for r in rows] == [("Chain slips, in third gear", 2),
                                                      ("Where is my order?\nOrdered on the 3rd.", 3), ("Refund please", 5)]
    code, _, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)  # .csv: column text
    assert code == 2 and err.count("\n") == 1 and "no column 'text'" in err and "--text-column" in err
    code, _, err = run(["predict", "--model", str(tiny_model_dir), "--text-column", "body", "Hello"], capsys)
    assert code == 2 and "--text-column names a column of a CSV file: pass the file with --file PATH, or - to read it" in err


def test_predict_answers_every_row_of_an_export_that_has_some_empty_texts(tiny_model_dir, tmp_path, capsys):
    """A real export of new tickets has rows without a text: each other row is predicted (with its
    line, to join the answers back), and one warning names the rows left out; nothing but empty
    texts is an error."""
    rows = [("T-1", "Chain slips", "")] + [(f"T-{i}", "", "") for i in range(2, 8)] + [("T-8", "Refund please", "")]
    export = write_csv(tmp_path / "new.csv", rows, header=("id", "body", "category"))
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export), "--text-column", "body"],
                         capsys)
    assert code == 0, err
    assert [(r["text"], r["line"]) for r in map(json.loads, out.splitlines())] == [("Chain slips", 2),
                                                                                   ("Refund please", 9)]
    assert err == (f"sft-teach: warning: {export}: no prediction for 6 rows whose text is empty (lines 3, 4, 5, 6, 7 "
                   "and 1 more); each prediction gives its row's line\n")
    write_csv(export, [("T-1", "", ""), ("T-2", "Chain slips", "")], header=("id", "body", "category"))
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export), "--text-column", "body"],
                         capsys)
    assert code == 0 and len(out.splitlines()) == 1 and "(line 2);" in err
    write_csv(export, [("T-1", "", "x"), ("T-2", " ", "y")], header=("id", "body", "category"))
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export), "--text-column", "body"],
                         capsys)
    assert (code, out) == (2, "") and err == ("sft-teach: error: " + str(export) + ": every text in column 'body' is "
                                              "empty: nothing to classify\n")


def test_json_lines_keep_texts_as_written_where_the_output_is_utf8(tiny_model_dir, capsys, monkeypatch):
    """An emoji or an accent reads as itself in predict's JSON on a UTF-8 terminal, not as \\ud83d...;
    on an output that cannot encode it (a legacy code page) it is escaped, never an encoding error."""
    import io

    text = "Chewed my slipper \U0001F436, naughty garçon"
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), text], capsys)
    assert code == 0 and text in out and json.loads(out)["text"] == text
    for encoding in ("cp1252", "ascii"):
        legacy = io.TextIOWrapper(io.BytesIO(), encoding=encoding)
        monkeypatch.setattr("sys.stdout", legacy)
        assert main(["predict", "--model", str(tiny_model_dir), text]) == 0
        legacy.flush()
        written = legacy.buffer.getvalue().decode(encoding)
        assert "\\ud83d" in written and json.loads(written)["text"] == text
    bom = io.TextIOWrapper(io.BytesIO(), encoding="utf-8-sig")  # UTF-8 too (PYTHONIOENCODING=utf-8-sig)
    monkeypatch.setattr("sys.stdout", bom)
    assert main(["predict", "--model", str(tiny_model_dir), text]) == 0
    bom.flush()
    assert text in bom.buffer.getvalue().decode("utf-8-sig")


def test_evaluate_and_predict_read_the_columns_the_model_was_trained_with(tiny_model_dir, tmp_path, capsys):
    """A held-out file with the training's own column names is read by them without options (recorded
    in the run's metrics.json); the run's splits/ (text, label) are read with or without those options;
    other columns asked for that the file lacks: one line naming the ones the run used."""
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_model_dir, run_dir / "model")
    (run_dir / "metrics.json").write_text(json.dumps({"text_column": "summary", "label_column": "component"}))
    held_out = write_csv(tmp_path / "held_out.csv", [("Purred all night.", "cat")], header=("summary", "component"))
    (run_dir / "splits").mkdir()
    write_csv(run_dir / "splits" / "test.csv", [("Barked at the post.", "dog"), ("Purred.", "cat")])
    model = ["--model", str(run_dir / "model")]
    trained = ["--text-column", "summary", "--label-column", "component"]
    for data, options, n in ((held_out, [], 1), (held_out, trained, 1), (run_dir, [], 2), (run_dir / "splits", trained, 2)):
        code, out, err = run(["evaluate", *model, "--data", str(data), *options], capsys)
        assert code == 0 and json.loads(out)["n"] == n, err
    code, _, err = run(["evaluate", *model, "--data", str(held_out), "--text-column", "body"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "no column 'body'" in err and "trained with --text-column summary --label-column component" in err
    code, out, _ = run(["predict", *model, "--file", str(held_out)], capsys)  # its text column: summary
    assert code == 0 and json.loads(out)["text"] == "Purred all night."

    # the columns travel in the folder's config.json: a copy without the run around it reads them too
    from types import SimpleNamespace

    from sft_teach.inference import load_finetuned
    from sft_teach.model_folder import save_model

    model, tokenizer = load_finetuned(run_dir / "model")
    shipped = save_model(SimpleNamespace(model=model, processing_class=tokenizer), tmp_path / "shipped" / "clf",
                         data={"text_column": "summary", "label_column": "component", "data_sha256": None})
    code, out, err = run(["predict", "--model", str(shipped), "--file", str(held_out)], capsys)
    assert code == 0 and json.loads(out)["text"] == "Purred all night.", err
    code, out, err = run(["evaluate", "--model", str(shipped), "--data", str(held_out)], capsys)
    assert code == 0 and json.loads(out)["n"] == 1, err


def test_evaluate_and_predict_read_a_file_as_the_models_training_file_was_read(tiny_model_dir, tmp_path, capsys,
                                                                                monkeypatch):
    """A model trained on a cp1252 export whose labels were merged across case: a later export of the
    same source (cp1252, 'Cat') is read so without options; a UTF-8 file is still read as UTF-8 (not
    as cp1252 mojibake); --encoding and --no-merge-case override what the model remembers."""
    import io
    from types import SimpleNamespace

    from sft_teach.inference import load_finetuned
    from sft_teach.model_folder import save_model

    model, tokenizer = load_finetuned(tiny_model_dir)
    folder = save_model(SimpleNamespace(model=model, processing_class=tokenizer), tmp_path / "clf",
                        data={"text_column": "text", "label_column": "label", "encoding": "cp1252",
                              "merge_case": True, "data_sha256": None})
    rows = "text,label\nCaf\u00e9 cream on the sill.,Cat\nBarked at the post.,dog\n"
    export = tmp_path / "export.csv"
    export.write_bytes(rows.encode("cp1252"))
    code, out, err = run(["evaluate", "--model", str(folder), "--data", str(export)], capsys)
    assert code == 0 and json.loads(out)["n"] == 2, err
    code, _, err = run(["evaluate", "--model", str(folder), "--data", str(export), "--no-merge-case"], capsys)
    assert code == 2 and err.count("\n") == 1 and "'Cat' differs only in case from 'cat'" in err
    code, _, err = run(["evaluate", "--model", str(folder), "--data", str(export), "--encoding", "utf-8"], capsys)
    assert code == 2 and "byte 0xe9 is not valid UTF-8" in err
    texts = tmp_path / "texts.txt"
    for encoding in ("cp1252", "utf-8"):  # each read as written
        texts.write_bytes("Caf\u00e9 cream on the sill.\n".encode(encoding))
        code, out, err = run(["predict", "--model", str(folder), "--file", str(texts)], capsys)
        assert code == 0 and json.loads(out)["text"] == "Caf\u00e9 cream on the sill.", (encoding, err)
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("Caf\u00e9 au lait.\n".encode("cp1252"))))
    code, out, err = run(["predict", "--model", str(folder), "-"], capsys)
    assert code == 0 and json.loads(out)["text"] == "Caf\u00e9 au lait.", err


def test_check_json_and_strict(tmp_path, capsys):
    from support import pets_csv

    clean = pets_csv(tmp_path / "clean.csv")
    code, out, _ = run(["check", "--data", str(clean), "--json", "--strict"], capsys)
    report = json.loads(out)
    assert code == 0 and report["warnings"] == [] and report["cleaning"]["rows"] == 714
    assert report["splits"]["train"]["rows"] == 571
    cased = pets_csv(tmp_path / "cased.csv", [(f"Another tabby story {i}.", "Cat") for i in range(9)])
    code, out, err = run(["check", "--data", str(cased), "--json", "--strict"], capsys)
    assert code == 2 and "--strict" in err
    assert [w["kind"] for w in json.loads(out)["warnings"]][0] == "label_case"
    code, out, _ = run(["check", "--data", str(cased), "--merge-case", "--json", "--strict"], capsys)
    assert code == 0 and set(json.loads(out)["splits"]["train"]["classes"]) == {"cat", "dog"}
    assert json.loads(out)["cleaning"]["labels_merged"] == {"Cat": {"into": "cat", "rows": 9}}  # said, not silent
    code, out, _ = run(["check", "--data", str(cased), "--merge-case"], capsys)
    assert code == 0 and "723 rows: merged label 'Cat' (9 rows) into 'cat'; removed 0 repeated texts;" in out


def test_evaluate_scores_the_split_asked_for_of_a_bundled_dataset_or_a_folder(make_tiny_classifier, tokenizer,
                                                                             tmp_path, capsys):
    from sft_teach.csv_files import read_csv_rows
    from sft_teach.bundled import data_dir

    folder = tmp_path / "pets-model"
    make_tiny_classifier(labels=("cat", "dog")).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    unseen = read_csv_rows(data_dir() / "pets" / "unseen.csv")[0]
    code, out, err = run(["evaluate", "--model", str(folder), "--data", "pets", "--split", "unseen"], capsys)
    assert code == 0 and json.loads(out)["n"] == len(unseen), err
    code, _, err = run(["evaluate", "--model", str(folder), "--data", "pets", "--split", "dev"], capsys)
    assert code == 2 and "pets: no split 'dev' (dev.csv) in it; its splits: test, train, unseen, validation:" in err
    code, _, err = run(["evaluate", "--model", str(folder), "--data", "pets", "--split", "reader_labels"], capsys)
    assert code == 2 and "pets: reader_labels.csv is not a split of texts and labels" in err
    code, out, _ = run(["evaluate", "--model", str(folder), "--data", "pets"], capsys)
    assert json.loads(out)["split"] == "test"
    held_out = write_csv(tmp_path / "held_out.csv", [("Purred all night.", "cat")])
    code, _, err = run(["evaluate", "--model", str(folder), "--data", str(held_out), "--split", "unseen"], capsys)
    assert code == 2 and "--split picks a split of a folder or a bundled dataset" in err


def test_evaluate_s_interval_counts_the_right_answers_exactly(tiny_model_dir, tmp_path, capsys, monkeypatch):
    """29 right of 100: 0.29 * 100 is 28.999999999999996 in floating point, still 29 answers; and a CSV file,
    scored whole, has no split to name in the JSON line."""
    from sft_teach.stats import wilson_interval

    data = write_csv(tmp_path / "held.csv", [(f"Note number {i}.", "cat" if i % 2 else "dog") for i in range(100)])

    def scored(model, tokenizer, dataset, **kwargs):
        return {"accuracy": 29 / 100, "macro_f1": 0.29,
                "per_class": {name: {"precision": 0.29, "recall": 0.29, "f1": 0.29, "support": 50}
                              for name in ("cat", "dog")}}

    monkeypatch.setattr("sft_teach.inference.evaluate", scored)
    code, stdout, err = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(data)], capsys)
    line = json.loads(stdout)
    assert code == 0 and line["accuracy_interval_95"] == [round(x, 4) for x in wilson_interval(29, 100)]
    assert line["accuracy_interval_95"] != [round(x, 4) for x in wilson_interval(28, 100)]
    assert "split" not in line and line["n"] == 100


def test_evaluate_names_the_labels_a_model_does_not_know(make_tiny_classifier, tokenizer, tmp_path, capsys):
    folder = tmp_path / "desks"
    make_tiny_classifier(labels=("billing", "emergency", "grooming")).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    code, _, err = run(["evaluate", "--model", str(folder), "--data", "pets"], capsys)
    assert code == 2 and err.count("\n") == 1
    assert "labels 'dog', 'cat' are not known to the model, which knows 'billing', 'emergency', 'grooming'" in err


@pytest.mark.slow
def test_finetune_writes_splits_card_and_metrics_and_one_progress_bar(tiny_model_dir, tmp_path, capsys):
    """A file with repeats: cleaned before the split, no test text in train, the card and the JSON tell."""
    from support import GOOD

    data = write_csv(tmp_path / "notes.csv", GOOD + GOOD[:5])
    out = tmp_path / "run"
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(data), "--epochs", "2",
                             "--batch-size", "4", "--head-epochs", "1", "--output", str(out)], capsys)
    assert code == 0, err
    assert "{'loss'" not in stdout + err  # Trainer's raw log lines are gone; one bar a phase remains
    assert "head alone: 100%" in err and "all layers: 100%" in err and "loss=" in err
    assert "25 rows: removed 5 repeated texts" in stdout
    final = json.loads(stdout.strip().splitlines()[-1])
    assert final["cleaning"]["duplicates_removed"] == 5 and final["recipe"] == "best"
    assert final["best_epoch"] in (1, 2) and final["data_sha256"].startswith("sha256:")
    assert isinstance(final["warnings"], list) and len(final["accuracy_interval_95"]) == 2
    metrics = json.loads((out / "metrics.json").read_text())
    assert [row["epoch"] for row in metrics["validation_curve"]] == [1.0, 2.0]
    kept = json.loads((out / "model" / "config.json").read_text())["sft_teach"]  # how evaluate reads a file
    assert {k: kept[k] for k in ("text_column", "encoding", "merge_case")} == {
        "text_column": "text", "encoding": "utf-8", "merge_case": False}
    from sft_teach.csv_files import read_csv_rows

    train = set(read_csv_rows(out / "splits" / "train.csv")[0])
    test, lines = read_csv_rows(out / "splits" / "test.csv", "text", "line")
    assert test and not train & set(test)
    # the run's folder, and nothing else: its checkpoints and settings for --resume served their purpose
    from sft_teach.run_record import RUN_OUTPUTS

    assert {p.name for p in out.iterdir()} == RUN_OUTPUTS
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", "run"]  # no staging folder left beside it
    written = data.read_text(encoding="utf-8").splitlines()
    assert all(text in written[int(line) - 1] for text, line in zip(test, lines))  # each row's line in notes.csv
    # readable by other users, as anything written with the umask: not mkdtemp's 0700
    umask = os.umask(0)
    os.umask(umask)
    assert (out / "model").stat().st_mode & 0o777 == 0o777 & ~umask
    assert all(p.stat().st_mode & 0o777 == 0o666 & ~umask for p in (out / "model").iterdir())
    card = (out / "model" / "README.md").read_text()
    # the interval is the Wilson interval of this many right answers out of the test split's rows
    from sft_teach.stats import wilson_interval

    right = round(final["accuracy"] * len(test))
    low, high = wilson_interval(right, len(test))
    assert final["eval_size"] == len(test) and final["accuracy_interval_95"] == [round(low, 4), round(high, 4)]
    assert f"accuracy {right / len(test):.3f} (95 % interval {low:.3f}-{high:.3f}, {len(test)} examples)" in card
    # a local folder is no Hub id: the card names it, its YAML block does not claim it as base_model
    assert "base_model:" not in card and "95 % interval" in card and "epoch " in card and "truncation=True" in card
    assert "| recipe | best (changed: epochs 2, head_epochs 1) |" in card  # not the best recipe's settings
    import transformers

    assert final["versions"]["transformers"] == transformers.__version__ and final["warmup"] == 0.1
    assert final["recipe"] == "best" and final["changed_from_recipe"] == {"epochs": 2, "head_epochs": 1}
    assert f"transformers {transformers.__version__}" in card  # the card says what it was trained with

    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(out)], capsys)
    scores = json.loads(stdout)
    assert code == 0 and scores["n"] == len(test) and scores["accuracy"] == final["accuracy"]
    assert scores["accuracy_interval_95"] == final["accuracy_interval_95"]
    assert scores["warnings"] == [] and err == "" and scores["split"] == "test"
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(out), "--split", "validation"],
                            capsys)
    validation = (out / "splits" / "validation.csv").read_text().count("\n") - 1
    assert code == 0 and f"all {validation} texts scored are in this model's validation split (the first: " in err
    assert "which chose the epoch it kept (--recipe best), so the score on them is optimistic" in err
    # another data's validation split chose nothing for this model: nothing to say
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", "pets", "--split", "validation",
                             "--skip-unknown"], capsys)
    assert "chose the epoch" not in err
    # its own training split: said once, by the line that counts the texts, not again as "a training split"
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(out), "--split", "train"], capsys)
    assert code == 0 and "texts scored also occur in the model's training split" in err, err
    assert "train is a training split" not in err and len(json.loads(stdout)["warnings"]) == 1
    # the training file itself, or a held-out file holding a training text: said, not scored silently
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(data)], capsys)
    assert code == 0 and "notes.csv is the file this model was fine-tuned on (the same SHA-256)" in err
    assert json.loads(stdout)["warnings"][0].startswith(str(data))
    assert "the model's training split" not in err  # said once, by the line that says more
    import shutil

    shutil.copytree(out / "model", tmp_path / "elsewhere" / "model")  # the folder alone, without its run
    code, stdout, err = run(["evaluate", "--model", str(tmp_path / "elsewhere" / "model"), "--data", str(data)], capsys)
    assert code == 0 and "notes.csv is the file this model was fine-tuned on" in err  # known from its config.json
    code, stdout, err = run(["evaluate", "--model", str(tmp_path / "elsewhere" / "model"), "--data", "pets", "--split",
                             "validation", "--skip-unknown"], capsys)  # without its run, which recipe is unknown
    assert code == 0 and "chose the epoch" not in err
    held_out = write_csv(tmp_path / "held_out.csv", [(sorted(train)[0], "cat"), ("A brand new note.", "dog")])
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(held_out)], capsys)
    assert code == 0 and "1 of the 2 texts scored also occurs in the model's training split (the first: " in err
    # in capitals, with spaces around it: the same example, to checks.duplicates and to a tokenizer that ignores case
    shouted = write_csv(tmp_path / "shouted.csv", [(f"  {sorted(train)[0].upper()} ", "cat"), ("A brand new note.", "dog")])
    code, stdout, err = run(["evaluate", "--model", str(out / "model"), "--data", str(shouted)], capsys)
    assert code == 0 and "1 of the 2 texts scored also occurs in the model's training split" in err


def test_book_without_its_extra_says_how_to_install_it(tmp_path, capsys, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "sphinx" else real(name, *a))
    code, _, err = run(["book", str(tmp_path / "site")], capsys)
    assert code == 2 and "pip install 'sft-teach[book]'" in err and "sphinx" in err
    assert not (tmp_path / "site").exists()


class _Stop(Exception):
    """Raised by the stand-in for finetune once it has seen its arguments: nothing trains."""


@pytest.mark.parametrize("options, expected", [
    ([], {"head_epochs": 3.0, "num_train_epochs": 3.0, "learning_rate": 1e-4, "best_epoch": True}),
    (["--recipe", "plain"], {"head_epochs": 0.0, "num_train_epochs": 3.0, "learning_rate": 5e-4, "best_epoch": False}),
    (["--recipe", "plain", "--lr", "1e-4", "--epochs", "2"], {"learning_rate": 1e-4, "num_train_epochs": 2.0}),
])
def test_finetune_runs_the_recipe_and_options_override_it(options, expected, tiny_model_dir, small_csv, tmp_path,
                                                          monkeypatch):
    import sft_teach.training

    seen = {}

    def stand_in(model, data, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr(sft_teach.training, "finetune", stand_in)
    with pytest.raises(_Stop):
        main(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--output", str(tmp_path / "run"),
              "--quiet", *options])
    assert {key: seen[key] for key in expected} == expected
    assert not (tmp_path / "run").exists()


def test_the_model_card_says_which_labels_were_merged(tmp_path):
    from sft_teach.model_card import write_model_card

    cleaning = {"rows": 29, "duplicates_removed": 0, "conflicts_kept_majority": 0, "conflicts_dropped": 1,
                "dropped": [{"text": "Wheel wobbles since the service", "line": 57}],
                "rows_kept": 29, "split_seed": 42, "labels_merged": {"Cat": {"into": "cat", "rows": 9}},
                "labels_trimmed": 2}
    card = write_model_card(tmp_path, base_model="m", data="cased.csv", fingerprint="sha256:0", split_sizes={"test": 3},
                            settings={}, validation_curve=[], test_metrics={"accuracy": 1.0, "macro_f1": 1.0},
                            label_names=["cat", "dog"], cleaning=cleaning).read_text()
    said = ("29 rows: merged label 'Cat' (9 rows) into 'cat'; read 2 labels without extra spaces (around them, or "
            "two between words) or invisible characters, in one Unicode form; removed 0 repeated texts; 0 texts with conflicting labels "
            "kept with the majority label, 1 dropped (no majority: 'Wheel wobbles since the service' (line 57)); "
            "29 rows split with seed 42")
    from sft_teach.cleaning import described

    assert described(cleaning) == said  # the command's line
    assert f"- before the split: {said}\n" in card  # and the card's, the same words


def test_the_card_and_the_command_say_what_keep_duplicates_left_in_and_a_files_encoding(tmp_path):
    from support import GOOD

    from sft_teach import data
    from sft_teach.cleaning import described

    rows = GOOD + GOOD[:3] + [(GOOD[4][0].upper(), "dog")]  # 3 copies, and one text under both labels
    _, report = data.load_csv_split(write_csv(tmp_path / "x.csv", rows), split_seed=0, keep_duplicates=True)
    assert (report["duplicates_kept"], report["conflicts_kept"]) == (4, 1)
    said = ("every row kept (--keep-duplicates; keep_duplicates=True in Python): 4 extra copies of repeated texts and "
            "1 text with conflicting labels left in")
    assert said in described(report) and "removed" not in described(report)
    card = _card(tmp_path, cleaning=report, encoding="cp1252")
    assert f"- before the split: 24 rows: {said}; 24 rows split with seed 0" in card and "- read as `cp1252`" in card
    assert "read as" not in _card(tmp_path, encoding="utf-8") + _card(tmp_path, encoding="UTF-8-sig")


def _card(tmp_path, **changes):
    from sft_teach.model_card import write_model_card

    fields = dict(base_model="m", data="bugs.csv", fingerprint="sha256:0", split_sizes={"train": 8, "test": 3},
                  settings={"epochs": 3.0, "head_epochs": 3.0, "patience": None, "learning_rate": 0.0001},
                  validation_curve=[{"epoch": 1.0, "accuracy": 0.5, "macro_f1": 0.6375},
                                    {"epoch": 2.0, "accuracy": 0.5, "macro_f1": 0.6375},
                                    {"epoch": 3.0, "accuracy": 0.5, "macro_f1": 0.6375}],
                  test_metrics={"accuracy": 2 / 3, "macro_f1": 0.5}, label_names=["ui", "docs"], best_epoch=1)
    return write_model_card(tmp_path, **{**fields, **changes}).read_text()


def test_the_card_s_interval_counts_the_right_answers_as_a_whole_number(tmp_path):
    """0.29 * 100 is 28.999... in floating point: the interval is for 29 right of 100, not 28."""
    from sft_teach.stats import wilson_interval

    low, high = wilson_interval(29, 100)
    card = _card(tmp_path, split_sizes={"train": 8, "test": 100}, test_metrics={"accuracy": 0.29, "macro_f1": 0.3})
    assert f"- accuracy 0.290 (95 % interval {low:.3f}-{high:.3f}, 100 examples)" in card
    one = _card(tmp_path, split_sizes={"train": 8, "test": 1}, test_metrics={"accuracy": 1.0, "macro_f1": 1.0})
    assert "- accuracy 1.000 (95 % interval " in one and ", 1 example)" in one  # even one example has one


def test_the_card_says_read_as_only_for_an_encoding_that_is_not_utf8_however_spelt(tmp_path):
    for spelling in ("utf8", "UTF_8", "utf-8-sig", "utf_8_sig"):
        assert "read as" not in _card(tmp_path, encoding=spelling), spelling
    assert "- read as `latin-1`" in _card(tmp_path, encoding="latin-1")


def test_a_class_absent_from_the_scored_split_is_said_for_that_split(tmp_path):
    per_class = {"ui": {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 3},
                 "docs": {"precision": None, "recall": None, "f1": None, "support": 0}}
    card = _card(tmp_path, eval_split="validation", split_sizes={"train": 8, "validation": 3}, per_class=per_class)
    assert "Class `docs` has no validation examples" in card and "no test examples" not in card


def test_an_epoch_is_written_to_four_places():
    from sft_teach.model_card import epoch_number

    assert epoch_number(5 / 3) == 1.6667 and epoch_number(2.0) == 2 and isinstance(epoch_number(2.0), int)


def test_the_model_cards_yaml_block_reads_back_whatever_the_base_models_name(tmp_path):
    import yaml

    card = _card(tmp_path, base_model="tickets v1: minilm #2", base_model_id="owner/odd: name #2")
    front = yaml.safe_load(card.split("---")[1])
    assert front["base_model"] == "owner/odd: name #2" and front["pipeline_tag"] == "text-classification"
    assert "base_model" not in yaml.safe_load(_card(tmp_path).split("---")[1])  # a local folder: none


def test_a_recipe_changed_by_the_options_is_named_with_its_changes():
    from sft_teach.run_record import recipe_as_run

    assert recipe_as_run({"recipe": "best", "epochs": 3, "learning_rate": 1e-4, "head_epochs": 3}) == "best"
    assert recipe_as_run({"recipe": "plain", "epochs": 5, "learning_rate": 5e-4, "head_epochs": 0}) == (
        "plain (changed: epochs 5)")


def test_the_model_card_says_how_it_chose_its_epoch_and_writes_settings_as_a_person_would(tmp_path):
    card = _card(tmp_path)
    assert "(epoch 1 kept: epochs 1, 2 and 3 tied at the best macro-F1, and the first of them is kept)" in card
    assert "| epochs | 3 |" in card and "| head_epochs | 3 |" in card and "| patience | off |" in card
    assert "| learning_rate | 0.0001 |" in card
    one = _card(tmp_path, validation_curve=[{"epoch": 1.0, "accuracy": 0.5, "macro_f1": 0.6}])
    assert "(epoch 1 kept: the only one)" in one
    best = _card(tmp_path, best_epoch=2, validation_curve=[{"epoch": 1.0, "accuracy": 0.5, "macro_f1": 0.6},
                                                           {"epoch": 2.0, "accuracy": 0.6, "macro_f1": 0.7}])
    assert "(epoch 2 kept: the best macro-F1)" in best
    assert "stopped early" not in card + one + best
    stopped = _card(tmp_path, best_epoch=2, settings={"epochs": 8, "patience": 1, "epochs run": 3},
                    validation_curve=[{"epoch": float(e), "accuracy": 0.5, "macro_f1": f}
                                      for e, f in ((1, 0.725), (2, 0.9), (3, 0.859))])
    assert ("Training stopped early, after epoch 3 of 8: validation macro-F1 had not improved for 1 epoch "
            "(patience 1).") in stopped


def test_a_card_scored_on_validation_says_why_its_score_is_optimistic(tmp_path):
    """Validation chose the epoch kept; scored on it, the card says so, and whether a test split was left unused."""
    chosen = "which also chose the epoch kept, so this score is optimistic: "
    without = _card(tmp_path, eval_split="validation", split_sizes={"train": 8, "validation": 3})
    assert chosen + "the data had no test split, and nothing here" in without
    unused = _card(tmp_path, eval_split="validation", split_sizes={"train": 8, "validation": 3, "test": 4})
    assert chosen + "the run was scored on it, not on the test split of 4 examples, and nothing here" in unused
    assert "had no test split" not in unused
    assert ", 3 examples)" in unused and ", 4 examples)" not in unused  # the interval is the validation split's
    assert "which chose nothing during training" in _card(tmp_path)
    last = _card(tmp_path, eval_split="validation", best_epoch=None, split_sizes={"train": 8, "validation": 3})
    assert ("On the validation split, which chose nothing during this run (the last epoch was kept); but the data "
            "had no test split, so a setting picked by this score would make it optimistic:") in last


def test_the_model_card_has_per_class_scores_columns_and_the_data_warnings(tmp_path):
    from sft_teach.metrics import per_class

    classes = per_class([0, 0, 0], [0, 0, 1], ["ui", "docs"])  # no docs in the test split
    card = _card(tmp_path, per_class=classes, columns=("summary", "component"),
                 warnings=["train: class 'docs' has only 3 examples: results for it will be unstable"])
    assert "| ui | 1.000 | 0.667 | 0.800 | 3 |" in card
    # docs predicted once, never right: its precision (0 of 1) and the F1 of 0 in macro-F1 are measured
    assert "| docs | 0.000 (predicted, never right) | not measured | 0.000 | 0 |" in card
    assert "Class `docs` has no test examples: the scores above say nothing about it" in card
    never = _card(tmp_path, per_class=per_class([0, 0, 0], [0, 0, 0], ["ui", "docs"]))  # nor predicted
    assert "| docs | not measured | not measured | not measured | 0 |" in never
    assert "- columns: texts in `summary`, labels in `component`" in card
    assert "- train: class 'docs' has only 3 examples" in card
    plain = _card(tmp_path)  # the defaults: no such lines
    assert "columns:" not in plain and "Per class" not in plain and "Warnings" not in plain


@pytest.mark.slow
def test_a_folder_without_test_split_says_its_score_is_optimistic(tiny_model_dir, tmp_path, capsys):
    """train.csv + validation.csv only: validation chose the epoch and gives the score, and every output says so."""
    from support import CATS, DOGS, GOOD

    folder = tmp_path / "splits"
    folder.mkdir()
    write_csv(folder / "train.csv", GOOD)
    write_csv(folder / "validation.csv", [(t.upper(), "cat") for t in CATS[:3]] + [(t.upper(), "dog") for t in DOGS[:3]])
    out = tmp_path / "run"
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(folder), "--epochs", "2",
                             "--patience", "1", "--batch-size", "4", "--head-epochs", "0", "--output", str(out)], capsys)
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    assert final["eval_split"] == "validation" and final["patience"] == 1
    assert any(w.startswith("no test split") for w in final["warnings"])
    card = (out / "model" / "README.md").read_text()
    assert "which also chose the epoch kept, so this score is optimistic" in card and "| patience | 1 |" in card
    assert f"| epochs run | {final['epochs_run']} |" in card
    code, _, err = run(["evaluate", "--model", str(out / "model"), "--data", str(out)], capsys)
    assert code == 2 and "this run had no test split" in err


@pytest.mark.parametrize("argv, expected", [
    (["fintune"], "sft-teach: error: unknown command 'fintune': did you mean 'finetune'? (see sft-teach --help)"),
    ([], "sft-teach: error: a command is needed, one of: finetune, check, evaluate, predict, notebooks, lab, course, "
         "book, doctor, explain (see sft-teach --help)"),
    (["finetune", "--ouput", "x"], "sft-teach finetune: error: unrecognized arguments: --ouput x: did you mean "
                                   "--output? (see sft-teach finetune --help)"),
    # no abbreviations: a misspelt option is reported, not guessed
    (["check", "--text-colum", "summary"], "did you mean --text-column?"),
    (["check", "--label", "component"], "did you mean --label-column?"),
    # a folder given where the command takes --output
    (["course", "--edition", "student", "stud"], "sft-teach course: error: unrecognized argument: stud: did you "
                                                 "mean --output stud? (see sft-teach course --help)"),
    # a file given where the command takes --data
    (["check", "my.csv"], "sft-teach check: error: unrecognized argument: my.csv: did you mean --data my.csv?"),
])
def test_a_misspelt_command_or_option_gets_the_closest_name(argv, expected, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and err.count("\n") == 1 and expected in err


def test_check_counts_conflicting_labels_as_a_warning_and_names_every_copy(tmp_path, capsys):
    """Cleaning settles texts whose copies disagree, but the file still contradicts itself: a warning
    (so --strict stops), naming each copy's line so that all can be found and fixed."""
    from support import pets_csv

    path = pets_csv(tmp_path / "c.csv", [("Fetched the paper, then ate it.", "dog"), ("Fetched the paper, then ate it.", "cat")])
    code, out, err = run(["check", "--data", str(path), "--json", "--strict"], capsys)
    assert code == 2 and "--strict" in err
    [warning] = json.loads(out)["warnings"]
    assert warning["kind"] == "conflicts"
    assert ("the file has 1 text whose copies carry different labels: 0 kept with their majority label, 1 dropped "
            "(no majority: 'Fetched the paper, then ate it.' (lines 716, 717))") in warning["message"]


def test_evaluate_warns_when_the_rows_scored_repeat_texts(tiny_model_dir, tmp_path, capsys):
    path = write_csv(tmp_path / "eval.csv", [("Sat on the mat.", "cat"), ("Sat on the mat.", "cat"),
                                             ("Sat on the mat.", "dog"), ("Barked.", "dog")])
    code, out, err = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(path)], capsys)
    assert code == 0 and json.loads(out)["n"] == 4
    assert ("1 text occurs more than once among the 4 rows scored (2 extra copies), and 1 of them carries different "
            "labels, which cannot all be right") in err
    assert json.loads(out)["warnings"] and err.count("sft-teach: warning:") == 1


def test_predict_refuses_standard_input_mixed_with_texts(tiny_model_dir, capsys):
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "Purred.", "-"], capsys)
    assert code == 2 and out == "" and "'-' reads the texts from standard input, alone" in err


def test_check_says_when_it_checks_the_bundled_data(capsys):
    """Without --data, check reads pets: the first line says so, for a learner who meant their file."""
    code, out, _ = run(["check"], capsys)
    assert code == 0 and out.splitlines()[0] == ("pets: the course's bundled data, as split in its folder (check "
                                                 "yours with --data FILE.csv)")
    assert out.splitlines()[1].startswith("train ")


def test_split_options_for_data_already_split_are_named_not_ignored(tmp_path, capsys):
    """--split-seed and --keep-duplicates act on one CSV file only: given for a folder of splits or the
    bundled data they change nothing, and check says so (a warning, so --strict exits 2); for one CSV
    file the seed is used and nothing is said."""
    from support import pets_csv

    code, out, _ = run(["check", "--split-seed", "7"], capsys)
    assert code == 0 and ("--split-seed applies only to one CSV file, which sft-teach cleans and splits; pets is "
                          "already split, so it changes nothing here: drop it") in out
    import shutil

    from sft_teach.bundled import data_dir

    folder = tmp_path / "splits"
    folder.mkdir()
    for name in ("train", "validation", "test"):
        shutil.copy(data_dir() / "pets" / f"{name}.csv", folder)
    code, out, err = run(["check", "--data", str(folder), "--split-seed", "7", "--keep-duplicates", "--json",
                          "--strict"], capsys)
    (found,) = [w for w in json.loads(out)["warnings"] if w["kind"] == "unused_option"]
    assert code == 2 and "--strict" in err and found["message"].startswith(
        "--split-seed and --keep-duplicates apply only to one CSV file")
    code, out, _ = run(["check", "--data", str(folder), "--json"], capsys)  # not given: nothing to say
    assert code == 0 and "unused_option" not in out
    export = pets_csv(tmp_path / "export.csv")
    code, out, _ = run(["check", "--data", str(export), "--split-seed", "7", "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["cleaning"]["split_seed"] == 7 and "unused_option" not in out
    code, out, _ = run(["check", "--data", str(export), "--json"], capsys)
    assert json.loads(out)["cleaning"]["split_seed"] == 42  # the default, as in Python's finetune
    # --merge-case too acts on one CSV file only: for a folder whose train.csv spells a class two ways, the
    # warning says so, and the case warning does not send the user back to --merge-case
    train = (folder / "train.csv").read_text(encoding="utf-8").splitlines()
    (folder / "train.csv").write_text("\n".join(train[:2] + [train[2].rsplit(",", 1)[0] + ",Cat"] + train[3:]) + "\n",
                                      encoding="utf-8")
    code, out, _ = run(["check", "--data", str(folder), "--merge-case", "--json"], capsys)
    said = {w["kind"]: w["message"] for w in json.loads(out)["warnings"]}
    assert said["unused_option"].startswith("--merge-case applies only to one CSV file")
    assert said["label_case"] == ("labels 'Cat' and 'cat' differ only in case, so they are separate classes: spell them "
                                  "one way in the data (--merge-case merges the labels of one CSV file; a folder's "
                                  "files, and a dataset from Python or the Hub, are used as they are)")
    code, out, _ = run(["check", "--data", str(folder), "--split-seed", "1", "--keep-duplicates", "--merge-case",
                        "--json"], capsys)
    assert "--split-seed, --keep-duplicates and --merge-case apply only to one CSV file" in out


def test_check_json_reports_an_error_as_json_too(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nPurred.,cat\n,dog\n")
    code, out, err = run(["check", "--data", str(bad), "--json"], capsys)
    assert code == 2 and err.count("\n") == 1
    report = json.loads(out)
    assert report["data"] == "bad.csv" and "line 3, column 'text' is empty" in report["errors"][0]
    # the settings' refusals too, not only the data's: a script gets JSON for every one
    good = tmp_path / "good.csv"
    good.write_text("text,label\nPurred.,cat\nBarked.,dog\n")
    for option, said in ((["--max-length", "0"], "must be a whole number of tokens"),
                         (["--encoding", "utf9"], "unknown encoding 'utf9'")):
        code, out, err = run(["check", "--data", str(good), "--json", *option], capsys)
        assert code == 2 and err.count("\n") == 1 and said in json.loads(out)["errors"][0], option
    long = str(tmp_path / ("a" * 300 + ".csv"))  # what the system refuses: as JSON too
    code, out, err = run(["check", "--data", long, "--json"], capsys)
    assert code == 2 and err.count("\n") == 1 and json.loads(out)["errors"][0].endswith("...: File name too long")


def test_check_json_names_a_relative_file_as_typed(tmp_path, capsys, monkeypatch):
    (tmp_path / "exports").mkdir()
    write_csv(tmp_path / "exports" / "notes.csv", GOOD)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["check", "--data", "exports/notes.csv", "--json"], capsys)
    assert code == 0 and json.loads(out)["data"] == "exports/notes.csv", err


def test_a_model_that_learned_one_class_is_warned_about_everywhere(tiny_model_dir, small_csv, tmp_path, capsys,
                                                                    monkeypatch):
    """The command's wiring of checks.one_class_predicted (tested on its own in test_checks): what it finds
    after training is printed, and the JSON line and the model card carry it. The check is made to find
    something here, since whether a 1-epoch tiny model collapses is luck."""
    from sft_teach import checks
    from sft_teach.errors import SftTeachWarning

    seen = {}

    def collapsed(predictions, labels, names, split):
        seen["args"] = (len(predictions), len(labels), list(names), split)
        return checks.Finding("one_class_predicted", f"the model predicts 'cat' for every one of the {len(labels)} "
                                                     f"{split} texts")

    monkeypatch.setattr(checks, "one_class_predicted", collapsed)
    out = tmp_path / "run"
    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs",
                                 "1", "--batch-size", "4", "--output", str(out), "--quiet"], capsys)
    assert code == 0, err
    assert not [w for w in python_warnings if w.category is SftTeachWarning]  # said once, as the command's line
    n = seen["args"][0]
    assert seen["args"] == (n, n, ["cat", "dog"], "test")  # the run's test predictions, labels and names
    message = f"the model predicts 'cat' for every one of the {n} test texts"
    assert f"sft-teach: warning: {message}" in err
    assert message in json.loads(stdout.strip().splitlines()[-1])["warnings"]
    assert f"- {message}" in (out / "model" / "README.md").read_text()


def test_the_readme_documents_every_option_of_every_command():
    import argparse
    from pathlib import Path

    from sft_teach.cli import _build_parser, _subcommands

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    shown = {(name, option) for name, command in _subcommands(_build_parser()).items()
             for action in command._actions if action.help != argparse.SUPPRESS
             for option in action.option_strings if option.startswith("--") and option != "--help"}
    assert len(shown) > 40 and ("finetune", "--recipe") in shown
    missing = sorted(f"sft-teach {name} {option}" for name, option in shown
                     if not re.search(re.escape(option) + r"(?![\w-])", readme))
    assert not missing, "README.md never mentions:\n" + "\n".join(missing)


def test_finetune_warns_before_training_when_the_batch_is_larger_than_the_training_split(tiny_model_dir, small_csv,
                                                                                      tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs", "1",
                             "--batch-size", "64", "--output", str(out), "--quiet"], capsys)
    assert code == 0, err
    final = json.loads(stdout.strip().splitlines()[-1])
    [said] = [line for line in err.splitlines() if "batch size 64" in line]
    assert said.startswith("sft-teach: warning: train: batch size 64 is more than its ")
    assert said.removeprefix("sft-teach: warning: ") in final["warnings"]


def test_predict_refuses_a_csv_whose_quote_is_never_closed(tiny_model_dir, tmp_path, capsys):
    """Texts alone have no label cell to show where a row should end: an open quote took in every line
    after it as one text, answered with exit 0 (2 predictions for 4 rows)."""
    export = tmp_path / "q.csv"
    export.write_text('text\nmy dog barks\n"the cat naps\nthe dog runs\nthe cat sleeps\n', encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 2 and out == "" and err == (
        f"sft-teach: error: {export}: line 3: its double quote is never closed, so the text runs on to the end of the file "
        "(line 5), taking in every line after it: close the quote where the text ends, or write a double quote inside "
        "a text as two (\"\")\n")
    # closed by a quote further down, inside another text: the rows between were taken in all the same
    export.write_text('text\nmy dog barks\n"the cat naps\nthe dog runs\nshe said "hi" to me\nlast one\n', encoding="utf-8")
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 2 and out == "" and "line 3: its double quote is not closed on that line, so the text runs on to line 5" in err
    export.write_text('text\nmy dog barks\n"the cat naps\nand dreams"\n', encoding="utf-8")  # a text over two lines
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 0 and [json.loads(line)["line"] for line in out.splitlines()] == [2, 3]


def test_predict_s_header_advice_names_every_cell_of_a_row(tiny_model_dir, tmp_path, capsys):
    export = tmp_path / "nohdr.csv"
    export.write_text("she purrs on the sofa all day,cat\n", encoding="utf-8")
    code, _, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 2 and "add a header line above it, e.g. 'text,label', a name for each of its 2 cells" in err
    three = tmp_path / "three.csv"  # with a label too: one name a cell, no more
    three.write_text("she purrs on the sofa all day,cat,2024-05-01\n", encoding="utf-8")
    code, _, err = run(["evaluate", "--model", str(tiny_model_dir), "--data", str(three)], capsys)
    assert code == 2 and err.rstrip().endswith("add a header line above it, e.g. 'text,label,column3'")
    export.write_text("text,label\n" + export.read_text(), encoding="utf-8")  # the advice taken: it works
    code, out, err = run(["predict", "--model", str(tiny_model_dir), "--file", str(export)], capsys)
    assert code == 0 and json.loads(out)["text"] == "she purrs on the sofa all day"


def test_check_prints_in_a_terminal_that_is_not_utf8(tmp_path):
    """A Windows console's code page has no emoji or '…': written escaped, not a UnicodeEncodeError traceback."""
    from support import GOOD

    data = write_csv(tmp_path / "emoji.csv", GOOD + [("🐱🐱", "cat")])
    done = subprocess.run([sys.executable, "-m", "sft_teach.cli", "check", "--data", str(data)], capture_output=True,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "cp1252"})
    assert done.returncode == 0 and b"Traceback" not in done.stderr
    assert b"('\\U0001f431\\U0001f431')" in done.stdout


def test_a_suggested_command_quotes_a_path_with_spaces(tiny_model_dir, small_csv, tmp_path, capsys):
    import shlex

    out = tmp_path / "my run"
    code, _, err = run(["finetune", "--model", str(tiny_model_dir), "--data", str(small_csv), "--epochs", "1",
                        "--batch-size", "4", "--output", str(out), "--quiet"], capsys)
    assert code == 0, err
    code, _, err = run(["evaluate", "--model", str(out / "model"), "--data", str(small_csv)], capsys)
    suggested = err.split("sft-teach evaluate ", 1)[1].split("\n")[0]
    assert code == 0 and shlex.split(suggested) == ["--model", str(out / "model"), "--data", str(out)]  # pastes whole


def test_a_suggested_path_is_quoted_as_the_system_s_shell_takes_it(monkeypatch):
    from sft_teach.cli_conventions import shell_word

    assert shell_word("my run/model") == "'my run/model'" and shell_word("run/model") == "run/model"
    monkeypatch.setattr("os.name", "nt")  # cmd and PowerShell take no single quotes
    assert shell_word(r"C:\Users\me\run\model") == r"C:\Users\me\run\model"
    assert shell_word(r"C:\Users\me\my run") == '"C:\\Users\\me\\my run"'


def test_the_validation_warning_compares_texts_and_is_a_condition_when_the_splits_are_gone(tmp_path):
    from sft_teach import score_warnings

    model = tmp_path / "run" / "model"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    [said] = score_warnings.chose_the_epoch(model, ["A text."], "validation")  # no splits/ beside the model
    assert said.startswith("validation: if this is the split this model was trained with, it chose the epoch kept")
    assert score_warnings.chose_the_epoch(model, ["A text."], "test") == []
    (tmp_path / "run" / "splits").mkdir()
    write_csv(tmp_path / "run" / "splits" / "validation.csv", [("A text.", "cat"), ("Other words.", "dog")])
    [said] = score_warnings.chose_the_epoch(model, ["a  TEXT.", "A new one."], "test")  # as duplicates compare
    assert said.startswith("1 of the 2 texts scored is in this model's validation split (the first: 'a TEXT.'), which")
    assert score_warnings.chose_the_epoch(model, ["A new one."], "validation") == []  # another data's validation
    [said] = score_warnings.chose_the_epoch(model, ["A text."], "validation")
    assert said.startswith("the text scored is in this model's validation split") and "score on it is" in said


def test_the_card_says_why_an_epoch_was_kept_and_when_training_stopped_early(tmp_path):
    curve = [{"epoch": 1.0, "accuracy": 0.8, "macro_f1": 0.8}, {"epoch": 2.0, "accuracy": 0.8, "macro_f1": 0.8},
             {"epoch": 3.0, "accuracy": 0.7, "macro_f1": 0.7}]
    card = _card(tmp_path, validation_curve=curve, best_epoch=1)
    assert "(epoch 1 kept: epochs 1 and 2 tied at the best macro-F1, and the first of them is kept)" in card
    assert "(epoch 2 kept: the best macro-F1)" in _card(tmp_path, validation_curve=curve[1:], best_epoch=2)
    every_epoch = {"epochs": 3, "patience": 1, "epochs run": 3}
    assert "stopped early" not in _card(tmp_path, settings=every_epoch, validation_curve=curve, best_epoch=1)
    stopped = _card(tmp_path, settings={**every_epoch, "epochs run": 2}, validation_curve=curve[:2], best_epoch=1)
    assert "Training stopped early, after epoch 2 of 3" in stopped


def test_line_numbers_are_listed_in_full_up_to_five():
    from sft_teach.cli_predict import _lines

    assert [_lines([5]), _lines([5, 9, 12]), _lines([1, 2, 3, 4, 5]), _lines(list(range(1, 8)))] == [
        "line 5", "lines 5, 9 and 12", "lines 1, 2, 3, 4 and 5", "lines 1, 2, 3, 4, 5 and 2 more"]


def test_a_run_continued_from_a_saved_folder_names_the_model_it_came_from(tiny_model_dir, small_csv, tmp_path, capsys,
                                                                         monkeypatch):
    """The card and metrics.json of a run continued from a folder sft-teach saved named the base "model"
    (the folder's name): they now name what that folder was fine-tuned from, then the folder."""
    first, second = tmp_path / "first", tmp_path / "second"
    for model, out in ((tiny_model_dir, first), (first / "model", second)):
        code, stdout, err = run(["finetune", "--model", str(model), "--data", str(small_csv), "--epochs", "1",
                                 "--batch-size", "4", "--output", str(out), "--quiet", "--recipe", "plain"], capsys)
        assert code == 0, err
    recorded = json.loads((first / "model" / "config.json").read_text())["sft_teach"]
    assert recorded["base_model"] == tiny_model_dir.name and recorded["base_model_id"] is None  # a local folder
    said = f"{tiny_model_dir.name}, continued from first/model"
    assert json.loads((second / "metrics.json").read_text())["model"] == said
    assert f"# Text classifier fine-tuned from {said}\n" in (second / "model" / "README.md").read_text()
    third = json.loads((second / "model" / "config.json").read_text())["sft_teach"]["base_model"]
    assert third == said  # a third run names the first model and its own folder, not a chain of them
    from sft_teach.run_record import base_model_name

    monkeypatch.chdir(first / "model")  # "." names no folder by its last part; "~" is the user's home
    monkeypatch.setenv("HOME", str(tmp_path))
    assert base_model_name(".") == base_model_name("~/first/model") == said


def test_evaluate_names_a_relative_folder_as_typed_so_that_two_runs_are_told_apart(make_tiny_classifier, tokenizer,
                                                                                  tmp_path, capsys, monkeypatch):
    """`--data run1/splits` printed as "splits" said nothing of which run was scored; an absolute path is
    still reduced to its last part, as saved results reduce it."""
    folder = tmp_path / "run1" / "model"
    make_tiny_classifier(labels=("cat", "dog")).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (tmp_path / "run1" / "splits").mkdir()
    write_csv(tmp_path / "run1" / "splits" / "test.csv", [("Purred all night.", "cat"), ("Barked at the post.", "dog")])
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["evaluate", "--model", "run1/model", "--data", "run1/splits"], capsys)
    assert code == 0 and json.loads(out)["data"] == "run1/splits", err
    code, out, err = run(["evaluate", "--model", "run1/model", "--data", str(tmp_path / "run1" / "splits")], capsys)
    assert code == 0 and json.loads(out)["data"] == "splits", err


def test_the_card_says_where_texts_are_cut(tmp_path):
    card = _card(tmp_path, settings={"epochs": 3, "max_length": 64})
    assert "| max_length | 64 |" in card and "cuts texts longer than 64 tokens" in card


def test_write_run_records_the_interval_the_recipe_changes_and_the_cut_without_training(tmp_path):
    """What a run writes, from a result made by hand (the end-to-end tests that train are slow)."""
    from types import SimpleNamespace

    import numpy as np

    from sft_teach.run_record import write_run
    from sft_teach.stats import wilson_interval

    truth, guess = np.array([0, 1, 0, 1, 0, 1, 0]), np.array([0, 1, 0, 0, 0, 1, 1])  # 5 right of 7
    result = SimpleNamespace(
        label_ids=truth, predictions=guess, label_names=["cat", "dog"], eval_split="test",
        metrics={"accuracy": 5 / 7, "macro_f1": 0.7083, "loss": 0.6, "train_seconds": 1.0, "train_steps": 4},
        history={"train": [{"step": 2, "epoch": 1.0, "loss": 0.69}, {"step": 4, "epoch": 2.0, "loss": 0.6}],
                 "eval": [{"step": 2, "epoch": 1.0, "eval_accuracy": 0.5, "eval_macro_f1": 0.5, "eval_loss": 0.68},
                          {"step": 4, "epoch": 2.0, "eval_accuracy": 0.6, "eval_macro_f1": 0.6, "eval_loss": 0.61}]})
    (tmp_path / "model").mkdir()
    settings = {"data": "x.csv", "recipe": "plain", "epochs": 2, "learning_rate": 5e-4, "batch_size": 16,
                "max_length": 64, "seed": 0, "head_epochs": 0}
    record = write_run(tmp_path, result, {"train": 20, "validation": 7, "test": 7}, settings, base_model="m")
    assert record["accuracy_interval_95"] == [round(x, 4) for x in wilson_interval(5, 7)]
    assert record["changed_from_recipe"] == {"epochs": 2}  # the plain recipe trains 3 epochs
    card = (tmp_path / "model" / "README.md").read_text()
    assert "| max_length | 64 |" in card and "cuts texts longer than 64 tokens" in card
    assert "plain (changed: epochs 2)" in card


def test_check_strict_stops_on_conflicts_settled_by_majority(tmp_path, capsys):
    """A text labelled dog twice and cat once keeps 'dog': said as a warning, which --strict stops on."""
    from support import pets_csv

    text = "Nobody here can agree which animal left these prints on the new sofa."
    settled = pets_csv(tmp_path / "settled.csv", [(text, "dog"), (text, "dog"), (text, "cat")])
    code, out, err = run(["check", "--data", str(settled), "--json", "--strict"], capsys)
    report = json.loads(out)
    assert code == 2 and "--strict" in err
    assert any("1 kept with its majority label, 0 dropped" in w["message"] for w in report["warnings"])


def test_predict_marks_a_text_cut_only_past_max_length_and_reads_a_tsv_file(tiny_model_dir, tokenizer, tmp_path,
                                                                              capsys, monkeypatch):
    from sft_teach.checks import token_lengths

    exact, longer = "a b c d e f", "a b c d e f g"
    assert token_lengths([exact, longer], tokenizer) == [8, 9]  # with [CLS] and [SEP]
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "--max-length", "8", exact, longer], capsys)
    first, second = (json.loads(line) for line in out.splitlines())
    assert code == 0 and "cut" not in first and second["cut"] is True  # 8 tokens fit in 8
    # a .tsv export is read as rows of its text column, as a .csv one
    (tmp_path / "a.tsv").write_text("text\tlabel\nPurred.\tcat\nBarked.\tdog\n", encoding="utf-8")
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "--file", str(tmp_path / "a.tsv")], capsys)
    assert code == 0 and [(r["text"], r["line"]) for r in map(json.loads, out.splitlines())] == [("Purred.", 2),
                                                                                                   ("Barked.", 3)]
    # the model reads a text without the spaces around it; the answer shows it as given
    import sft_teach.inference

    seen, predict = [], sft_teach.inference.predict
    monkeypatch.setattr(sft_teach.inference, "predict", lambda model, tok, texts, **k: seen.extend(texts) or
                        predict(model, tok, texts, **k))
    code, out, _ = run(["predict", "--model", str(tiny_model_dir), "  hi there  "], capsys)
    assert code == 0 and seen == ["hi there"] and json.loads(out)["text"] == "  hi there  "
