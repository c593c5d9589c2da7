"""The ``listening`` command line: every pipeline step, without Airflow.

The functions it calls are the same ones the DAGs call, so ``listening run`` and an Airflow run of
``listening_ingest`` -> ``listening_enrich`` -> ``listening_marts`` produce the same layers.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from schemas.config import ConfigError

log = logging.getLogger("listening")


def _setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("great_expectations", "py.warnings", "fsspec", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _print(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, default=str))


def _project(args: argparse.Namespace):
    from pipelines.project import open_project

    return open_project(args.config)


# -- commands ------------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from pipelines.run import run_all

    _print(run_all(_project(args)))
    return 0


def _moment(value: str | None):
    """--since/--until: an ISO date (midnight UTC) or date-time (UTC unless it has an offset)."""
    import datetime as dt

    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise SystemExit(
            f"{value!r} is not an ISO date or date-time (e.g. 2026-11-01 or 2026-11-01T06:00)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def cmd_ingest(args: argparse.Namespace) -> int:
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pipelines.connectors.http import SourceError
    from pipelines.ingest import enabled_sources, ingest_source

    project = _project(args)
    names = [args.source] if args.source else enabled_sources(project)
    since, until = _moment(args.since), _moment(args.until)
    results, failed = [], []
    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, transient=True, console=_stderr_console()) as progress:
        for name in names:
            task = progress.add_task(f"{name}: starting")

            def report(query: str, landed: int, task=task, name=name) -> None:
                progress.update(task, description=f"{name}: {query!r} landed {landed} records")

            started = time.perf_counter()
            try:
                result = ingest_source(project, name, since, until, progress=report)
            except SourceError as exc:  # one source down does not stop the others
                failed.append(name)
                result = {"source": name, "error": str(exc)}
            result.pop("batches", None)
            result["seconds"] = round(time.perf_counter() - started, 2)
            results.append(result)
            progress.remove_task(task)
    _print(results)
    if failed:
        print(f"failed: {', '.join(failed)} (see 'error' above)", file=sys.stderr)
    return 1 if failed else 0


def _stderr_console():
    from rich.console import Console

    return Console(stderr=True)


def _parse_mapping(pairs: list[str]) -> dict[str, str]:
    mapping = {}
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(f"--map expects FIELD=COLUMN, got {pair!r}")
        target, column = pair.split("=", 1)
        mapping[target.strip()] = column.strip()
    return mapping


def cmd_import(args: argparse.Namespace) -> int:
    from pipelines.ingest import FileSpec, import_file

    project = _project(args)
    mapping = _parse_mapping(args.map or [])
    configured = next((s for s in project.config.sources if s.name == args.source), None)
    if not mapping:
        if configured is None:
            raise ConfigError(
                f"source {args.source!r} is not in the config: give the columns with --map text=COL --map created_at=COL ..."
            )
        mapping = dict(configured.mapping)
    spec = FileSpec(
        source=args.source,
        mapping=mapping,
        fmt=args.format,
        timezone=args.timezone or (configured.timezone if configured else None) or project.config.timezone,
        encoding=args.encoding,
        date_format=args.date_format,
    )
    result = import_file(project, args.path, spec)
    _print(
        {k: v for k, v in result.items() if k != "batches"} | {"warnings": result["batches"][0]["warnings"]}
    )
    return 0


def cmd_enrich(args: argparse.Namespace) -> int:
    from nlp.enrich import enrich_pending

    result = enrich_pending(_project(args))
    result["dates"] = len(result["dates"])
    _print(result)
    return 0


def cmd_marts(args: argparse.Namespace) -> int:
    from pipelines.marts import build_marts

    include_bots = True if args.include_bots else None
    _print(build_marts(_project(args), full=args.full, include_bots=include_bots))
    return 0


def cmd_digest(args: argparse.Namespace) -> int:
    from pipelines.digest import available_weeks, build_digest

    project = _project(args)
    if args.list:
        _print(available_weeks(project))
        return 0
    if not args.week:
        raise ConfigError("give the week with --week 2026-W14 (or --list the weeks with data)")
    _print(build_digest(project, args.week, deliver=not args.no_deliver, force=args.force))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from pipelines.status import layer_status

    status = layer_status(_project(args))
    if not args.detail:
        status["quarantine"].pop("records_detail")
    _print(status)
    return 0


def cmd_config_validate(args: argparse.Namespace) -> int:
    project = _project(args)
    config = project.config
    print(f"{project.config_path}: valid ({len(config.brands)} brands, {len(config.sources)} sources, "
          f"{len(config.languages)} languages, storage {project.storage.uri()})")  # fmt: skip
    return 0


def cmd_schemas_export(args: argparse.Namespace) -> int:
    from schemas.config import write_config_json_schema
    from schemas.tables import export_tables

    for path in [write_config_json_schema(), *export_tables()]:
        print(path)
    return 0


def cmd_demo_generate(args: argparse.Namespace) -> int:
    from pipelines.demo.generate import generate

    out = Path(args.out) if args.out else _project(args).resolve("var/inbox/demo")
    info = generate(out)
    print(
        f"demo data: {info['posts']} posts from {info['hand_written_texts']} hand-written texts in "
        f"{len(info['languages'])} languages from {info['period']['start']}, nine weeks "
        f"(+{len(info['broken_rows'])} deliberately broken rows) -> {out}"
    )
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    project = _project(args)
    app = Path(__file__).resolve().parent.parent / "dashboards" / "app.py"
    env = dict(os.environ, LISTENING_CONFIG=str(project.config_path))
    command = [
        sys.executable, "-m", "streamlit", "run", str(app),
        "--server.address", args.host, "--server.port", str(args.port),
        "--server.headless", "true", "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal",
        "--theme.primaryColor", "#3D5A80",  # not a brand colour: brand colours mean brands
    ]  # fmt: skip
    print(f"Dashboard: http://{args.host}:{args.port}  (Ctrl+C to stop)", flush=True)
    if os.name == "posix":
        # Become the server: a supervisor's SIGTERM then stops it, instead of leaving it orphaned.
        os.execve(sys.executable, command, env)
    return subprocess.call(command, env=env)


def cmd_models(args: argparse.Namespace) -> int:
    from nlp import models

    project = _project(args)
    if args.sub == "status":
        _print(models.status(project.config, project.base_dir))
    elif args.sub == "prepare":
        _print(models.prepare(project.config, project.base_dir, force=args.force))
    else:
        from nlp.encoder import make_encoder
        from nlp.train import train

        runtime = models.runtime_dir(project.config, project.base_dir)
        if not (runtime / models.MANIFEST).is_file():
            models.prepare(project.config, project.base_dir)
        modes = ("default", "fast") if args.mode == "all" else (args.mode,)
        summary = train({mode: make_encoder(runtime, mode) for mode in modes})
        _print({mode: {task: {k: v for k, v in f.items() if k != "labels"} for task, f in card.items()}
                for mode, card in summary["modes"].items()})  # fmt: skip
    return 0


def cmd_analyze(args: argparse.Namespace) -> int:
    from nlp.parallel import without_torch
    from pipelines.analyze import analyze_file

    project = _project(args)
    without_torch(project.config)  # this process only labels posts
    result = analyze_file(
        project, Path(args.input), Path(args.output), args.text_column, args.id_column,
        Path(args.brand_config) if args.brand_config else None, args.format, mode=args.mode,
        workers=args.workers,
    )  # fmt: skip
    _print(result)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from nlp.evaluate import format_report, run_eval

    project = _project(args)
    shared = Path(args.shared) if args.shared else None
    results = run_eval(project.config, project.base_dir, args.mode, shared, args.limit)
    report = format_report(results)
    print(report)
    if args.report:
        Path(args.report).write_text(report, encoding="utf-8")
        Path(args.report).with_suffix(".json").write_text(json.dumps(results, indent=2, default=str))
    return 0


# -- parser --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="listening", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="project file (default: $LISTENING_CONFIG or ./listening.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("run", help="ingest every source, enrich, build marts (no Airflow)").set_defaults(
        func=cmd_run
    )

    p = sub.add_parser("ingest", help="land and normalise configured sources")
    p.add_argument("--source", help="only this source")
    p.add_argument("--since", help="live sources: start of the window (ISO; default: the high-water mark)")
    p.add_argument("--until", help="live sources: end of the window (ISO; default: now)")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("import", help="import a CSV/JSONL/Parquet export with a column mapping")
    p.add_argument("path")
    p.add_argument("--source", required=True, help="source id for the posts (or a configured file source)")
    p.add_argument(
        "--map",
        action="append",
        metavar="FIELD=COLUMN",
        help="post field -> column; at least text= and created_at= (repeat)",
    )
    p.add_argument("--format", default="auto", choices=["auto", "csv", "jsonl", "parquet"])
    p.add_argument("--timezone", help="timezone of timestamps without an offset (default: project timezone)")
    p.add_argument("--encoding", help="force an encoding instead of detecting it")
    p.add_argument("--date-format", help="strptime layout of created_at, e.g. '%%m/%%d/%%Y %%H:%%M'")
    p.set_defaults(func=cmd_import)

    sub.add_parser("enrich", help="run the NLP over new or changed posts").set_defaults(func=cmd_enrich)
    marts = sub.add_parser("marts", help="bring the marts up to date (only the periods new data touches)")
    marts.add_argument("--full", action="store_true", help="rebuild every period from scratch")
    marts.add_argument(
        "--include-bots",
        action="store_true",
        help="count likely bots/spam too (overrides marts: in the config)",
    )
    marts.set_defaults(func=cmd_marts)
    p = sub.add_parser("digest", help="build, archive and deliver the weekly digest of an ISO week")
    p.add_argument("--week", help="ISO week, e.g. 2026-W14")
    p.add_argument("--force", action="store_true", help="send again to channels that already had this week")
    p.add_argument("--no-deliver", action="store_true", help="only build and archive; send nothing")
    p.add_argument("--list", action="store_true", help="list the weeks with data, newest first")
    p.set_defaults(func=cmd_digest)
    p = sub.add_parser("status", help="row counts per layer and quarantine reasons")
    p.add_argument("--detail", action="store_true", help="list every quarantined record")
    p.set_defaults(func=cmd_status)

    config = sub.add_parser("config", help="project file tools").add_subparsers(dest="sub", required=True)
    config.add_parser("validate", help="validate the project file").set_defaults(func=cmd_config_validate)

    schemas = sub.add_parser("schemas", help="data contracts").add_subparsers(dest="sub", required=True)
    schemas.add_parser("export", help="write schemas/*.json from the code").set_defaults(
        func=cmd_schemas_export
    )

    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="sub", required=True)
    p = demo.add_parser("generate", help="write the demo exports (deterministic)")
    p.add_argument("--out", help="folder (default: var/inbox/demo next to the config)")
    p.set_defaults(func=cmd_demo_generate)

    models = sub.add_parser("models", help="NLP models").add_subparsers(dest="sub", required=True)
    models.add_parser("status", help="which encoder is used and where it came from").set_defaults(
        func=cmd_models
    )
    p = models.add_parser(
        "prepare", help="provision the encoder (offline rebuild if needed) and runtime files"
    )
    p.add_argument("--force", action="store_true", help="rebuild the runtime files")
    p.set_defaults(func=cmd_models)
    p = models.add_parser("train", help="train the task heads on nlp/data/train")
    p.add_argument("--mode", choices=["default", "fast", "all"], default="all")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("analyze", help="run the NLP on a CSV/JSONL/Parquet file")
    p.add_argument("input")
    p.add_argument("--text-column", required=True)
    p.add_argument("--id-column")
    p.add_argument("--brand-config", help="a listening.yaml whose brands (and languages) to link")
    p.add_argument("--output", required=True, help="output .parquet")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "jsonl", "parquet"])
    p.add_argument("--mode", choices=["default", "fast"], help="override nlp.mode")
    p.add_argument(
        "--workers", type=int, help="processes that label in parallel (override nlp.workers; 1 = none)"
    )
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("eval", help="evaluate every NLP task on the gold set and ../shared/data")
    p.add_argument("--mode", choices=["default", "fast"], default="default")
    p.add_argument("--shared", help="folder of the public evaluation sets (default ../shared/data)")
    p.add_argument("--limit", type=int, help="at most this many items per dataset/language")
    p.add_argument("--report", help="also write the Markdown report here (and .json beside it)")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("dashboard", help="serve the Streamlit dashboard")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8501)
    p.set_defaults(func=cmd_dashboard)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _setup_logging(args.verbose)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # a clear one-line reason; the traceback with -v
        from pipelines.connectors.file_import import FileImportError
        from pipelines.validation import ValidationFailed

        if isinstance(
            exc, FileImportError | ValidationFailed | FileNotFoundError | KeyError | RuntimeError | ValueError
        ):
            if args.verbose:
                raise
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
