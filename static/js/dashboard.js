/*
 * 统计看板: draws the dashboard's charts with the vendored Chart.js (static/vendor/).
 * The figures come from the page's <script id="dashboard-data" type="application/json">
 * (Django's json_script); amounts are in 万元. Every Chart instance is kept in
 * window.dashboardCharts so that tests and printing can reach them.
 */
(function () {
  "use strict";

  window.dashboardCharts = [];
  var source = document.getElementById("dashboard-data");
  if (!source || typeof window.Chart === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  // Amounts and rates arrive as exact decimal strings; numbers are needed only to draw.
  function numbers(values) {
    return values.map(function (v) { return v === null ? null : Number(v); });
  }
  data.months.amount = numbers(data.months.amount);
  data.years.amount = numbers(data.years.amount);
  data.units.task = numbers(data.units.task);
  data.units.completed = numbers(data.units.completed);
  data.units.rate = numbers(data.units.rate);
  data.founders.amount = numbers(data.founders.amount);
  var Chart = window.Chart;

  var COLORS = {
    red: "#b3261e",
    blue: "#1f5fa8",
    green: "#1b7f4b",
    amber: "#a15c00",
    purple: "#6b3fa0",
    grey: "#98a2b3",
    lightBlue: "#9dbce0"
  };
  var SERIES = [COLORS.red, COLORS.blue, COLORS.green, COLORS.amber, COLORS.purple, COLORS.grey];
  var STATUS_COLORS = { normal: COLORS.green, failed: COLORS.red, closed: COLORS.amber, none: COLORS.grey };

  Chart.defaults.font.family = window.getComputedStyle(document.body).fontFamily;
  Chart.defaults.font.size = 12;
  Chart.defaults.color = "#344054";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.responsive = true;
  // Drawn at once: no animation to wait for, on screen, in print or in a test browser.
  Chart.defaults.animation = false;
  Chart.defaults.plugins.legend.labels.boxWidth = 12;

  function wan(value) {
    return Number(value || 0).toLocaleString("zh-CN", {
      minimumFractionDigits: 2,
      maximumFractionDigits: 2
    }) + " 万元";
  }

  function share(values, value) {
    var total = values.reduce(function (sum, v) { return sum + (v || 0); }, 0);
    return total ? " (" + (value * 100 / total).toFixed(1) + "%)" : "";
  }

  function axis(title, extra) {
    var scale = { beginAtZero: true, title: { display: true, text: title } };
    return Object.assign(scale, extra || {});
  }

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) {
      return;
    }
    window.dashboardCharts.push(new Chart(canvas, config));
  }

  function amountTooltip(context) {
    return context.dataset.label + "：" + wan(context.parsed.y);
  }

  // 按月放款金额 (bar)
  draw("chart-months", {
    type: "bar",
    data: {
      labels: data.months.labels,
      datasets: [{ label: "放款金额", data: data.months.amount, backgroundColor: COLORS.red }]
    },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: amountTooltip,
            afterLabel: function (c) { return "笔数：" + data.months.loans[c.dataIndex] + " 笔"; }
          }
        }
      },
      scales: { y: axis("万元") }
    }
  });

  // 年度放款 (bar)
  draw("chart-years", {
    type: "bar",
    data: {
      labels: data.years.labels,
      datasets: [{ label: "放款金额", data: data.years.amount, backgroundColor: COLORS.blue }]
    },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: amountTooltip,
            afterLabel: function (c) { return "笔数：" + data.years.loans[c.dataIndex] + " 笔"; }
          }
        }
      },
      scales: { y: axis("万元") }
    }
  });

  // 贷后经营状况 (pie)
  draw("chart-status", {
    type: "pie",
    data: {
      labels: data.statuses.labels,
      datasets: [{
        label: "笔数",
        data: data.statuses.loans,
        backgroundColor: data.statuses.keys.map(function (k) { return STATUS_COLORS[k] || COLORS.grey; })
      }]
    },
    options: {
      plugins: {
        legend: { position: "right" },
        tooltip: {
          callbacks: {
            label: function (c) {
              return c.label + "：" + c.parsed + " 笔" + share(data.statuses.loans, c.parsed);
            }
          }
        }
      }
    }
  });

  // 各单位任务完成情况 (horizontal bars: adjusted task against completed amount)
  draw("chart-units", {
    type: "bar",
    data: {
      labels: data.units.labels,
      datasets: [
        { label: "调整后任务", data: data.units.task, backgroundColor: COLORS.lightBlue },
        { label: "完成金额（贴息本金）", data: data.units.completed, backgroundColor: COLORS.red }
      ]
    },
    options: {
      indexAxis: "y",
      plugins: {
        tooltip: {
          callbacks: {
            label: function (c) { return c.dataset.label + "：" + wan(c.parsed.x); },
            afterBody: function (items) {
              var rate = data.units.rate[items[0].dataIndex];
              return rate === null ? "完成率：—" : "完成率：" + rate.toFixed(1) + "%";
            }
          }
        }
      },
      scales: { x: axis("万元"), y: { ticks: { autoSkip: false } } }
    }
  });

  // 创业法人类型: counts and amounts (doughnuts), jobs created (bar)
  var founderColors = SERIES.slice(0, data.founders.labels.length);
  draw("chart-founder-loans", {
    type: "doughnut",
    data: {
      labels: data.founders.labels,
      datasets: [{ label: "笔数", data: data.founders.loans, backgroundColor: founderColors }]
    },
    options: {
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (c) {
              return c.label + "：" + c.parsed + " 笔" + share(data.founders.loans, c.parsed);
            }
          }
        }
      }
    }
  });
  draw("chart-founder-amount", {
    type: "doughnut",
    data: {
      labels: data.founders.labels,
      datasets: [{ label: "贷款金额", data: data.founders.amount, backgroundColor: founderColors }]
    },
    options: {
      plugins: {
        legend: { position: "bottom" },
        tooltip: {
          callbacks: {
            label: function (c) {
              return c.label + "：" + wan(c.parsed) + share(data.founders.amount, c.parsed);
            }
          }
        }
      }
    }
  });
  draw("chart-jobs", {
    type: "bar",
    data: {
      labels: data.founders.labels,
      datasets: [{ label: "带动就业人数", data: data.founders.jobs, backgroundColor: founderColors }]
    },
    options: {
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: { label: function (c) { return "带动就业：" + c.parsed.y + " 人"; } }
        }
      },
      scales: { y: axis("人", { ticks: { precision: 0 } }) }
    }
  });

  // 行业分布 by year (stacked bars, enterprises per group)
  draw("chart-industries", {
    type: "bar",
    data: {
      labels: data.industries.labels,
      datasets: data.industries.groups.map(function (group, i) {
        return { label: group.label, data: group.data, backgroundColor: SERIES[i % SERIES.length] };
      })
    },
    options: {
      plugins: {
        tooltip: {
          callbacks: { label: function (c) { return c.dataset.label + "：" + c.parsed.y + " 家"; } }
        }
      },
      scales: {
        x: { stacked: true },
        y: axis("企业（家）", { stacked: true, ticks: { precision: 0 } })
      }
    }
  });

  // Print at the paper's width, then back to the screen's.
  function resizeAll() {
    window.dashboardCharts.forEach(function (chart) { chart.resize(); });
  }
  window.addEventListener("beforeprint", resizeAll);
  window.addEventListener("afterprint", resizeAll);
})();
