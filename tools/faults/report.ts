/**
 * A run's timeline as an SVG a person can look at: one row per client (operations binned by
 * time, coloured by outcome), one row per watcher (its connections), the cluster's write
 * throughput, and the faults shaded over everything with their names.
 */
import type { HistoryOp, WatcherLog } from '../checker/history.js';
import type { FaultEvent } from './nemesis.js';

const COLORS = {
  ok: '#2e9d4f',
  err: '#a6d9a8',
  fail: '#d62728',
  info: '#ff9900',
  fault: '#d62728',
  faultKill: '#7f3fbf',
  faultPause: '#1f77b4',
  faultNet: '#e377c2',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function faultColor(kind: string): string {
  if (kind.startsWith('kill') || kind === 'restart-all') return COLORS.faultKill;
  if (kind.startsWith('pause')) return COLORS.faultPause;
  return COLORS.faultNet;
}

export interface TimelineInput {
  title: string;
  history: readonly HistoryOp[];
  faults: readonly FaultEvent[];
  watchers: readonly WatcherLog[];
  /** Watcher segments' wall times are not recorded; their rows show segments in order instead. */
  endUs: number;
  violations: number;
}

/** Where everything goes: the plot's frame and the rows' offsets, and time → x. */
interface Layout {
  width: number;
  height: number;
  left: number;
  plotW: number;
  rowH: number;
  top: number;
  throughputH: number;
  clients: number[];
  /** The top of the watcher rows, of the throughput plot, and the bottom of the whole plot. */
  watchY: number;
  throughputY: number;
  plotBottom: number;
  end: number;
  x: (us: number) => number;
}

function layout(t: TimelineInput): Layout {
  const width = 1600;
  const left = 120;
  const right = 20;
  const plotW = width - left - right;
  const clients = [...new Set(t.history.filter((o) => !o.final).map((o) => o.client))].sort((a, b) => a - b);
  const rowH = 16;
  const top = 80;
  const throughputH = 80;
  const clientsH = clients.length * rowH;
  const watchH = t.watchers.length * rowH;
  const height = top + clientsH + 20 + watchH + 30 + throughputH + 90;
  const end = Math.max(t.endUs, 1);
  const x = (us: number): number => left + (Math.min(Math.max(us, 0), end) / end) * plotW;
  const watchY = top + clientsH + 20;
  const throughputY = watchY + watchH + 30;
  const plotBottom = top + clientsH + 20 + watchH + 30 + throughputH;
  return { width, height, left, plotW, rowH, top, throughputH, clients, watchY, throughputY, plotBottom, end, x };
}

export function timelineSvg(t: TimelineInput): string {
  const l = layout(t);
  const { width, height, left } = l;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="15" font-weight="bold">${esc(t.title)}</text>`);
  out.push(`<text x="${left}" y="38" font-size="12" fill="${t.violations > 0 ? COLORS.fail : '#333'}">${t.violations} violations · ${t.history.length} operations · ${t.faults.length} faults</text>`);
  faultBands(out, l, t.faults);
  l.clients.forEach((c, row) => clientRow(out, l, t.history, c, row));
  watcherRows(out, l, t.watchers);
  throughputPlot(out, l, t.history);
  const axisY = timeAxis(out, l);
  legend(out, left, axisY + 24);
  out.push('</svg>');
  return out.join('\n');
}

/** Faults: shaded bands with labels. */
function faultBands(out: string[], l: Layout, faults: readonly FaultEvent[]): void {
  const { top, plotBottom, end, x } = l;
  faults.forEach((f, i) => {
    const x0 = x(f.start);
    const x1 = x(Number.isFinite(f.end) ? f.end : end);
    const c = faultColor(f.kind);
    out.push(`<rect x="${x0.toFixed(1)}" y="${top - 8}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${plotBottom - top + 8}" fill="${c}" fill-opacity="0.12"><title>${esc(`${f.kind}: ${f.detail}`)}</title></rect>`);
    out.push(`<text x="${(x0 + 2).toFixed(1)}" y="${top - 12 - (i % 3) * 10}" fill="${c}" font-size="10">${esc(f.kind)}${f.targets.length > 0 && f.targets.length < 5 ? ` ${f.targets.join(',')}` : ''}</text>`);
  });
}

/** One client: its operations binned per pixel column, coloured by the worst outcome in the bin. */
function clientRow(out: string[], l: Layout, history: readonly HistoryOp[], c: number, row: number): void {
  const { left, plotW, rowH, top, end, x } = l;
  const bins = Math.floor(plotW / 2);
  const binUs = end / bins;
  const y = top + row * rowH;
  out.push(`<text x="${left - 8}" y="${y + 11}" text-anchor="end">client ${c}</text>`);
  // Per bin: indeterminate or failed if any, else the more common of ok and error outcome.
  const counts = Array.from({ length: bins }, () => [0, 0, 0, 0]);
  const idx = { ok: 0, err: 1, fail: 2, info: 3 } as const;
  const infoSpans: [number, number][] = [];
  for (const o of history) {
    if (o.client !== c || o.final) continue;
    const outcome = o.status === 'ok' ? ((o.output as { t: string }).t === 'err' ? 'err' : 'ok') : o.status;
    const stop = Number.isFinite(o.ret) ? o.ret : (o.gaveUpAt ?? o.call);
    for (let b = Math.floor(o.call / binUs); b <= Math.min(bins - 1, Math.floor(stop / binUs)); b++) counts[b]![idx[outcome]]!++;
    if (o.status === 'info') infoSpans.push([o.call, stop]);
  }
  const worst: number[] = counts.map(([ok, err, fail, info]) => (info! > 0 ? 3 : fail! > 0 ? 2 : ok! + err! === 0 ? -1 : ok! >= err! ? 0 : 1));
  const names = ['ok', 'err', 'fail', 'info'] as const;
  let b = 0;
  while (b < bins) {
    const r = worst[b]!;
    let e = b + 1;
    while (e < bins && worst[e] === r) e++;
    if (r >= 0) out.push(`<rect x="${(left + (b * plotW) / bins).toFixed(1)}" y="${y + 2}" width="${(((e - b) * plotW) / bins).toFixed(1)}" height="${rowH - 4}" fill="${COLORS[names[r as 0 | 1 | 2 | 3]]}"/>`);
    b = e;
  }
  for (const [a, z] of infoSpans) out.push(`<rect x="${x(a).toFixed(1)}" y="${y + 1}" width="${Math.max(1.5, x(z) - x(a)).toFixed(1)}" height="3" fill="${COLORS.info}"/>`);
}

/** Watchers: one block per connection, in order, with reconnections marked. */
function watcherRows(out: string[], l: Layout, watchers: readonly WatcherLog[]): void {
  const { left, plotW, rowH, watchY: wy0 } = l;
  out.push(`<text x="${left}" y="${wy0 - 5}" fill="#555">watch connections, one block per connection, in order (width ∝ zxids covered; colour: the member; orange: ended by Compacted)</text>`);
  watchers.forEach((w, row) => {
    const y = wy0 + row * rowH;
    out.push(`<text x="${left - 8}" y="${y + 11}" text-anchor="end">watcher ${w.watcher}</text>`);
    const first = w.segments[0]?.from ?? 0;
    const last = Math.max(first + 1, ...w.segments.map((s) => s.to));
    for (const s of w.segments) {
      const x0 = left + ((s.from - first) / (last - first)) * plotW;
      const x1 = left + ((s.to - first) / (last - first)) * plotW;
      const fill = s.ended === 'Compacted' ? COLORS.info : `hsl(${(s.member * 67) % 360},55%,55%)`;
      out.push(`<rect x="${x0.toFixed(1)}" y="${y + 2}" width="${Math.max(1, x1 - x0).toFixed(1)}" height="${rowH - 4}" fill="${fill}" stroke="white" stroke-width="0.5"><title>${esc(`member ${s.member}: zxid ${s.from}..${s.to}, ${s.frames.length} frames, ended: ${s.ended}`)}</title></rect>`);
    }
  });
}

const SEC = 1e6;

/** Throughput: acknowledged writes per second. */
function throughputPlot(out: string[], l: Layout, history: readonly HistoryOp[]): void {
  const { left, plotW, throughputH, throughputY: ty0, end, x } = l;
  const nSec = Math.max(1, Math.ceil(end / SEC));
  const perSec = new Array<number>(nSec).fill(0);
  for (const o of history) if (o.status === 'ok' && (o.input as { f: string }).f !== 'get' && Number.isFinite(o.ret)) perSec[Math.min(nSec - 1, Math.floor(o.ret / SEC))]!++;
  const maxT = Math.max(1, ...perSec);
  const pts = perSec.map((v, i) => `${x((i + 0.5) * SEC).toFixed(1)},${(ty0 + throughputH - (v / maxT) * throughputH).toFixed(1)}`).join(' ');
  out.push(`<line x1="${left}" y1="${ty0 + throughputH}" x2="${left + plotW}" y2="${ty0 + throughputH}" stroke="#999"/>`);
  out.push(`<polyline points="${pts}" fill="none" stroke="#333" stroke-width="1.2"/>`);
  out.push(`<text x="${left - 8}" y="${ty0 + 12}" text-anchor="end">${maxT}/s</text>`);
  out.push(`<text x="${left - 8}" y="${ty0 + throughputH}" text-anchor="end">acked writes</text>`);
}

/** The time axis under the plot; returns the baseline of its labels. */
function timeAxis(out: string[], l: Layout): number {
  const { plotBottom, end, x } = l;
  const axisY = plotBottom + 14;
  const step = end > 300 * SEC ? 60 : end > 60 * SEC ? 10 : 5;
  for (let s = 0; s * SEC <= end; s += step) {
    out.push(`<line x1="${x(s * SEC).toFixed(1)}" y1="${plotBottom}" x2="${x(s * SEC).toFixed(1)}" y2="${plotBottom + 4}" stroke="#333"/>`);
    out.push(`<text x="${x(s * SEC).toFixed(1)}" y="${axisY}" text-anchor="middle">${s}s</text>`);
  }
  return axisY;
}

function legend(out: string[], left: number, ly: number): void {
  const entries: [string, string][] = [
    [COLORS.ok, 'ok'],
    [COLORS.err, 'definite error outcome (BadVersion, NodeExists...)'],
    [COLORS.fail, 'failed (not applied)'],
    [COLORS.info, 'indeterminate'],
    [COLORS.faultNet, 'network fault'],
    [COLORS.faultKill, 'kill / restart'],
    [COLORS.faultPause, 'pause'],
  ];
  let lx = left;
  for (const [c, label] of entries) {
    out.push(`<rect x="${lx}" y="${ly - 9}" width="12" height="10" fill="${c}" ${label.includes('fault') || label.includes('kill') || label === 'pause' ? 'fill-opacity="0.35"' : ''}/>`);
    out.push(`<text x="${lx + 16}" y="${ly}">${esc(label)}</text>`);
    lx += 30 + label.length * 6.2;
  }
}
