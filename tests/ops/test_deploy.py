"""The compose file parses and wires PostgreSQL, the API, the worker and the proxy together
(docker is not run here: a YAML parse and a structural check)."""

from __future__ import annotations

from pathlib import Path

import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def test_compose_file_has_the_production_services() -> None:
    doc = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = doc["services"]
    assert set(services) == {"db", "api", "worker", "proxy"}
    assert services["db"]["image"].startswith("postgres:")
    for name in ("api", "worker"):
        s = services[name]
        assert s["environment"]["CLOUDSETTLE_DATABASE_URL"].startswith("postgresql+psycopg://")
        assert s["depends_on"]["db"]["condition"] == "service_healthy"
        assert s["deploy"]["replicas"] >= 2  # several processes
        assert (DEPLOY.parent / s["build"]["context"].replace("..", ".") / s["build"]["dockerfile"]).is_file()
    assert services["worker"]["command"] == ["cloudsettle", "worker"]
    assert "443:443" in services["proxy"]["ports"]
    assert "reverse_proxy api:8000" in (DEPLOY / "Caddyfile").read_text(encoding="utf-8")
    assert set(doc["volumes"]) >= {"pgdata", "workspace"}
