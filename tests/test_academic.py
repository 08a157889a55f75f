"""The academic notebooks' building blocks, each checked against an independent computation.

Tiny random models keep every test to seconds; the real runs live in notebooks 03 and 04.
"""

import numpy as np
import pytest
import torch
from support import GOOD

from sft_teach import drift, experiments, forgetting, layers, ulmfit


# ---- layers: Yosinski's keep / re-initialise / freeze ---------------------------------------

def test_reinitialise_above_keeps_lower_blocks_and_redraws_the_rest(make_tiny_classifier):
    model = make_tiny_classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers.reinitialise_above(model, 1, seed=5)
    after = model.state_dict()
    for name, value in before.items():
        changed = not torch.equal(value, after[name])
        if "embeddings" in name or "encoder.layer.0." in name or "classifier" in name:
            assert not changed, name
        elif name.endswith("weight") and "LayerNorm" not in name and ("layer.1." in name or "pooler" in name):
            assert changed, name
    fresh = after["bert.encoder.layer.1.attention.self.query.weight"]
    assert abs(float(fresh.std()) - 0.02) < 0.005 and abs(float(fresh.mean())) < 0.005  # N(0, 0.02), as in BERT
    for n in (-1, 3, 1.5):  # 1.5 ended in a TypeError on a slice
        with pytest.raises(ValueError, match=f"n must be between 0 and 2 \\(the number of blocks\\), got {n}"):
            layers.reinitialise_above(model, n)


def test_reinitialised_blocks_start_as_bert_starts_biases_0_and_layernorm_1_and_0(make_tiny_classifier):
    model = make_tiny_classifier()
    with torch.no_grad():  # a trained block's values, so that the reset is seen
        for value in model.parameters():
            value.add_(0.5)
    layers.reinitialise_above(model, 1)
    block = dict(model.bert.encoder.layer[1].named_parameters())
    assert all(torch.equal(v, torch.zeros_like(v)) for k, v in block.items() if k.endswith("bias"))
    norms = [v for k, v in block.items() if "LayerNorm.weight" in k]
    assert norms and all(torch.equal(v, torch.ones_like(v)) for v in norms)
    kept = dict(model.bert.encoder.layer[0].named_parameters())
    assert all(not torch.equal(v, torch.zeros_like(v)) for k, v in kept.items() if k.endswith("bias"))


def test_reinitialise_is_seeded(make_tiny_classifier):
    a = layers.reinitialise_above(make_tiny_classifier(), 0, seed=1).state_dict()
    b = layers.reinitialise_above(make_tiny_classifier(), 0, seed=1).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = layers.reinitialise_above(make_tiny_classifier(), 0, seed=2).state_dict()
    assert not torch.equal(a["bert.encoder.layer.0.attention.self.query.weight"],
                           other["bert.encoder.layer.0.attention.self.query.weight"])
    with pytest.raises(ValueError, match="between 0 and 2"):
        layers.reinitialise_above(make_tiny_classifier(), 3)


@pytest.mark.parametrize("n", [0, 1, 2])
@pytest.mark.parametrize("variant", ["AnB", "AnB+"])
def test_exercise_layer_plan_says_what_layers_does(make_tiny_classifier, n, variant):
    """Notebook 03's exercise answer against the model itself: which groups are re-drawn, which train."""
    from sft_teach import exercise_solutions

    model = make_tiny_classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    layers.reinitialise_above(model, n, seed=3)
    if variant == "AnB":
        layers.freeze_below(model, n)
    groups = {"embeddings": "embeddings.", "pooler": "pooler.", "classifier": "classifier.",
              **{f"layer.{i}": f"encoder.layer.{i}." for i in range(2)}}
    seen = {}
    for group, marker in groups.items():
        named = [(k, p) for k, p in model.named_parameters() if marker in k]
        redrawn = any(not torch.equal(before[k], p) for k, p in named) or group == "classifier"  # a new head
        trains = {p.requires_grad for _, p in named}
        assert len(trains) == 1, group
        seen[group] = f"{'random' if redrawn else 'pretrained'}, {'trained' if trains.pop() else 'frozen'}"
    assert seen == exercise_solutions.layer_plan(n, variant, num_blocks=2)


def test_freeze_below_counts_what_stays_trainable(make_tiny_classifier):
    model = make_tiny_classifier()
    count = layers.freeze_below(model, 1)
    by_hand = sum(p.numel() for n, p in model.named_parameters()
                  if "encoder.layer.1." in n or "pooler" in n or "classifier" in n)
    assert count == by_hand
    assert not any(p.requires_grad for n, p in model.named_parameters() if "embeddings" in n or "layer.0." in n)
    blocks = len(model.bert.encoder.layer)
    for n in (-1, blocks + 1, 1.5):  # all trainable, or all frozen, in silence before
        with pytest.raises(ValueError, match=rf"n must be between 0 and {blocks} \(the number of blocks\), got {n}"):
            layers.freeze_below(model, n)


# ---- drift: weight change and linear CKA -----------------------------------------------------

def _cka_by_kernels(x, y):
    """CKA as HSIC of centred Gram matrices (Kornblith et al. 2019): an independent route."""
    n = len(x)
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = h @ x @ x.T @ h, h @ y @ y.T @ h
    return np.trace(k @ l) / np.sqrt(np.trace(k @ k) * np.trace(l @ l))


