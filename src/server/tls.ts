/**
 * The TLS material of the HTTP face and of the peer links, read from the files the flags name:
 * checked once at start (a bad file or a key that does not fit its certificate stops the
 * start, naming the flag), and read again on SIGHUP, when a bad file is logged and the running
 * context kept.
 */
import { readFileSync } from 'node:fs';
import type { ServerOptions as HttpsServerOptions } from 'node:https';
import { createSecureContext, type SecureContextOptions, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ZgateError } from '../core/errors.js';
import type { ClientTlsConfig, PeerTlsConfig } from './tls-config.js';

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new ZgateError('BadArguments', `${flag} ${file}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/** The material as a secure context takes it; throws when OpenSSL refuses it (so nothing half-loaded is used). */
function checked(material: SecureContextOptions, what: string): SecureContextOptions {
  try {
    createSecureContext(material);
  } catch (e) {
    throw new ZgateError('BadArguments', `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return material;
}

export function clientTlsMaterial(c: ClientTlsConfig): SecureContextOptions {
  const material: SecureContextOptions = { cert: readPem(c.certFile, '--tls-cert'), key: readPem(c.keyFile, '--tls-key'), minVersion: c.minVersion };
  if (c.clientCaFile !== undefined) material.ca = readPem(c.clientCaFile, '--tls-client-ca');
  return checked(material, '--tls-cert/--tls-key/--tls-client-ca');
}

/** The HTTPS server's options: the material, client certificates as --tls-client-auth says, the handshake bound. */
export function httpsOptions(c: ClientTlsConfig): HttpsServerOptions {
  return {
    ...clientTlsMaterial(c),
    // `want` asks for a certificate and admits the connection without one, or with one that
    // does not verify; such a socket's `authorized` is false, so it never gives an x509 identity.
    requestCert: c.clientAuth !== 'none',
    rejectUnauthorized: c.clientAuth === 'need',
    handshakeTimeout: c.handshakeTimeoutMs,
  };
}

export function peerTlsMaterial(c: PeerTlsConfig): SecureContextOptions {
  const material: SecureContextOptions = {
    cert: readPem(c.certFile, '--peer-tls-cert'),
    key: readPem(c.keyFile, '--peer-tls-key'),
    ca: readPem(c.caFile, '--peer-tls-ca'),
    minVersion: 'TLSv1.2',
  };
  return checked(material, '--peer-tls-cert/--peer-tls-key/--peer-tls-ca');
}

/** Reads the HTTP face's files again into `server`; false (logged, old context kept) when they are unusable. */
export function reloadClientTls(server: TlsServer, c: ClientTlsConfig, logger: Logger): boolean {
  let material: SecureContextOptions;
  try {
    material = clientTlsMaterial(c);
  } catch (e) {
    logger.error({ err: e instanceof Error ? e.message : String(e) }, 'TLS reload failed: the certificate in use is kept');
    return false;
  }
  server.setSecureContext(material);
  logger.info({ cert: c.certFile }, 'TLS certificate reloaded');
  return true;
}
