"""``nasviz data download`` against a local HTTP server (Range support, dropped connections)."""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from nasviz.data import download as dl
from nasviz.data import load_table
from nasviz.errors import ConfigError, DataError

PAYLOAD = bytes(range(256)) * 400  # 102,400 bytes


class _Server:
    """Serves ``files`` with HTTP Range support; ``drop_after`` cuts the first response short; ``truncate_to`` serves
    only the first bytes of every file, as a complete-looking response (a truncated copy on the server or a proxy);
    ``omit_length`` sends no Content-Length (the body ends when the connection closes)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.drop_after: int | None = None
        self.truncate_to: int | None = None
        self.omit_length = False
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                data = server.files.get(self.path)
                byte_range = self.headers.get("Range")
                server.requests.append((self.path, byte_range))
                if data is None:
                    self.send_error(404, "Not Found")
                    return
                if server.truncate_to is not None:
                    data = data[:server.truncate_to]
                start = int(byte_range.split("=")[1].split("-")[0]) if byte_range else 0
                body = data[start:]
                self.send_response(206 if byte_range else 200)
                if not server.omit_length:
                    self.send_header("Content-Length", str(len(body)))
                if byte_range:
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                self.end_headers()
                if server.drop_after is not None:
                    cut, server.drop_after = server.drop_after, None
                    self.wfile.write(body[:cut])
                    self.wfile.flush()
                    self.connection.shutdown(2)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> _Server:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def server() -> Iterator[_Server]:
    with _Server() as srv:
        yield srv


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_download_verifies_checksum(server: _Server, tmp_path: Path) -> None:
    server.files["/a.bin"] = PAYLOAD
    remote = dl.RemoteFile(f"{server.url}/a.bin", "a.bin", _sha(PAYLOAD))
    path = dl.download_file(remote, tmp_path, backoff=0)
    assert path.read_bytes() == PAYLOAD
    count = len(server.requests)
    assert dl.download_file(remote, tmp_path, backoff=0) == path  # verified file: no new request
    assert len(server.requests) == count


def test_download_resumes_after_a_dropped_connection(server: _Server, tmp_path: Path) -> None:
    server.files["/a.bin"] = PAYLOAD
    server.drop_after = 30000
    seen: list[int] = []
    remote = dl.RemoteFile(f"{server.url}/a.bin", "a.bin", _sha(PAYLOAD))
    path = dl.download_file(remote, tmp_path, progress=lambda done, total, msg="": seen.append(done), backoff=0)
    assert path.read_bytes() == PAYLOAD
    assert server.requests[0] == ("/a.bin", None)
    assert server.requests[1] == ("/a.bin", "bytes=30000-")  # resumed, not restarted
    assert max(seen) == len(PAYLOAD)


def test_download_resumes_a_part_file(server: _Server, tmp_path: Path) -> None:
    server.files["/a.bin"] = PAYLOAD
    (tmp_path / "a.bin.part").write_bytes(PAYLOAD[:5000])
    dl.download_file(dl.RemoteFile(f"{server.url}/a.bin", "a.bin", _sha(PAYLOAD)), tmp_path, backoff=0)
    assert server.requests == [("/a.bin", "bytes=5000-")]
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD


def test_checksum_mismatch_deletes_the_download(server: _Server, tmp_path: Path) -> None:
    server.files["/a.bin"] = PAYLOAD
    with pytest.raises(DataError, match="checksum mismatch for a.bin .*expected sha256 0{64}"):
        dl.download_file(dl.RemoteFile(f"{server.url}/a.bin", "a.bin", "0" * 64), tmp_path, backoff=0)
    assert not list(tmp_path.iterdir())


def test_missing_file_and_offline_give_clear_errors(server: _Server, tmp_path: Path) -> None:
    with pytest.raises(DataError, match="HTTP 404"):
        dl.download_file(dl.RemoteFile(f"{server.url}/nope.bin", "nope.bin"), tmp_path, backoff=0)
    dead = dl.RemoteFile("http://127.0.0.1:9/x.bin", "x.bin")  # discard port: connection refused
    with pytest.raises(DataError, match="cannot download http://127.0.0.1:9/x.bin.*offline"):
        dl.download_file(dead, tmp_path, retries=2, backoff=0, timeout=2)


def test_download_source_then_import(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                     source_data: Path) -> None:
    folder = source_data / "nasbench201" / "help_latency_pt"
    files = {name: (folder / f"{name}.pt").read_bytes() for name in ("pixel3", "raspi4")}
    for name, data in files.items():
        server.files[f"/help/{name}.pt"] = data
    source = dl.Source("help-test", "HELP latencies", tuple(
        dl.RemoteFile(f"{server.url}/help/{name}.pt", f"{name}.pt", _sha(data)) for name, data in files.items()),
        "help-latency", import_folder=True)
    monkeypatch.setattr(dl, "SOURCES", {"help-test": source})
    result = dl.download_source("help-test", dest=tmp_path / "dl")
    assert sorted(result["import"]["metrics_imported"]) == ["latency/pixel3/cifar10", "latency/raspi4/cifar10"]
    assert load_table("nb201").lookup("0", "latency/pixel3/cifar10") == pytest.approx(3.60585)


def test_pinned_hashes_match_the_shared_copies(source_data: Path) -> None:
    local = {"mini-bench-arch-cell-accs.pd": source_data / "nasbench201" / "mini-bench-arch-cell-accs.pd",
             "nats_bench.csv": source_data / "nasbench201" / "nats_bench_tss_200ep_test.csv",
             "pixel3.pt": source_data / "nasbench201" / "help_latency_pt" / "pixel3.pt",
             "zc_nasbench201.json": source_data / "nasbench201" / "naslib_zc_nasbench201_725.json"}
    pinned = {f.filename: f.sha256 for s in dl.SOURCES.values() for f in s.files}
    for filename, path in local.items():
        assert pinned[filename] == dl.sha256_of(path), filename


def test_unknown_and_manual_sources() -> None:
    with pytest.raises(ConfigError, match="unknown download"):
        dl.download_source("nb999")
    manual = {m["name"]: m for m in dl.manual_sources()}
    assert "nasviz data import nb201" in manual["nb201-v1_1"]["import"]


def test_landscape_csv_import_options_on_the_shared_copy(source_data: Path) -> None:
    source = dl.SOURCES["nb201-200ep"]
    from nasviz.data import import_benchmark, optimum

    import_benchmark(source.importer, source_data / "nasbench201" / "nats_bench_tss_200ep_test.csv",
                     **source.import_options)
    table = load_table("nb201")
    assert len(table) == 15625
    best = optimum(table, "accuracy/cifar10/test/200ep")
    assert round(best.value, 2) == 94.37 and best.cell_id == "6111"
    assert round(optimum(table, "accuracy/cifar100/test/200ep").value, 2) == 73.51


# ---- unpinned sources: a truncated download is never promoted -----------------------------------------------------

def _hwnas_payload() -> bytes:
    values = [round(1.0 + i * 1e-4, 6) for i in range(15625)]
    return pickle.dumps({"nasbench201": {"cifar10": {"edgegpu_latency": values, "pixel3_latency": values}}})


def _unpinned(monkeypatch: pytest.MonkeyPatch, server: _Server, name: str, data: bytes) -> dl.RemoteFile:
    """The real ``name`` source (unpinned), served by the local server."""
    source = dl.SOURCES[name]
    remote = dataclasses.replace(source.files[0], url=f"{server.url}/{source.files[0].filename}")
    assert remote.sha256 is None
    server.files[f"/{remote.filename}"] = data
    monkeypatch.setitem(dl.SOURCES, name, dataclasses.replace(source, files=(remote,)))
    return remote


def test_truncated_unpinned_download_is_kept_as_part_and_resumed(server: _Server, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _hwnas_payload()
    remote = _unpinned(monkeypatch, server, "hw-nas-bench", payload)
    folder = tmp_path / "dl"
    server.truncate_to = len(payload) // 2  # the server's copy is cut: every response looks complete
    with pytest.raises(DataError, match=r"HW-NAS-Bench-v1_0.pickle .* is incomplete or damaged .*corrupt or "
                                        r"truncated pickle.*kept as .*HW-NAS-Bench-v1_0.pickle.part"):
        dl.download_source("hw-nas-bench", dest=folder, backoff=0)
    assert not (folder / remote.filename).exists()  # never promoted
    assert (folder / f"{remote.filename}.part").stat().st_size == len(payload) // 2
    server.truncate_to = None  # the complete file is back: the next run resumes the .part
    result = dl.download_source("hw-nas-bench", dest=folder, backoff=0)
    assert server.requests[-1] == (f"/{remote.filename}", f"bytes={len(payload) // 2}-")
    assert (folder / remote.filename).read_bytes() == payload and not (folder / f"{remote.filename}.part").exists()
    assert result["import"]["rows_imported"] == 15625
    assert load_table("nb201").lookup("15624", "latency/edgegpu/cifar10") == pytest.approx(2.5624)


def test_download_closed_early_without_content_length_is_not_promoted(server: _Server, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from nasviz.data.importers.nb101 import write_tfrecord

    tfrecord = tmp_path / "full.tfrecord"
    write_tfrecord(tfrecord, [bytes([i % 251]) * 700 for i in range(40)])
    data = tfrecord.read_bytes()
    remote = _unpinned(monkeypatch, server, "nb101", data)
    server.omit_length = True
    server.drop_after = len(data) - 300  # inside the last record
    with pytest.raises(DataError, match="nasbench_only108.tfrecord .* is incomplete or damaged .*record 39 at byte"):
        dl.download_file(remote, tmp_path / "dl", backoff=0)
    assert not (tmp_path / "dl" / remote.filename).exists()
    path = dl.download_file(remote, tmp_path / "dl", backoff=0)  # resumed to the end: the framing checks out
    assert path.read_bytes() == data


def test_damaged_cached_file_names_the_file_and_the_fix(server: _Server, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    payload = _hwnas_payload()
    remote = _unpinned(monkeypatch, server, "hw-nas-bench", payload)
    folder = tmp_path / "dl"
    folder.mkdir()
    cached = folder / remote.filename
    cached.write_bytes(payload[:1000])  # what the old downloader promoted after a cut download
    with pytest.raises(DataError, match=f"the downloaded file {cached} is truncated or damaged .*delete it "
                                        f"\\(rm '{cached}'\\) and run the download again"):
        dl.download_source("hw-nas-bench", dest=folder, backoff=0)
    assert cached.read_bytes() == payload[:1000] and not server.requests  # nothing downloaded over it
    cached.unlink()
    assert dl.download_source("hw-nas-bench", dest=folder, backoff=0)["import"]["rows_imported"] == 15625
