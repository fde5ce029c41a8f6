"""``nasviz encoders project``: compute and cache 2-D projections of a trained encoder's embeddings."""

from __future__ import annotations

import typer

from nasviz.cli.common import JSON_OPTION, emit, handles_errors


def _encoders_group(app: typer.Typer) -> typer.Typer:
    """The ``encoders`` sub-app (created here when the encoders commands have not registered one)."""
    for group in app.registered_groups:
        if group.name == "encoders" and group.typer_instance is not None:
            return group.typer_instance
    group_app = typer.Typer(help="Architecture encoders: train, embed, project.", no_args_is_help=True)
    app.add_typer(group_app, name="encoders")
    return group_app


def register(app: typer.Typer) -> None:
    encoders = _encoders_group(app)

    @encoders.command("project")
    @handles_errors
    def project(
        space: str = typer.Option("nb201", "--space", help="Search space (nb201, nb101, darts)."),
        encoder: str = typer.Option("arch2vec", "--encoder", help="Trained encoder whose embeddings to project."),
        method: list[str] = typer.Option(["pca"], "--method", help="tsne, umap or pca (repeat for several)."),  # noqa: B006
        seed: int = typer.Option(0, "--seed", help="Random seed of t-SNE / UMAP."),
        force: bool = typer.Option(False, "--force", help="Recompute even when a matching cache exists."),
        progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar on stderr."),
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Compute (or confirm) the cached 2-D projection of an encoder's embeddings.

        The cache goes to <model dir>/projections/<method>.npz (or NASVIZ_HOME's cache when the model
        directory is read-only) with a fingerprint of the embeddings; a cache computed from other
        embeddings is reported and recomputed.
        """
        from nasviz.encoders.store import load_embeddings
        from nasviz.progress import tqdm_progress
        from nasviz.projection import METHOD_TITLES, check_method, get_projection, lookup_cached
        from nasviz.spaces import get_space

        space_name = get_space(space).name
        embeddings = load_embeddings(space_name, encoder)
        for name in [check_method(m) for m in method]:
            before = lookup_cached(embeddings, name)
            if before.status in ("stale", "corrupt"):
                typer.echo(f"warning: {before.message}", err=True)
            with tqdm_progress(f"{METHOD_TITLES[name]} {encoder}/{space_name}", 100, enabled=progress) as callback:
                result, lookup = get_projection(space_name, encoder, name, seed=seed, progress=callback, recompute=force,
                                                embeddings=embeddings)
            status = "cached" if result is lookup.projection else "computed"
            after = lookup_cached(embeddings, name)
            out = {"space": space_name, "encoder": encoder, "method": name, "status": status, "points": len(result),
                   "seconds": result.params.get("seconds"), "fingerprint": result.fingerprint, "path": str(after.path)}
            emit(out, as_json, lambda o: f"{o['method']}: {o['status']} {o['points']:,} points -> {o['path']}")
