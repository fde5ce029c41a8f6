"""Reading cells for NAT from uploads and command lines (JSON, NB201 arch strings, NAT ids, DARTS genotypes).

Uploads are decoded as UTF-8 text and parsed; nothing is ever unpickled. Every failure is a :class:`CellError` whose
message names the problem (file, line, field, value).
"""

from __future__ import annotations

from typing import Any

from nasviz.errors import CellError
from nasviz.nat.cells import get_adapter

MAX_UPLOAD_BYTES = 256 * 1024


def decode_upload(data: bytes, filename: str = "upload") -> str:
    """UTF-8 text of an uploaded file, refusing binary and oversized files."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise CellError(f"{filename}: {len(data):,} bytes is too large for a cell file (limit {MAX_UPLOAD_BYTES:,})")
    if data.startswith(b"\x80") or b"\x00" in data[:4096]:
        raise CellError(f"{filename}: a binary file (pickle or checkpoint?) is not a cell; upload JSON or a genotype "
                        f"text (binary files are never unpickled)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CellError(f"{filename}: not UTF-8 text (byte {exc.start}); upload JSON or a genotype text") from None
    if not text.strip():
        raise CellError(f"{filename}: the file is empty")
    return text


def parse_cell_text(space: str, text: str, which: str = "normal", source: str = "input") -> Any:
    """A valid cell of ``space`` from text: JSON (any format the space parses), an NB201 arch string, a NAT id, or a
    DARTS ``Genotype(normal=..., ...)`` text / genotype JSON (its ``which`` cell, for the NAT space)."""
    adapter = get_adapter(space)
    text = text.strip()
    if not text:
        raise CellError(f"{source}: empty input: expected a cell")
    try:
        if adapter.name == "nat" and text.startswith("Genotype") and _has_triples(text):
            cell = nat_genotype_from_text(text, which)
        elif adapter.name == "nat" and text.startswith("Genotype"):
            from nasviz.spaces.darts import genotype_from_python
            from nasviz.spaces.nat import nat_from_darts

            cell = nat_from_darts(genotype_from_python(text), "reduce" if which == "reduce" else "normal")
        elif adapter.name == "nat" and which == "reduce" and text.startswith("{") and '"normal"' in text:
            from nasviz.spaces.base import load_json_text
            from nasviz.spaces.darts import genotype_from_dict
            from nasviz.spaces.nat import nat_from_darts

            cell = nat_from_darts(genotype_from_dict(load_json_text(text, "genotype")), "reduce")
        else:
            cell = adapter.space.parse_text(text)
    except CellError as exc:
        raise CellError(f"{source}: {exc}") from None
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise CellError(f"{source}: not a {adapter.space.name} cell ({type(exc).__name__}: {exc})") from None
    validity = adapter.space.is_valid(cell)
    if not validity.valid:
        raise CellError(f"{source}: not a valid {adapter.space.name} cell: {validity.reason}")
    return cell


def _has_triples(text: str) -> bool:
    import re

    return re.search(r"\(\s*['\"][\w]+['\"]\s*,\s*-?\d+\s*,\s*-?\d+\s*\)", text) is not None


def nat_genotype_from_text(text: str, which: str = "normal") -> Any:
    """A NAT cell from the NAT code's genotype form ``Genotype(normal=[(op, from, to), ...], normal_concat=[...], ...)``
    (inputs 0, 1), read with :mod:`ast` literals only (nothing is executed)."""
    import ast

    from nasviz.spaces.nat import NatCell

    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise CellError(f"malformed genotype text: {exc.msg} (line {exc.lineno}, column {exc.offset})") from None
    call = tree.body
    if not isinstance(call, ast.Call) or not isinstance(call.func, ast.Name) or call.func.id != "Genotype":
        raise CellError("expected Genotype(normal=[...], normal_concat=[...], reduce=[...], reduce_concat=[...])")
    fields = {}
    for keyword in call.keywords:
        try:
            fields[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            raise CellError(f"genotype field {keyword.arg!r} is not a literal list") from None
    name = "reduce" if which == "reduce" else "normal"
    if name not in fields:
        raise CellError(f"the genotype has no {name!r} field")
    edges = fields[name]
    if not isinstance(edges, (list, tuple)) or not all(isinstance(e, (list, tuple)) and len(e) == 3 for e in edges):
        raise CellError(f"genotype field {name!r} must list (op, from, to) triples")
    concat = fields.get(f"{name}_concat")
    return NatCell(tuple(tuple(e) for e in edges), "concat", tuple(concat) if concat is not None else None)


def parse_upload(space: str, data: bytes, filename: str = "upload", which: str = "normal") -> Any:
    """A valid cell from the bytes of an uploaded file."""
    return parse_cell_text(space, decode_upload(data, filename), which, filename)
