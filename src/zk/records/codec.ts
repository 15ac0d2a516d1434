/**
 * The generic half of the jute codec: a record is declared once, as its fields in
 * zookeeper.jute's order, and both its encoder and its strict decoder derive from that
 * declaration. The primitives are ./../jute.ts's JuteWriter and JuteReader; every refusal is a
 * JuteError.
 */
import { DEFAULT_JUTE_LIMITS, JuteReader, JuteWriter, type JuteLimits } from '../jute.js';

/** How one jute type is written and read. `minBytes` is the fewest bytes an encoding takes. */
export interface Codec<T> {
  readonly name: string;
  /** What the codec is, for tools that walk a record's declaration (tests' generators). */
  readonly shape: Shape;
  readonly minBytes: number;
  write(w: JuteWriter, v: T): void;
  read(r: JuteReader): T;
}

export type Shape =
  | { readonly kind: 'int' | 'long' | 'boolean' | 'buffer' | 'ustring' | 'custom' }
  | { readonly kind: 'vector'; readonly item: Codec<unknown> }
  | { readonly kind: 'trailing'; readonly inner: Codec<unknown> }
  | { readonly kind: 'record'; readonly fields: readonly (readonly [string, Codec<unknown>])[] };

export type CodecValue<C> = C extends Codec<infer T> ? T : never;

export const int: Codec<number> = {
  name: 'int',
  shape: { kind: 'int' },
  minBytes: 4,
  write: (w, v) => void w.int(v),
  read: (r) => r.int(),
};

export const long: Codec<bigint> = {
  name: 'long',
  shape: { kind: 'long' },
  minBytes: 8,
  write: (w, v) => void w.long(v),
  read: (r) => r.long(),
};

export const bool: Codec<boolean> = {
  name: 'boolean',
  shape: { kind: 'boolean' },
  minBytes: 1,
  write: (w, v) => void w.bool(v),
  read: (r) => r.bool(),
};

/** jute `buffer`: null is length -1. */
export const buffer: Codec<Buffer | null> = {
  name: 'buffer',
  shape: { kind: 'buffer' },
  minBytes: 4,
  write: (w, v) => void w.buffer(v),
  read: (r) => r.buffer(),
};

/** jute `ustring`: UTF-8, null is length -1. */
export const ustring: Codec<string | null> = {
  name: 'ustring',
  shape: { kind: 'ustring' },
  minBytes: 4,
  write: (w, v) => void w.ustring(v),
  read: (r) => r.ustring(),
};

/** jute `vector<T>`: its count, then its items; null is count -1. */
export function vector<T>(item: Codec<T>): Codec<T[] | null> {
  return {
    name: `vector<${item.name}>`,
    shape: { kind: 'vector', item: item as Codec<unknown> },
    minBytes: 4,
    write(w, v) {
      if (v === null) {
        w.int(-1);
        return;
      }
      w.int(v.length);
      for (const x of v) item.write(w, x);
    },
    read(r) {
      const n = r.vectorLength(item.minBytes);
      if (n === null) return null;
      const out: T[] = [];
      for (let i = 0; i < n; i++) out.push(item.read(r));
      return out;
    },
  };
}

/**
 * A field that may be missing at the end of a packet (not a jute type: ZooKeeper appends
 * ConnectRequest's and ConnectResponse's readOnly by hand, and clients before 3.4 omit it).
 * Read only when bytes are left; written only when defined. Must be a record's last field.
 */
export function trailing<T>(inner: Codec<T>): Codec<T | undefined> {
  return {
    name: `trailing ${inner.name}`,
    shape: { kind: 'trailing', inner: inner as Codec<unknown> },
    minBytes: 0,
    write(w, v) {
      if (v !== undefined) inner.write(w, v);
    },
    read(r) {
      return r.remaining === 0 ? undefined : inner.read(r);
    },
  };
}

type Fields = Record<string, Codec<unknown>>;
type FieldValues<F> = { [K in keyof F]: CodecValue<F[K]> };

/** A record codec, plus whole-packet encode and decode. */
export interface RecordCodec<T> extends Codec<T> {
  /** Field names in wire order. */
  readonly fields: readonly string[];
  encode(v: T): Buffer;
  /** Decodes one record from the start of `bytes`; the bytes after it are left. */
  decodePrefix(bytes: Buffer, limits?: JuteLimits): { value: T; length: number };
  /** Decodes one record that must be all of `bytes`: trailing bytes are refused. */
  decode(bytes: Buffer, limits?: JuteLimits): T;
}

/** Adds the whole-packet helpers to a codec. */
export function packet<T>(c: Codec<T>, fields: readonly string[] = []): RecordCodec<T> {
  return {
    ...c,
    fields,
    encode(v) {
      const w = new JuteWriter();
      c.write(w, v);
      return w.toBuffer();
    },
    decodePrefix(bytes, limits = DEFAULT_JUTE_LIMITS) {
      const r = new JuteReader(bytes, limits);
      const value = c.read(r);
      return { value, length: r.offset };
    },
    decode(bytes, limits = DEFAULT_JUTE_LIMITS) {
      const r = new JuteReader(bytes, limits);
      const value = c.read(r);
      r.end();
      return value;
    },
  };
}

/** A jute `class`: its fields in declaration order (object key order is wire order). */
export function record<F extends Fields>(name: string, fields: F): RecordCodec<FieldValues<F>> {
  const entries = Object.entries(fields) as [string, Codec<unknown>][];
  const minBytes = entries.reduce((n, [, c]) => n + c.minBytes, 0);
  const c: Codec<FieldValues<F>> = {
    name,
    shape: { kind: 'record', fields: entries },
    minBytes,
    write(w, v) {
      const rec = v as Record<string, unknown>;
      for (const [k, fc] of entries) fc.write(w, rec[k]);
    },
    read(r) {
      const out: Record<string, unknown> = {};
      for (const [k, fc] of entries) out[k] = fc.read(r);
      return out as FieldValues<F>;
    },
  };
  return packet(c, entries.map(([k]) => k));
}
