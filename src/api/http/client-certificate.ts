/**
 * The client certificate of a request's connection, only when TLS verified it against
 * --tls-client-ca: under `--tls-client-auth want` a connection with no certificate, or with
 * one that did not verify, is admitted, and must give no x509 identity.
 */
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { x509NameOfPeer } from '../../auth/x509-name.js';

export function verifiedClientCertificate(socket: unknown): PeerCertificate | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return 'raw' in cert && cert.raw instanceof Uint8Array ? cert : undefined;
}

/** The verified client certificate's subject DN, RFC 2253 as Java writes it (ZooKeeper's x509 id). */
export function verifiedClientDn(socket: unknown): string | undefined {
  return x509NameOfPeer(verifiedClientCertificate(socket));
}
