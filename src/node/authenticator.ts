/**
 * Credentials → ids, as ZooKeeper builds a connection's authInfo, decided here once for every
 * face: `ip:<address>` always; `digest:user:base64(sha1(user:password))` from Basic (always an
 * identity, as addauth: a wrong password simply matches no ACL; with --digest-users an
 * unlisted digest is refused); `x509:<DN>` from a verified client certificate; a token's ids;
 * `super` when a digest equals --super-digest or a DN equals --x509-super-user.
 */
import { digestOf } from '../auth/digest.js';
import type { Access, Id } from '../core/acl.js';
import { ZgateError } from '../core/errors.js';
import type { Credentials, Identity, TokenSummary } from '../coordination/service.js';

/** A live token as the authenticator needs it (never its secret or hash). */
export interface VerifiedToken {
  accessor: string;
  ids: readonly Id[];
  readOnly: boolean;
  prefix?: string;
  expiresAt: number;
}

export interface AuthenticatorOptions {
  /** `user:base64(sha1(user:password))`: a caller with this digest is super. */
  superDigest?: string;
  /** A client certificate DN that is super. */
  x509SuperUser?: string;
  /** With --digest-users: the digests that may authenticate (others are refused). */
  digestUsers?: { has(digestId: string): boolean };
  /** Every request needs a digest, x509 or token identity. */
  authRequired: boolean;
  /** The token behind `zgt_...`, if it is live here; undefined: unknown, forged, expired or revoked. */
  verifyToken(token: string): VerifiedToken | undefined;
}

function refuse(message: string): ZgateError {
  return new ZgateError('AuthFailed', message);
}

export class Authenticator {
  constructor(private readonly opts: AuthenticatorOptions) {}

  get authRequired(): boolean {
    return this.opts.authRequired;
  }

  authenticate(creds: Credentials): Identity {
    const ids: Id[] = [{ scheme: 'ip', id: creds.ip }];
    let isSuper = false;
    let token: TokenSummary | null = null;
    let authenticated = false;
    const access: Access = { ids, super: false };
    if (creds.basic !== undefined) {
      const digest = digestOf(creds.basic.user, creds.basic.password);
      if (this.opts.digestUsers !== undefined && !this.opts.digestUsers.has(digest)) throw refuse('unknown user or wrong password');
      ids.push({ scheme: 'digest', id: digest });
      authenticated = true;
      if (this.opts.superDigest !== undefined && digest === this.opts.superDigest) isSuper = true;
    }
    if (creds.x509 !== undefined) {
      ids.push({ scheme: 'x509', id: creds.x509 });
      authenticated = true;
      if (this.opts.x509SuperUser !== undefined && creds.x509 === this.opts.x509SuperUser) isSuper = true;
    }
    if (creds.token !== undefined) {
      const t = this.opts.verifyToken(creds.token);
      if (t === undefined) throw refuse('the token is unknown, expired or revoked');
      for (const id of t.ids) if (!ids.some((i) => i.scheme === id.scheme && i.id === id.id)) ids.push({ scheme: id.scheme, id: id.id });
      if (t.ids.some((i) => i.scheme === 'digest' && i.id === this.opts.superDigest)) isSuper = true;
      if (t.ids.some((i) => i.scheme === 'x509' && i.id === this.opts.x509SuperUser)) isSuper = true;
      access.token = t.accessor;
      if (t.readOnly) access.readOnly = true;
      if (t.prefix !== undefined) access.prefix = t.prefix;
      token = { id: t.accessor, readOnly: t.readOnly, prefix: t.prefix ?? null, expiresAt: t.expiresAt };
      authenticated = true;
    }
    if (this.opts.authRequired && !authenticated) throw refuse('authentication is required: Basic credentials, a client certificate or a bearer token');
    access.super = isSuper;
    return { access, authenticated, token };
  }
}
