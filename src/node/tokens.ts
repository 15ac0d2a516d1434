/**
 * The rules of bearer tokens, for every face: who may mint one (a Basic or x509 identity, never
 * a token), what it may name (the creator's ids, narrowed; super: any), its lifetime and scope;
 * who sees and revokes it (its creator, or super; anyone else is told it does not exist); and
 * how a presented `zgt_...` is verified (the replicated table's SHA-256 of the secret, compared
 * in constant time, live as of this member's clock). Minting and revoking are log entries.
 */
import { mintToken, parseToken, secretMatches } from '../auth/token-secret.js';
import { authenticatedIds, shownId, type Access, type Id } from '../core/acl.js';
import { ZgateError } from '../core/errors.js';
import type { TokenRecord } from '../core/token-ops.js';
import type { Zxid } from '../core/types.js';
import type { Identity, TokenRequest, TokenView } from '../coordination/service.js';
import { identityKey } from '../session/token-table.js';
import { validatePath } from '../tree/path.js';
import type { VerifiedToken } from './authenticator.js';
import type { Member } from './member.js';

/** Tokens whose secret this member has verified, at most (the cache is dropped whole when full). */
const VERIFIED_CACHE = 10_000;

/** A token's lifetime when the request names none. */
const DEFAULT_TTL_MS = 3_600_000;
const MIN_TTL_MS = 60_000;

function noAuth(message: string): ZgateError {
  return new ZgateError('NoAuth', message);
}

export function tokenView(r: TokenRecord): TokenView {
  return { id: r.accessor, ids: r.ids.map(shownId), readOnly: r.readOnly, prefix: r.prefix ?? null, description: r.description, cookie: r.cookie, createdAt: r.createdAt, expiresAt: r.expiresAt };
}

export class TokenRules {
  /**
   * Presented tokens this member has verified, by their text, with the record they verified
   * against: a token is hashed once per member, not on every request (SHA-256 was most of what
   * a token cost a read). Every use still checks that the table holds that very record and that
   * it is live, so a revoked or expired token is refused at once. Memory only: nothing of it is
   * replicated, written or logged.
   */
  private readonly verified = new Map<string, { record: TokenRecord; token: VerifiedToken }>();

  constructor(
    private readonly member: Member,
    private readonly opts: { maxTokenTtlMs: number; nowMs(): number },
  ) {}

  /** The ids a new token acts as: the creator's authenticated ids, or a subset of them (super: any). */
  private idsFor(req: TokenRequest, identity: Identity, creator: Id[]): Id[] {
    if (req.ids === undefined) return creator;
    if (!identity.access.super) {
      const outside = req.ids.find((i) => !creator.some((c) => c.scheme === i.scheme && c.id === i.id));
      if (outside !== undefined) {
        const shown = shownId(outside);
        throw noAuth(`a token may only narrow its creator's ids: ${shown.scheme}:${shown.id} is not one`);
      }
    }
    return req.ids.map((i) => ({ scheme: i.scheme, id: i.id }));
  }

  async create(req: TokenRequest, identity: Identity): Promise<{ zxid: Zxid; token: string; view: TokenView }> {
    this.member.assertReadable();
    if (identity.token !== null) throw noAuth('a token cannot create tokens: authenticate with Basic credentials or a client certificate');
    const creator = authenticatedIds(identity.access.ids);
    if (creator.length === 0) throw new ZgateError('AuthFailed', 'creating a token needs Basic credentials or a client certificate');
    const ttlMs = req.ttlMs ?? DEFAULT_TTL_MS;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < MIN_TTL_MS || ttlMs > this.opts.maxTokenTtlMs) {
      throw new ZgateError('BadArguments', `ttlMs must be an integer from ${MIN_TTL_MS} to ${this.opts.maxTokenTtlMs}, got ${String(ttlMs)}`);
    }
    const ids = this.idsFor(req, identity, creator);
    if (req.prefix !== undefined) validatePath(req.prefix);
    const minted = mintToken();
    const now = this.opts.nowMs();
    const record: TokenRecord = {
      accessor: minted.accessor,
      hash: minted.hash,
      ids,
      readOnly: req.readOnly === true,
      description: req.description ?? '',
      cookie: req.cookie === true,
      owner: identityKey(creator),
      createdBy: creator,
      createdAt: now,
      expiresAt: now + ttlMs,
    };
    if (req.prefix !== undefined) record.prefix = req.prefix;
    const a = await this.member.write({ op: 'createToken', record }, undefined, identity.access);
    if (!a.outcome.ok) throw new ZgateError(a.outcome.failure.code, a.outcome.failure.message);
    return { zxid: a.zxid, token: minted.token, view: tokenView(record) };
  }

  list(access: Access): TokenView[] {
    this.member.assertReadable();
    const tokens = this.member.tokens;
    return (access.super ? tokens.all() : tokens.ofOwner(identityKey(access.ids))).map(tokenView);
  }

  get(id: string, access: Access): TokenView {
    this.member.assertReadable();
    const rec = this.member.tokens.get(id);
    if (rec === undefined || (!access.super && rec.owner !== identityKey(access.ids))) throw new ZgateError('NoNode', `no token ${id}`);
    return tokenView(rec);
  }

  /** Apply decides again (the creator or super), with the table as of the revoke's entry. */
  async revoke(id: string, access: Access): Promise<{ zxid: Zxid }> {
    this.get(id, access);
    const a = await this.member.write({ op: 'revokeToken', accessor: id }, undefined, access);
    if (!a.outcome.ok) throw new ZgateError(a.outcome.failure.code, a.outcome.failure.message);
    return { zxid: a.zxid };
  }

  /** The token behind `zgt_...` if it is live on this member. */
  verify(text: string): VerifiedToken | undefined {
    const tokens = this.member.tokens;
    const hit = this.verified.get(text);
    if (hit !== undefined) {
      if (tokens.get(hit.record.accessor) === hit.record && tokens.isLive(hit.record.accessor, this.opts.nowMs())) return hit.token;
      this.verified.delete(text);
      return undefined;
    }
    const parsed = parseToken(text);
    if (parsed === undefined) return undefined;
    const rec = tokens.get(parsed.accessor);
    if (rec === undefined || !tokens.isLive(parsed.accessor, this.opts.nowMs()) || !secretMatches(parsed.secret, rec.hash)) return undefined;
    const t: VerifiedToken = { accessor: rec.accessor, ids: rec.ids, readOnly: rec.readOnly, expiresAt: rec.expiresAt };
    if (rec.prefix !== undefined) t.prefix = rec.prefix;
    if (this.verified.size >= VERIFIED_CACHE) this.verified.clear();
    this.verified.set(text, { record: rec, token: t });
    return t;
  }

  /** Each token revoked or expired, by the entry that did it, as it applies here. */
  onGone(listener: (accessor: string) => void): void {
    this.member.onApply((_zxid, _events, outcome) => {
      if (!outcome.ok) return;
      const r = outcome.result;
      if (r.op === 'revokeToken') listener(r.record.accessor);
      else if (r.op === 'expireTokens') for (const record of r.expired) listener(record.accessor);
    });
  }
}
