"""Source of data/tiny_lm/: the tiny GPT-2 that notebook 07 pretrains, saved after pretraining.

Notebook 07 pretrains a tiny GPT-2 on the course's own text in front of the reader, then
continues from this saved copy. Why a copy: the same code with the same seed gives the same
weights on one machine, run after run, but not on another CPU. The vector width (AVX-512,
AVX2), the BLAS kernel and the thread count decide in which order floating-point numbers are
added; the last bits differ, and over the 270 optimizer steps of pretraining the difference grows
until the held-out loss moves in its second decimal. Everything after pretraining
starts from this file instead, so SFT starts from the same weights everywhere.

Run from the repository root:

    python data/tiny_lm/make_tiny_lm.py            # pretrain, write model + tokenizer here
    python data/tiny_lm/make_tiny_lm.py --check    # pretrain in a temporary folder and compare

Writing prints the SHA-256 of every file, to be pasted into ``sft_teach.tiny_lm.CHECKPOINT_SHA256``
(which ``tiny_lm.load_pretrained`` checks). ``--check`` says whether this machine reproduces
the shipped weights bit for bit and, if not, by how much they and the held-out loss differ.
The settings are ``sft_teach.tiny_lm.PRETRAINING``, the ones notebook 07's cells use.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def pretrained():
    """Pretrain exactly as notebook 07 section 2 does; returns ``(model, tokenizer, result)``."""
    from sft_teach import data, tiny_lm

    settings = tiny_lm.PRETRAINING
    texts = tiny_lm.course_text()  # pets + clinic, training and validation splits
    held_out = list(data.load("pets")["test"]["text"]) + list(data.load("clinic")["test"]["text"])
    tokenizer = tiny_lm.train_tokenizer(texts, vocab_size=settings["vocab_size"])
    model = tiny_lm.tiny_gpt2(tokenizer, seed=settings["seed"])
    result = tiny_lm.pretrain(model, tokenizer, texts, eval_texts=held_out, seed=settings["seed"],
                              num_train_epochs=settings["num_train_epochs"],
                              learning_rate=settings["learning_rate"])
    return model, tokenizer, result


def compare(model, shipped) -> dict:
    """Whether two models' weights are bit for bit equal, and their largest absolute difference."""
    import torch

    mine, theirs = model.state_dict(), shipped.state_dict()
    diff = max(float((mine[k] - theirs[k]).abs().max()) for k in theirs)
    return {"identical": all(torch.equal(mine[k], theirs[k]) for k in theirs), "max_abs_diff": diff}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped checkpoint; write nothing")
    args = parser.parse_args(argv)

    from sft_teach import tiny_lm
    from sft_teach.environment import quiet_libraries

    quiet_libraries()
    model, tokenizer, result = pretrained()
    print(f"pretrained in {result['seconds']:.0f} s: held-out loss {result['eval_loss']:.4f}, "
          f"perplexity {result['perplexity']:.1f}")
    if args.check:
        shipped, _ = tiny_lm.load_pretrained()
        with tempfile.TemporaryDirectory() as scratch:
            hashes = tiny_lm.save_checkpoint(model, tokenizer, scratch)
        same = compare(model, shipped)
        print(f"weights identical to the shipped checkpoint: {same['identical']} "
              f"(largest difference {same['max_abs_diff']:.3g})")
        for name, sha in tiny_lm.CHECKPOINT_SHA256.items():
            print(f"  {name}: {'same' if hashes.get(name) == sha else 'differs'}")
        return 0
    hashes = tiny_lm.save_checkpoint(model, tokenizer, HERE)
    print("CHECKPOINT_SHA256 = {")
    for name, sha in hashes.items():
        print(f'    "{name}": "{sha}",')
    print("}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
