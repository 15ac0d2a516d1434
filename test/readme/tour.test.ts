/**
 * Runs the README's curl tour against a real member process and checks each answer, so the
 * README can't drift from the code. The tour is the text between `<!-- tour -->` and
 * `<!-- /tour -->`: in ```console blocks, a line `$ cmd` is a command (run by bash, with
 * localhost:8080 pointed at the test's member) and the lines after it are its expected output.
 * An expected line `...` stands for any number of lines; times (ctime, mtime, Date) are masked.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMember, type RunningMember } from '../support/member.js';

interface Step {
  command: string;
  expected: string[];
}

function tourSteps(readme: string): Step[] {
  const start = readme.indexOf('<!-- tour -->');
  const end = readme.indexOf('<!-- /tour -->');
  if (start < 0 || end < start) throw new Error('README.md has no <!-- tour --> ... <!-- /tour --> section');
  const steps: Step[] = [];
  const blocks = readme.slice(start, end).split('```console\n').slice(1).map((b) => b.slice(0, b.indexOf('```')));
  for (const block of blocks) {
    for (const line of block.replace(/\n$/, '').split('\n')) {
      if (line.startsWith('$ ')) steps.push({ command: line.slice(2), expected: [] });
      else steps[steps.length - 1]!.expected.push(line);
    }
  }
  return steps;
}

function normalize(line: string): string {
  return line
    .replace(/"(ctime|mtime)":[0-9]+/g, '"$1":T')
    .replace(/\\"(ctime|mtime)\\":[0-9]+/g, '\\"$1\\":T')
    .replace(/^date: .*$/i, 'date: D')
    .trimEnd();
}

/** Expected lines match actual lines in order; `...` matches any run of lines. */
function matches(expected: string[], actual: string[]): boolean {
  const go = (i: number, j: number): boolean => {
    if (i === expected.length) return j === actual.length;
    if (expected[i] === '...') {
      for (let k = j; k <= actual.length; k++) if (go(i + 1, k)) return true;
      return false;
    }
    return j < actual.length && normalize(expected[i]!) === normalize(actual[j]!) && go(i + 1, j + 1);
  };
  return go(0, 0);
}

let member: RunningMember;
beforeAll(async () => {
  // The tour starts writing at once, as a reader would once `npm start` says it is ready: wait
  // until the member has recovered (/readyz), not only until it listens (/healthz).
  member = await startMember({ readyPath: '/readyz' });
});
afterAll(async () => member?.stop());

test('the README curl tour answers exactly as documented', () => {
  const steps = tourSteps(readFileSync(join(process.cwd(), 'README.md'), 'utf8'));
  expect(steps.length).toBeGreaterThanOrEqual(10);
  for (const step of steps) {
    const command = step.command.replaceAll('localhost:8080', `127.0.0.1:${member.port}`);
    const out = execFileSync('bash', ['-c', command], { encoding: 'utf8' }).replace(/\r/g, '');
    const actual = out.replace(/\n$/, '').split('\n').filter((l, i, a) => !(l === '' && i === a.length - 1));
    if (!matches(step.expected, actual)) {
      throw new Error(`README step: $ ${step.command}\nexpected:\n${step.expected.join('\n')}\nactual:\n${actual.join('\n')}`);
    }
  }
});
