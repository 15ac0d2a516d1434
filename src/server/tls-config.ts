/**
 * The TLS flags of `zgate serve`, checked together: the client face (HTTPS and WSS on --http)
 * and the peer links. A combination that cannot work is refused at start with the flag to fix.
 */
import { ZgateError } from '../core/errors.js';

export type ClientAuth = 'none' | 'want' | 'need';
export type TlsVersion = 'TLSv1.2' | 'TLSv1.3';

export interface ClientTlsConfig {
  certFile: string;
  keyFile: string;
  /** The CA client certificates must chain to; absent: no client certificates are asked for. */
  clientCaFile: string | undefined;
  clientAuth: ClientAuth;
  minVersion: TlsVersion;
  handshakeTimeoutMs: number;
}

export interface PeerTlsConfig {
  certFile: string;
  keyFile: string;
  caFile: string;
}

export const TLS_FLAGS = [
  { flag: 'tls-cert', env: 'ZGATE_TLS_CERT', default: '', help: 'PEM certificate (chain) of the HTTP API: serves HTTPS and WSS on --http; reloaded on SIGHUP' },
  { flag: 'tls-key', env: 'ZGATE_TLS_KEY', default: '', help: 'PEM private key of --tls-cert' },
  { flag: 'tls-client-ca', env: 'ZGATE_TLS_CLIENT_CA', default: '', help: 'PEM CA(s) that client certificates must chain to (the x509 identity)' },
  { flag: 'tls-client-auth', env: 'ZGATE_TLS_CLIENT_AUTH', default: '', help: 'client certificates: none, want (asked, optional) or need (required); default need with --tls-client-ca, else none' },
  { flag: 'tls-min-version', env: 'ZGATE_TLS_MIN_VERSION', default: 'TLSv1.2', help: 'oldest TLS version accepted: TLSv1.2 or TLSv1.3' },
  { flag: 'tls-handshake-timeout-ms', env: 'ZGATE_TLS_HANDSHAKE_TIMEOUT_MS', default: '10000', help: 'a connection that has not finished its TLS handshake by then is closed' },
  { flag: 'peer-tls-cert', env: 'ZGATE_PEER_TLS_CERT', default: '', help: 'PEM certificate of this member on peer links (with --peer-tls-key, --peer-tls-ca: mutual TLS between members)' },
  { flag: 'peer-tls-key', env: 'ZGATE_PEER_TLS_KEY', default: '', help: 'PEM private key of --peer-tls-cert' },
  { flag: 'peer-tls-ca', env: 'ZGATE_PEER_TLS_CA', default: '', help: 'PEM CA(s) every member\'s peer certificate must chain to; it must also match the host of the member\'s --peers entry' },
] as const;

type Value = (flag: string) => string;

function clientAuthOf(text: string, hasCa: boolean): ClientAuth {
  if (text === '') return hasCa ? 'need' : 'none';
  if (text !== 'none' && text !== 'want' && text !== 'need') throw new ZgateError('BadArguments', `--tls-client-auth must be none, want or need, got '${text}'`);
  if (text !== 'none' && !hasCa) throw new ZgateError('BadArguments', `--tls-client-auth ${text} needs --tls-client-ca (the CA client certificates are checked against)`);
  return text;
}

function versionOf(text: string): TlsVersion {
  if (text !== 'TLSv1.2' && text !== 'TLSv1.3') throw new ZgateError('BadArguments', `--tls-min-version must be TLSv1.2 or TLSv1.3, got '${text}'`);
  return text;
}

export function resolveClientTls(value: Value, handshakeTimeoutMs: number): ClientTlsConfig | undefined {
  const certFile = value('tls-cert');
  const keyFile = value('tls-key');
  const ca = value('tls-client-ca');
  const auth = value('tls-client-auth');
  const minVersion = versionOf(value('tls-min-version'));
  if (certFile === '' && keyFile === '') {
    const stray = ca !== '' ? '--tls-client-ca' : auth !== '' ? '--tls-client-auth' : undefined;
    if (stray !== undefined) throw new ZgateError('BadArguments', `${stray} needs --tls-cert and --tls-key (client certificates are asked for only over TLS)`);
    return undefined;
  }
  if (certFile === '') throw new ZgateError('BadArguments', '--tls-key needs --tls-cert');
  if (keyFile === '') throw new ZgateError('BadArguments', '--tls-cert needs --tls-key');
  return { certFile, keyFile, clientCaFile: ca === '' ? undefined : ca, clientAuth: clientAuthOf(auth, ca !== ''), minVersion, handshakeTimeoutMs };
}

export function resolvePeerTls(value: Value): PeerTlsConfig | undefined {
  const certFile = value('peer-tls-cert');
  const keyFile = value('peer-tls-key');
  const caFile = value('peer-tls-ca');
  const given = [certFile, keyFile, caFile].filter((f) => f !== '').length;
  if (given === 0) return undefined;
  if (given < 3) {
    const missing = [['--peer-tls-cert', certFile], ['--peer-tls-key', keyFile], ['--peer-tls-ca', caFile]].filter(([, f]) => f === '').map(([n]) => n);
    throw new ZgateError('BadArguments', `peer TLS takes --peer-tls-cert, --peer-tls-key and --peer-tls-ca together: ${missing.join(' and ')} missing`);
  }
  return { certFile, keyFile, caFile };
}
