"""`tfcreative music train | generate | evaluate`."""

from __future__ import annotations

import functools
import os

from tfcreative.cli.common import (
    COUNT,
    FRACTION,
    POSITIVE,
    SEED,
    CommandError,
    LazyChoices,
    add_flag,
    add_training_flags,
    checked_path,
    help_formatter,
    integer,
    real,
    train_command,
)
from tfcreative.music.config import (
    COURSE,
    COURSE_LEARNING_RATE,
    DEFAULT_CONSTRAINT,
    DEFAULT_MAX_LENGTH,
    DEFAULT_PRESET,
    DEFAULT_SEED_TEXT,
    FINE_TUNING_DECAY_TO,
    FINE_TUNING_LEARNING_RATE,
    FINE_TUNING_WARMUP_STEPS,
    GENERATION_BATCH,
    MAX_GENERATED_LENGTH,
    MAX_NUM_TUNES,
    NEW_CHARACTERS,
)
from tfcreative.music.controls import MAX_PARTS, TUNE_TYPES

NUM_TUNES = integer(1, MAX_NUM_TUNES)


def add_parser(subparsers) -> None:
    music = subparsers.add_parser(
        "music", help="folk tunes in ABC notation with a character-level LSTM",
        description="Train a character-level LSTM on ABC tunes, generate tunes, evaluate.",
    )
    commands = music.add_subparsers(dest="music_command", required=True, metavar="COMMAND")
    _add_train(commands)
    _add_generate(commands)
    _add_evaluate(commands)


def _collections():
    from tfcreative.music.pipeline import COLLECTIONS

    return COLLECTIONS


def _add_data_flags(parser) -> None:
    source = parser.add_mutually_exclusive_group()
    add_flag(source, "--abc", argument="abc_path", metavar="PATH", type=checked_path,
             default=None,
             help="your own tunes: a .abc file or a folder searched recursively for *.abc "
                  "(TFDS config abc_tunes/manual)")
    add_flag(source, "--collection", default=None, choices=LazyChoices(_collections),
             metavar="NAME",
             help="a tune collection, the abc_tunes config of that name (%(choices)s): the "
                  "bundled Irish corpus, a public-domain book shipped in music21, or all of "
                  "them combined (default: irish_folk)")
    add_flag(parser, "--data-dir", type=checked_path, default=None,
             help="TFDS data directory where the prepared dataset is stored "
                  "(default: TFDS's own, ~/tensorflow_datasets)")


def _add_sampling_flags(parser, num_tunes: int) -> None:
    add_flag(parser, "--seed-text", default=DEFAULT_SEED_TEXT.replace("\n", "\\n"),
             help="text every tune starts with; \\n means a newline")
    add_flag(parser, "--num-tunes", type=NUM_TUNES, default=num_tunes,
             help=f"tunes to generate, at most {MAX_NUM_TUNES:,}; they are sampled in "
                  f"parallel, in batches of up to {GENERATION_BATCH} (the same tunes "
                  "whatever the batch)")
    add_flag(parser, "--max-length", type=integer(1, MAX_GENERATED_LENGTH),
             default=DEFAULT_MAX_LENGTH,
             help=f"most characters generated after the seed text (at most "
                  f"{MAX_GENERATED_LENGTH:,})")
    add_flag(parser, "--temperature", type=POSITIVE, default=1.0,
             help="softmax temperature (> 0): <1 is safer, >1 more adventurous")
    add_flag(parser, "--top-k", type=integer(0, 2**31 - 1), default=0,
             help="sample only among the k most likely characters (0: all)")
    add_flag(parser, "--random-seed", type=SEED, default=0,
             help="tune i uses random seed RANDOM_SEED+i, so runs are reproducible "
                  "(0 to 2**32-1)")
    add_flag(parser, "--constrain", default=DEFAULT_CONSTRAINT, choices=("none", "meter", "form"),
             help="form: whole tunes, parts of 8 or 16 bars that repeat and end on the key's "
                  "tonic, every bar in time (see docs/form_aware_sampling.md); meter: every "
                  "bar in time; none: sample freely")
    _add_control_flags(parser)


