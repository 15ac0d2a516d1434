// A client process for the recipe tests, which kill it with SIGKILL: it uses the built client
// (dist/client) to hold a lock or lead an election until it is killed.
// usage: node contender.mjs lock|election <path> <identifier> <sessionTimeoutMs> <memberUrl>...
import process from 'node:process';
import { setInterval } from 'node:timers';
import { LeaderElection, Lock, ZgateClient } from '../../dist/client/index.js';

const [mode, path, identifier, timeoutMs, ...urls] = process.argv.slice(2);
const say = (line) => process.stdout.write(`${line}\n`);
// Stay alive until killed (the client's socket alone would, but say so plainly).
setInterval(() => undefined, 1000);

const zk = await ZgateClient.connect(urls, { sessionTimeoutMs: Number(timeoutMs), inOrder: true });
say(`session ${zk.sessionId}`);
if (mode === 'lock') {
  const lock = new Lock(zk, path, identifier);
  await lock.acquire();
  say(`acquired ${lock.nodePath}`);
} else if (mode === 'election') {
  const election = new LeaderElection(zk, path, identifier);
  await election.run(() => {
    say(`leader ${identifier}`);
    return new Promise(() => undefined);
  });
} else {
  say(`unknown mode ${mode}`);
  process.exit(2);
}