def test_linear_cka_matches_the_kernel_definition_and_its_invariances():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 6)), rng.normal(size=(40, 9))
    assert drift.linear_cka(x, y) == pytest.approx(_cka_by_kernels(x, y), rel=1e-9)
    q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert drift.linear_cka(x, 3.0 * x @ q + 1.0) == pytest.approx(1.0)  # rotation, scale, shift
    assert drift.linear_cka(x, x[::-1]) < 0.5  # different inputs: low similarity


def test_linear_cka_refuses_inputs_it_cannot_compare_instead_of_a_numpy_error_or_nan():
    from sft_teach.errors import ConfigError

    x = np.random.default_rng(0).normal(size=(20, 6))
    with pytest.raises(ConfigError, match=r"same inputs, \(n, d1\) and \(n, d2\): got shapes \(20, 6\) and \(19, 6\)"):
        drift.linear_cka(x, x[:19])
    with pytest.raises(ConfigError, match=r"got shapes \(20,\)"):
        drift.linear_cka(x[:, 0], x)
    with pytest.raises(ConfigError, match=r"y is the same for all 20 inputs"):
        drift.linear_cka(x, np.full((20, 3), 0.1))  # a table cell of nan otherwise (0.1: its mean is not exactly 0.1)
    flat = np.ones((20, 3)) + np.random.default_rng(1).normal(size=(20, 3)) * 1e-15  # rounding noise, no variation
    with pytest.raises(ConfigError, match=r"y is the same for all 20 inputs"):
        drift.linear_cka(x, flat)


def test_weight_drift_is_the_relative_frobenius_change(make_tiny_classifier):
    model = make_tiny_classifier()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with torch.no_grad():
        for p in model.bert.encoder.layer[1].parameters():
            p.mul_(1.5)  # every weight of block 1 grows by half: relative change exactly 0.5
    result = drift.weight_drift(before, model)
    assert result["layer.1"] == pytest.approx(0.5) and result["layer.0"] == 0 and result["embeddings"] == 0
    assert "classifier" not in str(result)
    with torch.no_grad():  # the new classifier has no "before": its change is not the head's drift
        model.classifier.weight.mul_(2.0)
    assert drift.weight_drift(before, model)["head"] == 0
    # a group none of whose weights were kept before has no drift to give: left out, not 0 / 0
    without_head = {k: v for k, v in before.items() if "pooler" not in k and "classifier" not in k}
    assert "head" not in drift.weight_drift(without_head, model)
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match="takes the state dict from before training, then the model, got a "
                                          "BertForSequenceClassification first"):
        drift.weight_drift(model, before)  # an AttributeError from inside before


def test_cka_per_layer_of_a_model_with_itself_is_one(make_tiny_classifier, tokenizer):
    model = make_tiny_classifier()
    texts = ["Purrs on the sofa.", "Barks at the gate.", "Sleeps in a box.", "Fetches the ball.", "Hides all day."]
    values = drift.cka_per_layer(model, model, tokenizer, texts)
    assert len(values) == 3 and all(v == pytest.approx(1.0) for v in values)  # embeddings + 2 blocks
    other = make_tiny_classifier(seed=1)  # two different models: each side's own layers, compared layer by layer
    pairs = zip(drift.layer_representations(model, tokenizer, texts), drift.layer_representations(other, tokenizer, texts))
    expected = [drift.linear_cka(x, y) for x, y in pairs]
    assert drift.cka_per_layer(model, other, tokenizer, texts) == pytest.approx(expected)
    assert all(value < 0.999 for value in expected)  # not the same model twice



def test_layer_representations_average_only_each_texts_own_tokens(make_tiny_classifier, tokenizer):
    # Oracle: each text run alone (no padding at all), its tokens' vectors averaged by hand. Texts of
    # different lengths share a padded batch in layer_representations, so a mean over the pad positions
    # too, or one over the wrong axis, gives other numbers.
    model = make_tiny_classifier().train()  # as Trainer leaves a model: dropout on
    texts = ["Purrs.", "Barks at the gate every single morning.",
             "Sleeps in a box by the warm window until the sun has gone down."]
    reps = drift.layer_representations(model, tokenizer, texts)
    assert all(m.training for m in model.modules())  # read without dropout, then left as it was
    assert len({len(tokenizer(t)["input_ids"]) for t in texts}) == 3  # three lengths: padding happens
    in_twos = drift.layer_representations(model, tokenizer, texts, batch_size=2)  # a second, shorter batch
    assert all(a.shape == (3, 32) and np.allclose(a, b, atol=1e-5) for a, b in zip(in_twos, reps))
    model.eval()  # the oracle's own passes, without dropout as layer_representations reads
    with torch.no_grad():
        for i, text in enumerate(texts):
            alone = model.base_model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True).hidden_states
            for k, hidden in enumerate(alone):
                assert reps[k][i] == pytest.approx(hidden[0].mean(dim=0).numpy(), abs=1e-5)


def test_sentence_embeddings_are_each_text_alone_mean_pooled_to_unit_length():
    """Batched by length and padded, each row is still its own text's vector, in the texts' order,
    from the encoder in eval mode (no dropout), not cut short of 128 tokens."""
    from sft_teach import embeddings

    texts = ["Purred.", "Barked at the postman twice before breakfast. " * 5, "Naps on the warm radiator all day."]
    vectors = embeddings.sentence_embeddings(texts, batch_size=2)
    encoder, tokenizer = embeddings.load_encoder("default")
    for text, vector in zip(texts, vectors):
        with torch.no_grad():
            hidden = encoder(**tokenizer(text, return_tensors="pt")).last_hidden_state[0]  # (tokens, hidden)
        alone = hidden.mean(dim=0)
        np.testing.assert_allclose(vector, (alone / alone.norm()).numpy(), atol=1e-5)
    assert len(tokenizer(texts[1])["input_ids"]) > 40
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"takes a list of texts, got one string: e\.g\. \['Purred\.'\]"):
        embeddings.sentence_embeddings("Purred.")  # one vector a letter, before


