/**
 * JSON frames of the watch protocol (api.md "WebSocket" and "Server-sent events").
 *
 * An event frame is `{"type":"event","watchId":"7","event":"NodeDataChanged","path":"/a","zxid":"9"}`
 * (+ `data`, `encoding`, `stat` with withData). Everything after the watchId is the same for
 * every watcher of the event, so it is serialized once per zxid and shape (with or without
 * data) into the delivery's cache, and each socket's frame is a concatenation.
 */
import type { Zxid } from '../../core/types.js';
import type { Delivery, Watching } from '../../watch/index.js';
import { encodeData, statJson } from '../http/encoding.js';

/** `,"event":...,"zxid":"..."` + data fields + `}`: the shared tail of an event object. */
export function eventTail(d: Delivery, i: number, withData: boolean): string {
  const slot = 2 * i + (withData ? 1 : 0);
  const cached = d.cache[slot];
  if (cached !== undefined) return cached;
  const ev = d.events[i]!;
  let s = `,"event":"${ev.type}","path":${JSON.stringify(ev.path)},"zxid":"${d.zxid}"`;
  if (withData && ev.node !== undefined && ev.type !== 'NodeDeleted') {
    const { data, encoding } = encodeData(ev.node.data);
    s += `,"data":${JSON.stringify(data)},"encoding":"${encoding}","stat":${JSON.stringify(statJson(ev.node.stat))}`;
  }
  s += '}';
  d.cache[slot] = s;
  return s;
}

/** One event object (watch ids are decimal digits: no escaping needed). */
export function eventJson(watchId: string, d: Delivery, i: number, withData: boolean): string {
  return `{"type":"event","watchId":"${watchId}"${eventTail(d, i, withData)}`;
}

/**
 * A frame for one event and one watch, encoded once per (event, shape, watch id) and shared:
 * `make` builds its text the first time.
 */
export function sharedFrame(d: Delivery, i: number, withData: boolean, watchId: string, make: () => string): Uint8Array {
  const slot = 2 * i + (withData ? 1 : 0);
  let byId = d.frames[slot];
  if (byId === undefined) d.frames[slot] = byId = new Map();
  let frame = byId.get(watchId);
  if (frame === undefined) byId.set(watchId, (frame = Buffer.from(make(), 'utf8')));
  return frame;
}

/** The state part of a `watching` reply. */
export function watchingJson(w: Watching, id: unknown): string {
  const body: Record<string, unknown> = {};
  if (id !== undefined) body.id = id;
  body.type = 'watching';
  body.watchId = w.watch.id;
  body.kind = w.watch.kind;
  body.path = w.watch.path;
  body.zxid = String(w.zxid);
  if (w.resumed || w.node === undefined) body.state = null;
  else {
    const state: Record<string, unknown> = { ...encodeData(w.node.data), stat: statJson(w.node.stat) };
    if (w.children !== undefined) state.children = w.children;
    body.state = state;
  }
  if (w.resumed) body.resumed = true;
  return JSON.stringify(body);
}

export interface ErrorFields {
  code: string;
  message: string;
  path?: string;
  opIndex?: number;
}

/**
 * An error frame: `{"id":n,"type":"error","error":{"code","message",...}}`. For Compacted
 * the code and compactZxid also sit at the top level, as api.md writes that frame.
 */
export function errorFrame(id: unknown, error: ErrorFields, extra?: Record<string, unknown>): string {
  const body: Record<string, unknown> = { id: id ?? null, type: 'error' };
  if (error.code === 'Compacted') {
    body.code = 'Compacted';
    if (extra?.compactZxid !== undefined) body.compactZxid = extra.compactZxid;
  }
  body.error = extra?.compactZxid !== undefined ? { ...error, compactZxid: extra.compactZxid } : error;
  if (extra) for (const [k, v] of Object.entries(extra)) if (k !== 'compactZxid') body[k] = v;
  return JSON.stringify(body);
}

export function compactedFrame(id: unknown, watchId: string | undefined, fromZxid: Zxid | undefined, compactZxid: Zxid): string {
  const message =
    fromZxid === undefined
      ? `this member jumped past events the watch needed; the oldest zxid to resume from is ${compactZxid}: re-read and watch anew`
      : `events after zxid ${fromZxid} are no longer retained; the oldest zxid to resume from is ${compactZxid}: re-read and watch anew`;
  const extra: Record<string, unknown> = { compactZxid: String(compactZxid) };
  if (watchId !== undefined) extra.watchId = watchId;
  return errorFrame(id, { code: 'Compacted', message }, extra);
}
