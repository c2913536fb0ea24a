/**
 * Client addresses as per-source limits see them.
 *
 * uWS reports every peer in IPv6 form, IPv4 clients as mapped addresses written out in full
 * (`0000:0000:0000:0000:0000:ffff:7f00:0001` for 127.0.0.1); X-Forwarded-For carries whatever the
 * proxy wrote. `canonicalAddress` gives one spelling per address (dotted IPv4, RFC 5952 IPv6), and
 * `allowanceKey` the unit a per-address allowance counts: an IPv4 address, or an IPv6 /64 — one
 * subscriber's network, where a single host can take any of 2^64 addresses at will.
 */

/** The eight 16-bit groups of an IPv6 address (a trailing dotted IPv4 allowed), or null. */
function ipv6Groups(text: string): number[] | null {
  let s = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (!/^[0-9a-fA-F:.]+$/.test(s) || !s.includes(':')) return null;
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.')) {
    const v4 = ipv4Octets(s.slice(lastColon + 1));
    if (!v4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    // What precedes it: "::ffff" stays, "64:ff9b:" (the tail followed "::") gets its "::" back.
    const head = s.slice(0, lastColon);
    s = head.endsWith(':') ? `${head}:` : head;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':'));
  const head = parse(halves[0] as string);
  const rest = halves.length === 2 ? parse(halves[1] as string) : [];
  const groups: number[] = [];
  for (const g of [...head, ...rest]) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    groups.push(Number.parseInt(g, 16));
  }
  const total = groups.length + tail.length;
  if (halves.length === 2 ? total > 7 : total !== 8) return null;
  const zeros = new Array<number>(8 - total).fill(0);
  return [...groups.slice(0, head.length), ...zeros, ...groups.slice(head.length), ...tail];
}

function ipv4Octets(s: string): number[] | null {
  const parts = s.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) <= 255)) return null;
  return parts.map(Number);
}

/** An IPv4-mapped address's IPv4 part (::ffff:a.b.c.d), else null. */
function mappedV4(g: number[]): string | null {
  if (g.slice(0, 5).some((x) => x !== 0) || g[5] !== 0xffff) return null;
  return [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
}

/** RFC 5952: lower case, no leading zeros, the longest run (≥ 2) of zero groups as `::`. */
function formatV6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (xs: number[]) => xs.map((x) => x.toString(16)).join(':');
  return best < 0 ? hex(g) : `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** One spelling per address: dotted IPv4 (IPv4-mapped IPv6 too), RFC 5952 IPv6; anything else as given. */
export function canonicalAddress(text: string): string {
  if (ipv4Octets(text)) return text;
  const g = ipv6Groups(text);
  if (!g) return text;
  return mappedV4(g) ?? formatV6(g);
}

/** What a per-address allowance counts: the IPv4 address, or the IPv6 address's /64. */
export function allowanceKey(text: string): string {
  if (ipv4Octets(text)) return text;
  const g = ipv6Groups(text);
  if (!g) return text;
  return mappedV4(g) ?? `${formatV6([...g.slice(0, 4), 0, 0, 0, 0])}/64`;
}
