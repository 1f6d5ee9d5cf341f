// chart.js — "Jobs ended per minute, last hour": stacked bars per minute, drawn again a little after
// a job ends (the workers' counts reach Redis within a second or so) and every half minute.
import { request } from "../jobs-client.js";
import { $, element, plural, svgElement } from "./dom.js";

const CHART_MINUTES = 60;
const KINDS = ["succeeded", "failed", "cancelled"];
let asked = 0;
let pending = false;

const hourMinute = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

export async function refreshChart() {
  const call = (asked += 1);
  try {
    const { data } = await request("GET", "/stats/ended", { params: { minutes: CHART_MINUTES } });
    if (call === asked) renderChart(data.minutes || []);
  } catch (error) {
    if (call !== asked) return;
    $("#ended-summary").textContent = `⚠ Could not count the jobs that ended: ${error.message}`;
    $("#ended-summary").classList.add("error");
  }
}

/** The chart again once a job ended. */
export function chartSoon() {
  if (pending) return;
  pending = true;
  setTimeout(() => {
    pending = false;
    refreshChart();
    setTimeout(refreshChart, 3000); // a batch flushed a little later
  }, 1500);
}

/** Stacked bars, one per minute (oldest at the left): succeeded, failed, cancelled. */
function renderChart(minutes) {
  const width = 600;
  const height = 100;
  const totals = { succeeded: 0, failed: 0, cancelled: 0 };
  let busiest = 0;
  for (const minute of minutes) {
    for (const kind of KINDS) totals[kind] += minute[kind] || 0;
    busiest = Math.max(busiest, KINDS.reduce((sum, kind) => sum + (minute[kind] || 0), 0));
  }
  const said = KINDS.map((kind) => `${totals[kind]} ${kind}`).join(", ");
  const slot = width / Math.max(minutes.length, 1);
  const scale = height / Math.max(busiest, 1);
  const bars = minutes.map((minute, index) => {
    const x = index * slot + slot * 0.15;
    const group = svgElement("g", { class: "minute" }, svgElement("title", {},
      `${hourMinute(minute.minute)}: ${KINDS.map((kind) => `${minute[kind] || 0} ${kind}`).join(", ")}`));
    group.append(svgElement("rect", { class: "hit", x: index * slot, y: 0, width: slot, height }));
    let top = height;
    for (const kind of KINDS) {
      const count = minute[kind] || 0;
      if (!count) continue;
      const tall = count * scale;
      top -= tall;
      group.append(svgElement("rect", { class: `bar ${kind}`, x, y: top, width: slot * 0.7, height: tall }));
    }
    return group;
  });
  const label = `Jobs ended per minute over the last hour: ${said}; at most ${busiest} in one minute.`;
  const svg = svgElement("svg", { role: "img", "aria-label": label, viewBox: `0 0 ${width} ${height}`,
    preserveAspectRatio: "none", focusable: "false" },
  svgElement("line", { class: "baseline", x1: 0, y1: height, x2: width, y2: height }), ...bars);
  const axis = element("p", { class: "chart-axis muted", "aria-hidden": "true" },
    element("span", { text: `${minutes.length} min ago` }),
    element("span", { text: busiest ? `tallest bar: ${busiest}` : "nothing ended" }),
    element("span", { text: "now" }));
  const legend = element("ul", { class: "chart-legend", "aria-hidden": "true" },
    ...KINDS.map((kind) => element("li", {}, element("span", { class: `swatch ${kind}` }), element("span", { text: ` ${kind}` }))));
  $("#ended-chart").replaceChildren(svg, axis, legend);
  $("#ended-summary").classList.remove("error");
  $("#ended-summary").textContent = `Last hour: ${said}`;
}
