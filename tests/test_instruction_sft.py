"""Instruction SFT pieces, each against an independent computation.

* the chat template (Jinja, in the tokenizer) against ``sft_teach.chat.render`` (plain Python);
* prompt-loss masking against ``F.cross_entropy(ignore_index=-100)``, a hand-written sum of
  log-probabilities, the model's own loss, and what ``trl``'s ``SFTTrainer`` prepares and computes;
* packing, left-padded batched generation and answer ranking against one-at-a-time versions;
* generation stops at the template's end-of-turn token when the tokenizer's ``eos_token`` is
  another one (a base model's), shown on a model built to write past it;
* a base model without chat tokens is made ready for chat SFT by ``tiny_lm.load_causal_lm``;
* the validation split and the per-model SFT settings.

Models are tiny random GPT-2s on a tokenizer learned from a few hundred course texts.
"""

from __future__ import annotations

import tempfile

import pytest
import torch
import torch.nn.functional as F

from sft_teach import chat, instruct, masking, tiny_lm

CONVERSATIONS = [
    chat.to_messages("Cat or dog?", "Kneads the blanket before every nap.", "cat"),
    chat.to_messages("Which desk should this go to?", "Can I book a nail clip for Thursday?", "grooming"),
    chat.to_messages("Give this note a title.", "", "Morning walk in the rain"),
]


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_lm.train_tokenizer(tiny_lm.course_text()[:400], vocab_size=600)


@pytest.fixture
def model(tokenizer):
    return tiny_lm.tiny_gpt2(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=192, seed=0)


def test_template_equals_plain_python_rendering(tokenizer):
    for messages in CONVERSATIONS:
        assert tokenizer.apply_chat_template(messages, tokenize=False) == chat.render(messages)
        prompt = tokenizer.apply_chat_template(messages[:-1], tokenize=False, add_generation_prompt=True)
        assert prompt == chat.render(messages[:-1], add_generation_prompt=True)
        assert prompt.endswith("<|im_start|>assistant\n")
    assert chat.to_messages("Title?", "")[0]["content"] == "Title?"  # no blank line for an empty input
    assert CONVERSATIONS[0][0]["content"] == "Cat or dog?\n\nKneads the blanket before every nap."


def test_special_tokens_are_single_tokens(tokenizer):
    ids = tokenizer.apply_chat_template(CONVERSATIONS[0], tokenize=True, return_dict=True)["input_ids"]
    tokens = tokenizer.convert_ids_to_tokens(ids)
    assert tokens.count("<|im_start|>") == 2 and tokens.count("<|im_end|>") == 2
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|pad|>"


def test_build_example_masks_exactly_the_prompt(tokenizer):
    for messages in CONVERSATIONS:
        example = masking.build_example(tokenizer, messages)
        prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True,
                                               return_dict=True)["input_ids"]
        assert example["labels"][:len(prompt)] == [-100] * len(prompt)
        assert example["labels"][len(prompt):] == example["input_ids"][len(prompt):]
        answer = tokenizer.decode(example["input_ids"][len(prompt):])
        assert answer == messages[-1]["content"] + "<|im_end|>\n"
        unmasked = masking.build_example(tokenizer, messages, masked=False)
        assert unmasked["labels"] == unmasked["input_ids"] == example["input_ids"]


@pytest.mark.parametrize("messages", ["Cat or dog?", {"role": "user", "content": "Cat or dog?"},
                                      [{"role": "user"}], [{"role": "user", "content": None}]])
def test_render_refuses_what_is_not_a_list_of_messages(messages):
    """A KeyError, a TypeError, or the text "None" rendered as the user's words, before."""
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=r"render takes a list of messages, each \{'role': \.\.\., 'content': \.\.\.\}"):
        chat.render(messages)


