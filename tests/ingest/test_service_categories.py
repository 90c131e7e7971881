"""The shipped service-category table and configuration overrides."""

from __future__ import annotations

import csv
import io
from importlib import resources

import pytest

from cloudsettle.ingest.service_categories import (
    FOCUS_SERVICE_CATEGORIES,
    CategoryEntry,
    CategoryMap,
    read_entries,
)


def _shipped_rows() -> list[CategoryEntry]:
    text = resources.files("cloudsettle.ingest").joinpath("data", "service_categories.csv").read_text("utf-8")
    return read_entries(text)


def test_table_is_installed_as_package_data() -> None:
    resource = resources.files("cloudsettle.ingest").joinpath("data", "service_categories.csv")
    assert resource.is_file()
    header = next(csv.reader(io.StringIO(resource.read_text("utf-8"))))
    assert header == ["provider", "code", "console_name", "category"]


@pytest.mark.parametrize("provider", ["tencent", "huawei"])
def test_at_least_30_products_map_by_code_and_by_name(provider: str) -> None:
    table = CategoryMap.shipped()
    rows = [r for r in _shipped_rows() if r.provider == provider]
    codes = {r.code for r in rows}
    assert len(codes) >= 30
    for row in rows:
        assert row.category in FOCUS_SERVICE_CATEGORIES
        assert table.category(provider, row.code) == row.category
        assert table.category(provider, row.console_name) == row.category
    # every product has a Chinese and an English name
    for code in codes:
        names = [r.console_name for r in rows if r.code == code]
        assert any(not n.isascii() for n in names) or (provider == "tencent" and code in {"es", "coding"})
        assert any(n.isascii() for n in names), code


@pytest.mark.parametrize(
    ("provider", "name", "category"),
    [
        ("tencent", "cvm", "Compute"),
        ("tencent", "云服务器", "Compute"),
        ("tencent", "cloud virtual machine", "Compute"),
        ("tencent", "p_cvm", "Compute"),
        ("tencent", "云硬盘", "Storage"),
        ("tencent", "对象存储", "Storage"),
        ("tencent", "内容分发网络", "Networking"),
        ("tencent", "云数据库  MySQL", "Databases"),
        ("tencent", "负载均衡", "Networking"),
        ("tencent", "容器服务", "Compute"),
        ("huawei", "hws.service.type.ec2", "Compute"),
        ("huawei", "弹性云服务器", "Compute"),
        ("huawei", "HWS.SERVICE.TYPE.EBS", "Storage"),
        ("huawei", "云硬盘 EVS", "Storage"),
        ("huawei", "对象存储服务 OBS", "Storage"),
        ("huawei", "hws.service.type.rds", "Databases"),
        ("huawei", "Elastic Load Balance", "Networking"),
        ("huawei", "hws.service.type.cce", "Compute"),
    ],
)
def test_known_products(provider: str, name: str, category: str) -> None:
    assert CategoryMap.shipped().category(provider, name) == category


def test_unknown_is_other() -> None:
    table = CategoryMap.shipped()
    assert table.category("tencent", "神秘产品") == "Other"
    assert table.category("aws", "AmazonEC2") == "Other"


def test_overrides_win_and_leave_the_original_alone() -> None:
    base = CategoryMap.shipped()
    custom = base.with_overrides({
        "tencent": {"神秘产品": "analytics", "cvm": "Other"},
        "acme": {"Widgets": "Web"},
    })
    assert custom.category("tencent", "神秘产品") == "Analytics"
    assert custom.category("tencent", "CVM") == "Other"
    assert custom.category("tencent", "云服务器") == "Compute"  # only the code was overridden
    assert custom.category("acme", "widgets") == "Web"
    assert base.category("tencent", "cvm") == "Compute"


def test_override_with_a_non_focus_category_is_refused() -> None:
    with pytest.raises(ValueError, match="Compue"):
        CategoryMap.shipped().with_overrides({"tencent": {"cvm": "Compue"}})


def test_conflicting_table_rows_are_refused() -> None:
    entries = [CategoryEntry("tencent", "x", "X", "Compute"), CategoryEntry("tencent", "x", "Y", "Storage")]
    with pytest.raises(ValueError, match="both"):
        CategoryMap.from_entries(entries)
