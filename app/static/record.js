// A person's last months on their record page: totals as a line, from the JSON block the page carries
// (the same numbers are in the table beside it).
(function () {
  var block = document.getElementById("recent-data");
  var canvas = document.getElementById("chart-recent");
  if (!block || !canvas || !window.Chart) return;
  var data = JSON.parse(block.textContent);
  Chart.defaults.locale = document.documentElement.lang === "en" ? "en" : "vi";
  new Chart(canvas, {
    type: "line",
    data: { labels: data.labels, datasets: [{ label: data.label, data: data.totals, borderColor: "#8b0000",
      backgroundColor: "#8b0000", tension: 0.2 }] },
    options: { maintainAspectRatio: false, animation: false, plugins: { legend: { display: false },
      tooltip: { callbacks: { afterLabel: function (ctx) { return data.levels[ctx.dataIndex] || ""; } } } },
      scales: { y: { suggestedMin: 50, suggestedMax: 100 } } }
  });
  canvas.setAttribute("data-ready", "true");
})();
