/**
 * The interaction-test environment (after etcd-io/raft's rafttest.InteractionEnv): a few
 * RawNodes, a message queue between them, and a command language whose output tells the
 * story (Readys, messages, log lines). The environment plays the runtime: it persists a
 * Ready (MemoryLogStorage is the durable state here), sends its messages through util/codec
 * (so every message must survive msgpack), applies committed entries, then advances.
 */
import { decode, encode } from '../../../src/util/codec.js';
import {
  RawNode,
  MemoryLogStorage,
  describeMessage,
  describeReady,
  describeEntry,
  decodeConfChange,
  applyConfChange,
  type ConfState,
  type Entry,
  type Message,
  type Ready,
  type RaftConfig,
  type RaftLogger,
} from '../../../src/raft/index.js';
import type { CmdArg, TestCase } from './datadriven.js';

type Level = 'debug' | 'info' | 'warn' | 'none';
const LEVELS: Level[] = ['debug', 'info', 'warn', 'none'];

/** The RaftConfig knobs that add-nodes sets (all of them, always). */
type NodeOptions = Required<
  Pick<RaftConfig, 'electionTick' | 'heartbeatTick' | 'preVote' | 'checkQuorum' | 'maxSizePerMsg' | 'maxInflightMsgs' | 'maxInflightBytes' | 'maxUncommittedEntriesSize'>
>;

interface Node {
  id: number;
  rn: RawNode;
  storage: MemoryLogStorage;
  opts: NodeOptions;
  /** The application: applied index and the membership after each applied conf change. */
  appliedIndex: number;
  confs: { index: number; conf: ConfState }[];
  down: boolean;
}

const enc = new TextEncoder();

function bytes(s: string): Uint8Array {
  return enc.encode(s);
}

export class InteractionEnv {
  private readonly nodes = new Map<number, Node>();
  private queue: Message[] = [];
  private out: string[] = [];
  private indent = '';
  private level: Level = 'info';
  private blocked = new Set<string>();

  handle(c: TestCase): string {
    this.out = [];
    this.indent = '';
    const args = c.args;
    switch (c.cmd) {
      case 'log-level':
        this.level = pos(args, 0) as Level;
        if (!LEVELS.includes(this.level)) throw new Error(`unknown level ${this.level}`);
        break;
      case 'add-nodes':
        this.addNodes(Number(pos(args, 0)), args);
        break;
      case 'campaign':
        this.node(pos(args, 0)).rn.campaign();
        break;
      case 'propose': {
        const res = this.node(pos(args, 0)).rn.propose(bytes(pos(args, 1)));
        if (!res.ok) this.print(`refused: ${res.reason} (leader ${res.leader})`);
        break;
      }
      case 'propose-conf-change': {
        const type = pos(args, 1);
        if (type !== 'add' && type !== 'remove') throw new Error(`conf change type ${type}`);
        const res = this.node(pos(args, 0)).rn.proposeConfChange({ type, id: Number(pos(args, 2)) });
        if (!res.ok) this.print(`refused: ${res.reason} (leader ${res.leader})${res.detail ? `: ${res.detail}` : ''}`);
        break;
      }
      case 'process-ready':
        this.forIds(args, (n, many) => this.processReady(n, many));
        break;
      case 'deliver-msgs':
        this.forIds(args, (n, many) => this.deliver(n, many, kv(args, 'drop') === 'true'));
        break;
      case 'stabilize':
        this.stabilize(ids(args));
        break;
      case 'tick-heartbeat':
        this.forIds(args, (n) => this.tick(n, n.opts.heartbeatTick));
        break;
      case 'tick-election':
        this.forIds(args, (n) => this.tick(n, n.opts.electionTick));
        break;
      case 'tick':
        this.tick(this.node(pos(args, 0)), Number(pos(args, 1)));
        break;
      case 'isolate': {
        const id = Number(pos(args, 0));
        for (const other of this.nodes.keys()) if (other !== id) this.block(id, other);
        break;
      }
      case 'partition': {
        const groups = args.filter((a) => a.key === '').map((a) => a.vals[0]!.replace(/[()]/g, '').split(',').map(Number));
        for (const g of groups) for (const h of groups) if (g !== h) for (const a of g) for (const b of h) this.block(a, b);
        break;
      }
      case 'heal':
        this.blocked.clear();
        break;
      case 'read-index': {
        const res = this.node(pos(args, 0)).rn.readIndex(bytes(pos(args, 1)));
        if (!res.ok) this.print(`refused: ${res.reason} (leader ${res.leader})`);
        break;
      }
      case 'transfer-leadership': {
        const res = this.node(pos(args, 0)).rn.transferLeadership(Number(pos(args, 1)));
        if (!res.ok) this.print(`refused: ${res.reason} (leader ${res.leader})`);
        break;
      }
      case 'compact': {
        const n = this.node(pos(args, 0));
        const index = Number(pos(args, 1));
        n.rn.compact(index, bytes(`snap@${index}`), this.confAt(n, index));
        break;
      }
      case 'set-randomized-election-timeout': {
        // Test hook: a follower whose timeout is above electionTick lets its lease on the
        // leader expire before it campaigns itself.
        const r = this.node(pos(args, 0)).rn.raft;
        r.randomizedElectionTimeout = Number(kv(args, 'timeout'));
        r.checkInvariants();
        break;
      }
      case 'forget-leader':
        this.node(pos(args, 0)).rn.forgetLeader(Number(pos(args, 1)));
        break;
      case 'report-unreachable':
        this.node(pos(args, 0)).rn.reportUnreachable(Number(pos(args, 1)));
        break;
      case 'report-snapshot':
        this.node(pos(args, 0)).rn.reportSnapshot(Number(pos(args, 1)), kv(args, 'ok') !== 'false');
        break;
      case 'status':
        this.forIds(args, (n) => this.status(n));
        break;
      case 'raft-log':
        this.raftLog(this.node(pos(args, 0)));
        break;
      case 'restart':
        this.restart(this.node(pos(args, 0)));
        break;
      case 'stop':
        this.node(pos(args, 0)).down = true;
        break;
      default:
        throw new Error(`unknown command ${c.cmd}`);
    }
    return this.out.join('\n');
  }

