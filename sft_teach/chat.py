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
    user = instruction.strip() + (f"\n\n{input.strip()}" if input and input.strip() else "")
    messages = [{"role": "user", "content": user}]
    if response is not None:
        messages.append({"role": "assistant", "content": response.strip()})
    return messages


def render(messages: list[dict], add_generation_prompt: bool = False) -> str:
    """The ChatML string of ``messages`` (what :data:`CHAT_TEMPLATE` produces)."""
    text = "".join(f"{START}{m['role']}\n{m['content']}{END}\n" for m in messages)
    return text + (f"{START}assistant\n" if add_generation_prompt else "")


def prompt_completion(row: dict) -> dict:
    """A row with ``instruction``, ``input``, ``response`` in ``trl``'s conversational
    prompt-completion format: ``{"prompt": [user message], "completion": [assistant message]}``."""
    messages = to_messages(row["instruction"], row.get("input") or "", row["response"])
    return {"prompt": messages[:-1], "completion": messages[-1:]}
