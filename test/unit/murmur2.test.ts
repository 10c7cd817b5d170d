import { createRequire } from 'node:module';
import { compatibilityPartitioner } from '@platformatic/kafka';
import { expect } from 'chai';
import { javaCompatiblePartition, murmur2 } from '../../api/src/ingest/murmur2.js';

// kafkajs' own murmur2 (Long arithmetic), the reference the kafkajs transport partitions by.
const kafkajsMurmur2 = createRequire(import.meta.url)(
  'kafkajs/src/producer/partitioners/default/murmur2',
) as (key: Buffer) => number;

describe('murmur2 (Java client compatible, 32-bit arithmetic)', () => {
  it("gives Kafka's own test vectors (UtilsTest.testMurmur2)", () => {
    const cases: Array<[string, number]> = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [key, hash] of cases) expect(murmur2(Buffer.from(key)), key).to.equal(hash);
  });

  it('agrees with kafkajs and @platformatic/kafka on random keys of every length and byte', () => {
    // A fixed-seed generator (xorshift32): reproducible, and covers lengths 0..70 (every
    // remainder mod 4) and bytes over 0x7f (sign extension is where ports go wrong).
    let s = 0x2545f491;
    const next = () => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
    for (let i = 0; i < 5000; i++) {
      const key = Buffer.alloc(next() % 71);
      for (let j = 0; j < key.length; j++) key[j] = next() >>> 24;
      const hex = key.toString('hex');
      expect(murmur2(key), hex).to.equal(kafkajsMurmur2(key));
      expect(javaCompatiblePartition(undefined, key), hex).to.equal(
        compatibilityPartitioner(undefined as never, key),
      );
    }
  });

  it('puts keyless messages on partition 0, as the client it replaces', () => {
    expect(javaCompatiblePartition(undefined, undefined)).to.equal(0);
  });
});
