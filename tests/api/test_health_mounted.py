"""The served app answers the operations endpoints next to the API."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from cloudsettle.api.app import create_app
from cloudsettle.config import Settings


def test_healthz_readyz_and_metrics_are_served(tmp_path: Path, database_url: str, monkeypatch) -> None:
    monkeypatch.setenv("CLOUDSETTLE_DATABASE_URL", database_url)
    app = create_app(Settings(workspace=tmp_path / "ws"))
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        metrics = client.get("/metrics")
        assert metrics.status_code == 200
        assert "# TYPE" in metrics.text
