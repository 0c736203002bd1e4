"""The command line: `assistant ingest|sources|search|papers|ask|related-work|chat|eval` and `ask`.

Each command is thin: it resolves settings, calls one layer, and renders. Heavy modules
(chromadb, llama-index, openai, textual) are imported inside the commands that need them so
that `--help` and a search start fast.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import TYPE_CHECKING, Any, Callable

import click

from .answer.backends import BACKENDS
from .config import Settings, load_settings, setting_keys
from .errors import AssistantError
from .text import CONTROL, printable

if TYPE_CHECKING:
    from .corpus.paper import Paper
    from .retrieve import Filters

# Exit codes: 0 ok, 1 usage error (click), 2 a failure the user can act on, 130 interrupted.
EXIT_FAILURE = 2
_SETTING_KEYS = setting_keys()


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options every command shares and hand the command a resolved `settings`."""

    @click.option("--index", "index_dir", type=click.Path(file_okay=False), envvar=None,
                  help="Index directory [env ASSISTANT_INDEX_DIR].")
    @click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000 [env ASSISTANT_CHROMA_URL].")
    @click.option("--library", help="Library on the Chroma store, for several on one server [env ASSISTANT_LIBRARY].")
    @click.option("--seeds", "seeds_dir", type=click.Path(), hidden=True,
                  help="The old name of ingest's PATH: a library file or folder, added to its sources "
                       "[env ASSISTANT_SEEDS_DIR].")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .resources import use_prompts

        # Every option named after a setting's key is a flag for load_settings, not for func.
        flags = {name: kwargs.pop(name) for name in list(kwargs) if name in _SETTING_KEYS}
        settings = load_settings(flags)
        use_prompts(settings.prompts_dir)
        return func(*args, settings=settings, **kwargs)

    return wrapper


def filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add --year, --author and --category and hand the command the `filters` they make."""

    @click.option("--year", help="A year or range: 2021, 2020-2023, 2020- or -2023.")
    @click.option("--author", help="Only papers with an author whose name contains this (any case or accents).")
    @click.option("--category", help="Only papers of this subject code (e.g. CL, LG, AS).")
    @functools.wraps(func)
    def wrapper(*args: Any, year: str | None, author: str | None, category: str | None, **kwargs: Any) -> Any:
        from .retrieve import Filters

        return func(*args, filters=Filters.parse(year=year, author=author, category=category), **kwargs)

    return wrapper


def backend_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options choosing and reaching the answer backend (consumed by settings_options)."""
    func = click.option("--backend", type=click.Choice(list(BACKENDS)),
                        help="Answer backend [env ASSISTANT_BACKEND]; default: openai if an endpoint is configured, else extractive.")(func)
    func = click.option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 [env OPENAI_BASE_URL].")(func)
    func = click.option("--api-key", help="API key for the endpoint [env OPENAI_API_KEY]. Never printed or stored.")(func)
    func = click.option("--model", help="Model name at the endpoint [env ASSISTANT_MODEL].")(func)
    func = click.option("--timeout", type=float, help="Seconds the endpoint has for a whole reply [env ASSISTANT_TIMEOUT].")(func)
    func = click.option("--context-tokens", type=int,
                        help="The model's context window, when the server does not tell [env ASSISTANT_CONTEXT_TOKENS].")(func)
    func = click.option("--citation-format", type=click.Choice(["auto", "json", "markers"]),
                        help="How the model cites: structured JSON, [n] markers, or whichever works at the endpoint.")(func)
    return func


def print_json(data: Any) -> None:
    """JSON stays data: every value as it is, with the control characters json.dumps leaves raw
    (it escapes only C0; C1, DEL and bidi overrides would still reach a terminal) escaped too."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    click.echo(CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text))


def print_markdown(markdown: str) -> None:
    """Rich Markdown on a terminal; the Markdown source itself when piped."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(printable(markdown)))
    else:
        click.echo(printable(markdown))


def print_answer(answer: Any) -> None:
    """An Answer (or related-work section) as rich Markdown on a terminal, plain text when piped."""
    from .answer.render import render_markdown, render_text

    if sys.stdout.isatty():
        print_markdown(render_markdown(answer))
    else:
        click.echo(printable(render_text(answer)), nl=False)