  // ---- output -------------------------------------------------------------------------------

  private print(s: string): void {
    for (const l of s.split('\n')) this.out.push(this.indent + l);
  }

  /** The story of Readys and messages: silenced by `log-level none` (for set-up steps). */
  private trace(s: string): void {
    if (this.level !== 'none') this.print(s);
  }

  private loggerFor(): RaftLogger {
    const at = (lvl: Level, tag: string) => (msg: string) => {
      if (LEVELS.indexOf(lvl) >= LEVELS.indexOf(this.level)) this.print(`${tag} ${msg}`);
    };
    return { debug: at('debug', 'DEBUG'), info: at('info', 'INFO'), warn: at('warn', 'WARN') };
  }

  // ---- nodes --------------------------------------------------------------------------------

  private node(idStr: string): Node {
    const n = this.nodes.get(Number(idStr));
    if (n === undefined) throw new Error(`no node ${idStr}`);
    return n;
  }

  private forIds(args: CmdArg[], fn: (n: Node, many: boolean) => void): void {
    const list = ids(args);
    const targets = list.length > 0 ? list : [...this.nodes.keys()];
    for (const id of targets) fn(this.node(String(id)), targets.length > 1);
  }

  private addNodes(count: number, args: CmdArg[]): void {
    const voters = (args.find((a) => a.key === 'voters')?.vals ?? []).map(Number);
    const index = Number(kv(args, 'index') ?? '0');
    const opts: NodeOptions = {
      electionTick: Number(kv(args, 'election') ?? '10'),
      heartbeatTick: Number(kv(args, 'heartbeat') ?? '1'),
      preVote: kv(args, 'prevote') !== 'false',
      checkQuorum: kv(args, 'checkquorum') !== 'false',
      maxSizePerMsg: Number(kv(args, 'max-size') ?? String(1 << 20)),
      maxInflightMsgs: Number(kv(args, 'inflight') ?? '256'),
      maxInflightBytes: Number(kv(args, 'inflight-bytes') ?? '0'),
      maxUncommittedEntriesSize: Number(kv(args, 'max-uncommitted') ?? String(1 << 30)),
    };
    for (let k = 0; k < count; k++) {
      const id = this.nodes.size + 1;
      const storage = index > 0 || voters.length === 0 ? new MemoryLogStorage() : MemoryLogStorage.bootstrap(voters);
      if (index > 0) {
        storage.applySnapshot({ meta: { index, term: 1, confState: { voters } }, data: bytes(`snap@${index}`) });
        storage.setHardState({ term: 1, vote: 0, commit: index });
      }
      const n: Node = { id, rn: undefined as unknown as RawNode, storage, opts, appliedIndex: index, confs: [{ index, conf: { voters: [...voters] } }], down: false };
      this.nodes.set(id, n);
      this.start(n);
    }
  }

  private start(n: Node): void {
    const snap = n.storage.snapshot();
    n.appliedIndex = snap.meta.index;
    n.confs = [{ index: snap.meta.index, conf: snap.meta.confState }];
    n.rn = new RawNode({
      id: n.id,
      storage: n.storage,
      random: { int: () => 0 }, // randomized election timeout = electionTick exactly
      ...n.opts,
      logger: this.loggerFor(),
    });
    n.down = false;
  }

  private restart(n: Node): void {
    // Only what was persisted survives: MemoryLogStorage is the durable state here.
    this.start(n);
  }

  private confAt(n: Node, index: number): ConfState {
    let c = n.confs[0]!.conf;
    for (const x of n.confs) if (x.index <= index) c = x.conf;
    return c;
  }

