import re

import pytest

from sft_teach.explain import LEVELS, UnknownConceptError, concepts, explain, glossary, markdown_to_html

REQUIRED = ["pretrained_model", "transfer_learning", "fine_tuning", "supervised_learning", "label", "head",
            "freezing", "feature_extraction", "tokenisation", "padding", "batch", "epoch", "learning_rate",
            "warmup", "weight_decay", "loss", "overfitting", "evaluation_split", "accuracy_vs_f1",
            "confusion_matrix", "discriminative_learning_rates", "slanted_triangular_lr", "gradual_unfreezing",
            "catastrophic_forgetting"]


def test_every_required_concept_has_three_written_levels():
    found = concepts()
    assert set(REQUIRED) <= set(found) and len(found) >= 20
    for concept in found.values():
        for level in LEVELS:
            assert len(concept.levels[level].split()) >= 50, (concept.key, level)


def test_academic_levels_cite_their_sources():
    for concept in concepts().values():
        academic = concept.levels["Academic"]
        assert re.search(r"\(\D+,? (19|20)\d\d[a-z]?\)|et al\.|\w \((19|20)\d\d\)", academic), concept.key
        assert "References:" in academic, concept.key


def test_related_keys_exist():
    keys = set(concepts())
    for concept in concepts().values():
        assert set(concept.related) <= keys, concept.key


def test_each_concept_names_the_notebook_that_teaches_it():
    """By number and file name, not by a repository path: a class folder holds the notebooks at its top."""
    from sft_teach.handout import course_notebooks

    notebooks = {path.name for path in course_notebooks()}
    for concept in concepts().values():
        taught = re.findall(r"^Taught in notebook (\d\d) \(`((\d\d)_\w+\.ipynb)`\)\.$",
                            concept.levels["Technical"], flags=re.M)
        assert len(taught) == 1, concept.key
        number, name, prefix = taught[0]
        assert number == prefix and name in notebooks, (concept.key, name)


def test_lookup_by_alias_and_spelling():
    assert explain("Warm-up").concept.key == "warmup"
    assert explain("STLR").concept.key == "slanted_triangular_lr"
    assert explain("head / classifier layer".split(" / ")[0]).concept.key == "head"


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UnknownConceptError, match="did you mean 'warmup'"):
        explain("warmpu")


def test_a_name_that_is_not_text_is_said_so():
    with pytest.raises(UnknownConceptError, match=r"a concept is named as text, e.g. explain\('epoch'\); got int 3"):
        explain(3)


def test_no_argument_lists_every_concept():
    listing = explain()
    assert len(listing) == len(concepts())
    assert all(f"`{key}`" in listing.markdown() for key in concepts())


def test_fallbacks_carry_the_whole_text():
    e = explain("warmup")
    bundle = e._repr_mimebundle_()
    beginner_start = " ".join(e.concept.levels["Beginner"].split()[:6])
    for mime in ("text/plain", "text/markdown", "text/html"):
        assert beginner_start in " ".join(bundle[mime].split()), mime
    assert all(level in bundle["text/html"] for level in LEVELS)
    tab = e.widget()
    assert list(tab.titles) == list(LEVELS) and len(tab.children) == 3


def test_latex_survives_markdown_rendering():
    rendered = markdown_to_html(r"Eq. 3: $\eta_t = \eta_{max} \frac{1 + p(ratio - 1)}{ratio}$ and *text*")
    assert r"$\eta_t = \eta_{max} \frac{1 + p(ratio - 1)}{ratio}$" in rendered
    assert "<em>text</em>" in rendered


def test_glossary_has_a_sentence_per_concept():
    rows = glossary().rows()
    assert len(rows) == len(concepts()) and all(summary.endswith((".", "!", "?")) for _, _, summary in rows)