def progress_printer(stream: Any = None) -> Callable[[str, int, int], None]:
    """A progress callback (stage, done, total) drawing a bar on stderr."""
    from rich.progress import MofNCompleteColumn, Progress, ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):  # items (papers while ingesting) per second
        def render(self, task: Any) -> Text:
            return Text(f"{task.speed:.1f}/s" if task.speed else "")

    stream = stream or sys.stderr
    state: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if "progress" not in state:
            from rich.console import Console

            progress = Progress(*Progress.get_default_columns(), MofNCompleteColumn(), RateColumn(),
                                console=Console(file=stream), transient=False)
            progress.start()
            state["progress"] = progress
        progress = state["progress"]
        if stage not in state:
            state[stage] = progress.add_task(stage, total=total)
        progress.update(state[stage], completed=done, total=total)
        if done >= total and all(t.finished for t in progress.tasks):
            progress.stop()
            state.clear()

    return report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="cited-review-assistant")
def cli() -> None:
    """A literature-review assistant: every claim cited to a paper in your library."""


@cli.command("config")
@settings_options
@backend_options
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
def config_command(settings: Settings, as_json: bool) -> None:
    """Show every setting, its value and where it came from (flag, env, file or default),
    and where the config file, data and index live. The API key shows only as set / not set."""
    from .config import config_path

    path = config_path()
    places = {"config_file": str(path), "data_dir": str(settings.data_dir), "index_dir": str(settings.index_dir),
              "chosen_backend": settings.chosen_backend}
    described = settings.described()
    if as_json:
        print_json(places | {"settings": described})
        return
    places["config_file"] += "" if path.is_file() else " (not found)"
    width = max(map(len, described))
    click.echo("\n".join(f"{name.replace('_', ' '):<{width}}  {value}" for name, value in places.items()))
    click.echo()
    for name, row in described.items():
        value = "(none)" if row["value"] is None else row["value"]
        click.echo(f"{name:<{width}}  {value!s:<24}  {row['source']}")


@cli.command("chat")
@settings_options
@backend_options
@click.option("--resume", is_flag=False, flag_value="latest", default=None, metavar="[SESSION_ID]",
              help="Reopen the latest chat session, or the one with this id.")
@click.option("--exit-after-first-frame", is_flag=True, hidden=True,
              help="Draw the first frame and exit (to measure launch time).")
def chat_command(settings: Settings, resume: str | None, exit_after_first_frame: bool) -> None:
    """Chat with the papers in a terminal UI: cited answers beside their sources."""
    from .tui.app import run_chat

    run_chat(settings, resume=resume, exit_after_first_frame=exit_after_first_frame)


def _progress_on_demand() -> Callable[[str, int, int], None]:
    """A progress_printer built on the first report: most searches report nothing, and
    rich.progress costs ~50 ms to import."""
    printer: Callable[[str, int, int], None] | None = None

    def report(stage: str, done: int, total: int) -> None:
        nonlocal printer
        printer = printer or progress_printer()
        printer(stage, done, total)

    return report


@cli.command("ingest")
@settings_options
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[PATH]...")
@click.option("--replace", is_flag=True, help="Make the PATHs the library's only sources (by default they are added).")
@click.option("--remove", multiple=True, metavar="PATH", help="Drop this source from the library, then re-sync (repeatable).")
@click.option("--skip-invalid", is_flag=True,
              help="Index what can be read and list the entries and files left out (by default one bad entry stops the ingest).")
