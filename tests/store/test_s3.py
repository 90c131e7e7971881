"""The line store on S3, against a local S3-compatible server (moto's, on 127.0.0.1).

The same batches written to a folder and to a bucket give identical current
lines, Parquet feeds and run results: the store reaches both through fsspec,
and DuckDB reads ``s3://`` through the same filesystem registered on its
connection.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto.server import ThreadedMotoServer

from cloudsettle.core.money import D
from cloudsettle.store.feed import current_lines_parquet
from cloudsettle.store.lines import BatchExists, LineStore
from tests.store.helpers import mk, table


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, Any]]:
    """A moto S3 server on loopback with a bucket, and the options to reach it."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    options = {
        "key": "test",
        "secret": "test",
        "endpoint_url": endpoint,
        "client_kwargs": {"region_name": "us-east-1"},
    }
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket="lines")
    try:
        yield options
    finally:
        server.stop()


def _fill(store: LineStore) -> None:
    store.write_batch(
        "1", table(mk("a", "10"), mk("b", "20", extras={"k": "v"}), mk("c", "5", month="2026-09-01"))
    )
    store.write_batch("2", table(mk("b", "25"), mk("c", "6"), mk("h", "1", provider="huawei")))
    store.write_batch("3", table(mk("a", "10")))  # unchanged


def test_s3_and_a_folder_give_identical_current_lines(s3: dict[str, Any], tmp_path: Path) -> None:
    local = LineStore(tmp_path / "lines")
    remote = LineStore("s3://lines/cs/test1", storage_options=s3, work_dir=tmp_path / "work")
    _fill(local)
    _fill(remote)

    assert remote.committed_batches() == {"1", "2", "3"}
    assert remote.partitions() == local.partitions()
    for provider, period in [("tencent", "2026-10"), ("tencent", "2026-09"), (None, "2026-10")]:
        got = remote.current_lines_arrow(provider, period)
        assert got.equals(local.current_lines_arrow(provider, period))
    oct_lines = {
        r["line_id"]: r["list_amount"] for r in remote.current_lines_arrow("tencent", "2026-10").to_pylist()
    }
    assert oct_lines == {"a": D("10"), "b": D("25"), "c": D("6")}

    a = current_lines_parquet(local, None, "2026-10", tmp_path / "local.parquet")
    b = current_lines_parquet(remote, None, "2026-10", tmp_path / "remote.parquet")
    assert pq.read_table(a).equals(pq.read_table(b))

    keys = sorted(remote.location.relative(p) for p in remote.location.fs.find(remote.location.base))
    assert "provider=tencent/period=2026-10/batch=2/part-00000.parquet" in keys
    assert "_batches/batch=3.json" in keys
    assert not [k for k in keys if k.startswith("_staging/")]


def test_s3_batches_are_immutable_and_run_results_round_trip(s3: dict[str, Any], tmp_path: Path) -> None:
    remote = LineStore("s3://lines/cs/test2", storage_options=s3, work_dir=tmp_path / "work")
    remote.write_batch("1", table(mk("a", "10")))
    with pytest.raises(BatchExists):
        remote.write_batch("1", table(mk("a", "11")))

    results = pa.table({"line_id": ["a"], "amount": pa.array([D("0.80")], pa.decimal128(38, 12))})
    remote.write_run_results("5", results)
    con = remote.connect()
    try:
        assert remote.run_results(con, "5").to_arrow_table().equals(results)
    finally:
        con.close()
    assert remote.leftovers() == []