def _add_control_flags(parser) -> None:
    """What a musician may fix of the tunes (with --constrain form; --key, --meter, --type
    and --title also with meter)."""
    add_flag(parser, "--parts", type=integer(1, MAX_PARTS), default=None,
             help="parts per tune (AABB: 2, the corpus's usual number and the default)")
    add_flag(parser, "--key", default=None,
             help="the tunes' key, e.g. D, Em, Ador, \"A Dorian\" (default: the model's choice)")
    add_flag(parser, "--meter", default=None,
             help="the tunes' meter: C, C| or n/d (6/8, 3/4, ...) (default: the model's choice, "
                  "or --type's)")
    add_flag(parser, "--type", argument="tune_type", default=None, metavar="TYPE",
             help=f"the tunes' type, written as R: (one of {', '.join(TUNE_TYPES)}); it fixes "
                  "the type's meter too (a jig in 6/8) unless --meter gives another of its "
                  "meters")
    add_flag(parser, "--title", default=None,
             help="the tunes' title (T:) instead of the model's (not with --seed-text)")
    add_flag(parser, "--chords", default="none", choices=("none", "symbols"),
             help="none: no quoted text in the tunes (the default: the corpus has no chord "
                  "symbols); symbols: chord symbols such as \"G\", \"Am\", \"D7\", \"Em/B\"")
    add_flag(parser, "--written-out", action="store_true",
             help="let a part close with || instead of repeating (default: every part "
                  "repeats, |: :| or first and second endings)")
    add_flag(parser, "--continue", argument="continue_path", type=checked_path, default=None,
             metavar="FILE",
             help="continue your tune: FILE's first tune, its header and first bars, starts "
                  "every tune (not with --seed-text, --title, --key, --meter or --type)")


def _add_train(commands) -> None:
    p = commands.add_parser("train", help="train a model, or fine-tune one on your tunes",
                            description="Train a MusicLSTM with model.fit: from scratch (the "
                                        "defaults follow the MIT 6.S191 course "
                                        "configuration), or from a trained model on your "
                                        f"tunes: --from {DEFAULT_PRESET} --abc ~/my_tunes "
                                        "writes like your tunes.",
                            formatter_class=help_formatter)
    _add_data_flags(p)
    add_flag(p, "--embedding-dim", type=COUNT, default=COURSE.embedding_dim,
             help="embedding size")
    add_flag(p, "--lstm-units", type=COUNT, default=COURSE.lstm_units,
             help="units per LSTM layer")
    add_flag(p, "--num-layers", type=COUNT, default=COURSE.num_layers,
             help="stacked LSTM layers")
    add_flag(p, "--dropout", type=FRACTION, default=COURSE.dropout,
             help="dropout on LSTM inputs, in [0, 1)")
    add_flag(p, "--output-dropout", type=FRACTION, default=COURSE.output_dropout,
             help="dropout on the last LSTM layer's outputs, before the logits, in [0, 1)")
    add_flag(p, "--seq-length", type=COUNT, default=COURSE.seq_length,
             help="characters per training window")
    add_training_flags(
        p, COURSE, "music", ("--embedding-dim", "--lstm-units", "--num-layers"),
        learning_rate_help=f"Adam step size (default: {COURSE_LEARNING_RATE:g}, the course's, "
                           f"from scratch; {FINE_TUNING_LEARNING_RATE:g} with --from)",
        from_model_help="start from this trained model and fine-tune it on the tunes: a "
                        f"preset's name (--from {DEFAULT_PRESET} --abc ~/my_tunes: write "
                        "like your tunes), a .keras file or a run directory; its "
                        "architecture is kept, the optimizer starts afresh with the "
                        "fine-tuning schedule (see --learning-rate, --warmup-steps, "
                        "--decay-to)")
    add_flag(p, "--warmup-steps", type=integer(0), default=None,
             help="steps of linear warm-up to the learning rate (default: 0 from scratch, "
                  f"{FINE_TUNING_WARMUP_STEPS} with --from)")
    add_flag(p, "--decay-to", type=real(0, 1), default=None, metavar="FRACTION",
             help="cosine decay of the learning rate to this fraction of it at the last "
                  "planned step, epochs x steps per epoch (default: 1, no decay, from "
                  f"scratch; {FINE_TUNING_DECAY_TO:g} with --from)")
    add_flag(p, "--weight-decay", type=real(0), default=COURSE.weight_decay,
             help="Adam's decoupled weight decay (as AdamW's), a fraction of each weight "
                  "removed per step times the learning rate")
    add_flag(p, "--new-characters", choices=NEW_CHARACTERS, default=NEW_CHARACTERS[0],
             help="with --from, characters of your tunes the model does not know (counted "
                  "and named at the start): grow adds them to its vocabulary (new embedding "
                  "and output rows, every other weight kept); map writes them as the plain "
                  "character they stand for (é as e, ’ as ')")
    p.set_defaults(handler=_train)