@click.option("--require-abstract", is_flag=True, help="Leave out entries without an abstract (by default they are indexed by title).")
@click.option("--rebuild", is_flag=True, help="Rebuild from scratch: re-embed everything (e.g. after switching embedder).")
@click.option("--embedder", help="'minilm' (offline, default) or a model name at --base-url [env ASSISTANT_EMBEDDER].")
@click.option("--base-url", help="OpenAI-compatible endpoint for a non-minilm --embedder [env OPENAI_BASE_URL].")
def ingest_command(settings: Settings, paths: tuple[str, ...], replace: bool, remove: tuple[str, ...],
                   skip_invalid: bool, require_abstract: bool, rebuild: bool) -> None:
    """Index your library: files and folders of BibTeX, RIS, CSL-JSON or arXiv Atom exports, or listings.

    The library remembers its sources: each PATH is added to them, and a bare `assistant ingest`
    re-syncs them all (files added, changed or removed). The same paper in several files is one
    record. Nothing is indexed when a file cannot be read, unless --skip-invalid. Incremental and
    atomic: the previous index answers until the new one is complete. (--seeds PATH, the old
    name, still works.)
    """
    from .index.ingest import ingest

    report = ingest(settings, paths, replace=replace, remove=remove, skip_invalid=skip_invalid,
                    require_abstract=require_abstract, rebuild=rebuild, on_progress=progress_printer())
    for skipped in report.skipped:
        click.echo(printable(f"skipped: {skipped}"), err=True)
    click.echo(printable(report.summary()))