def test_fallback_renders_in_nbconvert_html():
    """Executed in a real kernel and exported to HTML without widget state, as the course is published.

    With no saved widget state nbconvert skips the widget view and must fall back to the
    text/html in the same output; the test checks the three levels' text is visible there.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbconvert import HTMLExporter

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell('from sft_teach.explain import explain\nexplain("padding")')]
    NotebookClient(nb, timeout=120, kernel_name="python3", store_widget_state=False).execute()
    body, _ = HTMLExporter().from_notebook_node(nb)
    visible = re.sub(r"<script.*?</script>|<style.*?</style>", " ", body, flags=re.S)
    visible = " ".join(re.sub(r"<[^>]+>", " ", visible).split())
    concept = concepts()["padding"]
    for level in LEVELS:
        first_words = " ".join(re.sub(r"[`*]", "", concept.levels[level]).split()[:4])
        assert first_words in visible, level


def test_code_in_the_explanations_loads_the_course_model_as_it_works_offline():
    """A snippet copied from explain() should run where the course runs, without a network: the
    course's model by resolve_model("default") (the bundled copy), never by its hub name."""
    for concept in concepts().values():
        for level in LEVELS:
            for block in re.findall(r"```python\n(.*?)```", concept.levels[level], flags=re.S):
                assert "all-MiniLM-L6-v2\"" not in block and "all-MiniLM-L6-v2'" not in block, (concept.key, level)
                # any other hub checkpoint goes through load_causal_lm or resolve_model, which fail in one line offline
                by_hub_name = re.findall(r"from_pretrained\(\s*[\"']([\w.-]+/[\w.-]+)[\"']", block)
                assert not by_hub_name, (concept.key, level, by_hub_name)


def test_a_hyphen_a_space_and_an_underscore_name_the_same_concept():
    for name in ("learning-rate", "Learning Rate", "learning_rate", " weight-decay "):
        assert explain(name).concept.key == name.strip().lower().replace("-", "_").replace(" ", "_")


def test_an_alias_never_hides_another_concept_s_own_name(monkeypatch):
    from sft_teach import explain as module

    levels = {level: "Text." for level in LEVELS}
    made = {"warmup": module.Concept("warmup", "Warmup", ("ramp",), (), levels),
            "ramp": module.Concept("ramp", "Ramp", (), (), levels),
            "zy": module.Concept("zy", "Ramp", (), (), levels),  # a title that is another concept's key
            "zz": module.Concept("zz", "Zed", ("warmup", "Ramp"), (), levels)}  # aliases that are others' names
    monkeypatch.setattr(module, "concepts", lambda: made)
    assert explain("warmup").concept.key == "warmup" and explain("Ramp").concept.key == "ramp"
    assert explain("zed").concept.key == "zz"


def test_a_file_without_its_three_levels_is_refused(tmp_path):
    from sft_teach.explain import _parse

    path = tmp_path / "half.md"
    path.write_text("# Half\naliases: a\n\n## Beginner\nOne.\n\n## Technical\nTwo.\n")
    with pytest.raises(ValueError, match=r"half\.md: needs '# Title' and the sections Beginner, Technical, Academic"):
        _parse(path)


def test_the_html_opens_the_beginner_level_and_names_related_concepts():
    e = explain("warmup")
    page = e.html()
    assert page.count("<details open>") == 1 and "<details open><summary><b>Beginner</b>" in page
    related = ", ".join(f"`{r}`" for r in e.concept.related)
    assert e.concept.related and f"*Related:* {related}" in e.markdown()
    assert f"<code>{e.concept.related[0]}</code>" in page


def test_explain_without_a_name_lists_other_names_and_the_glossary_a_sentence():
    assert "| also called |" in explain().markdown() and "| in one sentence |" not in explain().markdown()
    assert "| in one sentence |" in glossary().markdown()


