// The dashboard's charts: each .chart element names its data (data-chart) and is drawn with ECharts from
// /dashboard/api/... (same origin: the Content-Security-Policy allows nothing else).
"use strict";

function percent(value) { return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%"; }

const charts = {
  "on-time": (data) => ({
    title: { text: "按时公示率（按周）", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis", valueFormatter: percent, renderMode: "richText" },
    legend: { bottom: 0, type: "scroll" },
    xAxis: { type: "category", data: data.weeks },
    yAxis: { type: "value", min: 0, max: 1, axisLabel: { formatter: (v) => (v * 100) + "%" } },
    series: Object.entries(data.series).map(([name, values]) => ({ name, type: "line", data: values, connectNulls: true })),
  }),
  "latency": (data) => ({
    title: { text: "公示用时（工作日，最近 " + data.sample + " 条）", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    xAxis: { type: "category", data: data.days, name: "工作日" },
    yAxis: { type: "value" },
    series: [{ type: "bar", data: data.counts, markLine: { data: [{ xAxis: "7" }], label: { formatter: "期限" } } }],
  }),
  "dead-letters": (data) => ({
    title: { text: "每日退回（按原因）", left: "center", textStyle: { fontSize: 14 } },
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { bottom: 0, type: "scroll" },
    xAxis: { type: "category", data: data.days },
    yAxis: { type: "value" },
    series: Object.entries(data.series).map(([code, values]) => ({ name: data.labels[code] || code, type: "bar", stack: "all", data: values })),
  }),
};

document.addEventListener("DOMContentLoaded", () => {
  for (const element of document.querySelectorAll(".chart[data-chart]")) {
    const name = element.dataset.chart;
    const department = element.dataset.department ? "?department=" + encodeURIComponent(element.dataset.department) : "";
    fetch("/dashboard/api/" + name + department, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((data) => {
        const chart = echarts.init(element);
        chart.setOption(charts[name](data));
        element.dataset.drawn = "true";
        window.addEventListener("resize", () => chart.resize());
      })
      .catch(() => { element.textContent = "图表数据暂不可用"; element.dataset.drawn = "failed"; });
  }
});
