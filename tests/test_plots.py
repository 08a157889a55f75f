"""sft_teach.plots: each function draws what its data says (checked on the returned Figure)."""

import numpy as np
import pytest

from sft_teach import course_figure, plots, plots_methods
from sft_teach.errors import ConfigError


def test_loss_curve_draws_training_and_validation_loss():
    history = {"train": [{"step": s, "loss": 1 / s} for s in (1, 2, 3)], "eval": [{"step": 3, "eval_loss": 0.4}]}
    ax = plots.loss_curve(history, total_steps=3).axes[0]
    assert [list(line.get_ydata()) for line in ax.lines] == [[1, 0.5, 1 / 3], [0.4]]


def test_the_head_phase_ends_at_its_step_count_not_its_last_logged_step():
    """21 head steps logged every 5: the all-layers steps start after 21, not 20, and the kept line too."""
    history = {"head": [{"step": s, "loss": 1.0} for s in (5, 10, 15, 20)],
               "train": [{"step": s, "loss": 0.5} for s in (5, 10, 14)], "eval": [{"step": 7, "eval_loss": 0.6}]}
    fig = plots.loss_curve(history, total_steps=14, kept_step=7, head_steps=21,
                           kept_label="weights kept (best validation macro-F1)")
    head, phase_end, train, evaluation, kept = fig.axes[0].lines
    assert list(train.get_xdata()) == [26, 31, 35] and list(evaluation.get_xdata()) == [28]
    assert list(phase_end.get_xdata()) == [21, 21] and list(kept.get_xdata()) == [28, 28]
    # five entries: below the plot (a figure legend), where they hide no curve
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [
        "training loss, head alone (5-step means)", "head alone ends, all layers train",
        "training loss, all layers (5-step means)", "validation loss (per epoch)", "weights kept (best validation macro-F1)"]


def test_the_loss_legend_says_what_a_point_averages_and_fits_in_the_figure():
    """Trainer logs the mean loss of the steps since its last log, so a point is not one step's loss
    (the last gap may be shorter); with the longest labels the course passes, with and without a
    head-only phase, the legend below the plot is not cut at the edges."""
    train = [{"step": s, "loss": 1 / s} for s in (10, 20, 30, 34)]
    history = {"train": train, "eval": [{"step": 34, "eval_loss": 0.4}]}
    for given, first_label in ((history, "training loss (10-step means)"),
                               ({"head": train, **history}, "training loss, head alone (10-step means)"),
                               ({"train": [{"step": s, "loss": 1.0} for s in (1, 2, 3)]}, "training loss (each step)")):
        fig = plots.loss_curve(given, total_steps=34, kept_step=34, head_steps=34,
                               kept_label="weights kept (best validation macro-F1)")
        assert fig.legends[0].get_texts()[0].get_text() == first_label
        fig.canvas.draw()
        box = fig.legends[0].get_window_extent()
        assert box.x0 >= 0 and box.x1 <= fig.bbox.width, first_label


def test_the_step_axis_says_how_many_batches_a_step_adds_up():
    history = {"train": [{"step": 1, "loss": 1.0}]}
    assert plots.loss_curve(history).axes[0].get_xlabel() == "optimiser step (one batch each)"
    accumulated = plots.loss_curve(history, batches_per_step=4).axes[0].get_xlabel()
    assert accumulated == "optimiser step (4 batches each, accumulated)"


def test_label_race_uses_the_given_chance_level():
    fig = plots.label_race({"test": {"a": {4: (0.3, 0.1), 8: (0.5, 0.0)}}}, chance=0.1)
    ax = fig.axes[0]
    assert list(ax.lines[0].get_ydata()) == [0.3, 0.5] and ax.lines[-1].get_ydata()[0] == 0.1


def test_label_race_labels_every_count_measured_unless_two_would_touch():
    fig = plots.label_race({"test": {"a": {2: (0.5, 0.1), 16: (0.6, 0.1), 512: (0.7, 0.1), 714: (0.75, 0.1)},
                                     "b": {64: (0.6, float("nan"))}}})
    assert list(fig.axes[0].get_xticks()) == [2, 16, 64, 714]  # 512 would touch 714: the last count measured wins


def test_layer_transfer_plots_one_curve_per_variant_and_reference_lines():
    curves = {"frozen": {0: (0.2, 0.0), 3: (0.5, 0.1)}, "fine-tuned": {0: (0.3, 0.0), 3: (0.6, 0.1)}}
    fig = plots.layer_transfer(curves, {"scratch": 0.1})
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["scratch", "frozen", "fine-tuned"]
    ax = plots.layer_transfer(curves, {"scratch": 0.15}, chance=0.1).axes[0]
    (floor,) = [line for line in ax.lines if line.get_label() == "chance (0.10)"]
    assert list(floor.get_ydata()) == [0.1, 0.1] and ax.get_ylim()[0] < 0.1  # shown, not cut off


