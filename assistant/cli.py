"""The command line: `assistant ingest|search|papers|ask|related-work|chat|eval` and `ask`.

Each command is thin: it resolves settings, calls one layer, and renders. Heavy modules
(chromadb, llama-index, openai, textual) are imported inside the commands that need them so
that `--help` and a search start fast.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Callable

import click

from .config import Settings, load_settings, setting_names
from .errors import AssistantError

# Exit codes: 0 ok, 1 usage error (click), 2 a failure the user can act on, 130 interrupted.
EXIT_FAILURE = 2
_SETTING_NAMES = setting_names()


def settings_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the options every command shares and hand the command a resolved `settings`."""

    @click.option("--index", "index_dir", type=click.Path(file_okay=False), envvar=None,
                  help="Index directory [env ASSISTANT_INDEX_DIR].")
    @click.option("--chroma-url", help="Use a Chroma server, e.g. http://127.0.0.1:8000 [env ASSISTANT_CHROMA_URL].")
    @click.option("--seeds", "seeds_dir", type=click.Path(file_okay=False),
                  help="Directory of seed listings (default: the shipped seeds).")
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        # Every option named after a Settings field is a flag for load_settings, not for func.
        flags = {name: kwargs.pop(name) for name in list(kwargs) if name in _SETTING_NAMES}
        return func(*args, settings=load_settings(flags), **kwargs)

    return wrapper


def backend_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Options choosing and reaching the answer backend (consumed by settings_options)."""
    func = click.option("--backend", type=click.Choice(["openai", "extractive"]),
                        help="Answer backend [env ASSISTANT_BACKEND]; default: openai if an endpoint is configured, else extractive.")(func)
    func = click.option("--base-url", help="OpenAI-compatible endpoint, e.g. http://localhost:11434/v1 [env OPENAI_BASE_URL].")(func)
    func = click.option("--api-key", help="API key for the endpoint [env OPENAI_API_KEY]. Never printed or stored.")(func)
    func = click.option("--model", help="Model name at the endpoint [env ASSISTANT_MODEL].")(func)
    func = click.option("--timeout", type=float, help="Seconds to wait for the endpoint [env ASSISTANT_TIMEOUT].")(func)
    return func


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def print_markdown(markdown: str) -> None:
    """Rich Markdown on a terminal; the Markdown source itself when piped."""
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.markdown import Markdown

        Console().print(Markdown(markdown))
    else:
        click.echo(markdown)


def progress_printer(stream: Any = None) -> Callable[[str, int, int], None]:
    """A progress callback (stage, done, total) drawing a bar on stderr."""
    from rich.progress import Progress

    stream = stream or sys.stderr
    state: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if "progress" not in state:
            from rich.console import Console

            progress = Progress(console=Console(file=stream), transient=False)
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
    """A literature-review assistant: every claim cited to a paper in your pile."""


@cli.command("config")
@settings_options
@backend_options
def config_command(settings: Settings) -> None:
    """Show the resolved settings (the API key only as set / not set)."""
    print_json(settings.public_dict() | {"chosen_backend": settings.chosen_backend})


def _run(command: click.Command, args: list[str] | None = None, prog_name: str | None = None) -> int:
    try:
        command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except AssistantError as exc:
        click.echo(f"error: {exc}", err=True)
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
