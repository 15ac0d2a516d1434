/** Shared by the fault-injection tests: run a seeded schedule, keep its report when it fails. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFaults, type FaultRunOptions, type FaultRunResult } from '../../tools/faults/harness.js';
import { memberBuilt } from '../support/member.js';

export const built = memberBuilt();

/** ZGATE_FAULTS_SEED replays one seed in every schedule of a test file. */
export function seedOr(seed: number): number {
  const env = process.env['ZGATE_FAULTS_SEED'];
  return env !== undefined && env !== '' ? Number(env) : seed;
}

export async function runSchedule(o: FaultRunOptions): Promise<{ result: FaultRunResult; reportDir: string; text: string }> {
  const reportDir = mkdtempSync(join(tmpdir(), `zgate-faults-${o.seed}-`));
  const lines: string[] = [];
  const result = await runFaults({ ...o, reportDir, log: (l) => lines.push(l) });
  const text = [
    ...lines,
    `seed ${o.seed}; replay: ${result.summary.replay}`,
    ...result.checks.flatMap((c) => c.violations.map((v) => `VIOLATION (${c.name}): ${v}`)),
    ...result.problems.map((p) => `PROBLEM: ${p}`),
    `report kept in ${reportDir}`,
  ].join('\n');
  if (result.ok) rmSync(reportDir, { recursive: true, force: true });
  return { result, reportDir, text };
}
