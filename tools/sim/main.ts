/**
 * `npm run sim` — the simulator of the runtime (simulation.ts) from the command line.
 *
 *   npm run sim -- --seed=1234            replay one seed, print its trace on failure
 *   npm run sim -- --seeds=10000          run seeds 1..10000 (--from=S to start elsewhere)
 *   options: --safety=TICKS --liveness=TICKS --verbose (print each seed's summary)
 */
import { addStats, emptyStats, runSeed, SimFailure, Simulation } from './simulation.js';

function arg(name: string): string | undefined {
  const pre = `--${name}=`;
  const a = process.argv.slice(2).find((x) => x.startsWith(pre) || x === `--${name}`);
  if (a === undefined) return undefined;
  return a === `--${name}` ? 'true' : a.slice(pre.length);
}

function num(name: string): number | undefined {
  const v = arg(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n)) {
    console.error(`--${name} needs an integer, got ${v}`);
    process.exit(2);
  }
  return n;
}

const safetyTicks = num('safety');
const livenessTicks = num('liveness');
const verbose = arg('verbose') !== undefined;

async function replay(seed: number): Promise<void> {
  const sim = new Simulation(seed, { seed, safetyTicks, livenessTicks, trace: true });
  console.log(`seed ${seed}: ${JSON.stringify(sim.config)}`);
  try {
    const r = await sim.run();
    console.log(`seed ${seed} ok: ${r.steps} steps, ${r.ticks} ticks, commit ${r.commitIndex}, max term ${r.maxTerm}, ${r.crashes} crashes, ${r.messages} messages (${r.dropped} dropped), converged ${r.convergeTicks} ticks after healing`);
    console.log(`exercised: ${JSON.stringify(r.stats)}`);
    if (verbose) for (const l of sim.traceLines()) console.log(l);
  } catch (e) {
    if (!(e instanceof SimFailure)) throw e;
    const lines = sim.traceLines();
    const tail = verbose ? lines : lines.slice(-300);
    console.log(`--- last ${tail.length} of ${lines.length} trace lines ---`);
    for (const l of tail) console.log(l);
    console.log('---');
    console.log(e.message);
    process.exit(1);
  }
}

async function many(from: number, count: number): Promise<void> {
  const t0 = process.hrtime.bigint();
  let steps = 0;
  let worstConverge = 0;
  let stats = emptyStats();
  const converge: number[] = [];
  for (let seed = from; seed < from + count; seed++) {
    try {
      const r = await runSeed({ seed, safetyTicks, livenessTicks });
      steps += r.steps;
      worstConverge = Math.max(worstConverge, r.convergeTicks);
      converge.push(r.convergeTicks);
      stats = addStats(stats, r.stats);
      if (verbose) console.log(`seed ${seed}: ${r.steps} steps, commit ${r.commitIndex}, term ${r.maxTerm}, converged in ${r.convergeTicks} ticks`);
    } catch (e) {
      if (!(e instanceof SimFailure)) {
        console.log(`seed ${seed} threw: ${(e as Error).stack}`);
        console.log(`  replay: npm run sim -- --seed=${seed}`);
        process.exit(1);
      }
      console.log(e.message);
      process.exit(1);
    }
    const done = seed - from + 1;
    if (!verbose && done % 1000 === 0) console.log(`${done} seeds ok`);
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(
    `${count} seeds (${from}..${from + count - 1}) ok in ${secs.toFixed(1)} s: ${(count / secs).toFixed(0)} seeds/s, ` +
      `${(steps / secs / 1000).toFixed(0)}k steps/s, convergence after healing p99 ${converge.sort((a, b) => a - b)[Math.floor(converge.length * 0.99)]} max ${worstConverge} ticks`,
  );
  console.log(`exercised: ${JSON.stringify(stats)}`);
}

const seed = num('seed');
if (seed !== undefined) await replay(seed);
else await many(num('from') ?? 1, num('seeds') ?? 1000);