def test_a_row_missing_its_texts_is_named_not_a_key_or_attribute_error():
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match="^to_messages: instruction must be text, got NoneType None$"):
        chat.to_messages(None)  # a missing cell of a data file
    with pytest.raises(ConfigError, match="^to_messages: response must be text, got int 3$"):
        chat.to_messages("Cat or dog?", "Purrs.", 3)
    with pytest.raises(ConfigError, match="^prompt_completion: a row has no 'response'; its keys are 'instruction', 'input'$"):
        chat.prompt_completion({"instruction": "Cat or dog?", "input": "Purrs."})
    row = {"instruction": "Cat or dog?", "input": None, "response": "cat"}  # no input: None as well as ""
    assert chat.prompt_completion(row) == {"prompt": chat.to_messages("Cat or dog?"),
                                           "completion": [{"role": "assistant", "content": "cat"}]}


def test_a_template_that_renders_the_prompt_differently_is_refused(tokenizer):
    odd = tokenizer.__class__.from_pretrained  # keep the fixture untouched: work on a copy
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        copy = odd(folder)
    copy.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}>>{% endif %}"
    with pytest.raises(ValueError, match="cannot be located"):
        masking.build_example(copy, CONVERSATIONS[0])


def test_a_conversation_without_the_answer_last_is_refused_in_one_line(tokenizer):
    """The tokenizer said "an empty conversation" of a question with no answer; a dict alone was
    read as its keys."""
    from sft_teach.errors import ConfigError

    question = chat.to_messages("Cat or dog?", "Purred all night.")
    for messages, roles in ((question, r"\['user'\]"), ([], r"\[\]"), (CONVERSATIONS[0][::-1], r"\['assistant', 'user'\]"),
                            (CONVERSATIONS[0][0], r"\['str', 'str'\]")):
        with pytest.raises(ConfigError, match=rf"ends with the assistant's answer, .* got roles {roles}"):
            masking.build_example(tokenizer, messages)


def test_collator_pads_ids_labels_and_mask(tokenizer):
    examples = [masking.build_example(tokenizer, m) for m in CONVERSATIONS]
    batch = masking.MaskingCollator(tokenizer.pad_token_id)(examples)
    longest = max(len(e["input_ids"]) for e in examples)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape == (3, longest)
    for row, e in enumerate(examples):
        n = len(e["input_ids"])
        assert batch["attention_mask"][row].tolist() == [1] * n + [0] * (longest - n)
        assert batch["labels"][row, n:].eq(-100).all() and batch["input_ids"][row, n:].eq(tokenizer.pad_token_id).all()


def test_masked_loss_equals_cross_entropy_by_hand_and_the_models_own(tokenizer, model):
    batch = masking.MaskingCollator(tokenizer.pad_token_id)([masking.build_example(tokenizer, m) for m in CONVERSATIONS])
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        ours = masking.masked_loss(logits, batch["labels"])
        own = model(**batch).loss
    # by hand: -log p(token t+1 | tokens <= t), averaged over positions whose label is kept
    total, count = 0.0, 0
    for b in range(logits.size(0)):
        for t in range(logits.size(1) - 1):
            target = int(batch["labels"][b, t + 1])
            if target != -100:
                total -= torch.log_softmax(logits[b, t].double(), dim=-1)[target].item()
                count += 1
    assert count == int((batch["labels"][:, 1:] != -100).sum()) > 0
    reference = F.cross_entropy(logits[:, :-1].reshape(-1, logits.size(-1)), batch["labels"][:, 1:].reshape(-1),
                                ignore_index=-100)
    assert ours.item() == pytest.approx(total / count, rel=1e-5)
    torch.testing.assert_close(ours, reference)
    torch.testing.assert_close(ours, own)