def test_project_2d_projects_onto_the_axes_of_the_points_it_is_fitted_on():
    from sklearn.decomposition import PCA

    from sft_teach import embeddings

    rng = np.random.default_rng(0)
    points, reference = rng.normal(size=(20, 5)), rng.normal(size=(30, 5)) * [5, 1, 1, 3, 1]
    np.testing.assert_allclose(embeddings.project_2d(points, fit_on=reference),
                               PCA(n_components=2, random_state=0).fit(reference).transform(points))
    np.testing.assert_allclose(embeddings.project_2d(points), PCA(n_components=2, random_state=0).fit_transform(points))
    # one new point onto a map fitted on many is a projection like any other
    np.testing.assert_allclose(embeddings.project_2d(points[:1], fit_on=reference),
                               PCA(n_components=2, random_state=0).fit(reference).transform(points[:1]))


@pytest.mark.parametrize("vectors, fit_on, said", [
    (np.zeros((1, 5)), None, r"fitted on vectors, which needs at least 2 rows and 2 columns .*\(1, 5\)"),
    (np.zeros((6, 1)), None, r"\(6, 1\)"),
    (np.zeros(5), None, r"one vector per row, got the shape \(5,\)"),  # one vector, not a table of them
    (np.zeros((0, 5)), None, r"\(0, 5\)"),
    (np.ones((3, 5)), np.ones((1, 5)), r"fitted on fit_on, which needs"),
    (np.ones((3, 5)), np.ones((4, 6)), "vectors have 5 columns and fit_on 6"),
])
def test_project_2d_refuses_what_has_no_two_directions_in_one_line(vectors, fit_on, said):
    """sklearn spoke of n_components and svd_solver, or of features the learner never named."""
    from sft_teach import embeddings
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=f"project_2d: .*{said}"):
        embeddings.project_2d(vectors, fit_on=fit_on)


def test_mean_pool_leaves_out_the_padded_positions():
    from sft_teach.embeddings import mean_pool

    hidden = torch.arange(24, dtype=torch.float32).reshape(2, 4, 3)  # (batch 2, 4 positions, 3 wide)
    mask = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])  # the first row has 2 real tokens, then padding
    pooled = mean_pool(hidden, mask)
    assert torch.equal(pooled[0], hidden[0, :2].mean(dim=0)) and torch.equal(pooled[1], hidden[1].mean(dim=0))

# ---- forgetting: paraphrase retrieval and AUC ------------------------------------------------


def test_auc_interval_has_the_spread_hanley_and_mcneil_give_in_closed_form():
    """Oracle: Hanley & McNeil (1982), SE^2 = [A(1-A) + (n1-1)(Q1-A^2) + (n2-1)(Q2-A^2)] / (n1 n2),
    Q1 = A/(2-A), Q2 = 2A^2/(1+A); the bootstrap's 95 % interval is about 2 x 1.96 SE wide, holds the
    AUC, and is the same for the same seed."""
    rng = np.random.default_rng(1)
    labels = np.array([1] * 120 + [0] * 120)
    scores = rng.normal(size=240) - 0.25 * labels  # positives slightly lower: an AUC under 0.5
    a = forgetting.auc(scores, labels)
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    se = np.sqrt((a * (1 - a) + 119 * (q1 - a * a) + 119 * (q2 - a * a)) / (120 * 120))
    low, high = forgetting.auc_interval(scores, labels)
    assert low < a < high and (high - low) == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert (low + high) / 2 == pytest.approx(a, abs=0.02)  # centred on the AUC (a percentile interval, near-symmetric)
    assert forgetting.auc_interval(scores, labels) == (low, high)

def test_auc_matches_sklearn():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    scores, labels = rng.normal(size=50).round(1), rng.integers(0, 2, size=50)  # rounding makes ties
    assert forgetting.auc(scores, labels) == pytest.approx(roc_auc_score(labels, scores))
    from sft_teach.errors import ConfigError

    for measure in (forgetting.auc, forgetting.auc_interval):  # nan, or an IndexError, before
        with pytest.raises(ConfigError, match=r"these labels hold only \[1\]"):
            measure([0.2, 0.4], [1, 1])
        with pytest.raises(ConfigError, match=r"one score per pair: got 3 scores and 2 labels"):
            measure([0.2, 0.4, 0.1], [1, 0])


