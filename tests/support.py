"""Helpers shared by the tests (plain functions and data; fixtures live in conftest.py)."""

import csv
from pathlib import Path


def write_csv(path: Path, rows, header=("text", "label")) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


# Twenty short notes, ten per class, for tests that need a valid CSV that splits 80/10/10.
CATS = ["Asleep in the washing basket again.", "Ignored the new toy, played with the box.",
        "Kneads the blanket before every nap.", "Stared at the wall for ten minutes.",
        "Hissed at her own reflection.", "Purring on the radiator shelf.",
        "Caught a moth mid-air at midnight.", "Sharpened claws on the new sofa.",
        "Squeezed into a shoebox two sizes too small.", "Chattering at pigeons through the glass."]
DOGS = ["Fetched the ball forty times and wanted more.", "Barked at the postman, then licked him.",
        "Dug a hole under the fence in an hour.", "Howled along with the ambulance siren.",
        "Carried the lead to the door at six sharp.", "Shook pond water all over the kitchen.",
        "Buried a bone in the flower bed.", "Tail wagging so hard he knocked a cup over.",
        "Sat, stayed and rolled over for one treat.", "Slept on his back with all four paws up."]
GOOD = [(t, "cat") for t in CATS] + [(t, "dog") for t in DOGS]


def pets_csv(path: Path, extra=()) -> Path:
    """The bundled pets training notes as one CSV file (714 rows, 361 cats and 353 dogs), then ``extra``
    rows: a file big enough that each class has dozens of validation and test rows once split."""
    from sft_teach import data

    train = data.load("pets")["train"]
    names = train.features["label"].names
    return write_csv(path, [(t, names[y]) for t, y in zip(train["text"], train["label"])] + list(extra))


def fake_checkpoint(folder, state: str = "{}"):
    """A checkpoint folder with every file a complete one holds (empty files; ``state`` as its
    trainer_state.json), for the tests of which checkpoint is resumed from."""
    from pathlib import Path

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("model.safetensors", "optimizer.pt", "scheduler.pt", "rng_state.pth"):
        (folder / name).write_bytes(b"")
    (folder / "trainer_state.json").write_text(state)
    return folder
