/**
 * A benchmark's client process: forked with advanced IPC serialization, asked things by
 * message type, killed at the end. Used by the WebSocket fan-out (ws.ts) and the sessions
 * (sessions.ts) benchmarks, whose load must come from processes other than the one measuring.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { cpuSecondsOf } from './stats.js';

export class ForkedWorker<To extends { t: string }, From extends { t: string }> {
  readonly proc: ChildProcess;
  private readonly listeners = new Set<(m: From) => void>();

  /** `label` names the worker in errors; `onMessage` sees every message before any `ask`. */
  constructor(
    script: string,
    private readonly label: string,
    onMessage: (m: From) => void = () => undefined,
  ) {
    this.proc = fork(script, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (m: From) => {
      onMessage(m);
      for (const l of [...this.listeners]) l(m);
    });
  }

  send(m: To): void {
    this.proc.send(m);
  }

  /**
   * Sends `m` and resolves with the first reply of type `reply` that `answers` accepts (by
   * default any), or rejects after `timeoutMs`.
   */
  ask<T extends From['t']>(m: To, reply: T, timeoutMs: number, answers: (r: Extract<From, { t: T }>) => boolean = () => true): Promise<Extract<From, { t: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.listeners.delete(l);
        reject(new Error(`${this.label}: no '${reply}' reply to '${m.t}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const l = (r: From): void => {
        if (r.t !== reply || !answers(r as Extract<From, { t: T }>)) return;
        clearTimeout(timer);
        this.listeners.delete(l);
        resolve(r as Extract<From, { t: T }>);
      };
      this.listeners.add(l);
      this.send(m);
    });
  }

  get cpuSeconds(): number {
    return this.proc.pid === undefined ? 0 : cpuSecondsOf(this.proc.pid);
  }

  stop(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}
