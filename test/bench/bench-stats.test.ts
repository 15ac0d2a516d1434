/** The benchmarks' pure helpers: percentiles, /proc parsing, and per-process bytes from `ss`. */
import { distribution, median, parseProcStatTicks, parseSs, parseVmRssBytes, quantileSorted, sentBetween } from '../../tools/bench/stats.js';

describe('percentiles', () => {
  test('nearest rank: always an observed value', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantileSorted(xs, 0.5)).toBe(50);
    expect(quantileSorted(xs, 0.99)).toBe(99);
    expect(quantileSorted(xs, 1)).toBe(100);
    expect(quantileSorted(xs, 0)).toBe(1);
    expect(quantileSorted([7], 0.99)).toBe(7);
    expect(quantileSorted([], 0.5)).toBeNaN();
  });

  test('distribution sorts and summarizes', () => {
    const d = distribution([5, 1, 4, 2, 3]);
    expect(d).toEqual({ count: 5, p50: 3, p99: 5, max: 5, mean: 3 });
    expect(distribution([]).count).toBe(0);
    expect(distribution([]).p50).toBeNaN();
  });

  test('median takes the lower middle of an even count', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2);
    expect(median([])).toBeNaN();
  });
});

describe('/proc parsing', () => {
  test('utime + stime, with a command name holding spaces and parentheses', () => {
    const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 37 0 0 20 0 11 0 500 0 0';
    expect(parseProcStatTicks(stat)).toBe(287);
  });

  test('VmRSS in bytes', () => {
    expect(parseVmRssBytes('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t  12345 kB\nThreads:\t11\n')).toBe(12345 * 1024);
    expect(parseVmRssBytes('Name:\tnode\n')).toBeNaN();
  });
});

describe('ss parsing', () => {
  const sample = (aSent: number, bSent: number): string =>
    [
      `0      0      127.0.0.1:45941 127.0.0.1:59208 users:(("node",pid=7294,fd=21))`,
      `\t bbr wscale:10,10 rto:204 cwnd:11 bytes_sent:${aSent} bytes_acked:${aSent} bytes_received:${bSent} segs_out:2`,
      `0      0      127.0.0.1:59208 127.0.0.1:45941 users:(("node",pid=7300,fd=20))`,
      `\t bbr wscale:10,10 rto:204 cwnd:11 bytes_sent:${bSent} bytes_acked:${bSent + 1} bytes_received:${aSent} segs_out:4`,
      '',
    ].join('\n');

  test('each end with its ports, owner and counters', () => {
    const ends = parseSs(sample(5000, 70));
    expect(ends).toEqual([
      { key: '127.0.0.1:45941 127.0.0.1:59208', localPort: 45941, remotePort: 59208, pid: 7294, bytesSent: 5000, bytesReceived: 70 },
      { key: '127.0.0.1:59208 127.0.0.1:45941', localPort: 59208, remotePort: 45941, pid: 7300, bytesSent: 70, bytesReceived: 5000 },
    ]);
  });

  test('bytes sent per process between two samples; a connection seen once is counted as a change', () => {
    const before = parseSs(sample(5000, 70));
    const after = parseSs(sample(8000, 100));
    const d = sentBetween(before, after);
    expect(d.byPid.get(7294)).toBe(3000);
    expect(d.byPid.get(7300)).toBe(30);
    expect(d.changed).toBe(0);
    const gone = sentBetween(before, after.slice(0, 1));
    expect(gone.changed).toBe(1);
    const fresh = sentBetween([], after);
    expect(fresh.byPid.get(7294)).toBe(8000);
    expect(fresh.changed).toBe(2);
  });
});
