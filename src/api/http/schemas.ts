/**
 * JSON schemas shared by the routes. They validate requests (ajv), serialize answers
 * (fast-json-stringify) and generate the OpenAPI document (@fastify/swagger): one source.
 */
import { CREATE_MODES } from '../../core/types.js';

const decimal = { type: 'string', pattern: '^(0|[1-9][0-9]*)$' } as const;

export const statSchema = {
  $id: 'Stat',
  type: 'object',
  description: "ZooKeeper's Stat. 64-bit ids are decimal strings; times are ms since the epoch.",
  properties: {
    czxid: { ...decimal, description: 'zxid of the create' },
    mzxid: { ...decimal, description: 'zxid of the last data change' },
    pzxid: { ...decimal, description: 'zxid of the last child create or delete' },
    ctime: { type: 'integer' },
    mtime: { type: 'integer' },
    version: { type: 'integer', description: 'data version' },
    cversion: { type: 'integer', description: 'child creates + child deletes' },
    aversion: { type: 'integer' },
    ephemeralOwner: { ...decimal, description: 'owning session id, 0 unless ephemeral' },
    dataLength: { type: 'integer' },
    numChildren: { type: 'integer' },
  },
  required: ['czxid', 'mzxid', 'pzxid', 'ctime', 'mtime', 'version', 'cversion', 'aversion', 'ephemeralOwner', 'dataLength', 'numChildren'],
} as const;

export const errorSchema = {
  $id: 'Error',
  type: 'object',
  properties: {
    error: {
      type: 'object',
      properties: {
        code: { type: 'string', description: "ZooKeeper's name of the error (NoNode, BadVersion, ...)" },
        message: { type: 'string' },
        path: { type: 'string' },
        opIndex: { type: 'integer' },
      },
      required: ['code', 'message'],
    },
    results: {
      type: 'array',
      items: { type: 'object', properties: { op: { type: 'string' }, code: { type: 'string' } }, required: ['op', 'code'] },
    },
  },
  required: ['error'],
} as const;

export const znodeSchema = {
  $id: 'Znode',
  type: 'object',
  properties: {
    path: { type: 'string' },
    data: { type: 'string' },
    encoding: { type: 'string', enum: ['utf8', 'base64'] },
    stat: { $ref: 'Stat#' },
    children: { type: 'array', items: { type: 'string' }, description: 'with ?children=true: sorted child names' },
    more: { type: 'boolean', description: 'with ?children=true&limit=N: more children follow the last one' },
  },
  required: ['path', 'data', 'encoding', 'stat'],
} as const;

export const writeResultSchema = {
  $id: 'WriteResult',
  type: 'object',
  properties: { path: { type: 'string' }, stat: { $ref: 'Stat#' } },
  required: ['path', 'stat'],
} as const;

export const sharedSchemas = [statSchema, errorSchema, znodeSchema, writeResultSchema];

export const errorRef = { $ref: 'Error#' } as const;

/** Standard error answers every znode route may give. */
export const errorResponses = {
  400: { description: 'BadArguments: bad path, mode, version, ttl or JSON; InvalidACL', ...errorRef },
  401: { description: 'AuthFailed: bad or missing credentials (WWW-Authenticate says how)', ...errorRef },
  403: { description: 'NoAuth: the znode\'s ACL (or the token\'s scope) does not grant it', ...errorRef },
  404: { description: 'NoNode', ...errorRef },
  409: { description: 'NodeExists, NotEmpty, NoChildrenForEphemerals, BadVersion', ...errorRef },
  413: { description: 'PayloadTooLarge', ...errorRef },
  503: { description: 'Unavailable (retry after Retry-After seconds)', ...errorRef },
} as const;

/** A data version in a query string: -1 (any) or a non-negative 32-bit integer. */
export const versionParam = {
  type: 'string',
  pattern: '^(-1|0|[1-9][0-9]{0,9})$',
  description: 'expected data version; -1 means any',
} as const;

export const modeParam = { type: 'string', enum: [...CREATE_MODES], description: "ZooKeeper's CreateMode, lower case" } as const;
export const ttlParam = { type: 'string', pattern: '^[0-9]{1,16}$', description: 'ms, 1 to 2^40-1, only with a *_with_ttl mode' } as const;
export const boolParam = { type: 'boolean' } as const;
