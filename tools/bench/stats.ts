/**
 * Small measuring helpers shared by the WebSocket fan-out and sessions benchmarks: percentiles,
 * a process's CPU time and resident memory from /proc, and the bytes a process has sent over
 * the TCP sockets of a set of ports (from `ss`, which reads the kernel's tcp_info, so no
 * counter inside zgate is needed and the figure includes every frame header).
 *
 * The parsers are pure (tested in test/bench/bench-stats.test.ts); the readers are Linux only.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/**
 * Milliseconds on CLOCK_MONOTONIC (process.hrtime): one clock for every process of the machine,
 * so a send time in one process and a receive time in another subtract without an offset.
 */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

/** The value at quantile q (0..1) of an ascending array: nearest rank, so always an observed value. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  // Nearest rank: the smallest value with at least q·n values at or below it.
  const rank = Math.ceil(q * n);
  return sorted[Math.min(n - 1, Math.max(0, rank - 1))]!;
}

export interface Distribution {
  count: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** p50/p99/max/mean of the values (sorted in place when it is a Float64Array, copied otherwise). */
export function distribution(values: ArrayLike<number>): Distribution {
  const sorted = values instanceof Float64Array ? values.sort() : Float64Array.from(values).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    p50: quantileSorted(sorted, 0.5),
    p99: quantileSorted(sorted, 0.99),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    mean: sorted.length === 0 ? NaN : sum / sorted.length,
  };
}

/** The median of a few numbers (the lower middle for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** user + system clock ticks from the text of /proc/<pid>/stat. */
export function parseProcStatTicks(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime and stime are fields 14 and 15.
  return Number(fields[11]) + Number(fields[12]);
}

/** Resident set size in bytes from the text of /proc/<pid>/status (its VmRSS line, in kB). */
export function parseVmRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
  return m === null ? NaN : Number(m[1]) * 1024;
}

let ticksPerSecond: number | undefined;

/** CPU seconds (user + system) the process has used so far. */
export function cpuSecondsOf(pid: number): number {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  return parseProcStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / ticksPerSecond;
}

export function rssBytesOf(pid: number): number {
  return parseVmRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

/** One end of an established TCP connection, as `ss -tinpH` lists it. */
export interface TcpEnd {
  /** "laddr:lport raddr:rport": stable for the life of the connection. */
  key: string;
  localPort: number;
  remotePort: number;
  pid: number | undefined;
  bytesSent: number;
  bytesReceived: number;
}

/**
 * Parses `ss -tinpH state established` output: each socket is a line with the addresses and
 * `users:((...pid=N...))`, followed by an indented line of tcp_info counters.
 */
export function parseSs(text: string): TcpEnd[] {
  const out: TcpEnd[] = [];
  let cur: TcpEnd | undefined;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (!/^\s/.test(line)) {
      // Recv-Q Send-Q Local Peer [Process]; ports are after the last ':' (IPv6 addresses hold colons).
      const cols = line.trim().split(/\s+/);
      const local = cols[2] ?? '';
      const remote = cols[3] ?? '';
      const pid = /pid=(\d+)/.exec(line);
      cur = {
        key: `${local} ${remote}`,
        localPort: Number(local.slice(local.lastIndexOf(':') + 1)),
        remotePort: Number(remote.slice(remote.lastIndexOf(':') + 1)),
        pid: pid === null ? undefined : Number(pid[1]),
        bytesSent: 0,
        bytesReceived: 0,
      };
      out.push(cur);
    } else if (cur !== undefined) {
      const sent = /\bbytes_sent:(\d+)/.exec(line);
      const received = /\bbytes_received:(\d+)/.exec(line);
      if (sent !== null) cur.bytesSent = Number(sent[1]);
      if (received !== null) cur.bytesReceived = Number(received[1]);
    }
  }
  return out;
}

/** The ends of the connections that have one of `ports` on either side (both ends of a loopback connection are listed). */
export function tcpEndsOn(ports: readonly number[]): TcpEnd[] {
  const text = execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const set = new Set(ports);
  return parseSs(text).filter((e) => set.has(e.localPort) || set.has(e.remotePort));
}

export interface SentDelta {
  /** Bytes each pid sent over those connections between the two samples. */
  byPid: Map<number, number>;
  /** Connections seen in only one of the samples (a reconnect loses or splits counts). */
  changed: number;
}

/** Bytes sent per process between two samples of tcpEndsOn (a connection new in `after` counts from 0). */
export function sentBetween(before: readonly TcpEnd[], after: readonly TcpEnd[]): SentDelta {
  const prev = new Map(before.map((e) => [e.key, e]));
  const byPid = new Map<number, number>();
  let changed = 0;
  for (const e of after) {
    const p = prev.get(e.key);
    if (p === undefined) changed++;
    prev.delete(e.key);
    if (e.pid === undefined) continue;
    byPid.set(e.pid, (byPid.get(e.pid) ?? 0) + e.bytesSent - (p?.bytesSent ?? 0));
  }
  return { byPid, changed: changed + prev.size };
}
