// Draw the dashboard's charts with Chart.js from the JSON block the page carries (no inline script:
// the CSP allows scripts from 'self' only). Each chart has the same numbers in a table next to it.
(function () {
  var block = document.getElementById("dashboard-data");
  if (!block || !window.Chart) return;
  var data = JSON.parse(block.textContent);
  // The texts come with the numbers, in the page's language (dashboard.chart_data); Vietnamese if missing.
  var T = data.texts || {};
  function text(key, fallback) { return T[key] || fallback; }
  var LEVEL_COLORS = { A: "#1e7b34", B: "#2f6fb3", C: "#c98a00", D: "#b00020" };
  var NONE_COLOR = "#9e9e9e";
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;
  Chart.defaults.locale = document.documentElement.lang === "en" ? "en" : "vi";   // 89,5 / 89.5 in tooltips

  function make(id, config) {
    var canvas = document.getElementById(id);
    if (!canvas) return null;
    var chart = new Chart(canvas, config);
    canvas.setAttribute("data-ready", "true");
    return chart;
  }

  make("chart-funnel", {
    type: "bar",
    data: {
      labels: data.funnel.labels,
      datasets: [{ label: text("records", "Số hồ sơ"), data: data.funnel.values, backgroundColor: "#8b0000" }]
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      scales: { x: { beginAtZero: true, ticks: { precision: 0 } } }
    }
  });

  var levelColors = ["A", "B", "C", "D"].map(function (l) { return LEVEL_COLORS[l]; }).concat([NONE_COLOR]);
  make("chart-levels", {
    type: "doughnut",
    data: {
      labels: data.levels.labels,
      datasets: [{ data: data.levels.values, backgroundColor: levelColors }]
    },
    options: { plugins: { legend: { position: "bottom" } } }
  });

  var trendSets = ["A", "B", "C", "D"].map(function (l) {
    return { type: "bar", label: (T.levels && T.levels[l]) || "Loại " + l, data: data.trend.levels[l], backgroundColor: LEVEL_COLORS[l],
             stack: "levels", yAxisID: "y", order: 2 };
  });
  trendSets.push({ type: "line", label: text("mean", "Điểm trung bình"), data: data.trend.mean, borderColor: "#333",
                   backgroundColor: "#333", yAxisID: "y2", spanGaps: true, tension: 0.2, pointRadius: 4, order: 1 });   // drawn over the bars
  make("chart-trend", {
    data: { labels: data.trend.labels, datasets: trendSets },
    options: {
      plugins: { legend: { position: "bottom" } },
      scales: {
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: text("people", "Số người") } },
        x: { stacked: true },
        y2: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
              title: { display: true, text: text("points", "Điểm") } }
      }
    }
  });
  document.body.setAttribute("data-charts", "ready");
})();