  // ---- the runtime's loop -----------------------------------------------------------------

  private processReady(n: Node, header: boolean): void {
    if (n.down) return;
    if (!n.rn.hasReady()) {
      if (!header) this.print('<no Ready>');
      return;
    }
    if (header) {
      this.trace(`> ${n.id} handling Ready`);
      this.indent = '  ';
    }
    const rd = n.rn.ready();
    this.trace(describeReady(rd));
    this.apply(n, rd);
    // A partition loses what is sent across it (and what was in flight, see deliver()).
    for (const m of rd.messages) if (!this.blocked.has(`${m.from}-${m.to}`)) this.queue.push(decode(encode(m)) as Message);
    n.rn.advance(rd);
    this.indent = '';
  }

  private apply(n: Node, rd: Ready): void {
    if (rd.snapshot !== undefined) {
      n.appliedIndex = rd.snapshot.meta.index;
      n.confs = [{ index: rd.snapshot.meta.index, conf: rd.snapshot.meta.confState }];
    }
    for (const e of rd.committedEntries) this.applyEntry(n, e);
  }

  private applyEntry(n: Node, e: Entry): void {
    if (e.index <= n.appliedIndex) return;
    if (e.index !== n.appliedIndex + 1) throw new Error(`${n.id} applies ${e.index} after ${n.appliedIndex}`);
    n.appliedIndex = e.index;
    if (e.type === 'confChange') {
      const conf = applyConfChange(n.confs[n.confs.length - 1]!.conf, decodeConfChange(e.data));
      n.confs.push({ index: e.index, conf });
    }
  }

  private deliver(n: Node, header: boolean, drop: boolean): void {
    const mine = this.queue.filter((m) => m.to === n.id);
    if (mine.length === 0) return;
    this.queue = this.queue.filter((m) => m.to !== n.id);
    if (header) {
      this.trace(`> ${n.id} receiving messages`);
      this.indent = '  ';
    }
    for (const m of mine) {
      if (drop || n.down || this.blocked.has(`${m.from}-${m.to}`)) {
        this.trace(`${describeMessage(m)} DROPPED`);
        continue;
      }
      this.trace(describeMessage(m));
      n.rn.step(m);
    }
    this.indent = '';
  }

  private stabilize(only: number[]): void {
    const targets = (only.length > 0 ? only : [...this.nodes.keys()]).sort((a, b) => a - b);
    for (let round = 0; round < 1000; round++) {
      let busy = false;
      for (const id of targets) {
        const n = this.nodes.get(id)!;
        if (!n.down && n.rn.hasReady()) {
          busy = true;
          this.processReady(n, true);
        }
      }
      for (const id of targets) {
        if (this.queue.some((m) => m.to === id)) {
          busy = true;
          this.deliver(this.nodes.get(id)!, true, false);
        }
      }
      if (!busy) return;
    }
    throw new Error('stabilize did not converge in 1000 rounds');
  }

  private tick(n: Node, count: number): void {
    for (let i = 0; i < count; i++) n.rn.tick();
  }

  private block(a: number, b: number): void {
    this.blocked.add(`${a}-${b}`);
    this.blocked.add(`${b}-${a}`);
  }

  private status(n: Node): void {
    const s = n.rn.status();
    this.print(
      `${s.id}: ${s.role} term=${s.term} vote=${s.vote} lead=${s.leader} commit=${s.commit} applied=${s.applied} ` +
        `log=[${s.firstIndex},${s.lastIndex}] voters=(${s.confState.voters.join(',')})` + (s.leadTransferee ? ` transferee=${s.leadTransferee}` : ''),
    );
    for (const p of s.progress ?? []) {
      this.print(`  ${p.id}: ${p.state} match=${p.match} next=${p.next}` + (p.inflight > 0 ? ` inflight=${p.inflight}` : '') + (p.paused ? ' paused' : '') + (p.recentActive ? '' : ' inactive'));
    }
  }

  private raftLog(n: Node): void {
    const log = n.rn.raft.log;
    const first = log.firstIndex();
    const last = log.lastIndex();
    if (first > last) {
      this.print(`log is empty: first index=${first}, last index=${last}`);
      return;
    }
    for (const e of log.slice(first, last + 1, 0) ?? []) this.print(describeEntry(e));
  }
}

function pos(args: CmdArg[], i: number): string {
  const p = args.filter((a) => a.key === '');
  const v = p[i]?.vals[0];
  if (v === undefined) throw new Error(`missing argument ${i + 1}`);
  return v;
}

function kv(args: CmdArg[], key: string): string | undefined {
  return args.find((a) => a.key === key)?.vals[0];
}

function ids(args: CmdArg[]): number[] {
  return args.filter((a) => a.key === '' && /^\d+$/.test(a.vals[0]!)).map((a) => Number(a.vals[0]));
}

