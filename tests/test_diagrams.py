"""sft_teach.diagrams: the two recipe diagrams say what they must, and nothing in them overlaps."""

import itertools

import pytest

from sft_teach import diagrams
from sft_teach.course_figure import CourseFigure


def texts(fig):
    return [t for ax in fig.axes for t in ax.texts if t.get_text().strip()]


def all_text(fig):
    return "\n".join(t.get_text() for t in texts(fig))


@pytest.fixture(scope="module", params=["fine_tuning", "training_loop"])
def figure(request):
    if request.param == "fine_tuning":
        return diagrams.fine_tuning_diagram()
    return diagrams.training_loop_diagram(train_size=714)


def test_diagrams_display_as_png(figure):
    assert isinstance(figure, CourseFigure)
    assert figure._repr_png_().startswith(b"\x89PNG")


def test_no_text_overlaps_another_or_leaves_the_figure(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)  # lays the figure out as the PNG will be
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts(figure)]
    frame = figure.bbox
    for text, box in boxes:
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, text
    for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2):
        assert not box_a.overlaps(box_b), (a, b)


def test_text_is_large_enough_to_read(figure):
    assert min(t.get_fontsize() for t in texts(figure)) >= 8.5


def test_fine_tuning_diagram_says_what_is_kept_new_and_trained():
    fig = diagrams.fine_tuning_diagram(learning_rate=1e-4)
    words = all_text(fig)
    for phrase in ("kept from pretraining", "new for this task", "trained", "frozen", "learning rate 1e-4",
                   "new head: cat or dog?"):
        assert phrase in words, phrase
    assert "random at first" not in words  # the frozen body's head is fitted to the labels (a logistic regression)
    assert "embeddings" not in words  # notebook 01's "embedding" is a note's averaged output, not the token vectors


def test_training_loop_diagram_uses_the_names_trainer_uses():
    words = all_text(diagrams.training_loop_diagram())
    for name in ("train_dataset", "DataCollatorWithPadding", "compute_loss", "loss.backward()", "optimizer.step()",
                 "lr_scheduler.step()", "TrainingArguments(learning_rate=1e-4", "per_device_train_batch_size=16",
                 "num_train_epochs=3"):
        assert name in words, name


def test_training_loop_diagram_follows_its_settings_and_counts_steps():
    words = all_text(diagrams.training_loop_diagram(learning_rate=3e-5, batch_size=8, num_train_epochs=2,
                                                    train_size=100))
    assert "learning_rate=3e-5" in words and "per_device_train_batch_size=8" in words
    assert "13 steps per epoch" in words and "= 26 steps" in words


def test_rates_are_written_as_the_code_writes_them():
    assert [diagrams._rate(v) for v in (1e-4, 2e-5, 3e-4, 0.1)] == ["1e-4", "2e-5", "3e-4", "0.1"]
    assert diagrams._rate(1.5e-4) == "1.5e-4" and diagrams._rate(2.5e-5) == "2.5e-5"


def test_the_steps_per_epoch_round_up_and_name_a_short_last_batch_only_when_there_is_one():
    even = all_text(diagrams.training_loop_diagram(batch_size=8, num_train_epochs=2, train_size=96))
    assert "96 notes \u00f7 8 per batch = 12 batches, so 12 steps per epoch; \u00d7 2 epochs = 24 steps" in even
    assert "last batch" not in even
    uneven = all_text(diagrams.training_loop_diagram(batch_size=8, num_train_epochs=2, train_size=100))
    assert "13 steps per epoch (the last batch holds 4)" in uneven
    assert "rounded up" in all_text(diagrams.training_loop_diagram())  # no size given: the rule


def test_the_step_that_updates_the_weights_writes_the_rate_as_the_code_does():
    assert "by the learning rate (3e-5)" in all_text(diagrams.training_loop_diagram(learning_rate=3e-5))


def test_only_the_frozen_body_is_tagged_frozen_and_the_rest_that_learns_trained():
    tags = [t.get_text() for t in texts(diagrams.fine_tuning_diagram()) if t.get_text() in ("trained", "frozen (not changed)")]
    # panel 2: body frozen, head trained; panel 3: both trained; and the legend's "trained"
    assert tags.count("frozen (not changed)") == 1 and tags.count("trained") == 4


@pytest.mark.parametrize("settings, said", [
    ({"batch_size": 0, "train_size": 96}, "batch size .* at least 1, got 0"),  # a ZeroDivisionError before
    ({"batch_size": 2.5, "train_size": 96}, "got 2.5"),  # "96 notes ÷ 2.5 per batch = 39 batches"
    ({"learning_rate": -1}, "learning rate .* greater than 0, got -1"),
    ({"num_train_epochs": 0}, "epochs .* greater than 0, got 0"),
    ({"train_size": 0}, "train_size= .* at least 1, got 0"),  # drawn as if no size were given
])
def test_the_training_loop_is_drawn_only_for_settings_finetune_would_train_with(settings, said):
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=said):
        diagrams.training_loop_diagram(**settings)


def test_a_diagram_s_words_say_what_its_boxes_say_for_a_reader_who_cannot_see_it():
    """A diagram has no title or axes to read words from: it writes its own, with its numbers."""
    words = diagrams.fine_tuning_diagram(learning_rate=3e-4).description()
    assert words.startswith("Diagram in three panels") and "learning rate 3e-4" in words
    for panel in ("pretrained", "new head, body frozen", "full fine-tuning"):
        assert panel in words
    words = diagrams.training_loop_diagram(batch_size=8, train_size=20, num_train_epochs=2).description()
    assert "a batch of 8 labelled notes" in words and "3 steps per epoch" in words and "= 6 steps" in words
    for call in ("loss.backward()", "optimizer.step()", "lr_scheduler.step()", "optimizer.zero_grad()"):
        assert call in words
