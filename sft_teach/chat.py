"""Chat formatting: from an instruction row to messages, to one string, to tokens.

Instruction data usually comes as columns (Alpaca's ``instruction``, ``input``, ``output``).
A chat model sees it as a *conversation*, a list of messages with roles, and a *chat
template* turns the conversation into one string with special tokens that mark who speaks.
This course uses the ChatML layout (the one Qwen and SmolLM use):

.. code-block:: text

    <|im_start|>user
    Is this note about a cat or a dog?

    Kneads the blanket before every nap.<|im_end|>
    <|im_start|>assistant
    cat<|im_end|>

At inference the string stops after ``<|im_start|>assistant\\n`` (the *generation prompt*)
and the model writes the rest; ``<|im_end|>`` is where it learns to stop.

:data:`CHAT_TEMPLATE` is the Jinja template a tokenizer stores (``tokenizer.chat_template``);
:func:`render` is the same thing in plain Python, which the tests check against
``tokenizer.apply_chat_template``. The ``{% generation %}`` markers let ``transformers``
return which tokens the assistant wrote (``return_assistant_tokens_mask=True``).

:func:`end_of_turn_ids` says where generation must stop: at the token the template ends an
assistant turn with, which is not always the tokenizer's ``eos_token``.

Taught in notebooks/07_instruction_sft.ipynb.
"""

from __future__ import annotations

START, END = "<|im_start|>", "<|im_end|>"

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' }}"
    "{% if message['role'] == 'assistant' %}"
    "{% generation %}{{ message['content'] + '<|im_end|>' }}{% endgeneration %}"
    "{% else %}{{ message['content'] + '<|im_end|>' }}{% endif %}"
    "{{ '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def to_messages(instruction: str, input: str = "", response: str | None = None) -> list[dict]:
    """An instruction row as a conversation: the user asks (instruction, a blank line, the
    input if any); the assistant answers with ``response`` (left out when ``None``)."""
    wrong = next(((name, value) for name, value in (("instruction", instruction), ("input", input or ""),
                                                    ("response", response or "")) if not isinstance(value, str)), None)
    if wrong:  # an AttributeError on strip, otherwise
        from sft_teach.errors import ConfigError

        raise ConfigError(f"to_messages: {wrong[0]} must be text, got {type(wrong[1]).__name__} {wrong[1]!r:.40}")
    user = instruction.strip() + (f"\n\n{input.strip()}" if input and input.strip() else "")
    messages = [{"role": "user", "content": user}]
    if response is not None:
        messages.append({"role": "assistant", "content": response.strip()})
    return messages


def render(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The ChatML string of ``messages`` (what :data:`CHAT_TEMPLATE` produces)."""
    if isinstance(messages, (str, dict)):  # one text or one message, not a list of them
        bad = messages
    else:
        bad = next((m for m in messages if not (isinstance(m, dict) and isinstance(m.get("role"), str)
                                                and isinstance(m.get("content"), str))), None)
    if bad is not None:  # a KeyError, or "None" rendered as the text, otherwise
        from sft_teach.errors import ConfigError

        raise ConfigError(f"render takes a list of messages, each {{'role': ..., 'content': ...}} with two strings, "
                          f"got {bad!r:.60}: e.g. chat.to_messages(instruction, input, response)")
    text = "".join(f"{START}{m['role']}\n{m['content']}{END}\n" for m in messages)
    return text + (f"{START}assistant\n" if add_generation_prompt else "")


def prompt_completion(row: dict) -> dict:
    """A row with ``instruction``, ``input``, ``response`` in ``trl``'s conversational
    prompt-completion format: ``{"prompt": [user message], "completion": [assistant message]}``."""
    from sft_teach.stats import check_keys

    check_keys(row, ("instruction", "response"), "prompt_completion")
    messages = to_messages(row["instruction"], row.get("input") or "", row["response"])
    return {"prompt": messages[:-1], "completion": messages[-1:]}


def end_of_turn_ids(tokenizer) -> list[int]:
    """The token ids at which the generation of an assistant turn must stop.

    The first is the special token the chat template writes right after an assistant's answer
    (``<|im_end|>`` for ChatML); the tokenizer's ``eos_token`` follows when it is another token.
    They differ for many *base* models: SmolLM2-135M's base tokenizer ships no chat template, so
    :func:`sft_teach.tiny_lm.load_causal_lm` gives it the course's ChatML one, which ends every turn
    with ``<|im_end|>``, while its ``eos_token`` is ``<|endoftext|>``. After SFT such a model ends its
    answer with ``<|im_end|>``; a ``generate`` that stops only at ``eos_token`` would read past
    it into a turn the model invents. Pass the list as ``generate(eos_token_id=...)``.

    Raises ``ValueError`` when the template ends an answer with no special token (the model
    would then have no token to learn to stop with).
    """
    # rendered as masking.build_example renders an example, without its check that the prompt is a prefix of
    # the whole: a template that ends no turn with a special token is told about that, its real problem
    messages = to_messages("Cat or dog?", "", "cat")
    prompt = tokenizer.apply_chat_template(messages[:-1], add_generation_prompt=True, tokenize=True,
                                           return_dict=True)["input_ids"]
    full = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
    special = set(tokenizer.all_special_ids)
    ends = [i for i in full[len(prompt):] if i in special][:1]  # the first special token after the answer
    if not ends:
        raise ValueError("the chat template ends an assistant's answer with no special token, so generation "
                         f"cannot tell where the answer stops: use a template that closes each turn ({END})")
    if tokenizer.eos_token_id is not None and tokenizer.eos_token_id not in ends:
        ends.append(tokenizer.eos_token_id)
    return ends