@pytest.mark.parametrize("masked", [True, False])
def test_trl_prepares_the_same_labels_and_computes_the_same_loss(tokenizer, model, masked):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    rows = [{"instruction": m[0]["content"], "input": "", "response": m[1]["content"]} for m in CONVERSATIONS]
    dataset = Dataset.from_list([chat.prompt_completion(r) for r in rows])
    with tempfile.TemporaryDirectory() as scratch:
        trainer = SFTTrainer(model=model, train_dataset=dataset, processing_class=tokenizer,
                             args=SFTConfig(output_dir=scratch, completion_only_loss=masked, report_to="none",
                                            bf16=False, gradient_checkpointing=False, pad_to_multiple_of=None))
    ours = [masking.build_example(tokenizer, chat.to_messages(r["instruction"], "", r["response"]), masked=masked)
            for r in rows]
    prepared = list(trainer.train_dataset)
    assert [p["input_ids"] for p in prepared] == [o["input_ids"] for o in ours]
    assert [p["labels"] for p in prepared] == [o["labels"] for o in ours]
    batch = trainer.data_collator([{k: p[k] for k in ("input_ids", "labels")} for p in prepared])
    model.eval()
    with torch.no_grad():
        theirs = trainer.compute_loss(model, dict(batch))
        mine = masking.MaskingCollator(tokenizer.pad_token_id)(ours)
        logits = tiny_lm.fresh_copy(model)(input_ids=mine["input_ids"], attention_mask=mine["attention_mask"]).logits
    torch.testing.assert_close(theirs, masking.masked_loss(logits, mine["labels"]), atol=1e-5, rtol=1e-5)


def test_fresh_copy_is_independent_of_a_model_trl_rewired(tokenizer, model):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    dataset = Dataset.from_list([chat.prompt_completion({"instruction": "Cat or dog?", "input": "", "response": "cat"})])
    with tempfile.TemporaryDirectory() as scratch:
        SFTTrainer(model=model, train_dataset=dataset, processing_class=tokenizer,
                   args=SFTConfig(output_dir=scratch, report_to="none", bf16=False, gradient_checkpointing=False))
    copy = tiny_lm.fresh_copy(model)
    assert "forward" in model.__dict__ and "forward" not in copy.__dict__
    with torch.no_grad():
        for p in copy.parameters():
            p.add_(1.0)
    ids = torch.tensor([[5, 6, 7]])
    with torch.no_grad():
        assert not torch.allclose(copy(input_ids=ids).logits, model(input_ids=ids).logits)


def test_random_like_is_the_architecture_with_fresh_seeded_weights(tokenizer, model):
    """Notebook 07's start from random weights: for the tiny model, tiny_gpt2's weights exactly, whatever
    the model has learnt since."""
    fresh = tiny_lm.random_like(model, seed=0)
    reference = tiny_lm.tiny_gpt2(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=192, seed=0).state_dict()
    assert type(fresh) is type(model) and fresh.config.to_dict() == model.config.to_dict()
    assert all(torch.equal(p, reference[name]) for name, p in fresh.state_dict().items())
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)  # a model that has moved from its initialisation
    again = tiny_lm.random_like(model, seed=0).state_dict()
    assert all(torch.equal(p, reference[name]) for name, p in again.items())


def test_pack_joins_texts_and_cuts_equal_blocks(tokenizer):
    texts = tiny_lm.course_text()[:50]
    blocks = tiny_lm.pack(texts, tokenizer, block_size=32)
    stream = [i for ids in tokenizer(texts, add_special_tokens=False)["input_ids"] for i in ids + [tokenizer.bos_token_id]]
    assert all(len(b) == 32 for b in blocks) and len(blocks) == len(stream) // 32
    assert [i for b in blocks for i in b] == stream[:len(blocks) * 32]
    # a string is one text, as held_out_loss reads it: its letters, one text each, padded the
    # stream with an end-of-text token after every letter
    one = " ".join(texts)
    assert tiny_lm.pack(one, tokenizer, block_size=8) == tiny_lm.pack([one], tokenizer, block_size=8)
    assert tiny_lm.pack([], tokenizer, block_size=8) == []
    from sft_teach.errors import ConfigError

    for size in (0, 1, 2.5):  # 0 ended in range(); a block of 1 has no next token to predict
        with pytest.raises(ConfigError, match=f"block_size= must be a whole number of tokens, at least 2, got {size}"):
            tiny_lm.pack(texts, tokenizer, block_size=size)


