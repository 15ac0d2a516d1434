// Lock-test child: opens the data dir and holds it until killed, or reports why it could not.
// usage: node lock-child.mjs <storage module> <dir>
import { pathToFileURL } from 'node:url';
import process from 'node:process';
import { setInterval } from 'node:timers';

const [mod, dir] = process.argv.slice(2);
const { FileStorage } = await import(pathToFileURL(mod).href);
try {
  await FileStorage.open(dir);
  process.stdout.write(`locked ${process.pid}\n`);
  setInterval(() => undefined, 1000);
} catch (e) {
  process.stdout.write(`refused ${e.name}: ${e.message}\n`);
  process.exit(0);
}
