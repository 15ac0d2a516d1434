/**
 * A small data-driven test format (after cockroachdb/datadriven, as etcd-io/raft uses it):
 *
 *   # comment lines and blank lines between blocks are kept as they are
 *   command arg key=value key=(1,2,3)
 *   ----
 *   expected output, up to the next blank line
 *
 * Output never contains blank lines (the harness prints "ok" for an empty result).
 */
import { readFileSync, writeFileSync } from 'node:fs';

export interface CmdArg {
  key: string;
  /** Positional args have key '' and one value; `k=v` one value; `k=(a,b)` several. */
  vals: string[];
}

export interface TestCase {
  /** Comment and blank lines before the command (kept on rewrite). */
  preamble: string[];
  /** The command line as written. */
  line: string;
  lineNo: number;
  cmd: string;
  args: CmdArg[];
  expected: string;
}

export function parseCommand(line: string): { cmd: string; args: CmdArg[] } {
  const tokens: string[] = [];
  let cur = '';
  let depth = 0;
  for (const ch of line.trim()) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ' ' && depth === 0) {
      if (cur !== '') tokens.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur !== '') tokens.push(cur);
  const [cmd, ...rest] = tokens;
  const args: CmdArg[] = rest.map((t) => {
    const eq = t.indexOf('=');
    if (eq < 0) return { key: '', vals: [t] };
    const key = t.slice(0, eq);
    let v = t.slice(eq + 1);
    if (v.startsWith('(') && v.endsWith(')')) {
      v = v.slice(1, -1);
      return { key, vals: v === '' ? [] : v.split(',').map((s) => s.trim()) };
    }
    return { key, vals: [v] };
  });
  return { cmd: cmd ?? '', args };
}

export function parseFile(text: string): { cases: TestCase[]; trailer: string[] } {
  const lines = text.split('\n');
  const cases: TestCase[] = [];
  let preamble: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const l = lines[i]!;
    if (l.trim() === '' || l.startsWith('#')) {
      preamble.push(l);
      i++;
      continue;
    }
    const lineNo = i + 1;
    const { cmd, args } = parseCommand(l);
    i++;
    if (lines[i] !== '----') throw new Error(`line ${lineNo}: expected ---- after the command '${l}'`);
    i++;
    const out: string[] = [];
    while (i < lines.length && lines[i]!.trim() !== '') {
      out.push(lines[i]!);
      i++;
    }
    cases.push({ preamble, line: l, lineNo, cmd, args, expected: out.join('\n') });
    preamble = [];
    if (i < lines.length) i++; // the blank line that ends the block
  }
  // Drop the trailing empty string that a final newline produces.
  while (preamble.length > 0 && preamble[preamble.length - 1] === '') preamble.pop();
  return { cases, trailer: preamble };
}

export function renderFile(cases: readonly TestCase[], actual: readonly string[], trailer: readonly string[]): string {
  // Each block ends with a blank line, as the parser expects before the next preamble.
  let text = '';
  cases.forEach((c, k) => {
    if (k > 0) text += '\n';
    text += [...c.preamble, c.line, '----', actual[k]!].join('\n') + '\n';
  });
  if (trailer.length > 0) text += '\n' + trailer.join('\n') + '\n';
  return text;
}

export interface RunResult {
  file: string;
  mismatches: { lineNo: number; line: string; expected: string; actual: string }[];
}

/**
 * Runs every case of `file` through `handle` (a fresh environment per file). With
 * `update`, the file is rewritten with the actual output (UPDATE_GOLDEN=1).
 */
export function runFile(file: string, handle: (c: TestCase) => string, update: boolean): RunResult {
  const text = readFileSync(file, 'utf8');
  const { cases, trailer } = parseFile(text);
  const actual: string[] = [];
  const mismatches: RunResult['mismatches'] = [];
  for (const c of cases) {
    let out: string;
    try {
      out = handle(c);
    } catch (e) {
      out = `error: ${(e as Error).stack ?? String(e)}`;
    }
    out = out.replace(/\n+$/, '');
    // Blank lines would end the block: never produce them.
    out = out
      .split('\n')
      .filter((l) => l.trim() !== '')
      .join('\n');
    if (out === '') out = 'ok';
    actual.push(out);
    if (out !== c.expected) mismatches.push({ lineNo: c.lineNo, line: c.line, expected: c.expected, actual: out });
  }
  if (update) {
    const rendered = renderFile(cases, actual, trailer);
    if (rendered !== text) writeFileSync(file, rendered);
  }
  return { file, mismatches };
}