def test_batched_generation_equals_one_at_a_time(tokenizer, model):
    prompts = [m[:-1] for m in CONVERSATIONS]
    together = instruct.generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=3)
    alone = [instruct.generate(model, tokenizer, [p], max_new_tokens=5)[0] for p in prompts]
    assert together == alone
    model.train()  # as Trainer leaves it: generation and the losses read it without dropout, and leave it so
    assert instruct.generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=3) == together
    assert model.training
    model.eval()


def test_choice_accuracy_ranks_answers_by_log_probability(tokenizer, model):
    from datasets import Dataset

    rows = Dataset.from_list([{"task": "animal", "instruction": "Cat or dog?", "input": t, "response": r}
                              for t, r in [("Purrs on the radiator.", "cat"), ("Fetched the ball.", "dog")]])
    model.eval()
    expected = []
    for row in rows:
        scores = {}
        for option in ("cat", "dog"):
            example = masking.build_example(tokenizer, chat.to_messages(row["instruction"], row["input"], option))
            with torch.no_grad():
                logits = model(input_ids=torch.tensor([example["input_ids"]])).logits[0]
            scores[option] = sum(torch.log_softmax(logits[t - 1], -1)[example["input_ids"][t]].item()
                                 for t, label in enumerate(example["labels"]) if label != -100)
        expected.append(max(scores, key=scores.get))
    result = instruct.choice_accuracy(model, tokenizer, rows, {"animal": ["cat", "dog"]})
    assert result["picked"] == expected
    assert result["animal"] == result["all"] == sum(e == r for e, r in zip(expected, rows["response"])) / 2


def test_choice_accuracy_sums_only_the_answer_s_tokens_when_answers_differ_in_length(tokenizer, model):
    """Answers of different lengths are padded together: the padding and the shared prompt must not count."""
    from datasets import Dataset

    options = ["grooming", "lost and found", "billing"]
    rows = Dataset.from_list([{"task": "desk", "instruction": "Which desk should this go to?", "input": t,
                               "response": r} for t, r in [("Can I book a nail clip?", "grooming"),
                                                           ("Found a grey cat collar.", "lost and found"),
                                                           ("Was I charged twice?", "billing")]])
    model.eval()
    expected = []
    for row in rows:  # each answer alone, unpadded: the sum over its own tokens (label not -100)
        scores = []
        for option in options:
            example = masking.build_example(tokenizer, chat.to_messages(row["instruction"], row["input"], option))
            with torch.no_grad():
                logp = torch.log_softmax(model(input_ids=torch.tensor([example["input_ids"]])).logits[0], -1)
            scores.append(sum(logp[t - 1, example["input_ids"][t]].item()
                              for t, label in enumerate(example["labels"]) if label != -100))
        expected.append(scores)
    result = instruct.choice_accuracy(model, tokenizer, rows, {"desk": options})
    assert len({len(tokenizer(o)["input_ids"]) for o in options}) > 1  # the answers differ in length
    for got, want in zip(result["scores"], expected):
        assert got == pytest.approx(want, rel=1e-4)
    assert result["picked"] == [options[max(range(3), key=s.__getitem__)] for s in expected]


def test_answers_are_right_only_when_they_are_the_answer_case_aside(monkeypatch):
    """Exact match: 'a dog' is not 'dog', though it contains it; 'Cat' is 'cat'."""
    from datasets import Dataset

    rows = Dataset.from_list([{"task": "animal", "instruction": "Cat or dog?", "input": t, "response": r}
                              for t, r in [("Purrs.", "cat"), ("Barks.", "dog"), ("Hisses.", "cat")]])
    monkeypatch.setattr(instruct, "generate", lambda *a, **k: ["cat", "a dog", "Cat"])
    result = instruct.answer_accuracy(None, None, rows, tasks=("animal",))
    assert result["correct"] == [True, False, True] and result["animal"] == pytest.approx(2 / 3)