def test_the_plain_text_keeps_every_word_and_wraps_all_but_code_tables_and_formulas():
    from sft_teach.explain import _unbold, plain_text

    assert _unbold("a **bold** word and `2.6**7` in code") == "a bold word and `2.6**7` in code"
    for key in concepts():
        shown = explain(key)
        for level in LEVELS:
            markdown = shown.concept.levels[level]
            text = plain_text(markdown, width=72)
            # the same words in the same order: only line breaks, fences and bold marks differ
            words, in_code = [], False
            for line in markdown.splitlines():
                in_code ^= line.strip().startswith("```")
                words += [w for w in (line if in_code else _unbold(line)).split() if not w.startswith("```")]
            assert text.split() == words, (key, level)
            long = [line for line in text.splitlines() if len(line) > 72 and not line.startswith("    ")
                    and not line.lstrip().startswith(("|", "$$"))]
            # a line may overflow only where a code span or a formula alone is longer than the width
            assert all(" " not in line.strip() or "`" in line or "$" in line for line in long), (key, level, long)


def test_a_code_span_and_a_list_item_wrap_as_a_reader_expects():
    from sft_teach.explain import plain_text

    text = plain_text("Set `warmup_steps = 0.1` here.\n\n- a list item that is long enough to wrap onto a second line",
                      width=20)
    assert "`warmup_steps = 0.1`" in text.splitlines()[1]  # never broken inside the code span
    item = text.split("\n\n")[1].splitlines()
    assert item[0].startswith("- a list") and all(line.startswith("  ") for line in item[1:])  # hung under the text


def test_a_python_prompt_shows_the_text_not_an_object_id():
    shown = explain("warmup")
    assert repr(shown) == str(shown) == shown.text()
    assert shown.text().startswith("Warmup\n======\n\nBeginner\n--------\n")
    assert repr(explain()) == explain().text() and "warmup" in repr(explain())


def test_sft_teach_explain_shows_a_concept_a_level_or_the_list(capsys):
    from sft_teach.cli import main

    assert main(["explain", "learning", "rate", "--level", "beginner"]) == 0
    out = capsys.readouterr().out
    first = " ".join(concepts()["learning_rate"].levels["Beginner"].split()[:8])
    assert out.startswith("Learning rate: Beginner\n") and first in " ".join(out.split())
    assert "Technical" not in out
    assert main(["explain"]) == 0
    listing = capsys.readouterr().out
    assert all(f"\n{key} " in listing for key in concepts())


