"""``sft-teach check``: the learner's data loaded, cleaned and checked as ``finetune`` would load it,
with the findings as the result (``--json`` for scripts, ``--strict`` to exit 2 on any warning).
:func:`load_and_check` is the loading both commands share.

Taught in notebooks/05_your_own_data.ipynb.
"""

from __future__ import annotations

import sys

from sft_teach import cli_conventions
from sft_teach.cleaning import described
from sft_teach.environment import quiet_libraries
from sft_teach.errors import ConfigError, SftTeachError
from sft_teach.run_record import as_typed, portable


def load_and_check(args, max_length: int):
    """The learner's dataset, its cleaning report (one CSV file) and the findings to warn about."""
    from sft_teach import checks, data, models
    from sft_teach.cleaning import cleaning_findings

    split_seed = {} if args.split_seed is None else {  # not given: load's default, Python's finetune's too
        "split_seed": cli_conventions.whole_number("--split-seed", args.split_seed, least=0)}
    dataset, cleaning = data.load_with_report(
        args.data, text_column=args.text_column, label_column=args.label_column, encoding=args.encoding,
        keep_duplicates=args.keep_duplicates, merge_case=args.merge_case, **split_seed)
    tokenizer = models.load_tokenizer(args.model)
    # the model's positions, not its tokenizer's model_max_length, which in a folder finetune saved is
    # the cut it trained with (128), not what the model can read (512)
    limit = models.positions(args.model)
    if limit and max_length > limit:
        raise ConfigError(f"max length {max_length} is more than this model accepts ({limit} tokens): try 128")
    return dataset, cleaning, (_unused_split_options(args, cleaning)
                               + checks.check(dataset, tokenizer, max_length, positions=limit,
                                              one_file=cleaning is not None)
                               + cleaning_findings(cleaning))


def _unused_split_options(args, cleaning) -> list:
    """A finding when ``--split-seed``, ``--keep-duplicates`` or ``--merge-case`` is given for data that is not split here
    (a folder of splits, the bundled data, a hub dataset: ``cleaning`` is None). They change nothing
    then, and a command that took them in silence would look as if it had used them."""
    from sft_teach.checks import Finding

    given = [name for name, value in (("--split-seed", args.split_seed is not None),
                                      ("--keep-duplicates", args.keep_duplicates),
                                      ("--merge-case", args.merge_case)) if value]
    if cleaning is not None or not given:
        return []
    one = len(given) == 1
    return [Finding("unused_option", (
        f"{', '.join(given[:-1]) + ' and ' * (not one) + given[-1]} {'applies' if one else 'apply'} only to one CSV file, which sft-teach cleans and "
        f"splits; {portable(args.data)} is already split, so {'it changes' if one else 'they change'} nothing "
        f"here: drop {'it' if one else 'them'}"))]


def cmd_check(args) -> int:
    from sft_teach.checks import summary

    quiet_libraries()
    try:  # every refusal inside, so that --json gives each as JSON: the encoding's too (which main leaves to check)
        cli_conventions.check_encoding(args.encoding)
        max_length = cli_conventions.max_length(args.max_length)
        dataset, cleaning, findings = load_and_check(args, max_length)
    except (SftTeachError, OSError) as exc:  # a script reading --json gets the error as JSON too (and exit 2)
        if args.json:
            said = str(exc) if isinstance(exc, SftTeachError) else cli_conventions.system_refusal(exc)
            print(cli_conventions.json_line({"data": as_typed(args.data), "errors": [said]}))
        raise
    if args.json:
        print(cli_conventions.json_line({"data": as_typed(args.data), "splits": summary(dataset), "cleaning": cleaning,
                          "warnings": [{"kind": f.kind, "message": str(f)} for f in findings]}))
    else:
        from sft_teach.bundled import bundled_datasets

        if cleaning:
            print(described(cleaning))
        elif args.data in bundled_datasets():  # the default: say so, in case the learner meant their own file
            print(f"{args.data}: the course's bundled data, as split in its folder (check yours with --data FILE.csv)")
        for name, info in summary(dataset).items():
            classes = ", ".join(f"{label} {n}" for label, n in info["classes"].items())
            print(f"{name:10s} {info['rows']:6d} rows: {classes}")
        cli_conventions.warn(findings, file=sys.stdout)  # for `check` the warnings are the result
        print(f"{len(findings)} warning{'s' * (len(findings) != 1)}" if findings else "no problems found")
    if args.strict and findings:
        print(f"sft-teach: error: {len(findings)} warning{'s' * (len(findings) != 1)} and --strict", file=sys.stderr)
        return 2
    return 0