def test_retrieval_at_1_by_hand():
    u = np.eye(4)[:3]                              # three first sentences, orthogonal
    v = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]], dtype=float)
    # pair 0 and pair 2 find their partner; pair 1's partner is orthogonal to it
    assert forgetting.retrieval_at_1(u, v, [1, 1, 1]) == pytest.approx(2 / 3)
    assert forgetting.retrieval_at_1(u, v, [1, 0, 1]) == 1.0
    assert forgetting.retrieval_hits(u, v, [1, 1, 1]).tolist() == [True, False, True]  # pair by pair, in order
    assert forgetting.retrieval_hits(u, v, [1, 0, 1]).tolist() == [True, True]  # only the paraphrase pairs
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"the same pairs, one row each: got 3, 2 and 3"):
        forgetting.retrieval_hits(u, v[:2], [1, 1, 1])  # row n + i would be another pair's partner
    with pytest.raises(ConfigError, match=r"got 3, 3 and 2"):
        forgetting.retrieval_hits(u, v, [1, 1])  # two pairs scored of three, in silence
    # the partner is searched among every other sentence, first sentences too: here pair 0's
    # nearest is the other pair's first sentence, so neither finds its partner
    unit = lambda rows: np.asarray(rows) / np.linalg.norm(rows, axis=1, keepdims=True)
    near = unit([[1, 0, 0], [0.95, 0.3, 0]])
    assert forgetting.retrieval_hits(near, unit([[0.6, 0, 0.8], [0, 0, 1]]), [1, 1]).tolist() == [False, False]


def test_paraphrase_scores_are_the_measures_of_the_body_s_own_sentence_embeddings(make_tiny_classifier, tokenizer):
    """Oracle: the scores recomputed from the body's mean-pooled embeddings of the course's pairs;
    the classifier's own head plays no part, and dropout none (the body is scored in eval mode)."""
    from sft_teach.embeddings import sentence_embeddings
    from sft_teach.errors import ConfigError

    model = make_tiny_classifier()
    model.train()
    scores = forgetting.paraphrase_scores(model, tokenizer)
    first, second, labels = forgetting.paraphrase_pairs()
    body = make_tiny_classifier().base_model.eval()  # the same seed: the same weights, apart
    u, v = sentence_embeddings(first, body, tokenizer), sentence_embeddings(second, body, tokenizer)
    hits = forgetting.retrieval_hits(u, v, labels)
    assert scores["retrieved"].tolist() == hits.tolist() and scores["retrieval"] == pytest.approx(hits.mean())
    assert scores["auc"] == pytest.approx(forgetting.auc((u * v).sum(axis=1), labels))
    assert scores["auc_interval"] == pytest.approx(forgetting.auc_interval((u * v).sum(axis=1), labels))
    with pytest.raises(ConfigError, match="paraphrase_scores: got a pair"):  # an AttributeError before
        forgetting.paraphrase_scores((model, tokenizer), tokenizer)
    with pytest.raises(ConfigError, match="paraphrase_scores: tokenizer must be"):
        forgetting.paraphrase_scores(model, None)


def test_the_paraphrase_pairs_load():
    first, second, labels = forgetting.paraphrase_pairs()
    assert len(first) == len(second) == len(labels) == 240 and labels.sum() == 120


# ---- ulmfit: optimizers, schedules, unfreezing, stage 2 --------------------------------------

def test_optimizers_give_each_layer_its_rate_and_the_chosen_schedule(make_tiny_classifier):
    model = make_tiny_classifier()
    optimizer, scheduler = ulmfit.optimizers(("discriminative", "stlr"), 1e-3)(model, 100)
    rates = [g["initial_lr"] for g in optimizer.param_groups]  # embeddings, layer.0, layer.1, head
    assert rates == pytest.approx([1e-3 / 2.6 ** 3, 1e-3 / 2.6 ** 2, 1e-3 / 2.6, 1e-3])
    assert optimizer.param_groups[0]["lr"] == pytest.approx(rates[0] / 32)  # STLR starts at 1/ratio
    optimizer, scheduler = ulmfit.optimizers((), 1e-3)(model, 100)
    assert len(optimizer.param_groups) == 1 and optimizer.param_groups[0]["lr"] == 0.0  # linear warmup from 0
    with pytest.raises(ValueError, match="unknown technique"):
        ulmfit.optimizers(("dropout",), 1e-3)


def test_a_misspelt_technique_or_one_name_alone_is_refused_by_every_builder(make_tiny_classifier):
    """callbacks() and epochs() skipped an unknown name in silence: a run labelled "gradual unfreezing"
    with the name misspelt would have trained without it, for the plain run's epochs."""
    from sft_teach.errors import ConfigError

    model = make_tiny_classifier()
    builders = {"optimizers": lambda t: ulmfit.optimizers(t, 1e-3), "callbacks": lambda t: ulmfit.callbacks(t, model),
                "epochs": lambda t: ulmfit.epochs(t, model, 4)}
    for name, build in builders.items():
        with pytest.raises(ConfigError, match=r"unknown technique\(s\) \['gradual unfreezing'\]: choose from"):
            build(("stlr", "gradual unfreezing"))
        with pytest.raises(ConfigError, match=r"takes a tuple of names, got 'gradual_unfreezing': e\.g\. \('gradual_unfreezing',\)"):
            build("gradual_unfreezing")
    from sft_teach.models import layer_groups

    assert ulmfit.epochs(["gradual_unfreezing"], model, 4) == 4 + len(layer_groups(model)) - 1
    assert len(ulmfit.callbacks({"gradual_unfreezing"}, model)) == 1


@pytest.mark.parametrize("techniques", [("discriminative", "stlr"), ("stlr",)])
def test_optimizers_schedule_over_the_run_s_steps_with_its_weight_decay(make_tiny_classifier, techniques):
    """STLR peaks at cut_frac of the steps the run has (step 10 of 100) and falls towards 1/ratio of the peak;
    the weight decay asked for reaches every group, with discriminative rates or without."""
    model = make_tiny_classifier()
    optimizer, scheduler = ulmfit.optimizers(techniques, 1e-3, weight_decay=0.05)(model, 100)
    assert {g["weight_decay"] for g in optimizer.param_groups} == {0.05}
    head = []
    for _ in range(100):
        head.append(optimizer.param_groups[-1]["lr"])
        optimizer.step()
        scheduler.step()
    assert int(np.argmax(head)) == 10 and max(head) == pytest.approx(1e-3)
    assert head[-1] == pytest.approx(1e-3 * (1 + (1 - 89 / 90) * 31) / 32)  # Eq. 3 at t = 99: p = 1 - 89/90


