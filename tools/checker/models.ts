/**
 * Sequential specifications of zgate's znode API for the WGL checker (wgl.ts).
 *
 * - `znodeModel`: a small fixed set of znodes (one for a register partition, a few for a multi
 *   group), each absent or `{data, version}`; ops get / create / set (version or -1) / delete
 *   (version or -1) / multi (create, set, delete, check; all or nothing; later ops see earlier
 *   ones). ZooKeeper's order of checks: a missing znode is NoNode before a version mismatch is
 *   BadVersion; create on an existing znode is NodeExists.
 * - `sequenceModel`: sequential creates under one parent that nobody deletes from: the n-th
 *   create (in linearization order) gets suffix n, so names are unique and increasing.
 *
 * Outputs `{t:'unknown'}` (an indeterminate write) are accepted in any state: the op applies
 * as it would (or is a no-op where it would fail).
 */
import type { Model } from './wgl.js';

export interface Reg {
  data: string;
  version: number;
}

export type ZSub =
  | { op: 'create'; path: string; data: string }
  | { op: 'set'; path: string; data: string; version: number }
  | { op: 'delete'; path: string; version: number }
  | { op: 'check'; path: string; version: number };

export type ZInput =
  | { f: 'get'; path: string }
  | { f: 'create'; path: string; data: string }
  | { f: 'set'; path: string; data: string; version: number }
  | { f: 'delete'; path: string; version: number }
  | { f: 'multi'; ops: ZSub[] };

export type ZOutput =
  | { t: 'unknown' }
  /** get: data and version; set: the new version; create: version 0; delete, multi: nothing more. */
  | { t: 'ok'; data?: string; version?: number }
  /** A ZooKeeper error outcome (NoNode, NodeExists, BadVersion...); for a multi, the failing op's index. */
  | { t: 'err'; code: string; opIndex?: number };

/** State: znode path → register (absent paths are not in the map). Never mutated. */
export type ZState = ReadonlyMap<string, Reg>;

type Outcome = { ok: true; state: Map<string, Reg>; version?: number; data?: string } | { ok: false; code: string; opIndex?: number };

function subStep(s: Map<string, Reg>, o: ZSub): { ok: true; version?: number } | { ok: false; code: string } {
  const cur = s.get(o.path);
  switch (o.op) {
    case 'create':
      if (cur !== undefined) return { ok: false, code: 'NodeExists' };
      s.set(o.path, { data: o.data, version: 0 });
      return { ok: true, version: 0 };
    case 'set':
      if (cur === undefined) return { ok: false, code: 'NoNode' };
      if (o.version !== -1 && o.version !== cur.version) return { ok: false, code: 'BadVersion' };
      s.set(o.path, { data: o.data, version: cur.version + 1 });
      return { ok: true, version: cur.version + 1 };
    case 'delete':
      if (cur === undefined) return { ok: false, code: 'NoNode' };
      if (o.version !== -1 && o.version !== cur.version) return { ok: false, code: 'BadVersion' };
      s.delete(o.path);
      return { ok: true };
    case 'check':
      if (cur === undefined) return { ok: false, code: 'NoNode' };
      if (o.version !== -1 && o.version !== cur.version) return { ok: false, code: 'BadVersion' };
      return { ok: true };
  }
}

/** What `input` does in state `s` (s is not mutated). */
export function applyZ(s: ZState, input: ZInput): Outcome {
  if (input.f === 'get') {
    const cur = s.get(input.path);
    return cur === undefined ? { ok: false, code: 'NoNode' } : { ok: true, state: s as Map<string, Reg>, data: cur.data, version: cur.version };
  }
  const next = new Map(s);
  if (input.f === 'multi') {
    for (let i = 0; i < input.ops.length; i++) {
      const r = subStep(next, input.ops[i]!);
      if (!r.ok) return { ok: false, code: r.code, opIndex: i };
    }
    return { ok: true, state: next };
  }
  const sub: ZSub = input.f === 'create' ? { op: 'create', path: input.path, data: input.data } : input.f === 'set' ? { op: 'set', path: input.path, data: input.data, version: input.version } : { op: 'delete', path: input.path, version: input.version };
  const r = subStep(next, sub);
  if (!r.ok) return { ok: false, code: r.code };
  return r.version === undefined ? { ok: true, state: next } : { ok: true, state: next, version: r.version };
}

function describeZ(input: ZInput, output: ZOutput): string {
  const out = output.t === 'unknown' ? '?' : output.t === 'ok' ? `ok${output.data !== undefined ? ` ${JSON.stringify(output.data)}` : ''}${output.version !== undefined ? ` v${output.version}` : ''}` : `${output.code}${output.opIndex !== undefined ? `@${output.opIndex}` : ''}`;
  switch (input.f) {
    case 'get':
      return `get ${input.path} -> ${out}`;
    case 'create':
      return `create ${input.path} ${JSON.stringify(input.data)} -> ${out}`;
    case 'set':
      return `set ${input.path} ${JSON.stringify(input.data)} v${input.version} -> ${out}`;
    case 'delete':
      return `delete ${input.path} v${input.version} -> ${out}`;
    case 'multi':
      return `multi [${input.ops.map((o) => `${o.op} ${o.path}${'data' in o ? ` ${JSON.stringify(o.data)}` : ''}${'version' in o ? ` v${o.version}` : ''}`).join('; ')}] -> ${out}`;
  }
}

export const znodeModel: Model<ZState, ZInput, ZOutput> = {
  init: () => new Map(),
  step(s, input, output) {
    const r = applyZ(s, input);
    if (output.t === 'unknown') {
      // Reads are never indeterminate in a history (a failed read is dropped); a write applies
      // as it would, or changes nothing where it would fail.
      return r.ok ? r.state : s;
    }
    if (output.t === 'err') {
      if (r.ok || r.code !== output.code) return undefined;
      if (input.f === 'multi' && output.opIndex !== undefined && r.opIndex !== output.opIndex) return undefined;
      return s;
    }
    if (!r.ok) return undefined;
    if (output.data !== undefined && output.data !== r.data) return undefined;
    if (output.version !== undefined && output.version !== r.version) return undefined;
    return r.state;
  },
  key(s) {
    if (s.size === 0) return '';
    const parts: string[] = [];
    for (const [p, r] of [...s].sort((a, b) => (a[0] < b[0] ? -1 : 1))) parts.push(`${p}\u0000${r.version}\u0000${r.data}`);
    return parts.join('\u0001');
  },
  describe: describeZ,
};

export interface SeqInput {
  f: 'createSeq';
  parent: string;
  /** The created path is prefix + the sequence number as %010d. */
  prefix: string;
  data: string;
}
export type SeqOutput = { t: 'unknown' } | { t: 'ok'; seq: number };

/** State: how many children were created under the parent (its cversion, with no deletes). */
export const sequenceModel: Model<number, SeqInput, SeqOutput> = {
  init: () => 0,
  step(s, _input, output) {
    if (output.t === 'unknown') return s + 1;
    return output.seq === s ? s + 1 : undefined;
  },
  key: (s) => String(s),
  describe: (input, output) => `createSeq ${input.parent} ${JSON.stringify(input.data)} -> ${output.t === 'ok' ? output.seq : '?'}`,
};