def test_per_layer_bars_follow_the_values():
    ax = plots.per_layer({"drift": {"embeddings": 0.01, "layer.0": 0.02, "head": 0.5}}, "change").axes[0]
    assert [round(bar.get_height(), 2) for bar in ax.patches] == [0.01, 0.02, 0.5]


def test_unfreezing_timeline_marks_trained_groups():
    fig = plots.unfreezing_timeline([["head"], ["head", "layer.0"]], ["embeddings", "layer.0", "head"])
    grid = np.asarray(fig.axes[0].images[0].get_array())
    assert grid.tolist() == [[0, 0], [0, 1], [1, 1]]


def test_lr_finder_marks_the_suggestion():
    ax = plots.lr_finder({"lrs": [1e-5, 1e-4, 1e-3], "losses": [2.0, 1.0, 3.0], "suggestion": 1e-4}).axes[0]
    assert ax.lines[1].get_xdata()[0] == 1e-4 and ax.get_xscale() == "log"


def test_learning_rate_sweep_draws_the_means_and_rings_the_chosen_rate():
    curve = {1e-4: (0.80, 0.02), 3e-4: (0.85, 0.01), 1e-3: (0.60, float("nan"))}
    fig = plots.learning_rate_sweep({"pets": curve}, chosen={"pets": 3e-4})
    ax = fig.axes[0]
    assert list(ax.lines[0].get_ydata()) == [0.80, 0.85, 0.60] and ax.get_xscale() == "log"
    ring = ax.lines[-1]
    assert (ring.get_xdata()[0], ring.get_ydata()[0]) == (3e-4, 0.85)
    assert "chosen: 3e-4" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1e-4", "3e-4", "1e-3"]  # every rate swept, labelled
    fig.savefig("/dev/null", format="png")  # a NaN SD (one seed) draws without error


def test_data_overview_counts_and_lengths():
    summary = {"train": {"rows": 3, "classes": {"a": 2, "b": 1}}}
    fig = plots.data_overview(summary, [5, 7, 300], max_length=128)
    assert [bar.get_height() for bar in fig.axes[0].patches] == [2, 1]
    assert fig.axes[1].lines[0].get_xdata()[0] == 128


def test_every_figure_carries_its_own_png():
    """The course's figures show as pictures in a fresh kernel: they answer IPython's _repr_png_."""
    fig = plots.per_layer({"drift": {"a": 1.0, "b": 2.0}}, "change")
    assert isinstance(fig, course_figure.CourseFigure)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_course_style_leaves_global_settings_alone():
    import matplotlib

    before = dict(matplotlib.rcParams)
    plots.loss_curve({"train": [{"step": 1, "loss": 1.0}]})
    assert dict(matplotlib.rcParams) == before


def test_the_same_method_has_the_same_colour_everywhere():
    assert course_figure.method_colour("fine-tuned (all 6 blocks)") == course_figure.method_colour("full fine-tuning")
    assert course_figure.method_colour("same network from scratch") == course_figure.method_colour("from scratch (section 2)")
    assert course_figure.method_colour("bag of words (TF-IDF + LR)") == course_figure.method_colour("TF-IDF + LR")
    assert course_figure.method_colour("LoRA r=4") != course_figure.method_colour("full fine-tuning")
    assert course_figure.method_colour("pretrained + new head") == course_figure.method_colour("frozen body + new head")
    assert course_figure.method_colour("something else", "grey") == "grey"


def test_data_overview_names_the_texts_beyond_max_length_and_counts_each_class():
    summary = {"all": {"rows": 4, "classes": {"a": 3, "b": 1}}}
    fig = plots.data_overview(summary, [5, 7, 9, 300], max_length=128, lengths_of="message")
    balance, histogram = fig.axes
    assert [t.get_text() for t in balance.texts] == ["3", "1"]  # a class of one is a bar too low to read
    assert balance.get_title() == "examples per class" and balance.get_legend() is None  # one split: no legend
    assert histogram.get_xlabel() == "tokens per message"
    assert [t.get_text() for t in histogram.texts] == ["1 message longer:\n300 tokens"]
    label = histogram.texts[0]
    assert label.get_position()[0] > 128 and label.get_horizontalalignment() == "left"  # right of the line, not across it


