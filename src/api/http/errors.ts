/** ZooKeeper codes → HTTP statuses, and the one error envelope every answer uses (src/wire/errors.ts). */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { MultiOpError, ZgateError, failureOf, type ZkCode } from '../../core/errors.js';
import type { OpFailure } from '../../core/types.js';
import type { Assert, SchemaFits } from '../../wire/check.js';
import type { ErrorBody, ErrorJson, OpCodeJson } from '../../wire/errors.js';
import type { errorSchema } from './schemas.js';

// The envelope's schema (the OpenAPI document's Error) names the wire's fields: checked at compile time.
type _ErrorSchema = Assert<SchemaFits<typeof errorSchema, ErrorBody>>;
type _ErrorObjectSchema = Assert<SchemaFits<(typeof errorSchema)['properties']['error'], ErrorJson>>;
type _OpCodeSchema = Assert<SchemaFits<(typeof errorSchema)['properties']['results']['items'], OpCodeJson>>;

/** Seconds a client should wait before retrying an Unavailable answer. */
export const RETRY_AFTER_SECONDS = 1;

const PRECONDITION_CODES: ReadonlySet<ZkCode> = new Set(['NodeExists', 'NotEmpty', 'NoChildrenForEphemerals', 'BadVersion']);

/**
 * The status of a ZooKeeper code. `fromPrecondition` is true when the failed condition came
 * from an HTTP precondition header (If-Match / If-None-Match): then 412, as HTTP says.
 */
export function statusOf(code: ZkCode, fromPrecondition = false): number {
  switch (code) {
    case 'BadArguments':
    case 'InvalidACL':
      return 400;
    case 'QuotaExceeded':
      return 409;
    case 'Throttled':
      return 429;
    case 'AuthFailed':
      return 401;
    case 'NoAuth':
      return 403;
    case 'NoNode':
      return 404;
    case 'NodeExists':
    case 'NotEmpty':
    case 'NoChildrenForEphemerals':
    case 'BadVersion':
    case 'RuntimeInconsistency':
      return fromPrecondition && PRECONDITION_CODES.has(code) ? 412 : 409;
    case 'SessionExpired':
      return 410;
    case 'PayloadTooLarge':
      return 413;
    case 'Unavailable':
    case 'ConnectionLoss':
    case 'OperationTimeout':
      return 503;
    case 'Compacted':
      return 410;
    default:
      return 500;
  }
}

export function errorBody(code: string, message: string, path?: string): ErrorBody {
  return path === undefined ? { error: { code, message } } : { error: { code, message, path } };
}

/** The headers a status comes with: when to retry, how to authenticate; every error body is JSON and not to be sniffed. */
function statusHeaders(reply: FastifyReply, status: number): void {
  if (status === 503) reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  if (status === 401) reply.header('www-authenticate', 'Basic realm="zgate", Bearer realm="zgate"');
  reply.header('x-content-type-options', 'nosniff');
}

export function sendError(reply: FastifyReply, code: ZkCode, message: string, path?: string, fromPrecondition = false): FastifyReply {
  const status = statusOf(code, fromPrecondition);
  statusHeaders(reply, status);
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(code, message, path));
}

/** A failed write outcome (also a failed multi with its per-op results). */
export function sendFailure(reply: FastifyReply, failure: OpFailure, fromPrecondition = false): FastifyReply {
  const body: ErrorBody = errorBody(failure.code, failure.message, failure.path);
  if (failure.opIndex !== undefined) body.error.opIndex = failure.opIndex;
  if (failure.results) body.results = failure.results;
  const status = statusOf(failure.code, fromPrecondition);
  statusHeaders(reply, status);
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}

/** The app-wide error handler: every failure becomes the envelope, and bad input is never a 500. */
export function handleError(err: FastifyError | ZgateError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  // A txn refused before the log still reports opIndex and per-op results, as a failed multi does.
  if (err instanceof MultiOpError) return sendFailure(reply, failureOf(err).failure);
  if (err instanceof ZgateError) return sendError(reply, err.code, err.message, err.path);
  const fe = err as FastifyError;
  if (fe.validation) {
    return sendError(reply, 'BadArguments', fe.message);
  }
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return sendError(reply, 'PayloadTooLarge', `request body over the limit of ${request.routeOptions.bodyLimit ?? 'the server'} bytes`);
    case 'FST_ERR_CTP_INVALID_JSON':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_BAD_URL':
      return sendError(reply, 'BadArguments', fe.message);
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return sendError(reply, 'BadArguments', fe.message);
  }
  request.log.error({ err }, 'unexpected error');
  return sendError(reply, 'SystemError', 'internal error; see the member log');
}