@cli.command("sources")
@settings_options
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
def sources_command(settings: Settings, as_json: bool) -> None:
    """List the sources of your library: the files and folders a bare `assistant ingest` re-syncs."""
    from .index.sources import recorded, sources_of

    record = recorded(settings)
    sources = sources_of(record) if record else []
    if as_json:
        print_json([source.to_dict() for source in sources])
    elif record is None:
        click.echo("nothing indexed yet; index your library with `assistant ingest PATH`")
    elif not sources:
        click.echo(f"no sources: the index holds the {record['papers']} sample papers shipped with the assistant; "
                   "index yours with `assistant ingest PATH`")
    else:
        rows = [("path", "formats", "files", "papers", "ingested")]
        rows += [(s.path, ", ".join(s.formats), str(s.files), str(s.papers), s.ingested) for s in sources]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
        for row in rows:
            click.echo(printable("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[-1]))


@cli.command("search")
@settings_options
@click.argument("query")
@filter_options
@click.option("-k", "--top", "k", type=click.IntRange(min=1, max=1000), default=10, show_default=True, help="How many results.")
@click.option("--per-paper", "retrieval__per_paper", type=click.IntRange(min=1),
              help="At most this many matching chunks from any one paper [default 1; env ASSISTANT_RETRIEVAL__PER_PAPER].")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--embedder", help="The embedder the index was built with [env ASSISTANT_EMBEDDER].")
def search_command(settings: Settings, query: str, k: int, filters: Filters, as_json: bool) -> None:
    """Rank the indexed papers for QUERY (dense + BM25, fused)."""
    from .retrieve import open_retriever
    from .text import snippet

    retriever = open_retriever(settings, on_progress=_progress_on_demand())
    results = retriever.search(query, k=k, filters=filters)
    # The records are read only for a filtered search (a fresh search on a large index reads none).
    if not filters.is_empty() and (notice := filters.undated_notice(retriever.papers())):
        click.echo(f"note: {notice}", err=True)
    if as_json:
        print_json([e.to_dict() for e in results])
    elif not results:
        click.echo("no matching papers" + ("" if filters.is_empty() else " (try wider filters)"))
    else:
        _print_ranked([(str(e.rank), e.paper.key, e.paper.year_label, e.paper.label, snippet(e.text, query))
                       for e in results])


@cli.command("papers")
@settings_options
@filter_options
@click.option("--json", "as_json", is_flag=True, help="Print the papers as JSON (with abstracts).")
@click.option("--bib", type=click.Path(dir_okay=False, writable=True),
              help="Write the library as BibTeX, with your citation keys, for a reference manager or LaTeX.")
@click.option("--csl-json", type=click.Path(dir_okay=False, writable=True),
              help="Write the library as CSL-JSON, with your citation keys (Zotero, pandoc).")
def papers_command(settings: Settings, filters: Filters, as_json: bool, bib: str | None, csl_json: str | None) -> None:
    """List the papers of your library (those the filters admit), or write them out (--bib, --csl-json)."""
    from .retrieve import indexed_papers

    papers = [p for p in indexed_papers(settings, on_progress=_progress_on_demand()) if filters.matches(p)]
    if bib or csl_json:
        from .answer.bibtex import to_bibtex
        from .answer.csl_json import to_csl_json

        exports = {bib: to_bibtex, csl_json: to_csl_json}
        _write_files({path: write(papers) for path, write in exports.items() if path}, "choose another --bib/--csl-json path")
        click.echo(f"wrote {len(papers)} papers to " + " and ".join(path for path in exports if path), err=True)
        if bib:
            _note_incomplete(papers)
    elif as_json:
        print_json([p.to_dict() for p in papers])
    else:
        _print_ranked([(str(i), p.key, p.year_label, p.label, p.authors_display())
                       for i, p in enumerate(papers, start=1)])


def _note_incomplete(papers: list[Paper]) -> None:
    """Say on stderr which exported entries lack a title, authors or a year."""
    from .answer.bibtex import incomplete

    if note := incomplete(papers):
        click.echo("note: " + printable(note), err=True)


def _write_files(texts: dict[str, str], hint: str) -> None:
    """Write each file; one that cannot be written is an InputError naming it."""
    from pathlib import Path

    from .errors import InputError

    try:
        for path, text in texts.items():
            Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {exc.filename}: {exc.strerror}", hint) from None


def _print_ranked(rows: list[tuple[str, str, str, str, str]]) -> None:
    """Numbered rows (n, key, year, title, detail): a rich table on a terminal, plain lines when piped."""
    rows = [(n, printable(key), year, printable(title), printable(detail)) for n, key, year, title, detail in rows]
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table(show_lines=True)
        for name, style in (("#", "dim"), ("key", "cyan"), ("year", ""), ("title / snippet", "")):
            table.add_column(name, style=style, overflow="fold")
        for n, key, year, title, detail in rows:
            table.add_row(n, key, year, f"[bold]{_escape(title)}[/bold]\n{_escape(detail)}" if detail else f"[bold]{_escape(title)}[/bold]")
        Console().print(table)
    else:
        for n, key, year, title, detail in rows:
            click.echo(f"{n}. [{key}] ({year}) {title}")
            if detail:
                click.echo(f"   {detail}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


@cli.command("ask")
@settings_options
@backend_options
@filter_options
@click.argument("question", nargs=-1)
@click.option("-k", "--top-k", "answer__top_k", type=click.IntRange(min=1, max=50),
              help="How many papers to answer from [default 6; env ASSISTANT_ANSWER__TOP_K].")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON (the Answer object).")
@click.option("--stream", is_flag=True, help="Show the model's words as they arrive, then the checked answer.")
def ask_command(settings: Settings, question: tuple[str, ...], filters: Filters, as_json: bool, stream: bool) -> None:
    """Answer QUESTION from the indexed papers: every sentence cited, every citation checked.

    With no endpoint configured the extractive backend answers offline by quoting the abstracts;
    with --base-url (or OPENAI_BASE_URL) a model writes the answer and enforcement checks it.
    """
    from .answer.answerer import answer_question, checked_question
    from .retrieve import open_retriever

    text = " ".join(question)
    checked_question(text)  # an empty question fails here, before the index is opened
    retriever = open_retriever(settings, on_progress=_progress_on_demand())
    # Streamed words go where the user is looking: the terminal, else stderr (stdout is the answer).
    token_stream = sys.stdout if sys.stdout.isatty() and not as_json else sys.stderr
    streamed: list[str] = []

    def show_token(token: str) -> None:
        streamed.append(token)
        token_stream.write(printable(token))
        token_stream.flush()

    try:
        answer = answer_question(text, settings, retriever, filters, on_token=show_token if stream else None)
    finally:
        if streamed:  # end the streamed words, so that what follows (answer or error) starts a line
            token_stream.write("\n\n")
    if streamed and token_stream is sys.stdout:
        click.echo("-" * 20 + " checked answer " + "-" * 20)
    if as_json:
        print_json(answer.to_dict())
    else:
        print_answer(answer)


@cli.command("related-work")
@settings_options
@backend_options
@click.argument("topic", nargs=-1)
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="Write the section (Markdown) to this file.")
@click.option("--bib", type=click.Path(dir_okay=False, writable=True), help="Write BibTeX for exactly the cited papers.")
@filter_options
@click.option("--max-papers", type=click.IntRange(min=3, max=60), default=25, show_default=True,
              help="The most papers to consider (a relevance floor decides how many are used).")
@click.option("--json", "as_json", is_flag=True, help="Print the section as JSON (themes, sentences, citations, references).")
def related_work_command(settings: Settings, topic: tuple[str, ...], out: str | None, bib: str | None,
                         max_papers: int, filters: Filters, as_json: bool) -> None:
    """Write a cited related-work section on TOPIC, in themed paragraphs, plus its BibTeX.

    Every sentence passes the same citation checks as `ask`; authors and years come from the
    paper records. A topic the papers do not cover is refused, and nothing is written.
    """
    from .answer.answerer import checked_question
    from .answer.bibtex import to_bibtex
    from .answer.related_work import write_related_work
    from .answer.render import notes_text, render_draft
    from .retrieve import open_retriever

    text = " ".join(topic)
    checked_question(text)
    retriever = open_retriever(settings, on_progress=_progress_on_demand())
    section = write_related_work(text, settings, retriever, max_papers=max_papers, filters=filters)
    papers = {p.key: p for p in retriever.papers()}
    cited = [papers[r.key] for r in section.references]
    files, written = {}, []
    if out and not section.refused:
        files[out] = render_draft(section)
        written.append(f"{out} ({len(section.themes)} theme{'' if len(section.themes) == 1 else 's'})")
    if bib and not section.refused:
        files[bib] = to_bibtex(cited)
        written.append(f"{bib} ({len(cited)} entries)")
    _write_files(files, "choose another --out/--bib path")
    if as_json:
        print_json(section.to_dict())
    elif not out:
        print_answer(section)
    elif section.refused:
        click.echo(printable(section.refusal or ""))
    if written:
        click.echo("wrote " + " and ".join(written), err=True)
        if out and notes_text(section):
            click.echo("notes (not written to the file):\n" + notes_text(section), err=True)
        if bib and not section.refused:
            _note_incomplete(cited)
    if section.refused:
        raise SystemExit(1)


@cli.command("eval")
@settings_options
@backend_options
@click.option("--questions", "question_files", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="A question set (.jsonl); repeat for several [default: evals/questions/*.jsonl].")
@click.option("--judge", type=click.Choice(["offline", "model"]), default="offline", show_default=True,
              help="Who decides whether cited abstracts support a sentence (ALCE scores): the offline verifier, or the configured model.")
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the JSON results here [default: eval-<backend>.json in the data directory; "
                   "the committed evals/results/ change only when named here].")
@click.option("--ingest", "time_ingest", is_flag=True, help="Also time a fresh ingest of the library (about 15 s for the sample papers).")
@click.option("--no-cold-start", is_flag=True, help="Skip timing fresh `assistant search` processes.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON instead of the table.")
def eval_command(settings: Settings, question_files: tuple[str, ...], judge: str, out: str | None, time_ingest: bool,
                 no_cold_start: bool, as_json: bool) -> None:
    """Measure retrieval, citations and latency over a question set; exit 1 if a citation invariant breaks."""
    import json as json_module
    from pathlib import Path

    from .errors import InputError
    from .evaluation.questions import default_question_files, load_questions
    from .evaluation.run import format_report, run_evaluation

    files = [Path(f) for f in question_files] or default_question_files()
    report = run_evaluation(settings, load_questions(files), judge=judge, cold_start=not no_cold_start,
                            ingest=time_ingest, on_progress=_progress_on_demand())
    target = Path(out) if out else settings.data_dir / f"eval-{report['answers']['backend']}.json"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json_module.dumps(report, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {target}: {exc.strerror}", "pass --out PATH") from None
    if as_json:
        print_json(report)
    else:
        click.echo(format_report(report))
        click.echo(f"results written to {target}")
    if report["invariants_broken"]:
        raise SystemExit(1)


def _run(command: click.Command, args: list[str] | None = None, prog_name: str | None = None) -> int:
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except AssistantError as exc:
        click.echo(printable(f"error: {exc}"), err=True)
        return EXIT_FAILURE
    except click.exceptions.Abort:
        click.echo("interrupted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 0
    return 0


def main() -> None:
    sys.exit(_run(cli, prog_name="assistant"))


def ask_main() -> None:
    """The `ask` console script: `ask QUESTION` is `assistant ask QUESTION`."""
    sys.exit(_run(cli.commands["ask"], prog_name="ask"))
