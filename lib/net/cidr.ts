import { BlockList, isIP } from 'node:net';

/** `address/prefix`, IPv4 or IPv6; a bare address is its own /32 or /128. */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The CIDR written in `text`, or null when it is not one. */
export function parseCidr(text: string): Cidr | null {
  const [address = '', prefixText, ...rest] = text.trim().split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return null;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return null;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return null;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/**
 * Whether a socket's remote address is inside any of the CIDRs. IPv4 clients of a
 * dual-stack listener (`::ffff:10.1.2.3`) match IPv4 ranges; an unknown address matches none.
 */
export function addressMatcher(cidrs: readonly Cidr[]): (address: string | undefined) => boolean {
  const list = new BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return (address) => {
    if (address === undefined) return false;
    const version = isIP(address);
    return version !== 0 && list.check(address, version === 4 ? 'ipv4' : 'ipv6');
  };
}
