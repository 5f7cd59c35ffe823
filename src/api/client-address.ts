/**
 * The client address a per-address limit (registration) counts against, from Fastify's request.ip.
 * That is the TCP peer, or, with API_TRUST_PROXY, what X-Forwarded-For names: behind a proxy without
 * it, every client shares the proxy's address and so one budget.
 *
 * IPv4 counts per address (an IPv4-mapped IPv6 address, ::ffff:a.b.c.d, is its IPv4 address). IPv6
 * counts per /64: one host usually holds a whole /64 and can send from any address in it, so
 * counting single IPv6 addresses would not limit it at all.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** The eight 16-bit groups of a valid IPv6 address (with or without an IPv4 tail). */
function ipv6Groups(address: string): number[] {
  let text = address;
  const tail = text.slice(text.lastIndexOf(':') + 1);
  if (isIPv4(tail)) {
    const [a, b, c, d] = tail.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, text.length - tail.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [left = '', right] = text.split('::');
  const head = left === '' ? [] : left.split(':');
  const rest = right === undefined ? [] : right === '' ? [] : right.split(':');
  const zeros = right === undefined ? [] : Array<string>(8 - head.length - rest.length).fill('0');
  return [...head, ...zeros, ...rest].map((group) => parseInt(group, 16));
}

/** The address to count, from request.ip (undefined once the socket is gone: all such requests share one budget). */
export function limitAddress(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const address = ip.split('%')[0]!; // an IPv6 zone (fe80::1%eth0) names the interface, not the host
  if (isIPv4(address) || !isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${groups.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`;
}
