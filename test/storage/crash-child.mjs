// Crash-test child: appends as fast as it can with several concurrent appenders and prints
// each acknowledged index on its own line (stdout to a pipe is synchronous on Linux, so a
// printed index reached the parent before any kill). Also saves a hard state and a snapshot
// now and then, so that kill -9 lands in those too.
// usage: node crash-child.mjs <storage module> <dir> <appenders> <segmentBytes> <snapshotEvery>
import { pathToFileURL } from 'node:url';
import process from 'node:process';
import { Buffer } from 'node:buffer';

const [mod, dir, appendersArg, segArg, snapArg] = process.argv.slice(2);
const { FileStorage } = await import(pathToFileURL(mod).href);
const { storage } = await FileStorage.open(dir, { segmentBytes: Number(segArg), keepSnapshots: 2 });
const snapshotEvery = Number(snapArg);

export function dataFor(index) {
  const n = 8 + ((index * 7) % 53);
  const out = new Uint8Array(n);
  const head = Buffer.from(`${index}:0:`);
  for (let i = 0; i < n; i++) out[i] = i < head.length ? head[i] : (index + i * 31) & 0xff;
  return out;
}

let next = storage.lastIndex() + 1;
process.stdout.write(`start ${next}\n`);

async function appender() {
  for (;;) {
    const index = next++;
    await storage.append([{ index, term: 1, data: dataFor(index) }]);
    process.stdout.write(`${index}\n`);
    if (index % 97 === 0) void storage.saveHardState({ term: 1, vote: 1, commit: index }).catch(fail);
    if (index % snapshotEvery === 0) {
      void storage.saveSnapshot({ index, term: 1, config: new Uint8Array([1]) }, Buffer.from(`state as of ${index}`)).catch(fail);
    }
  }
}

function fail(e) {
  process.stderr.write(`child failed: ${e.stack ?? e}\n`);
  process.exit(3);
}

const n = Number(appendersArg);
for (let i = 0; i < n; i++) appender().catch(fail);