def test_gradual_unfreezing_follows_the_paper_head_alone_then_one_group_per_epoch(make_tiny_classifier):
    model = make_tiny_classifier()  # 4 groups: embeddings, layer.0, layer.1, head
    (callback,) = ulmfit.callbacks(("gradual_unfreezing",), model)
    assert [callback.trainable(e) for e in range(3)] == [["head"], ["head", "layer.1"], ["head", "layer.1", "layer.0"]]
    assert callback.trainable(3) == callback.trainable(9) == ["head", "layer.1", "layer.0", "embeddings"]
    # 3 epochs to thaw everything, then the 2 epochs every other configuration trains in all
    assert ulmfit.epochs(("gradual_unfreezing",), model, 2) == 5 and ulmfit.epochs(("stlr",), model, 2) == 2
    assert ulmfit.callbacks(("stlr",), model) == []
    from sft_teach.callbacks import GradualUnfreezing, LivePlotCallback
    from sft_teach.errors import ConfigError

    for per_epoch in (0, -1, 1.5):  # 0 thawed no group, ever: a run that trained nothing, in silence
        with pytest.raises(ConfigError, match=f"groups_per_epoch= .* at least 1, got {per_epoch}: the paper's is 1"):
            GradualUnfreezing(model, groups_per_epoch=per_epoch)
    with pytest.raises(ConfigError, match="LivePlotCallback\\(every=\\) .* at least 1, got 0"):
        LivePlotCallback(every=0)  # a ZeroDivisionError at the first logged loss


@pytest.mark.slow
def test_lm_finetune_lowers_the_masked_lm_loss(tiny_model_dir, tmp_path):
    texts = [t for t, _ in GOOD]
    out = ulmfit.lm_finetune(texts, tmp_path / "lm", model=str(tiny_model_dir), num_train_epochs=15,
                             learning_rate=2e-3, batch_size=8, eval_texts=texts[:6])
    assert out["steps"] == 15 * 3 and out["loss_after"] < out["loss_before"]
    assert (tmp_path / "lm" / "model.safetensors").is_file()
    # the classifier loaded from stage 2 differs from one loaded from the checkpoint only in what
    # stage 2 trained: the checkpoint's own pooler (a masked LM has none), a body that moved
    from sft_teach.models import load_classifier

    staged, _ = load_classifier(str(tmp_path / "lm"), ["cat", "dog"])
    original, _ = load_classifier(str(tiny_model_dir), ["cat", "dog"])
    for name, value in original.bert.pooler.state_dict().items():
        torch.testing.assert_close(staged.bert.pooler.state_dict()[name], value, msg=name)
    moved = [name for name, value in original.bert.encoder.state_dict().items()
             if not torch.equal(staged.bert.encoder.state_dict()[name], value)]
    assert len(moved) == len(original.bert.encoder.state_dict())


def test_lm_finetune_refuses_what_it_cannot_train_or_measure_on(tiny_model_dir, tmp_path):
    from sft_teach.errors import ConfigError, DataError

    cases = [(dict(texts=[]), DataError, "no texts to train on"),  # a ZeroDivisionError before
             (dict(texts=["Purred."] * 4, num_train_epochs=0), ConfigError, "epochs .* greater than 0, got 0"),
             (dict(texts=["Purred."] * 4, mlm_probability=1.5), ConfigError, "mlm_probability= .* got 1.5"),
             # one short text: its letters were the texts before; now no token of it is chosen, and a
             # loss of no token is nan: said, not reported as the loss before and after
             (dict(texts="Purred."), DataError, "too short for any of their tokens to be chosen \\(15% are\\)")]
    for settings, error, said in cases:
        with pytest.raises(error, match=f"lm_finetune.*{said}" if error is DataError else said):
            ulmfit.lm_finetune(output_dir=tmp_path / "lm", model=str(tiny_model_dir), **settings)


# ---- experiments: one run, and the table helpers ---------------------------------------------

def test_train_classifier_runs_each_variant(tiny_model_dir, small_dataset):
    test = np.asarray(small_dataset["test"]["label"])
    for options in ({}, {"start": "scratch"}, {"keep": 1, "freeze": 1}, {"techniques": ulmfit.TECHNIQUES},
                    experiments.ablation_configs()[experiments.LENGTH_CONTROL]):
        row = experiments.train_classifier(small_dataset, 0, model=str(tiny_model_dir), num_train_epochs=2,
                                           batch_size=4, **options)
        assert 0 <= row["accuracy"] <= 1 and row["seconds"] > 0, options
        assert len(row["correct"]) == len(test) and row["correct"].count("1") == round(row["accuracy"] * len(test))
        assert 0 <= row["validation_accuracy"] <= 1
        validation = len(small_dataset["validation"])
        assert row["validation_correct"].count("1") == round(row["validation_accuracy"] * validation)
        # gradual unfreezing: 3 epochs to thaw the tiny model's 4 groups, then the 2 of the others;
        # the length control trains as long, without unfreezing
        assert row["epochs"] == (5 if options.get("techniques") or options.get("epochs_like") else 2), options


