import { isIP } from 'node:net';

/**
 * The address part of a grpc-js peer string ("1.2.3.4:5678",
 * "::ffff:1.2.3.4:5678", "[::1]:5678", "ipv4:1.2.3.4:5678"), for logs.
 * Failed authentication is budgeted per key prefix, never per address:
 * behind SNAT all collectors share a few addresses.
 */
export function peerAddress(peer: string): string {
  const text = peer.replace(/^ipv[46]:/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(text);
  if (bracketed) return bracketed[1];
  const withPort = /^(.*):(\d+)$/.exec(text);
  if (withPort && isIP(withPort[1])) return withPort[1];
  return text;
}
