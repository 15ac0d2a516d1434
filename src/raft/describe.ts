/**
 * One-line text forms of entries, messages and Readys: for log lines in the runtime and for
 * the golden output of the interaction tests. Entry data is shown as a string when it is
 * printable ASCII, else as hex (or a byte count when long); the caller may pass its own.
 */
import { decodeConfChange } from './confchange.js';
import type { Entry, HardState, Message, Ready, Snapshot } from './types.js';

export type DataFormatter = (e: Entry) => string;

export function defaultData(data: Uint8Array): string {
  if (data.length === 0) return '""';
  let printable = true;
  for (let i = 0; i < data.length; i++) {
    const c = data[i]!;
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) {
      printable = false;
      break;
    }
  }
  if (printable && data.length <= 64) return `"${String.fromCharCode(...data)}"`;
  if (data.length > 32) return `<${data.length} bytes>`;
  let hex = '';
  for (let i = 0; i < data.length; i++) hex += data[i]!.toString(16).padStart(2, '0');
  return `0x${hex}`;
}

export function describeEntry(e: Entry, fmt?: DataFormatter): string {
  if (e.type === 'confChange') {
    const cc = decodeConfChange(e.data);
    return `${e.term}/${e.index} ConfChange ${cc.type} ${cc.id}`;
  }
  return `${e.term}/${e.index} ${fmt ? fmt(e) : defaultData(e.data)}`;
}

export function describeEntries(es: readonly Entry[], fmt?: DataFormatter): string {
  return es.map((e) => describeEntry(e, fmt)).join(', ');
}

export function describeSnapshot(s: Snapshot): string {
  return `Index:${s.meta.index} Term:${s.meta.term} Voters:(${s.meta.confState.voters.join(',')})`;
}

export function describeHardState(hs: HardState): string {
  return `Term:${hs.term} Vote:${hs.vote} Commit:${hs.commit}`;
}

function describeContext(c: Uint8Array): string {
  return defaultData(c);
}

export function describeMessage(m: Message, fmt?: DataFormatter): string {
  let s = `${m.from}->${m.to} ${m.type} Term:${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      s += ` Log:${m.logTerm}/${m.index} Commit:${m.commit}`;
      if (m.entries.length > 0) s += ` Entries:[${describeEntries(m.entries, fmt)}]`;
      break;
    case 'MsgAppResp':
      if (m.reject) s += ` Rejected:${m.index} Hint:${m.logTerm}/${m.rejectHint}`;
      else s += ` Index:${m.index}`;
      break;
    case 'MsgVote':
    case 'MsgPreVote':
      s += ` Log:${m.logTerm}/${m.index}`;
      break;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      if (m.reject) s += ' Rejected';
      break;
    case 'MsgHeartbeat':
      s += ` Commit:${m.commit}`;
      break;
    case 'MsgSnap':
      if (m.snapshot) s += ` Snapshot:[${describeSnapshot(m.snapshot)}]`;
      break;
    case 'MsgReadIndexResp':
      s += ` Index:${m.index}`;
      break;
    default:
      break;
  }
  if (m.context !== undefined && m.context.length > 0) s += ` Context:${describeContext(m.context)}`;
  return s;
}

/** A multi-line description of a Ready (etcd's DescribeReady layout). */
export function describeReady(rd: Ready, fmt?: DataFormatter): string {
  const lines: string[] = [];
  if (rd.softState) lines.push(`Lead:${rd.softState.leader} Role:${rd.softState.role}`);
  if (rd.hardState) lines.push(`HardState ${describeHardState(rd.hardState)}`);
  if (rd.readStates.length > 0) lines.push(`ReadStates: ${rd.readStates.map((r) => `(${r.index}, ${describeContext(r.ctx)})`).join(' ')}`);
  if (rd.entries.length > 0) {
    lines.push('Entries:');
    for (const e of rd.entries) lines.push(describeEntry(e, fmt));
  }
  if (rd.snapshot) lines.push(`Snapshot ${describeSnapshot(rd.snapshot)}`);
  if (rd.committedEntries.length > 0) {
    lines.push('CommittedEntries:');
    for (const e of rd.committedEntries) lines.push(describeEntry(e, fmt));
  }
  if (rd.messages.length > 0) {
    lines.push('Messages:');
    for (const m of rd.messages) lines.push(describeMessage(m, fmt));
  }
  return `Ready MustSync=${rd.mustSync}:\n${lines.join('\n')}`;
}
