"""Entry point of the ``nasviz`` command: one Typer app with a sub-app per concept."""

from __future__ import annotations

from importlib import import_module

import typer

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


for _module in _COMMAND_MODULES:
    import_module(_module).register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