def _add_generate(commands) -> None:
    p = commands.add_parser("generate", help="generate tunes as .abc and .mid files",
                            description="Generate tunes from a trained model.",
                            formatter_class=help_formatter)
    add_flag(p, "--model", argument="path", type=checked_path, default=DEFAULT_PRESET,
             help="a .keras file, a run directory or a preset's name (default: "
                  f"{DEFAULT_PRESET}, the folk-tune model shipped with the package)")
    add_flag(p, "--out-dir", type=checked_path, default=None,
             help="where tune_NN.abc/.mid go (default: <run dir>/tunes for a run directory, "
                  "else ./tunes); tunes already there are kept: the new ones are numbered "
                  "on from the highest tune_NN")
    _add_sampling_flags(p, num_tunes=5)
    add_flag(p, "--no-midi", action="store_true", help="write .abc files only")
    p.set_defaults(handler=_generate,
                   needs_tensorflow=lambda args: not generates_on_numpy(args))


def _add_evaluate(commands) -> None:
    p = commands.add_parser(
        "evaluate", help="held-out loss and validity of generated tunes vs the corpus",
        description="Loss / bits-per-character on the test tunes (never used in training or "
                    "for choosing checkpoints); the validity of generated tunes (headers, "
                    "abc2midi parse, bars vs meter) next to the same numbers for the real "
                    "corpus; how much of them is copied from training tunes (4 and 8 "
                    "consecutive bars, whole tunes) next to the test tunes' figures; and the "
                    "model's bits/char on what it sampled.",
        formatter_class=help_formatter)
    add_flag(p, "--model", argument="path", type=checked_path, required=True,
             help="a .keras file or a run directory")
    _add_data_flags(p)
    add_flag(p, "--seq-length", type=COUNT, default=COURSE.seq_length,
             help="window length for the loss")
    add_flag(p, "--batch-size", type=COUNT, default=COURSE.batch_size,
             help="batch size for the loss")
    _add_sampling_flags(p, num_tunes=50)
    add_flag(p, "--json", type=checked_path, default=None, metavar="PATH",
             help="also write the numbers here")
    p.set_defaults(handler=_evaluate)


def _seed_text(args) -> str:
    return args.seed_text.replace("\\n", "\n")


def _train(args) -> int:
    from tfcreative.music import load_model
    from tfcreative.music.config import MusicTrainConfig
    from tfcreative.music.training import train

    def next_steps(run_dir):
        return (f"\nModel: {os.path.join(run_dir, 'model.keras')}\n"
                f"TensorBoard: tensorboard --logdir {os.path.join(run_dir, 'logs')}\n"
                f"Generate: tfcreative music generate --model {run_dir}")

    return train_command(args, MusicTrainConfig,
                         functools.partial(train, from_model=args.path,
                                           new_characters=args.new_characters),
                         load_model, "music",
                         {"abc_path": args.abc_path, "data_dir": args.data_dir,
                          "collection": args.collection}, next_steps)


def default_tunes_dir(model_path: str) -> str:
    """<run dir>/tunes for a run directory; ./tunes for anything else (a .keras file, a preset,
    whatever folder of that name the current directory holds)."""
    from tfcreative.keras_archive import is_run_directory

    if is_run_directory(model_path):
        return os.path.join(model_path, "tunes")
    return "tunes"


HEADER_FLAGS = {"title": "--title", "key": "--key", "meter": "--meter", "tune_type": "--type"}
FORM_FLAGS = {"parts": "--parts", "chord_symbols": "--chords", "repeats": "--written-out"}


