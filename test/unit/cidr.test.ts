import { expect } from 'chai';
import { cidrList } from '../../lib/config/options.js';
import { ConfigError } from '../../lib/errors.js';
import { addressMatcher, parseCidr } from '../../lib/net/cidr.js';

describe('CIDRs (METRICS_ALLOWED_CIDRS)', () => {
  it('reads IPv4 and IPv6 ranges, a bare address as a single host, and nothing else', () => {
    expect(parseCidr('10.0.0.0/8')).to.deep.equal({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('::1')).to.deep.equal({ address: '::1', prefix: 128, family: 'ipv6' });
    expect(parseCidr(' 192.168.1.7 ')).to.deep.equal({ address: '192.168.1.7', prefix: 32, family: 'ipv4' });
    for (const bad of [
      '',
      '10.0.0.0/33',
      '::/129',
      '10.0.0.0/',
      '10.0.0.0/8/1',
      '300.1.1.1',
      'localhost',
      '10.0.0.0/-1',
      '10.0.0.0/0x8',
    ])
      expect(parseCidr(bad), bad).to.equal(null);
  });

  it('matches socket addresses, IPv4 clients of a dual-stack listener included, and never an unknown one', () => {
    const allowed = addressMatcher([
      parseCidr('127.0.0.0/8')!,
      parseCidr('172.16.0.0/12')!,
      parseCidr('fc00::/7')!,
    ]);
    expect(allowed('127.0.0.1')).to.equal(true);
    expect(allowed('::ffff:172.20.3.4')).to.equal(true);
    expect(allowed('fd12::5')).to.equal(true);
    expect(allowed('172.32.0.1')).to.equal(false);
    expect(allowed('8.8.8.8')).to.equal(false);
    expect(allowed('::1')).to.equal(false);
    expect(allowed(undefined)).to.equal(false);
    expect(allowed('not-an-address')).to.equal(false);
  });

  it('refuses a list with one entry that is not a CIDR, naming it', () => {
    const option = cidrList('METRICS_ALLOWED_CIDRS', '127.0.0.0/8', 'doc');
    expect(option.parse(undefined)).to.have.length(1);
    expect(option.parse('10.0.0.0/8, ::1')).to.have.length(2);
    expect(() => option.parse('10.0.0.0/8,10.0.0.0/40')).to.throw(ConfigError, /10\.0\.0\.0\/40/);
  });
});