def test_lr_finder_shows_the_dip_and_both_rules():
    lrs = [1e-5, 1e-4, 1e-3, 1e-2, 1e-1]
    ax = plots.lr_finder({"lrs": lrs, "losses": [2.3, 2.3, 2.1, 2.6, 9.0], "suggestion": 1e-4},
                         marks={"a run's rate": 3e-4}).axes[0]
    low, high = ax.get_ylim()
    assert low < 2.1 and 2.3 < high < 9.0  # the blow-up leaves the top; the dip of 0.2 fills the plot
    drawn = {line.get_label(): line.get_xdata()[0] for line in ax.lines}
    assert drawn["lowest / 10: 1.0e-04"] == 1e-4 and drawn["a run's rate"] == 3e-4
    assert drawn["lowest: 1.0e-03"] == 1e-3


def test_per_layer_writes_values_and_whiskers():
    fig = plots.per_layer({"cka": {"a": 0.5, "b": 0.25}}, "cka", errors={"cka": {"a": 0.01, "b": 0.02}}, values="{:.2f}")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.texts] == ["0.50", "0.25"]
    bars = next(c for c in ax.containers if hasattr(c, "errorbar"))
    assert len(bars.errorbar.lines[2][0].get_segments()) == 2  # one whisker a bar


def test_loss_curve_draws_reference_lines_and_keeps_its_legend_off_the_curves():
    fig = plots.loss_curve({"train": [{"step": 1, "loss": 7.0}, {"step": 2, "loss": 5.0}]},
                           references={"uniform guess": 7.6})
    ax = fig.axes[0]
    assert [line.get_ydata()[0] for line in ax.lines if line.get_label() == "uniform guess"] == [7.6]
    assert ax.get_legend() is None and fig.legends  # below the axes, not over them


def test_confusion_colours_start_at_zero():
    fig = plots.confusion_plot([[73, 23], [17, 67]], ["cat", "dog"])
    assert fig.axes[0].images[0].get_clim()[0] == 0


def test_a_confusion_matrix_and_names_of_different_sizes_are_refused():
    """Ticks from the wrong list of names would label the rows wrongly, and nothing would say so."""
    with pytest.raises(ConfigError, match=r"3 classes is 3 x 3.*got shape \(2, 2\) for 3 names"):
        plots.confusion_plot([[73, 23], [17, 67]], ["cat", "dog", "bird"])
    with pytest.raises(ConfigError, match=r"got shape \(4,\)"):
        plots.confusion_plot([73, 23, 17, 67], ["cat", "dog"])


def test_an_embedding_map_of_points_it_would_draw_wrong_is_refused():
    """Each was drawn without a word: the first two of many dimensions, no point for names given as
    labels, the points of an extra class left out; or ended in a NumPy IndexError."""
    points = np.random.default_rng(0).normal(size=(4, 2))
    cases = [(np.zeros((4, 384)), [0, 1, 0, 1], r"\(n, 2\), got the shape \(4, 384\): project the embeddings first"),
             (points, ["cat", "dog", "cat", "dog"], "class ids from 0 to 1.*got 'cat' among them"),
             (points, [0, 1, 2, 1], "got 2 among them"),
             (points, [0, 1], "4 points and 2 labels")]
    for coordinates, labels, said in cases:
        with pytest.raises(ConfigError, match=f"embedding_map.*{said}"):
            plots.embedding_map(coordinates, labels, ["cat", "dog"])
    names = [f"class {i}" for i in range(12)]  # more classes than markers: each still drawn, markers repeat
    fig = plots.embedding_map(np.arange(24.0).reshape(12, 2), list(range(12)), names)
    assert [len(c.get_offsets()) for c in fig.axes[0].collections] == [1] * 12


def test_loss_curve_given_the_logged_rows_says_it_takes_the_whole_history():
    rows = [{"step": 1, "loss": 0.7}]
    with pytest.raises(ConfigError, match=r"takes the whole history.*result\.history, got a list"):
        plots.loss_curve(rows)


def test_lora_comparison_draws_accuracies_as_points_with_their_values():
    """The accuracy axis starts at 0.5, so accuracies are points (a cut bar's length would mislead)."""
    rows = [{"method": m, "trainable": t, "weights": 90.0, "gradients": g, "optimizer": 2 * g, "activations": 60.0,
             "accuracy": a, "accuracy_sd": 0.01, "n": 5}
            for m, t, g, a in (("full fine-tuning", 2e7, 80.0, 0.79), ("LoRA r=4", 2e5, 1.0, 0.76))]
    accuracy = plots.lora_comparison(rows).axes[1]
    assert not accuracy.patches  # no bars
    assert [t.get_text() for t in accuracy.texts][:2] == ["0.790\n± 0.010", "0.760\n± 0.010"]  # an SD under its mean
    assert accuracy.get_ylabel() == "test accuracy (mean ± SD, 5 seeds)"
    one_run = plots.lora_comparison([{k: v for k, v in r.items() if k not in ("accuracy_sd", "n")} for r in rows])
    assert [t.get_text() for t in one_run.axes[1].texts] == ["0.790", "0.760", "axis starts at 0.5"]


