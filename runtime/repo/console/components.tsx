// Small pieces every page uses: state badges in the one colour language, messages, a sparkline on a
// canvas and a uPlot time chart.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import type { StateLook } from './status';

export function Badge({ look, title, id }: { look: StateLook; title?: string; id?: string }) {
  return (
    <span class={`badge tone-${look.tone}`} title={title} id={id} data-tone={look.tone}>
      <i class="dot" />
      {look.label}
    </span>
  );
}

export function Message({ text, tone = 'bad', id }: { text?: string; tone?: 'bad' | 'good' | 'warn' | 'off'; id?: string }) {
  if (!text) return null;
  return (
    <div class={`msg tone-${tone}`} role={tone === 'bad' ? 'alert' : 'status'} id={id}>
      {text}
    </div>
  );
}

export function Section({ title, actions, children, id }: { title: string; actions?: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <section class="panel" id={id}>
      <header>
        <h2>{title}</h2>
        <div class="actions">{actions}</div>
      </header>
      {children}
    </section>
  );
}

/** A line of recent values scaled to `max` (or the series' own maximum) on a tiny canvas. */
export function Sparkline({ values, max, tone = 'busy', label }: { values: number[]; max?: number; tone?: string; label: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const canvas = ref.current;
    const ctx = canvas?.getContext('2d');
    if (!canvas || !ctx) return;
    const w = canvas.width;
    const h = canvas.height;
    ctx.clearRect(0, 0, w, h);
    if (values.length < 2) return;
    const top = max ?? Math.max(...values, 1e-9);
    ctx.strokeStyle = getComputedStyle(canvas).color;
    ctx.lineWidth = 1.2;
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (values.length - 1)) * (w - 2) + 1;
      const y = h - 1 - (Math.min(v, top) / top) * (h - 2);
      if (i === 0) ctx.moveTo(x, y);
      else ctx.lineTo(x, y);
    });
    ctx.stroke();
  }, [values, max]);
  return <canvas ref={ref} class={`spark tone-${tone}`} width={60} height={16} role="img" aria-label={label} title={label} />;
}

export interface ChartSeries {
  label: string;
  values: (number | null)[];
  colour: string;
}

/** A time chart (x in seconds since the epoch) with uPlot, sized to its box. */
export function TimeChart({ title, times, series, unit, id }: { title: string; times: number[]; series: ChartSeries[]; unit: string; id?: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const width = Math.max(240, el.clientWidth);
    const plot = new uPlot(
      {
        width,
        height: 160,
        legend: { show: true },
        cursor: { drag: { x: true, y: false } },
        scales: { x: { time: true } },
        axes: [{ stroke: '#666', grid: { stroke: '#eee' } }, { stroke: '#666', grid: { stroke: '#eee' }, size: 72, values: (_u, ticks) => ticks.map((t) => `${+t.toFixed(1)} ${unit}`) }],
        series: [{}, ...series.map((s) => ({ label: s.label, stroke: s.colour, width: 1.5, points: { show: false } }))],
      },
      [times, ...series.map((s) => s.values)] as uPlot.AlignedData,
      el,
    );
    return () => plot.destroy();
  }, [times, series, unit]);
  return (
    <figure class="chart" id={id}>
      <figcaption>{title}</figcaption>
      <div ref={box} />
      {times.length === 0 ? <p class="dim">no samples in this period</p> : null}
    </figure>
  );
}

/** Hooks a refresh to an interval while the page is shown. */
export function useInterval(fn: () => void, ms: number, deps: unknown[] = []) {
  useEffect(() => {
    const t = setInterval(fn, ms);
    return () => clearInterval(t);
  }, deps); // eslint-disable-line react-hooks/exhaustive-deps
}
