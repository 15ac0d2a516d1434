/**
 * `npm run faults -- --time 600 --seed N [--members 5] [--kinds a,b] [--out DIR]`: the long
 * fault-injection run. Writes a report directory (summary.json, checks.json, faults.json,
 * history.jsonl, watchers.json, timeline.svg; members' logs when it fails) and exits 1 on
 * any violation.
 */
import { join } from 'node:path';
import { FAULT_KINDS, type FaultKind } from './nemesis.js';
import { runFaults } from './harness.js';
import { DEFECTIVE_MEMBER } from './process.js';

const USAGE = `Usage: npm run faults -- [options]

  --time S         seconds of faults (default 600)
  --seed N         the schedule's seed (default: random; printed)
  --members N      3 or 5 (default 5)
  --clients N      concurrent logical clients (default 2 per member)
  --watchers N     logical watchers (default 3)
  --kinds a,b      fault kinds (default all: ${FAULT_KINDS.join(', ')})
  --heal S         seconds the workload keeps running after the last fault healed (default 15)
  --ops-per-key N  operations per key before it moves on (default 150)
  --budget-ms N    linearizability search budget per history (default 20000)
  --out DIR        report directory (default faults-report/<seed>)
  --member-args "A B"  more serve arguments for every member (e.g. "--log-level info")
  --defect NAME    run members with a deliberate defect (tools/faults/defective-member.mjs; NAME: stale-linearizable-reads)
`;

function parse(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--help' || a === '-h') m.set('help', 'true');
    else if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      if (eq > 0) m.set(a.slice(2, eq), a.slice(eq + 1));
      else m.set(a.slice(2), argv[++i] ?? '');
    } else throw new Error(`unexpected argument ${a}\n${USAGE}`);
  }
  return m;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (args.has('help')) {
    process.stdout.write(USAGE);
    return;
  }
  const num = (k: string, d: number): number => {
    const v = args.get(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n)) throw new Error(`--${k} must be a number, got ${v}`);
    return n;
  };
  const seed = num('seed', Math.floor(Math.random() * 2 ** 31));
  const members = num('members', 5);
  const time = num('time', 600);
  const kinds = args.get('kinds')?.split(',').map((k) => k.trim()) as FaultKind[] | undefined;
  for (const k of kinds ?? []) if (!(FAULT_KINDS as readonly string[]).includes(k)) throw new Error(`unknown fault kind ${k}; kinds: ${FAULT_KINDS.join(', ')}`);
  const out = args.get('out') ?? join('faults-report', String(seed));
  const defect = args.get('defect');
  const replay = `npm run faults -- --time ${time} --seed ${seed} --members ${members}${kinds ? ` --kinds ${kinds.join(',')}` : ''}${args.has('clients') ? ` --clients ${args.get('clients')}` : ''}${defect ? ` --defect ${defect}` : ''}`;
  const r = await runFaults({
    seed,
    members,
    durationMs: time * 1000,
    clients: num('clients', 2 * members),
    watchers: num('watchers', 3),
    healMs: num('heal', 15) * 1000,
    ...(kinds ? { kinds } : {}),
    workload: { opsPerKey: num('ops-per-key', 150) },
    checkBudgetMs: num('budget-ms', 20_000),
    reportDir: out,
    ...(args.get('member-args') ? { memberArgs: args.get('member-args')!.split(' ').filter((a) => a !== '') } : {}),
    replay,
    ...(defect ? { env: { ZGATE_TEST_DEFECT: defect }, entry: DEFECTIVE_MEMBER } : {}),
    log: (l) => console.log(`[${new Date().toISOString().slice(11, 19)}] ${l}`),
  });
  console.log(JSON.stringify(r.summary, null, 2));
  for (const c of r.checks) for (const v of c.violations) console.log(`VIOLATION (${c.name}): ${v}`);
  for (const p of r.problems) console.log(`PROBLEM: ${p}`);
  console.log(`report: ${out}/ (timeline.svg, summary.json)`);
  console.log(`seed ${seed}; replay with: ${replay}`);
  process.exitCode = r.ok ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  process.exitCode = 2;
});