def test_recipe_learning_rates_scores_each_rate_and_seed(tiny_model_dir, small_dataset, monkeypatch):
    from sft_teach import training

    trained_with, real = [], training.finetune_quietly

    def recording(*args, **kwargs):  # each run really trains at the rate and seed its row names
        trained_with.append((kwargs["learning_rate"], kwargs["seed"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "finetune_quietly", recording)
    rows = experiments.recipe_learning_rates(small_dataset, learning_rates=(1e-4, 1e-3), seeds=(0, 1),
                                             model=str(tiny_model_dir), num_train_epochs=1, batch_size=4)
    assert [(r["learning_rate"], r["seed"]) for r in rows] == [(1e-4, 0), (1e-4, 1), (1e-3, 0), (1e-3, 1)] == trained_with
    for row in rows:
        assert len(row["validation_correct"]) == len(small_dataset["validation"])
        assert row["correct"].count("1") == round(row["accuracy"] * len(small_dataset["test"]))


def test_ablation_configs_and_their_rate_grids():
    configs = experiments.ablation_configs()
    assert [c["techniques"] for c in list(configs.values())[:5]] == list(experiments.ABLATION.values())
    assert configs[experiments.LENGTH_CONTROL] == {"epochs_like": ("gradual_unfreezing",)}
    assert list(experiments.ablation_configs(length_control=False)) == list(experiments.ABLATION)
    grids = {name: experiments.learning_rate_grid(c) for name, c in configs.items()}
    assert grids["+ discriminative"] == grids["all three"] == experiments.DISCRIMINATIVE_LEARNING_RATES
    assert grids["plain fine-tuning"] == grids["+ gradual unfreezing"] == grids[experiments.LENGTH_CONTROL] \
        == experiments.LEARNING_RATES
    # one step of the grid higher: every rate of the discriminative grid is the next one of the other
    assert experiments.DISCRIMINATIVE_LEARNING_RATES[:-1] == experiments.LEARNING_RATES[1:]


def test_tuned_table_chooses_the_rate_on_validation_never_on_test(small_dataset):
    calls = []

    def run(part, seed, rate):  # validation best at 1e-3, test best at 1e-4: the choice must follow validation
        calls.append((seed, rate))
        return {"accuracy": {1e-4: 0.9, 1e-3: 0.5}[rate], "validation_accuracy": {1e-4: 0.4, 1e-3: 0.8}[rate],
                "correct": "1"}

    rows = experiments._tuned_table({"m": run}, (0, 1, 2), None, small_dataset, (1e-4, 1e-3), selection_seeds=(0, 1))
    assert sorted(calls) == [(0, 1e-4), (0, 1e-3), (1, 1e-4), (1, 1e-3), (2, 1e-3)]
    assert [(r["seed"], r["learning_rate"]) for r in experiments.chosen(rows)] == [(0, 1e-3), (1, 1e-3), (2, 1e-3)]
    assert all(r["method"] == "m" and r["per_class"] is None for r in rows)
    # a tie on validation goes to the smaller rate; an untuned method's rows are all its chosen ones
    tied = experiments._tuned_table({"m": lambda part, seed, rate: {"validation_accuracy": 0.5, "correct": "1"}},
                                    (0, 1), None, small_dataset, (1e-4, 1e-3), selection_seeds=(0, 1))
    assert {r["learning_rate"] for r in experiments.chosen(tied)} == {1e-4}
    assert experiments.chosen([{"method": "TF-IDF"}, {"method": "m", "chosen": False}]) == [{"method": "TF-IDF"}]


def test_subset_takes_per_class_notes_of_every_class_drawn_by_the_seed(small_dataset):
    classes = len(small_dataset["train"].features["label"].names)
    part = experiments.subset(small_dataset, 2, seed=0)["train"]
    assert len(part) == 2 * classes and sorted(set(part["label"])) == list(range(classes))
    other = experiments.subset(small_dataset, 2, seed=1)["train"]
    assert part["text"] != other["text"]
    assert experiments.subset(small_dataset, None, seed=0) is small_dataset
    from collections import Counter

    from sft_teach.errors import ConfigError

    counts = Counter(small_dataset["train"]["label"])
    smallest = min(counts.values())
    assert len(experiments.subset(small_dataset, smallest, seed=0)["train"]) == smallest * classes
    # more than a class has gave fewer notes than asked, under the number asked for; 2.5 and 0 too
    for per_class in (smallest + 1, 2.5, 0):
        with pytest.raises(ConfigError, match=rf"from 1 to {smallest} \(the smallest class, '\w+', has {smallest} "
                                              rf"training examples\), got {per_class!r}"):
            experiments.subset(small_dataset, per_class, seed=0)


def test_paired_lines_up_seeds_and_items():
    rows = [{"method": "a", "per_class": 8, "seed": s, "correct": c} for s, c in ((1, "1100"), (0, "1110"))]
    rows += [{"method": "b", "per_class": 8, "seed": s, "correct": c} for s, c in ((0, "1000"), (1, "0100"))]
    out = experiments.paired(rows, "a", "b", per_class=8)
    assert (out.seeds, out.items) == (2, 4)
    assert out.mean_a == pytest.approx((0.75 + 0.5) / 2) and out.difference == pytest.approx(0.375)
    assert out.a_ahead == 2 and out.names == ("a", "b")
    with pytest.raises(ValueError, match="same seeds"):
        experiments.paired(rows[:3], "a", "b")
    with pytest.raises(ValueError, match="same seeds"):  # as many seeds, but not the same ones
        experiments.paired(rows + [{"method": "a", "per_class": 8, "seed": 2, "correct": "1111"},
                                   {"method": "b", "per_class": 8, "seed": 3, "correct": "1111"}], "a", "b")
    # where= picks the rows: other per_class rows of the same methods are left out
    other = [{**r, "per_class": 16, "correct": "0000"} for r in rows]
    assert experiments.paired(rows + other, "a", "b", per_class=8).difference == pytest.approx(0.375)
    with pytest.raises(ValueError, match=r"no runs of 'c': the rows' methods are \['a', 'b'\]"):
        experiments.paired(rows, "a", "c")  # a misspelt method: "ran with seeds []" said nothing of the name
    with pytest.raises(ValueError, match=r"no runs of 'a' with per_class=32: the rows' methods are"):
        experiments.paired(rows, "a", "b", per_class=32)


def test_paired_passes_its_confidence_to_both_intervals():
    """A Bonferroni-corrected comparison (notebook 06) widens both intervals as paired_over_seeds does."""
    from sft_teach.stats import paired_over_seeds

    rows = [{"method": m, "seed": s, "correct": "".join("1" if (i * (s + 3) + len(m)) % 5 else "0" for i in range(40))}
            for m in ("a", "bb") for s in range(4)]
    rows = [{**r, "correct": ("1" * 6 + r["correct"][6:]) if r["method"] == "a" else r["correct"]} for r in rows]
    matrix = lambda m: np.array([[c == "1" for c in r["correct"]] for r in rows if r["method"] == m])
    usual, strict = experiments.paired(rows, "a", "bb"), experiments.paired(rows, "a", "bb", confidence=0.995)
    assert usual.confidence == 0.95 and strict.confidence == 0.995
    assert strict == paired_over_seeds(matrix("a"), matrix("bb"), names=("a", "bb"), confidence=0.995)
    assert strict.low < usual.low and strict.seed_low < usual.seed_low and strict.seed_high > usual.seed_high


def test_right_wrong_marks_each_item_1_when_right():
    assert experiments.right_wrong([0, 1, 1, 2], np.array([0, 0, 1, 1])) == "1010"


def test_mean_std_groups_by_hand():
    rows = [{"method": "a", "per_class": 4, "accuracy": x} for x in (0.5, 0.7)] + [
        {"method": "b", "per_class": 4, "accuracy": 0.9}]
    out = experiments.mean_std(rows)  # the sample SD: sqrt(((0.5-0.6)^2 + (0.7-0.6)^2) / (2 - 1))
    assert out[0] == {"method": "a", "per_class": 4, "mean": pytest.approx(0.6), "sd": pytest.approx(0.02 ** 0.5), "n": 2}
    assert out[1]["mean"] == 0.9 and out[1]["n"] == 1 and np.isnan(out[1]["sd"])
    by_f1 = experiments.mean_std([{**r, "macro_f1": r["accuracy"] / 2} for r in rows], value="macro_f1")
    assert by_f1[0]["mean"] == pytest.approx(0.3)
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match="a row has no 'accurcy'; its keys are 'method', 'per_class', 'accuracy'"):
        experiments.mean_std(rows, value="accurcy")
    with pytest.raises(ConfigError, match="by= takes a tuple of keys, e.g. by=\\('method',\\)"):
        experiments.mean_std(rows, by="method")  # else grouped by the letters m, e, t, h, o, d


def test_feature_extraction_embeds_a_repeated_split_once_and_scores_as_without_the_cache(
        tiny_model_dir, small_dataset, monkeypatch):
    from datasets import DatasetDict

    from sft_teach import embeddings, experiments
    from sft_teach.baselines import embedding_head
    from sft_teach.metrics import scores

    experiments._embedded.cache_clear()
    experiments._frozen_encoder.cache_clear()
    calls = []
    real = embeddings.sentence_embeddings
    monkeypatch.setattr(embeddings, "sentence_embeddings", lambda texts, *a, **k: calls.append(len(texts)) or real(texts, *a, **k))
    model = str(tiny_model_dir)
    train = small_dataset["train"]
    halves = [DatasetDict({**small_dataset, "train": train.select(range(i, len(train), 2))}) for i in (0, 1)]
    got = [experiments.feature_extraction(d, model=model) for d in halves]
    # each half's train notes once, the shared test and validation splits once (not once per call)
    assert sorted(calls) == sorted([len(halves[0]["train"]), len(halves[1]["train"]), len(small_dataset["test"]),
                                    len(small_dataset["validation"])])
    # the same scores as embedding everything afresh
    encoder, tokenizer = embeddings.load_encoder(model)
    for d, row in zip(halves, got):
        head = embedding_head(real(d["train"]["text"], encoder, tokenizer), d["train"]["label"])
        expected = scores(np.asarray(d["test"]["label"]), head.predict(real(d["test"]["text"], encoder, tokenizer)))
        assert {k: row[k] for k in expected} == expected
    experiments._embedded.cache_clear()
    experiments._frozen_encoder.cache_clear()


def test_every_sweep_the_notebooks_load_is_saved_with_the_command_that_made_it():
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "academic.py"
    spec = importlib.util.spec_from_file_location("academic", path)
    academic = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(academic)
    for name in academic.SWEEPS:
        saved = experiments.load_sweep(name)
        assert saved["command"] == f"python benchmarks/academic.py --only {name}" and saved["rows"], name


def test_the_forgetting_sweep_rows_agree_with_their_pairs():
    """Each row's retrieval is the share of its pairs found; the pretrained encoder is the same in every seed."""
    rows = experiments.load_sweep("lora_forgetting")["rows"]
    assert sorted({r["method"] for r in rows}) == sorted(["pretrained", "full fine-tuning", "LoRA r=4 (merged)"])
    for row in rows:
        assert len(row["correct"]) == 120 and row["accuracy"] == pytest.approx(row["correct"].count("1") / 120)
    assert len({r["correct"] for r in rows if r["method"] == "pretrained"}) == 1
    assert sorted(r["seed"] for r in rows if r["method"] == "full fine-tuning") == [0, 1, 2, 3, 4]


def test_the_recipes_record_agrees_with_its_rows_and_with_results_md():
    """benchmarks/run.py --only recipes writes RESULTS.md's section and results/recipes.json in one run:
    each row's accuracy is the share of its 1s, and the table's means are the rows' means."""
    import re
    from pathlib import Path

    from sft_teach.stats import mean_sd

    record = experiments.load_sweep("recipes")
    assert record["command"] == "python benchmarks/run.py --only recipes"
    rows, seeds = record["rows"], record["settings"]["seeds"]
    section = (Path(__file__).resolve().parent.parent / "benchmarks" / "RESULTS.md").read_text().split("<!-- recipes -->")[1]
    for name, items in (("pets", 180), ("clinic", 232)):
        table = section.split(f"### {name}")[1]
        for method in ("plain", "best"):
            runs = sorted((r for r in rows if r["data"] == name and r["method"] == method), key=lambda r: seeds.index(r["seed"]))
            assert [r["seed"] for r in runs] == seeds
            for run in runs:
                assert len(run["correct"]) == items and run["accuracy"] == pytest.approx(run["correct"].count("1") / items)
                assert (run["unseen_correct"] is None) == (name != "pets")
            mean, sd = mean_sd([r["accuracy"] for r in runs])
            assert re.search(rf"\| {method} \| {mean:.3f} ± {sd:.3f} \|", table), (name, method)


def test_paired_takes_right_and_wrong_as_strings_or_booleans_and_refuses_two_runs_of_a_seed():
    """``correct`` as right_wrong writes it or as booleans gives the same comparison (booleans were
    read as all wrong); two runs of one method and seed (two rates) are refused, not one kept."""
    rows = [{"method": m, "seed": s, "correct": c}
            for m, s, c in [("a", 1, "1101"), ("a", 2, "1110"), ("b", 1, "0001"), ("b", 2, "1000")]]
    as_bools = [{**r, "correct": [ch == "1" for ch in r["correct"]]} for r in rows]
    assert experiments.paired(rows, "a", "b").difference == experiments.paired(as_bools, "a", "b").difference == 0.5
    with pytest.raises(ValueError, match="right or wrong"):
        experiments.paired([{**r, "correct": "1x01"} for r in rows], "a", "b")
    twice = rows + [{"method": "a", "seed": 1, "correct": "0000", "learning_rate": 1e-3}]
    with pytest.raises(ValueError, match="two runs with seed 1 .they differ in learning_rate"):
        experiments.paired(twice, "a", "b")


def test_reading_a_model_leaves_its_mode_and_the_global_generator_as_the_caller_had_them(make_tiny_classifier,
                                                                                         tokenizer):
    """cka_per_layer and paraphrase_scores left a trained model's body in eval mode (its head in train
    mode); reinitialise_above reseeded torch's global generator, so the caller's next draw was the same
    whatever they had seeded. The vectors are still read without dropout."""
    from sft_teach.embeddings import sentence_embeddings

    model = make_tiny_classifier().train()
    drift.cka_per_layer(model, model, tokenizer, ["a cat on the mat", "a dog in the park", "rain again today"])
    once = sentence_embeddings(["a cat on the mat"], model.base_model, tokenizer)
    assert all(m.training for m in model.modules())
    assert np.array_equal(once, sentence_embeddings(["a cat on the mat"], model.base_model, tokenizer))  # no dropout
    model.bert.embeddings.eval()  # a caller's own mix of modes is kept too
    forgetting_scores = forgetting.paraphrase_scores(model, tokenizer)
    assert 0 <= forgetting_scores["auc"] <= 1
    assert not model.bert.embeddings.training and model.bert.encoder.training and model.classifier.training

    draws = []
    for caller_seed in (123, 456):
        torch.manual_seed(caller_seed)
        layers.reinitialise_above(model, 1, seed=0)
        draws.append(torch.rand(1).item())
    torch.manual_seed(123)
    assert draws[0] == torch.rand(1).item() and draws[0] != draws[1]
    fresh = [layers.reinitialise_above(make_tiny_classifier(), 1, seed=0).bert.encoder.layer[1].output.dense.weight
             for _ in range(2)]
    assert torch.equal(*fresh)  # still seeded: the same fresh weights every time


def test_sentence_embeddings_refuses_an_encoder_without_its_tokenizer():
    from sft_teach.embeddings import sentence_embeddings
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match="encoder without its tokenizer"):
        sentence_embeddings(["a cat"], torch.nn.Identity())
    with pytest.raises(ConfigError, match="tokenizer without its encoder"):
        sentence_embeddings(["a cat"], tokenizer=object())
