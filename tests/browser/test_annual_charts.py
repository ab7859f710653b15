"""The annual analysis page in a real browser: annual.js draws every chart, without errors."""

import pytest

from accounts.choices import Role
from tests.factories import ProgramFactory, UnitFactory, make_user
from tests.reports.test_annual import build_book

pytestmark = pytest.mark.django_db(transaction=True)

CHARTS = 8  # years, units, founders, jobs, industries, statuses, subsidies, cumulative


def test_annual_page_draws_every_chart(login, screenshot):
    program = ProgramFactory(code="jgd-2020", year=2020)
    units = {
        "own": UnitFactory(code="xiushui", name="修水县"),
        "other": UnitFactory(code="wuning", name="武宁县"),
    }
    build_book(program, units)
    page = login(make_user(Role.MANAGER, username="manager"))
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto("/reports/annual/")
    assert response is not None and response.status == 200
    page.wait_for_function(f"window.annualCharts && window.annualCharts.length === {CHARTS}")
    sizes = page.evaluate(
        """() => window.annualCharts.map((chart) => {
             const box = chart.canvas.getBoundingClientRect();
             return [chart.config.type, box.width, box.height, chart.data.datasets.length];
           })"""
    )
    assert [kind for kind, *_ in sizes] == [
        "bar", "bar", "pie", "pie", "bar", "pie", "bar", "line"
    ]  # fmt: skip
    assert all(width > 0 and height > 0 and sets > 0 for _, width, height, sets in sizes), sizes
    assert errors == []
    screenshot(page, "annual")