def test_the_measures_refuse_a_task_the_data_lacks_and_generate_refuses_one_conversation(tokenizer, model):
    """A misspelt task scored nan in silence, one task as a string was read as its letters, and one
    conversation where a list of them goes ended in a TypeError inside the chat template."""
    from datasets import Dataset

    from sft_teach.errors import ConfigError, DataError

    rows = Dataset.from_list([{"task": "animal", "instruction": "Cat or dog?", "input": "Purrs.", "response": "cat"}])
    with pytest.raises(ConfigError, match=r"^answer_accuracy: no rows of task\(s\) \['animals'\]: the data's tasks are \['animal'\]"):
        instruct.answer_accuracy(model, tokenizer, rows, tasks=("animals",))
    with pytest.raises(ConfigError, match=r"^answer_accuracy takes a collection of tasks, got 'animal': e\.g\. \('animal',\)"):
        instruct.answer_accuracy(model, tokenizer, rows, tasks="animal")
    with pytest.raises(ConfigError, match=r"^choice_accuracy: no rows of task\(s\) \['desk'\]"):
        instruct.choice_accuracy(model, tokenizer, rows, {"desk": ["grooming", "billing"]})
    one = chat.to_messages("Cat or dog?", "Purrs.")
    for prompts in (one, "Cat or dog?"):
        with pytest.raises(ConfigError, match=r"^generate takes a list of conversations, each a list of messages"):
            instruct.generate(model, tokenizer, prompts)
    with pytest.raises(ConfigError, match=r"^max_new_tokens= must be a whole number of at least 1, got 0"):
        instruct.generate(model, tokenizer, [one], max_new_tokens=0)
    assert len(instruct.generate(model, tokenizer, [one], max_new_tokens=1)) == 1
    with pytest.raises(DataError, match=r"^held_out_loss: the held-out texts are empty"):
        tiny_lm.held_out_loss(model, tokenizer, [])


def test_a_row_becomes_a_conversation_with_its_input_and_its_answer_trimmed():
    assert chat.to_messages(" Cat or dog? ", " Naps all day. ", " cat\n") == [
        {"role": "user", "content": "Cat or dog?\n\nNaps all day."}, {"role": "assistant", "content": "cat"}]
    assert chat.to_messages("Title?", "", "")[-1] == {"role": "assistant", "content": ""}  # still an answer
    assert chat.prompt_completion({"instruction": "Cat or dog?", "input": "Naps.", "response": "cat"}) == {
        "prompt": [{"role": "user", "content": "Cat or dog?\n\nNaps."}],
        "completion": [{"role": "assistant", "content": "cat"}]}


@pytest.mark.parametrize("masked", [True, False])
def test_sft_learns_from_the_answers_only_when_masked(tokenizer, model, masked):
    """masked=False is the notebook's unmasked run: the prompt's tokens are labels too."""
    pairs = instruct.load_instructions()["train"].select(range(8))
    trainer = instruct.sft(model, tokenizer, pairs, masked=masked, num_train_epochs=1, batch_size=8)["trainer"]
    batch = next(iter(trainer.get_train_dataloader()))
    real = batch["attention_mask"].bool()
    assert bool((batch["labels"][real] == -100).any()) is masked


def test_sft_trains_on_the_answers(tokenizer, model):
    pairs = instruct.load_instructions()["train"].select(range(32))
    before = instruct.answer_loss(model, tokenizer, pairs)
    result = instruct.sft(model, tokenizer, pairs, num_train_epochs=3, learning_rate=5e-3, batch_size=8)
    assert result["trainer"].state.global_step == 12
    assert instruct.answer_loss(model, tokenizer, pairs) < before


