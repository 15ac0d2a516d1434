/**
 * Compile-time checks that the server's JSON matches the wire's types (its JSON schemas,
 * the frames it builds by hand). Types only: nothing here exists at run time.
 *
 * `type _name = Assert<Same<A, B>>` compiles only when A and B are the same type.
 */

/** True when A and B are the same type (not merely assignable either way). */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;

/** Compiles only for `true`. */
export type Assert<T extends true> = T;

/** The keys a value of T must have. */
export type RequiredKeys<T> = { [K in keyof T]-?: T extends Record<K, T[K]> ? K : never }[keyof T];

/** `"name":`, a field of F as a frame built by hand spells it: `K` must be one of F's keys. */
export type Key<F, K extends keyof F & string> = `"${K}":`;

/**
 * True when a JSON schema (declared `as const`) names exactly T's fields, and requires
 * exactly those T must have.
 */
export type SchemaFits<S extends { properties: object; required?: readonly string[] }, T> =
  Same<keyof S['properties'], keyof T> extends true
    ? Same<S extends { required: readonly (infer R)[] } ? R : never, RequiredKeys<T>>
    : false;
