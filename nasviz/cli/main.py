"""Entry point of the ``nasviz`` command: one Typer app with a sub-app per concept."""

from __future__ import annotations

import sys
from importlib import import_module

import typer

from nasviz.cli.common import debug_enabled, set_debug

app = typer.Typer(help="nasviz: explore neural architecture search spaces, encoders, searches and NAT.",
                  no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False)

#: sub-command modules; each exposes ``register(app)``
_COMMAND_MODULES = (
    "nasviz.cli.cells",
    "nasviz.cli.data",
    "nasviz.cli.query",
    "nasviz.cli.nat",
    "nasviz.cli.encoders",
    "nasviz.cli.projections",  # after encoders: adds `encoders project` to its group
    "nasviz.cli.search",
    "nasviz.cli.export",
)


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", help="Show the Python traceback of an unexpected error "
                                                           "(same as NASVIZ_DEBUG=1); without it, one line.")) -> None:
    """nasviz: explore neural architecture search spaces, encoders, searches and NAT."""
    set_debug(debug)


for _module in _COMMAND_MODULES:
    import_module(_module).register(app)


def main() -> None:
    """Run the command line; a failure outside any command (start-up, an import) is one line, too."""
    try:
        app()
    except Exception as exc:  # every command handles its own errors: this is the last net
        if debug_enabled():
            raise
        sys.stderr.write(f"nasviz: error: {type(exc).__name__}: {exc} (unexpected; run with NASVIZ_DEBUG=1 "
                         "to see the traceback)\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