def test_answer_losses_per_row_pool_to_answer_loss_and_count_each_row_s_answer(tokenizer, model):
    """Each row alone, through the same masked loss: padding beside a short row changes nothing."""
    from sft_teach.errors import DataError

    pairs = instruct.load_instructions()["train"].select(range(6))
    totals, counts = instruct.answer_losses(model, tokenizer, pairs)
    assert totals.shape == counts.shape == (6,)
    assert totals.sum() / counts.sum() == pytest.approx(instruct.answer_loss(model, tokenizer, pairs), rel=1e-5)
    for i in (0, 5):  # a row scored alone: its own mean loss, and its answer's labelled tokens
        alone = pairs.select([i])
        assert totals[i] / counts[i] == pytest.approx(instruct.answer_loss(model, tokenizer, alone), rel=1e-5)
        example = masking.build_example(tokenizer, chat.to_messages(alone[0]["instruction"], alone[0]["input"],
                                                                     alone[0]["response"]))
        assert counts[i] == sum(label != -100 for label in example["labels"][1:])
    with pytest.raises(DataError, match="answer_losses: the dataset has no rows to score"):
        instruct.answer_losses(model, tokenizer, pairs.select([]))


@pytest.mark.parametrize("settings, said", [
    ({"num_train_epochs": 0}, "epochs .* greater than 0, got 0"),
    ({"learning_rate": -5e-5}, "learning rate .* greater than 0"),
    ({"batch_size": 0}, "batch size .* at least 1, got 0"),
    ({"max_length": 1}, "max length .* from 2 to 8192"),
])
def test_sft_refuses_settings_finetune_refuses_before_any_work(tokenizer, model, settings, said, monkeypatch):
    from sft_teach.errors import ConfigError, DataError

    monkeypatch.setattr(instruct, "conversations", lambda rows: pytest.fail("the data was read before the check"))
    with pytest.raises(ConfigError, match=said):
        instruct.sft(model, tokenizer, instruct.load_instructions()["train"].select(range(4)), **settings)
    with pytest.raises(DataError, match="answer_loss: the dataset has no rows to score"):
        instruct.answer_loss(model, tokenizer, instruct.load_instructions()["train"].select([]))


def test_a_hub_model_offline_fails_with_one_clear_line(monkeypatch):
    from sft_teach.errors import ModelNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="not available offline"):
        tiny_lm.load_causal_lm("HuggingFaceTB/SmolLM2-135M")


