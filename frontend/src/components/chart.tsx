// A uPlot time-series chart for one performance-data series.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { MetricSeries } from "../api/types";

function cssVar(name: string, fallback: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return v || fallback;
}

/** toColumns converts points to uPlot's columnar data (seconds on x). */
export function toColumns(series: MetricSeries): [number[], number[], number[], number[]] {
  const xs: number[] = [], v: number[] = [], lo: number[] = [], hi: number[] = [];
  for (const p of series.points) {
    xs.push(Date.parse(p.at) / 1000);
    v.push(p.value);
    lo.push(p.min);
    hi.push(p.max);
  }
  return [xs, v, lo, hi];
}

/** thresholdValue takes the upper bound of a Nagios range like "80", "10:80" or "@5:10". */
export function thresholdValue(r: string | null | undefined): number | null {
  if (!r) return null;
  const s = r.replace(/^@/, "");
  const end = s.includes(":") ? s.split(":")[1] : s;
  const n = Number(end);
  return end !== "" && Number.isFinite(n) ? n : null;
}

export function Chart({ series, warn, crit, height = 160 }: { series: MetricSeries; warn?: string | null; crit?: string | null; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const host = el.current;
    if (!host) return;
    const data = toColumns(series);
    const line = cssVar("--accent", "#4c8dff");
    const grid = cssVar("--border", "#333");
    const text = cssVar("--muted", "#888");
    const w = thresholdValue(warn), c = thresholdValue(crit);
    const thresholdHook = (u: uPlot) => {
      const ctx = u.ctx;
      for (const [val, color] of [[w, cssVar("--st-warning", "#e0a800")], [c, cssVar("--st-critical", "#e5484d")]] as const) {
        if (val === null) continue;
        const y = u.valToPos(val as number, "y", true);
        if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
        ctx.save();
        ctx.strokeStyle = color as string;
        ctx.setLineDash([4, 4]);
        ctx.lineWidth = 1 * devicePixelRatio;
        ctx.beginPath();
        ctx.moveTo(u.bbox.left, y);
        ctx.lineTo(u.bbox.left + u.bbox.width, y);
        ctx.stroke();
        ctx.restore();
      }
    };
    const axis = { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, host.clientWidth),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => fmtNum(v) + (series.uom ?? "")) }],
      series: [
        {},
        { label: series.label, stroke: line, width: 2, fill: line + "22", points: { show: false } },
        { label: "min", stroke: line + "55", width: 1, dash: [2, 3], points: { show: false } },
        { label: "max", stroke: line + "55", width: 1, dash: [2, 3], points: { show: false } },
      ],
      hooks: { draw: [thresholdHook] },
    };
    const plot = new uPlot(opts, data as uPlot.AlignedData, host);
    const ro = typeof ResizeObserver !== "undefined" ? new ResizeObserver(() => plot.setSize({ width: Math.max(200, host.clientWidth), height })) : null;
    ro?.observe(host);
    return () => {
      ro?.disconnect();
      plot.destroy();
    };
  }, [series, warn, crit, height]);
  return <div class="chart" ref={el} role="img" aria-label={`Chart of ${series.label}${series.uom ? " in " + series.uom : ""}, ${series.points.length} points`} />;
}

export function fmtNum(v: number): string {
  if (v === null || v === undefined) return "";
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + "G";
  if (a >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (a >= 1e4) return (v / 1e3).toFixed(0) + "k";
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(1).replace(/\.0$/, "");
  return v.toPrecision(2);
}
