/**
 * A compact Apache ZooKeeper client for the comparison benchmark (tools/bench/compare.ts): a
 * session (src/zk/connection.ts: new, or resumed on another server after a connection loss,
 * as ZooKeeper's own client does; pings while idle; pipelined requests) and create
 * (persistent, OPEN_ACL_UNSAFE), the only request the benchmark sends. The fuller client used
 * by the conformance tests, on the same connection, is test/support/zk-client.ts.
 */
import { ZkConnection, type ZkConnectOptions, type ZkSessionRef } from '../../../src/zk/connection.js';
import { CreateModeFlag, JuteWriter, OpCode } from '../../../src/zk/jute.js';

export type { ZkSessionRef };
export type ZkBenchConnectOptions = ZkConnectOptions;

export class ZkBenchClient {
  private constructor(private readonly conn: ZkConnection) {}

  /** Defaults: handshake within 5 s, each request answered within 10 s, session timeout 30 s. */
  static async connect(opts: ZkBenchConnectOptions): Promise<ZkBenchClient> {
    const conn = await ZkConnection.connect({ ...opts, connectTimeoutMs: opts.connectTimeoutMs ?? 5_000, requestTimeoutMs: opts.requestTimeoutMs ?? 10_000 });
    return new ZkBenchClient(conn);
  }

  /** The session's id and password, to resume it elsewhere. */
  get session(): ZkSessionRef {
    return this.conn.session;
  }

  get sessionTimeoutMs(): number {
    return this.conn.sessionTimeoutMs;
  }

  get isClosed(): boolean {
    return this.conn.isClosed;
  }

  /** Creates a persistent znode; resolves with the txn zxid. */
  async create(path: string, data: Uint8Array): Promise<bigint> {
    const body = new JuteWriter().ustring(path).buffer(data).openAcl().int(CreateModeFlag.persistent);
    return (await this.conn.call(OpCode.create, body, 'create', path)).zxid;
  }

  /** Closes the session (best effort: its answer is awaited for 1 s at most) and the connection. */
  close(): Promise<void> {
    return this.conn.close(1000);
  }

  destroy(): void {
    this.conn.destroy();
  }
}