def base_tokenizer(chat_tokens: bool = True):
    """A tokenizer like a real base model's: ``eos_token`` is ``<|endoftext|>``, not ``<|im_end|>``.

    With ``chat_tokens`` it knows ``<|im_start|>`` and ``<|im_end|>`` and has the ChatML template
    (as SmolLM2-135M's tokenizer does); without, it has neither (as GPT-2's has not).
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [tiny_lm.TEXT_END, tiny_lm.PAD] + ([chat.START, chat.END] if chat_tokens else [])
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    bpe.train_from_iterator(tiny_lm.course_text()[:300], trainers.BpeTrainer(
        vocab_size=500, special_tokens=specials, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False))
    extra = {"extra_special_tokens": [chat.START, chat.END]} if chat_tokens else {}
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token=tiny_lm.TEXT_END, pad_token=tiny_lm.PAD, **extra)
    if chat_tokens:
        tokenizer.chat_template = chat.CHAT_TEMPLATE
    return tokenizer


def test_end_of_turn_ids_are_the_templates_end_token_then_eos(tokenizer):
    end = tokenizer.convert_tokens_to_ids(chat.END)
    assert chat.end_of_turn_ids(tokenizer) == [end] == [tokenizer.eos_token_id]  # the course's tokenizer: the same token
    base = base_tokenizer()
    assert base.eos_token == tiny_lm.TEXT_END
    assert chat.end_of_turn_ids(base) == [base.convert_tokens_to_ids(chat.END), base.eos_token_id]
    base.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}" \
                         "{% if add_generation_prompt %}assistant: {% endif %}"
    with pytest.raises(ValueError, match="no special token"):
        chat.end_of_turn_ids(base)


def chain_model(tokenizer, successor: dict[int, int]):
    """A 1-block GPT-2 that always writes ``successor[current token]`` next (a bigram table).

    The block's outputs are zeroed and positions embed to zero, so the last hidden state is
    the layer norm of the current token's embedding; the (untied) output layer scores token b by
    its dot product with the normalised embeddings of the tokens whose successor is b.
    """
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=len(tokenizer), n_positions=192, n_embd=64, n_layer=1, n_head=2,
                        tie_word_embeddings=False, eos_token_id=tokenizer.eos_token_id,
                        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = GPT2LMHeadModel(config).eval()
    with torch.no_grad():
        block = model.transformer.h[0]
        for layer in (block.attn.c_proj, block.mlp.c_proj):
            layer.weight.zero_()
            layer.bias.zero_()
        model.transformer.wpe.weight.zero_()
        normed = model.transformer.ln_f(model.transformer.wte.weight)  # (vocab, n_embd)
        model.lm_head.weight.zero_()
        for current, following in successor.items():
            model.lm_head.weight[following] += 10 * normed[current]
    return model


def test_generation_stops_at_the_end_of_turn_token_not_only_at_eos():
    tokenizer = base_tokenizer()
    end = tokenizer.convert_tokens_to_ids(chat.END)
    prompt = [chat.to_messages("Cat or dog?", "Purrs on the radiator.")]
    last = tokenizer.apply_chat_template(prompt[0], add_generation_prompt=True, tokenize=True,
                                         return_dict=True)["input_ids"][-1]  # the newline after "assistant"
    cat = tokenizer("cat", add_special_tokens=False)["input_ids"]
    # the model answers "cat", closes the turn with <|im_end|>, then writes on: newline, "cat", ...
    chain = [last, *cat, end]
    model = chain_model(tokenizer, {a: b for a, b in zip(chain, chain[1:] + [last])})
    ids = torch.tensor([tokenizer.apply_chat_template(prompt[0], add_generation_prompt=True, tokenize=True,
                                                      return_dict=True)["input_ids"]])
    with torch.no_grad():  # stopping at eos_token alone, as a base model's generation config does
        run_on = model.generate(input_ids=ids, max_new_tokens=12, do_sample=False, eos_token_id=tokenizer.eos_token_id,
                                pad_token_id=tokenizer.pad_token_id)[0, ids.shape[1]:].tolist()
    assert run_on[:len(cat) + 1] == cat + [end] and len(run_on) == 12  # it wrote past <|im_end|>
    assert tokenizer.decode(run_on, skip_special_tokens=True).startswith("cat\ncat")
    assert instruct.generate(model, tokenizer, prompt, max_new_tokens=12) == ["cat"]  # stopped at <|im_end|>


def test_load_causal_lm_prepares_a_base_model_without_chat_tokens(tmp_path):
    tokenizer = base_tokenizer(chat_tokens=False)
    assert chat.END not in tokenizer.get_vocab() and tokenizer.chat_template is None
    model = tiny_lm.tiny_gpt2(tokenizer, n_layer=1, n_embd=32, n_head=2, n_positions=192)
    model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    loaded, ready = tiny_lm.load_causal_lm(str(tmp_path))
    assert len(ready) == len(tokenizer) + 2 == loaded.get_input_embeddings().num_embeddings
    end = ready.convert_tokens_to_ids(chat.END)
    example = masking.build_example(ready, CONVERSATIONS[0])
    assert ready.convert_ids_to_tokens(example["input_ids"]).count(chat.END) == 2  # one token each time
    assert loaded.generation_config.eos_token_id == [end, ready.eos_token_id] == chat.end_of_turn_ids(ready)
    (answer,) = instruct.generate(loaded, ready, [CONVERSATIONS[0][:-1]], max_new_tokens=3)  # it runs: one answer
    assert isinstance(answer, str) and len(ready(answer, add_special_tokens=False)["input_ids"]) <= 3


def test_validation_split_keeps_the_balance_and_leaves_train_disjoint():
    pairs = instruct.load_instructions()["train"]
    train, validation = instruct.split_validation(pairs)
    assert len(train) + len(validation) == len(pairs) and len(validation) == 48
    key = lambda r: (r["instruction"], r["input"], r["response"])  # noqa: E731
    assert not {key(r) for r in train} & {key(r) for r in validation}
    from collections import Counter

    counts = Counter(r["response"] if r["task"] != "rewrite" else "rewrite" for r in validation)
    assert counts["cat"] == counts["dog"] == 10 and counts["rewrite"] == 8
    assert {n for a, n in counts.items() if a not in ("cat", "dog", "rewrite")} == {2}


def test_a_small_group_still_gives_validation_one_row():
    from datasets import Dataset

    rows = Dataset.from_list([{"task": "animal", "instruction": "Cat or dog?", "input": f"Note {i}.", "response": r}
                              for i, r in enumerate(["cat"] * 16 + ["dog"] * 3)])
    train, validation = instruct.split_validation(rows)  # one in 8: 2 cats; 3 dogs round to 0, but one is kept
    assert sorted(validation["response"]) == ["cat", "cat", "dog"] and len(train) == 16


@pytest.mark.parametrize("every", [0, 1, 2.5, -8])
def test_split_validation_refuses_a_share_it_cannot_hold_back(every):
    """every=1 held back every row (an empty training set), every=0 divided by zero."""
    from sft_teach.errors import ConfigError

    with pytest.raises(ConfigError, match=rf"every= must be a whole number of at least 2 .* got {every!r}"):
        instruct.split_validation(instruct.load_instructions()["train"], every=every)


def test_sft_settings_depend_on_the_starting_model():
    assert instruct.sft_settings("tiny") == instruct.SFT_SETTINGS["tiny"]
    real = instruct.sft_settings("HuggingFaceTB/SmolLM2-135M")
    assert 1e-5 <= real["learning_rate"] <= 1e-4 and real["num_train_epochs"] <= 5  # full fine-tuning of a real model
    assert instruct.sft_settings("tiny")["learning_rate"] > 10 * real["learning_rate"]


def test_sft_reports_the_validation_loss_every_epoch(tokenizer, model):
    train, validation = instruct.split_validation(instruct.load_instructions()["train"].select(range(40)))
    result = instruct.sft(model, tokenizer, train, eval_dataset=validation, num_train_epochs=2,
                          learning_rate=5e-3, batch_size=8)
    evals = result["history"]["eval"]
    assert [round(r["epoch"]) for r in evals] == [1, 2] and all("eval_loss" in r for r in evals)
    assert evals[-1]["eval_loss"] == pytest.approx(instruct.answer_loss(model, tokenizer, validation), rel=1e-4)


def test_masked_loss_scores_positions_after_the_first_and_refuses_a_batch_with_none():
    """The module's C: positions t >= 1 whose label is not -100 (nothing predicts position 0); a batch
    with every label -100 scores no token, and its nan loss was returned without a word."""
    from sft_teach.errors import DataError

    torch.manual_seed(0)
    logits, ids = torch.randn(1, 4, 7), torch.tensor([[1, 2, 3, 4]])
    expected = F.cross_entropy(logits[0, :-1], ids[0, 1:])  # three terms, not four
    torch.testing.assert_close(masking.masked_loss(logits, ids.clone()), expected)
    with pytest.raises(DataError, match="no token is scored"):
        masking.masked_loss(logits, torch.full_like(ids, masking.IGNORE_INDEX))