def test_label_race_says_what_its_bands_are_only_when_it_draws_them():
    banded = plots.label_race({"test": {"a": {4: (0.3, 0.1), 8: (0.5, 0.05)}}})
    single = plots.label_race({"test": {"a": {4: (0.3, float("nan")), 8: (0.5, float("nan"))}}})
    assert "shaded: ± 1 SD over repeated runs" in [t.get_text() for t in banded.legends[0].get_texts()]
    assert "shaded: ± 1 SD over repeated runs" not in [t.get_text() for t in single.legends[0].get_texts()]


# ---- what a seventh mutation run changed without a test failing (each test fails on its change) ---

def test_a_confusion_plot_puts_each_count_in_its_cell_with_the_axes_named():
    """Rows are true classes, columns predictions: 23 cats taken for dogs sit at (x=dog, y=cat)."""
    ax = plots.confusion_plot([[73, 23], [17, 67]], ["cat", "dog"]).axes[0]
    cells = {(t.get_position(), t.get_text()): t.get_color() for t in ax.texts}
    assert cells == {((0, 0), "73"): "white", ((1, 0), "23"): "black", ((0, 1), "17"): "black",
                     ((1, 1), "67"): "white"}  # white on the dark cells, above half the largest count
    assert [t.get_text() for t in ax.get_yticklabels()] == ["cat", "dog"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("predicted label", "true label")
    with pytest.raises(ConfigError, match=r"got shape \(2, 3\)"):  # as many rows as names, not columns
        plots.confusion_plot([[1, 2, 3], [4, 5, 6]], ["a", "b"])


def test_the_loss_curve_axes_start_at_zero_and_make_room_for_both_phases():
    head = [{"step": s, "loss": 1.0} for s in (5, 10)]
    fig = plots.loss_curve({"head": head, "train": [{"step": 5, "loss": 0.5}]}, total_steps=14)
    ax = fig.axes[0]
    train = [line for line in ax.lines if line.get_label().startswith("training loss, all")][0]
    assert list(train.get_xdata()) == [15]  # without head_steps, after the last logged head step
    assert ax.get_xlim()[1] == pytest.approx((10 + 14) * 1.03) and ax.get_ylim()[0] == 0
    # an evaluation row without a loss (a metric only) draws no validation line and no KeyError
    ax = plots.loss_curve({"train": head, "eval": [{"step": 10, "eval_accuracy": 0.9}]}).axes[0]
    assert len(ax.lines) == 1
    one = plots.loss_curve({"train": [{"step": 10, "loss": 1.0}]})  # one point logged at step 10
    assert one.legends[0].get_texts()[0].get_text() == "training loss (10-step means)"
    refs = plots.loss_curve({"train": head}, references={"uniform guess": 0.69, "majority class": 0.6})
    assert [t.get_text() for t in refs.legends[0].get_texts()][-2:] == ["uniform guess", "majority class"]


def test_the_schedule_ends_where_training_ends_and_the_race_labels_ticks_apart():
    ax = plots.lr_schedule({"constant": [1.0] * 10}, 10).axes[0]
    (end,) = [line for line in ax.lines if line.get_label() == "end of training (10 steps)"]
    assert list(end.get_xdata()) == [10, 10]
    assert plots_methods._race_ticks([100, 160]) == [100, 160]  # 0.68 of a doubling apart: both labelled


def test_an_embedding_map_draws_each_class_s_points_under_its_name():
    fig = plots.embedding_map([[0, 0], [1, 1], [2, 2]], [0, 1, 1], ["cat", "dog"])
    first, second = fig.axes[0].collections
    assert first.get_offsets().tolist() == [[0, 0]] and second.get_offsets().tolist() == [[1, 1], [2, 2]]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["cat", "dog"]


LONG_TITLE = ("a title that states the figure's whole message, as the course's titles do, and so runs "
              "longer than the figure is wide")


@pytest.mark.parametrize("draw", [
    lambda title: plots.embedding_map([[0, 0], [1, 1], [2, 2]], [0, 1, 1], ["cat", "dog"], title=title),
    lambda title: plots.learning_rate_sweep({"pets": {1e-4: (0.8, 0.01), 1e-3: (0.5, 0.0)}},
                                            chosen={"pets": 1e-4}, title=title),
    lambda title: plots.per_layer({"moved": {"layer.0": 0.02, "pooler": 0.24}}, "change", title=title, log=True),
    lambda title: plots.loss_curve({"train": [{"step": s, "loss": 1 / s} for s in (1, 2, 3)]}, title=title),
    lambda title: plots.confusion_plot([[3, 1], [0, 4]], ["cat", "dog"], title=title),
], ids=["embedding_map", "learning_rate_sweep", "per_layer", "loss_curve", "confusion_plot"])
def test_a_long_title_wraps_inside_the_figure_and_no_legend_covers_it(draw):
    """Notebook titles state a message and run long: one ran past the figure's right edge (cut off in
    the picture), another ran under the legend beside the plot."""
    fig = draw(LONG_TITLE)
    fig.draw_without_rendering()  # lays the figure out as saving it does
    (title,) = [t for ax in fig.axes for t in (ax.title,) if t.get_text()] or [fig._suptitle]
    box = title.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width and box.y1 <= fig.bbox.height
    assert "\n" in title.get_text() and title.get_text().replace("\n", " ") == LONG_TITLE  # whole, in lines
    lengths = [len(line) for line in title.get_text().split("\n")]
    assert min(lengths) >= 0.6 * max(lengths), title.get_text()  # even lines: no word left alone on the last
    for legend in fig.legends + [ax.get_legend() for ax in fig.axes if ax.get_legend()]:
        assert not legend.get_window_extent().overlaps(box)


def test_the_race_band_is_one_sd_and_said_when_any_method_has_one():
    nan = float("nan")
    fig = plots.label_race({"t": {"a": {4: (0.3, 0.1), 8: (0.5, 0.1)}, "b": {4: (0.4, nan), 8: (0.6, nan)}}})
    ax = fig.axes[0]
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == pytest.approx(0.2) and band[:, 1].max() == pytest.approx(0.6)  # 0.3 - 0.1 .. 0.5 + 0.1
    assert "shaded: ± 1 SD over repeated runs" in [t.get_text() for t in fig.legends[0].get_texts()]


def test_data_overview_draws_each_split_s_counts_and_every_length():
    summary = {"train": {"rows": 3, "classes": {"a": 2, "b": 1}}, "test": {"rows": 2, "classes": {"a": 1, "b": 1}}}
    fig = plots.data_overview(summary, [5, 300, 400], 128, lengths_of="message")
    balance, histogram = fig.axes[:2]
    assert [p.get_height() for p in balance.patches] == [2, 1, 1, 1]  # train's a, b; then test's
    assert balance.get_title() == "examples per class and split" and balance.get_legend() is not None
    assert sum(p.get_height() for p in histogram.patches) == 3  # the longest text in a bar too
    assert [t.get_text() for t in histogram.texts] == ["2 messages longer,\nup to 400 tokens"]
    at_limit = plots.data_overview(summary, [5, 128], 128).axes[1]
    assert not at_limit.texts  # a text of exactly max_length tokens is not cut


def test_layer_transfer_and_per_layer_draw_in_order_with_their_spread_and_scale():
    ax = plots.layer_transfer({"frozen": {3: (0.5, 0.1), 0: (0.2, 0.0)}}).axes[0]
    assert list(ax.lines[0].get_xdata()) == [0, 3] and ax.containers[0].has_yerr
    assert ax.get_xlabel() == "n: pretrained blocks kept (the rest re-initialised)"
    ax = plots.per_layer({"a": {"x": 1.0}, "b": {"x": 2.0}}, "v", log=True).axes[0]
    first, second = (c.lines[0].get_xdata()[0] for c in ax.containers)
    assert first != second  # side by side, not on top of each other
    assert ax.get_yscale() == "log" and ax.get_legend() is not None


def test_the_unfreezing_grid_has_the_embeddings_at_the_bottom_and_counts_epochs_from_1():
    ax = plots.unfreezing_timeline([["head"], ["head", "layer.0"]], ["embeddings", "layer.0", "head"]).axes[0]
    assert ax.images[0].origin == "lower" and [t.get_text() for t in ax.get_xticklabels()] == ["epoch 1", "epoch 2"]


def test_the_lr_finder_marks_its_suggestion_not_the_lowest_loss():
    ax = plots.lr_finder({"lrs": [1e-5, 1e-4, 1e-3], "losses": [2, 1, 3], "suggestion": 1e-5}).axes[0]
    (line,) = [line for line in ax.lines if line.get_label().startswith("steepest fall")]
    assert list(line.get_xdata()) == [1e-5, 1e-5]


def test_lora_comparison_labels_sizes_in_order_stacks_memory_and_counts_the_fewest_seeds():
    rows = [{"method": m, "trainable": t, "weights": 90.0, "gradients": g, "optimizer": 2 * g, "activations": 60.0,
             "accuracy": 0.79, "accuracy_sd": 0.01, "n": n}
            for m, t, g, n in (("full fine-tuning", 20_000_000, 80.0, 5), ("LoRA r=4", 200_000, 1.0, 3))]
    trainable, accuracy, memory = plots.lora_comparison(rows).axes
    assert trainable.get_yscale() == "log"
    assert [t.get_text() for t in trainable.texts] == ["20,000,000", "200,000"]
    assert not trainable.patches  # points on the log axis, no bars whose length depends on where it starts
    assert trainable.collections[0].get_offsets()[:, 1].tolist() == [20_000_000, 200_000]
    assert accuracy.get_ylabel() == "test accuracy (mean ± SD, 3 seeds)"
    assert accuracy.texts[0].xy == (0, pytest.approx(0.80))  # above the whisker, not on the point
    assert memory.patches[2].get_y() == 90.0  # the first method's gradients, after both weights bars: stacked on them
    mixed = plots.lora_comparison([rows[0], {k: v for k, v in rows[1].items() if k != "accuracy_sd"}]).axes[1]
    assert not any("±" in t.get_text() for t in mixed.texts)  # a spread only when every row has one


def test_the_learning_rate_sweep_orders_rates_colours_curves_and_rings_the_chosen_rate():
    nan = float("nan")
    curves = {"a": {1e-3: (0.6, nan), 1e-4: (0.8, 0.02), 3e-4: (0.85, 0.01)}, "b": {3e-4: (0.7, 0.0), 3e-3: (0.9, 0.0)}}
    ax = plots.learning_rate_sweep(curves, chosen={"a": 1e-4}, ylabel="validation macro-F1").axes[0]
    a, b = [c.lines[0] for c in ax.containers if c.get_label() in ("a", "b")]  # each error bar's data line
    assert list(a.get_xdata()) == [1e-4, 3e-4, 1e-3] and a.get_color() != b.get_color()
    (ring,) = [line for line in ax.lines if line.get_label() == "chosen: 1e-4"]
    assert list(ring.get_ydata()) == [0.8]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1e-4", "3e-4", "1e-3", "3e-3"]  # every curve's rates
    assert ax.get_ylabel() == "validation macro-F1"


def test_each_method_keeps_its_colour_under_each_of_its_names():
    assert course_figure.method_colour("random init") == course_figure.method_colour("from scratch")
    from sft_teach import lora

    assert course_figure.method_colour(lora.HEAD) == course_figure.method_colour("frozen body + new head")


def test_per_layer_on_a_log_axis_draws_points_whose_height_is_the_value():
    """On a log axis a bar's length depends on where the axis starts: each value is a point there."""
    ax = plots.per_layer({"drift": {"embeddings": 0.004, "layer.0": 0.02, "pooler": 0.24}}, "change", log=True,
                         values="{:.3f}").axes[0]
    assert not ax.patches and ax.get_yscale() == "log"
    assert list(ax.lines[0].get_ydata()) == [0.004, 0.02, 0.24]
    assert [t.get_text() for t in ax.texts] == ["0.004", "0.020", "0.240"]


def test_layer_transfer_draws_its_references_in_greys_and_its_curves_apart():
    from matplotlib.colors import to_rgb

    curves = {"frozen (AnB)": {0: (0.3, 0.01)}, "fine-tuned (AnB+)": {0: (0.32, 0.01)}}
    ax = plots.layer_transfer(curves, {"feature extraction (section 2)": 0.69}).axes[0]
    reference = next(line for line in ax.lines if line.get_label() == "feature extraction (section 2)")
    red, green, blue = to_rgb(reference.get_color())
    assert red == green == blue  # a grey, not the frozen curve's orange
    points = [c.lines[0].get_xdata()[0] for c in ax.containers if c.get_label() in curves]
    assert points[0] < 0 < points[1]  # the two series at n = 0, whiskers side by side


def test_label_race_says_its_axis_is_logarithmic_and_names_a_count():
    fig = plots.label_race({"test": {"a": {4: (0.3, 0.1), 70: (0.5, 0.0)}}}, xlabel="per desk",
                           tick_names={70: "all, ≈70"})
    ax = fig.axes[0]
    assert ax.get_xlabel() == "per desk (log scale)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["4", "all, ≈70"]


def test_loss_curve_names_what_a_loss_is_per_and_keeps_a_reference_inside_the_frame():
    ax = plots.loss_curve({"train": [{"step": 1, "loss": 7.6}, {"step": 2, "loss": 5.0}]},
                          references={"uniform guess": 7.62}, per="answer token").axes[0]
    assert ax.get_ylabel() == "cross-entropy loss (nats per answer token)"
    assert ax.get_ylim()[1] >= 1.08 * 7.62


def test_lora_comparison_marks_where_its_accuracy_axis_starts():
    rows = [{"method": m, "trainable": t, "accuracy": a, "weights": 80.0, "gradients": g, "optimizer": 2 * g,
             "activations": 40.0} for m, t, a, g in (("full fine-tuning", 22_000_000, 0.79, 80.0),
                                                     ("LoRA r=4", 150_000, 0.76, 0.6))]
    accuracy = plots.lora_comparison(rows).axes[1]
    assert accuracy.get_ylim()[0] == 0.5 and accuracy.texts[-1].get_text() == "axis starts at 0.5"


def test_lora_comparison_starts_its_accuracy_axis_below_a_score_under_half():
    """A task of many classes can score below 0.5: its point is drawn, and the axis says where it starts."""
    rows = [{"method": m, "trainable": t, "accuracy": a, "weights": 80.0, "gradients": 1.0, "optimizer": 2.0,
             "activations": 40.0} for m, t, a in (("full fine-tuning", 22_000_000, 0.62), ("head only", 150_000, 0.31))]
    accuracy = plots.lora_comparison(rows).axes[1]
    assert accuracy.get_ylim()[0] == 0.3 and accuracy.texts[-1].get_text() == "axis starts at 0.3"


def test_a_resumed_run_s_loss_curve_marks_the_resume_and_says_what_its_next_point_averages():
    # logged every 5 steps; the checkpoint was at step 8, so the log at step 10 is the mean of steps 9 and 10
    rows = [{"step": s, "loss": 1 / s} for s in (5, 10, 15)]
    fig = plots.loss_curve({"train": rows}, total_steps=15, resumed_step=8)
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert "resumed (next point: 2-step mean)" in labels
    line = next(line for line in fig.axes[0].lines if line.get_label().startswith("resumed"))
    assert list(line.get_xdata()) == [8, 8]
    one = plots.loss_curve({"train": rows}, resumed_step=9).legends[0].get_texts()
    assert "resumed (next point: one step)" in [t.get_text() for t in one]
    head = [{"step": 3, "loss": 2.0}]  # after a head-only phase, the steps of all the layers come after its own
    line = next(line for line in plots.loss_curve({"head": head, "train": rows}, head_steps=3, resumed_step=8)
                .axes[0].lines if line.get_label().startswith("resumed"))
    assert list(line.get_xdata()) == [11, 11]


def test_confusion_names_that_would_run_together_are_slanted_and_stay_inside_the_first_picture():
    """Four desks, 'Shipping' beside 'Tech Support', printed as 'ShippingTech Support'; slanted after
    the layout, the first picture then cut them and the title (the layout had not seen them)."""
    matrix = np.eye(4, dtype=int) * 5
    fig = plots.confusion_plot(matrix, ["Account", "Billing", "Shipping", "Tech Support"], title="test split")
    fig._repr_png_()  # the first picture, as a notebook shows it
    ax = fig.axes[0]
    assert {label.get_rotation() for label in ax.get_xticklabels()} == {45.0}
    inside = fig.bbox
    for text in [*ax.get_xticklabels(), ax.title, ax.xaxis.label]:
        box = text.get_window_extent()
        assert box.x0 >= inside.x0 - 1 and box.y0 >= inside.y0 - 1 and box.y1 <= inside.y1 + 1, text.get_text()
    short = plots.confusion_plot(np.eye(3, dtype=int), ["billing", "emergency", "grooming"])
    assert {label.get_rotation() for label in short.axes[0].get_xticklabels()} == {0.0}


def test_more_lines_than_styles_are_all_drawn():
    """The styles repeat: a fourth reference, a fifth curve, a fourth mark or a seventeenth schedule
    was dropped without a word (zipped with a fixed tuple of styles)."""
    history = {"train": [{"step": s, "loss": 2 - 0.1 * s} for s in range(1, 11)], "eval": []}
    references = {"uniform guess": 3.0, "majority class": 2.5, "unigram": 2.2, "bigram": 1.9}
    fig = plots.loss_curve(history, references=references)
    assert [t.get_text() for t in fig.legends[0].get_texts()][1:] == list(references)
    curves = {f"v{i}": {0: (0.5 + i / 20, 0.01), 2: (0.6, 0.01)} for i in range(5)}
    fig = plots.layer_transfer(curves, baselines={"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.6})
    assert len(fig.axes[0].containers) == 5 and [t.get_text() for t in fig.legends[0].get_texts()] == [
        "a", "b", "c", "d", *curves]
    fig = plots.lr_finder({"lrs": [1e-5, 1e-4, 1e-3, 1e-2], "losses": [2.0, 1.5, 1.2, 3.0], "suggestion": 1e-4},
                          marks={"run A": 2e-4, "run B": 3e-4, "run C": 5e-4, "run D": 7e-4})
    assert [t.get_text() for t in fig.legends[0].get_texts()][-4:] == ["run A", "run B", "run C", "run D"]
    assert len(plots.lr_schedule({f"s{i}": [1e-4] * 10 for i in range(17)}, 10).axes[0].lines) == 18  # + the end


def test_lr_finder_reads_a_first_loss_of_inf_and_refuses_a_run_that_never_had_a_finite_one():
    fig = plots.lr_finder({"lrs": [1e-5, 1e-4, 1e-3], "losses": [float("inf"), 1.0, 2.0], "suggestion": 1e-4})
    assert all(np.isfinite(fig.axes[0].get_ylim()))
    with pytest.raises(ConfigError, match="lower start_lr"):
        plots.lr_finder({"lrs": [1e-5, 1e-4], "losses": [float("inf")] * 2, "suggestion": 1e-5})


def test_lora_comparison_keeps_every_point_when_one_row_is_a_single_run():
    """A single run's SD is nan (stats.mean_sd_of_a_table): it gets no whisker, and the axis still
    starts below the lowest point (a nan made the start nan, then 0.5, hiding a point at 0.31)."""
    row = dict(trainable=1000, weights=1.0, gradients=1.0, optimizer=2.0, activations=3.0, n=1)
    fig = plots.lora_comparison([{**row, "method": "full fine-tuning", "accuracy": 0.62, "accuracy_sd": float("nan")},
                                 {**row, "method": "LoRA", "accuracy": 0.31, "accuracy_sd": 0.02}])
    accuracy = fig.axes[1]
    assert accuracy.get_ylim()[0] <= 0.29
    assert [t.get_text() for t in accuracy.texts][:2] == ["0.620", "0.310\n± 0.020"]
    mixed = plots.lora_comparison([{**row, "method": "full", "accuracy": 0.62, "accuracy_sd": 0.01, "n": 3},
                                   {**row, "method": "LoRA", "accuracy": 0.61, "accuracy_sd": float("nan")}])
    assert mixed.axes[1].get_ylabel() == "test accuracy (mean ± SD, 1 seed)"  # the fewest, in the singular


def test_label_race_gives_a_method_one_colour_in_every_panel_and_names_every_method():
    panels = {"all notes": {"alpha": {8: (0.6, 0.1)}, "beta": {8: (0.7, 0.1)}},
              "unseen cues": {"beta": {8: (0.5, 0.1)}, "gamma": {8: (0.4, 0.1)}}}
    fig = plots.label_race(panels)
    colours = [{line.get_label(): line.get_color() for line in ax.lines if line.get_label() != "chance"}
               for ax in fig.axes]
    assert colours[0]["beta"] == colours[1]["beta"] and colours[1]["gamma"] not in colours[0].values()
    assert [t.get_text() for t in fig.legends[0].get_texts()][:4] == ["alpha", "beta", "gamma", "chance"]
    # a method named like the reference line keeps its own line in the legend
    named = plots.label_race({"all": {"model": {8: (0.6, 0.1)}, "chance": {8: (0.5, 0.1)}}})
    handles = named.legends[0].legend_handles
    assert handles[1].get_linestyle() == "-" and handles[2].get_linestyle() == ":"


def test_per_layer_draws_a_layer_only_a_later_series_has():
    fig = plots.per_layer({"a": {"layer.0": 1.0, "layer.1": 2.0}, "b": {"layer.0": 1.5, "head": 0.5}}, ylabel="x")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["layer.0", "layer.1", "head"]
    fig = plots.per_layer({"small": {"emb": 1, "layer.0": 1, "head": 1}, "big": {"emb": 1, "layer.0": 1, "layer.1": 1,
                                                                                 "head": 1}}, ylabel="x")
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["emb", "layer.0", "layer.1", "head"]


def test_confusion_plot_writes_shares_to_two_decimals_and_counts_whole():
    shares = plots.confusion_plot(np.array([[0.8, 0.2], [1 / 3, 2 / 3]]), ["cat", "dog"])
    assert [t.get_text() for t in shares.axes[0].texts] == ["0.80", "0.20", "0.33", "0.67"]
    counts = plots.confusion_plot(np.array([[8.0, 2.0], [1.0, 9.0]]), ["cat", "dog"])
    assert [t.get_text() for t in counts.axes[0].texts] == ["8", "2", "1", "9"]