def _controls(args) -> dict:
    """The controls given (library argument -> value), checked against --constrain."""
    controls = {name: getattr(args, name) for name in ("parts", *HEADER_FLAGS)
                if getattr(args, name) is not None}
    if args.chords == "symbols":
        controls["chord_symbols"] = True
    if args.written_out:
        controls["repeats"] = False
    for name in controls:
        flag = {**HEADER_FLAGS, **FORM_FLAGS}[name]
        if args.constrain == "none" or (args.constrain == "meter" and name in FORM_FLAGS):
            needs = "form" if name in FORM_FLAGS else "form (or meter)"
            raise CommandError(f"{flag}: needs --constrain {needs}, the tracker writes it")
    return controls


def _continued_tune(args, model, controls: dict) -> str:
    """--continue's seed text: the file's header and first bars, which the tracker must be
    able to go on from."""
    from tfcreative.music import meter
    from tfcreative.music.continuation import read_tune_start
    from tfcreative.music.controls import tune_controls

    given = [HEADER_FLAGS[name] for name in HEADER_FLAGS if name in controls]
    if args.seed_text != DEFAULT_SEED_TEXT.replace("\n", "\\n"):
        given.insert(0, "--seed-text")
    if given:
        raise CommandError(f"--continue: the tune's own header and bars start every tune: not "
                           f"with {given[0]}")
    seed_text = read_tune_start(args.continue_path, "continue_path")
    unknown = model.vocabulary.unknown_characters(seed_text)
    if unknown:
        raise CommandError(f"--continue: {args.continue_path}: characters the model was not "
                           f"trained on: {''.join(sorted(unknown))!r}")
    if args.constrain != "none":
        form = tune_controls(**controls) if args.constrain == "form" else None
        problem = meter.continuation_problem(seed_text, model.vocabulary, form)
        if problem:
            raise CommandError(f"--continue: {args.continue_path}: {problem} (--constrain "
                               "none samples it freely)")
    return seed_text


def _sample(model, args):
    controls = _controls(args)
    seed_text = _seed_text(args)
    if args.continue_path:
        seed_text = _continued_tune(args, model, controls)
    from tfcreative.music.generation_model import sampler_for

    return sampler_for(model).generate(
        seed_text, num_tunes=args.num_tunes, max_length=args.max_length,
        temperature=args.temperature, top_k=args.top_k, seed=args.random_seed,
        constrain=None if args.constrain == "none" else args.constrain, **controls)


def generates_on_numpy(args) -> bool:
    """Whether `generate` runs without TensorFlow (music.generation_model: a preset)."""
    from tfcreative.music.generation_model import runs_on_numpy

    return runs_on_numpy(args.path)


def _generate(args) -> int:
    from tfcreative.music.generation_model import load_for_generation
    from tfcreative.music.output import write_tunes

    tunes = _sample(load_for_generation(args.path), args)
    write_tunes(tunes, args.out_dir or default_tunes_dir(args.path), midi=not args.no_midi)
    return 0


def _evaluation_data(args) -> dict:
    """--abc or --collection; without either, the tunes the model was trained on where its run
    directory or preset recorded them (said in a line), else the bundled corpus."""
    from tfcreative.saving import recorded_settings

    if args.abc_path or args.collection:
        return {"abc_path": args.abc_path, "collection": args.collection}
    recorded = recorded_settings(args.path) or {}
    abc_path, collection = recorded.get("abc_path"), recorded.get("collection")
    if abc_path and not os.path.exists(abc_path):
        raise CommandError(f"--model: {args.path} was trained on --abc {abc_path}, which is not "
                           f"there any more: give --abc or --collection")
    if abc_path or collection:
        flag = f"--abc {abc_path}" if abc_path else f"--collection {collection}"
        print(f"Data: {flag}, what {args.path} was trained on (--abc or --collection to "
              f"choose other tunes)")
    return {"abc_path": abc_path, "collection": collection}


def _evaluate(args) -> int:
    from tfcreative.music import load_model, pipeline
    from tfcreative.music.evaluation import evaluate_sampling

    model = load_model(args.path)
    builder = pipeline.prepare_builder(**_evaluation_data(args), data_dir=args.data_dir)
    evaluation = evaluate_sampling(model, builder, _sample(model, args), args.parts or 2,
                                   args.seq_length, args.batch_size)
    print(evaluation.format())
    if args.json:
        evaluation.write_json(args.json, constrain=args.constrain)
    return 0
