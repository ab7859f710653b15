/*
 * 年度分析: draws the annual analysis charts with the vendored Chart.js (static/vendor/).
 * The figures come from <script id="annual-data" type="application/json"> (json_script);
 * amounts are exact decimal strings in 万元, turned into numbers only to draw. Charts are
 * kept in window.annualCharts for tests and printing.
 */
(function () {
  "use strict";

  window.annualCharts = [];
  var source = document.getElementById("annual-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  function numbers(values) {
    return values.map(function (v) { return v === null ? null : Number(v); });
  }
  var Chart = window.Chart;
  var SERIES = ["#b3261e", "#1f5fa8", "#1b7f4b", "#a15c00", "#6b3fa0", "#98a2b3"];

  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function axis(title, extra) {
    return Object.assign({ beginAtZero: true, title: { display: true, text: title } }, extra || {});
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) {
      window.annualCharts.push(new Chart(canvas, config));
    }
  }

  function bar(id, labels, label, values, unit, options) {
    options = options || {};
    draw(id, {
      type: "bar",
      data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: options.color || SERIES[1] }] },
      options: {
        indexAxis: options.horizontal ? "y" : "x",
        plugins: { legend: { display: false } },
        scales: options.horizontal ? { x: axis(unit) } : { y: axis(unit) }
      }
    });
  }

  function pie(id, labels, values) {
    draw(id, {
      type: "pie",
      data: { labels: labels, datasets: [{ data: values, backgroundColor: SERIES.slice(0, labels.length) }] },
      options: { plugins: { legend: { position: "right" } } }
    });
  }

  // 每年度发放金额 (bars) with the growth rate (line, right axis)
  draw("chart-annual-years", {
    type: "bar",
    data: {
      labels: data.years.labels,
      datasets: [
        { label: "发放金额（万元）", data: numbers(data.years.amount), backgroundColor: SERIES[0], yAxisID: "y" },
        { label: "较上年增长（%）", data: numbers(data.years.growth), type: "line", borderColor: SERIES[1], yAxisID: "growth" }
      ]
    },
    options: {
      scales: {
        y: axis("万元"),
        growth: { position: "right", title: { display: true, text: "%" }, grid: { drawOnChartArea: false } }
      }
    }
  });
  bar("chart-annual-units", data.units.labels, "发放金额（万元）", numbers(data.units.amount), "万元", { horizontal: true, color: SERIES[0] });
  pie("chart-annual-founders", data.founders.labels, data.founders.loans);
  pie("chart-annual-jobs", data.founders.labels, data.founders.jobs);
  draw("chart-annual-industries", {
    type: "bar",
    data: {
      labels: data.industries.labels,
      datasets: data.industries.groups.map(function (group, i) {
        return { label: group.label, data: group.data, backgroundColor: SERIES[i % SERIES.length] };
      })
    },
    options: { scales: { x: { stacked: true }, y: axis("家", { stacked: true, ticks: { precision: 0 } }) } }
  });
  pie("chart-annual-status", data.statuses.labels, data.statuses.loans);
  bar("chart-annual-subsidies", data.subsidies.labels, "补贴合计（万元）", numbers(data.subsidies.amount), "万元", { color: SERIES[2] });
  draw("chart-annual-cumulative", {
    type: "line",
    data: {
      labels: data.cumulative.labels,
      datasets: [{ label: "累计金额（万元）", data: numbers(data.cumulative.amount), borderColor: SERIES[0] }]
    },
    options: { plugins: { legend: { display: false } }, scales: { y: axis("万元") } }
  });

  function resizeAll() {
    window.annualCharts.forEach(function (chart) { chart.resize(); });
  }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