def test_sft_teach_explain_refuses_an_unknown_name_in_one_line(capsys):
    from sft_teach.cli import main

    assert main(["explain", "lerning", "rat"]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err == ("sft-teach: error: no concept called 'lerning rat': did you mean 'learning_rate'? "
                                 f"sft-teach explain lists all {len(concepts())}\n")
    assert main(["explain", "--level", "academic"]) == 2
    assert "name it, e.g. sft-teach explain warmup --level academic" in capsys.readouterr().err


# Each measured figure an explanation quotes, and where the course prints it: (concept, the words in
# the explanation, the notebook or page that prints the figure, what it prints). A re-executed notebook
# or a new sweep that moves a figure then fails here, not silently in the explanation's prose.
QUOTED = [
    ("catastrophic_forgetting", "53 % of the pairs instead of 97 %", "notebooks/03_transfer_learning.ipynb",
     ["pretrained         paraphrase retrieval 0.97", "full fine-tuning   paraphrase retrieval 0.53"]),
    ("catastrophic_forgetting", "desk accuracy 0.67", "notebooks/03_transfer_learning.ipynb", ["desk accuracy 0.67"]),
    ("packing", "42 % of the token slots as padding, 11 %", "notebooks/02_technical_recipe.ipynb",
     ["42% with dynamic padding", "11% padding"]),
    ("padding", "falls from 42 % to 11 %", "notebooks/02_technical_recipe.ipynb",
     ["42% with dynamic padding", "11% padding"]),
    ("feature_extraction", "0.32 behind", "notebooks/03_transfer_learning.ipynb",
     ["feature extraction minus frozen, n = 6:\n  +0.32"]),
    ("head", "0.906 against 0.924", "benchmarks/recipe_selection.md",
     ["| mean pooling, head 3 ep, then 3 ep at 1e-4 | 0.906 ", "| head 3 ep, then 3 ep at 1e-4 | 0.924 "]),
    ("fine_tuning", "about 0.03 higher than 1e-4 on the pets validation notes", "notebooks/02_technical_recipe.ipynb",
     ["peak rate 1e-04: 0.848", "peak rate 2e-04: 0.878", "peak rate 5e-04: 0.881"]),
    ("fine_tuning", "5e-4 led 1e-4 by 0.013", "notebooks/02_technical_recipe.ipynb",
     ["5e-04 minus 1e-04 on the 180 test notes:\n  +0.013", "no conclusion"]),
    ("fine_tuning", "1e-3 made every seed answer one class", "notebooks/02_technical_recipe.ipynb",
     ["peak rate 1e-03: 0.500 ± 0.000"]),
    ("fine_tuning", "validation chose 1e-3", "notebooks/03_transfer_learning.ipynb", ["4: 1e-03, 8: 1e-03"]),
    ("freezing", "up to 1e-3 on a few clinic messages", "notebooks/04_ulmfit_techniques.ipynb",
     ["1e-03 from the bundled model"]),
    ("masked_language_modelling", "a paired difference whose intervals, over the messages and over the seeds, both exclude 0", "notebooks/04_ulmfit_techniques.ipynb",
     ["stage-2 minus bundled", "-0.05 (items -0.08 to -0.02, seeds -0.09 to -0.01), ahead in 0 of 5, behind in 5: "
                               "established"]),
]


def _printed(path: str) -> str:
    """What a notebook prints (its stream outputs), or a page's text."""
    import json
    from pathlib import Path

    file = Path(__file__).resolve().parent.parent / path
    if file.suffix != ".ipynb":
        return file.read_text(encoding="utf-8")
    cells = json.loads(file.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(o["text"]) for c in cells for o in c.get("outputs", []) if o.get("output_type") == "stream")


@pytest.mark.parametrize("key, words, source, printed", QUOTED, ids=[f"{q[0]}: {q[1][:30]}" for q in QUOTED])
def test_every_measured_figure_an_explanation_quotes_is_printed_where_it_says(key, words, source, printed):
    text = " ".join(" ".join(concepts()[key].levels.values()).split())
    assert words in text, f"{key}.md no longer says {words!r}: update QUOTED with it"
    shown = _printed(source)
    assert all(p in shown for p in printed), f"{source} no longer prints {[p for p in printed if p not in shown]}"


def test_the_five_step_schedule_slanted_triangular_lr_quotes_is_the_package_s():
    from sft_teach.schedules import slanted_triangular

    multipliers = [round(slanted_triangular(t, 5), 2) for t in range(5)]
    assert multipliers == [0.03, 1.0, 0.89, 0.78, 0.68]
    shown = ", ".join(map(str, multipliers))
    assert f"(five steps: multipliers {shown})" in " ".join(concepts()["slanted_triangular_lr"].levels["Technical"].split())


def test_bold_holding_code_and_a_heading_read_as_text():
    from sft_teach.explain import _unbold, plain_text

    assert _unbold("**the `lr` value** and `2.6**7`") == "the `lr` value and `2.6**7`"
    assert plain_text("### A heading\nIts paragraph.", 40) == "A heading\nIts paragraph."


def test_sft_teach_explain_fits_a_narrow_terminal_and_refuses_an_empty_name(capsys, monkeypatch):
    from sft_teach.cli import main

    monkeypatch.setenv("COLUMNS", "1")  # narrower than any word: 20 columns, not a crash
    assert main(["explain", "lora", "--level", "Beginner"]) == 0  # a level in any case, as the name
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "LoRA (low-rank adaptation): Beginner" and max(map(len, lines[2:])) <= 20
    monkeypatch.setenv("COLUMNS", "61")
    assert main(["explain"]) == 0 and max(map(len, capsys.readouterr().out.splitlines())) <= 60
    assert main(["explain", ""]) == 2  # explain "$NAME" with NAME unset
    assert capsys.readouterr().err == ("sft-teach: error: the concept's name is empty: name one, e.g. sft-teach "
                                       "explain warmup (without a name: the list of concepts)\n")
