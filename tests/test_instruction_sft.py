"""Instruction SFT pieces, each against an independent computation.

* the chat template (Jinja, in the tokenizer) against ``sft_teach.chat.render`` (plain Python);
* prompt-loss masking against ``F.cross_entropy(ignore_index=-100)``, a hand-written sum of
  log-probabilities, the model's own loss, and what ``trl``'s ``SFTTrainer`` prepares and computes;
* packing, left-padded batched generation and answer ranking against one-at-a-time versions.

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


def test_a_template_that_renders_the_prompt_differently_is_refused(tokenizer):
    odd = tokenizer.__class__.from_pretrained  # keep the fixture untouched: work on a copy
    with tempfile.TemporaryDirectory() as folder:
        tokenizer.save_pretrained(folder)
        copy = odd(folder)
    copy.chat_template = "{% for m in messages %}{{ m['content'] }}{% endfor %}{% if add_generation_prompt %}>>{% endif %}"
    with pytest.raises(ValueError, match="cannot be located"):
        masking.build_example(copy, CONVERSATIONS[0])


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


def test_pack_joins_texts_and_cuts_equal_blocks(tokenizer):
    texts = tiny_lm.course_text()[:50]
    blocks = tiny_lm.pack(texts, tokenizer, block_size=32)
    stream = [i for ids in tokenizer(texts, add_special_tokens=False)["input_ids"] for i in ids + [tokenizer.bos_token_id]]
    assert all(len(b) == 32 for b in blocks) and len(blocks) == len(stream) // 32
    assert [i for b in blocks for i in b] == stream[:len(blocks) * 32]


def test_batched_generation_equals_one_at_a_time(tokenizer, model):
    prompts = [m[:-1] for m in CONVERSATIONS]
    together = instruct.generate(model, tokenizer, prompts, max_new_tokens=5, batch_size=3)
    alone = [instruct.generate(model, tokenizer, [p], max_new_tokens=5)[0] for p in prompts]
    assert together == alone


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
        expected.append(max(scores, key=scores.get) == row["response"])
    result = instruct.choice_accuracy(model, tokenizer, rows, {"animal": ["cat", "dog"]})
    assert result["animal"] == result["all"] == sum(expected) / 2


def test_sft_trains_on_the_answers(tokenizer, model):
    pairs = instruct.load_instructions()["train"].select(range(32))
    before = instruct.answer_loss(model, tokenizer, pairs)
    result = instruct.sft(model, tokenizer, pairs, num_train_epochs=3, learning_rate=5e-3, batch_size=8)
    assert result["trainer"].state.global_step == 12
    assert instruct.answer_loss(model, tokenizer, pairs) < before


def test_a_hub_model_offline_fails_with_one_clear_line(monkeypatch):
    from sft_teach.errors import ModelNotFoundError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelNotFoundError, match="not available offline"):
        tiny_lm.load_causal_lm("HuggingFaceTB/SmolLM2-135M")
