import { expect } from 'chai';
import { checkJsonText } from '../../api/src/http/json-text.js';
import { shapes } from './contract-shapes.js';

describe('checkJsonText: what JSON.parse would change without a word', () => {
  it('names a key sent twice in one object (whatever its escapes) and a number a double cannot hold, at its path', () => {
    const cases: [string, string, string][] = [
      ['{"a":1,"a":2}', 'a', 'duplicate_key'],
      ['{"a":{"b":[1,{"c":1,"c":2}]}}', 'a.b[1].c', 'duplicate_key'],
      ['{"events":[{"x":1},{"x":1,"y":2,"x":3}]}', 'events[1].x', 'duplicate_key'],
      ['{"a\\u0062":1,"ab":2}', 'ab', 'duplicate_key'],
      ['[{"k":1},{"k":1,"k":1}]', '[1].k', 'duplicate_key'],
      ['{"x":12345678901234567890123}', 'x', 'inexact_number'],
      ['{"x":[1,0.99999999999999999]}', 'x[1]', 'inexact_number'],
      ['{"x":1e-400}', 'x', 'inexact_number'],
      ['{"x":9007199254740993}', 'x', 'inexact_number'],
      ['{"p":{"q":-123456789012345678}}', 'p.q', 'inexact_number'],
    ];
    for (const [text, path, code] of cases) {
      expect(checkJsonText(text), text).to.deep.include({ path, code });
    }
  });

  it('lets through the same keys in different objects, keys and numbers inside strings, and exact numbers however written', () => {
    for (const text of [
      '{"a":{"a":1},"b":{"a":2}}',
      '{"s":"\\"a\\":1,\\"a\\":2","t":"12345678901234567890123"}',
      '{"x":1e3,"y":1.0,"z":-0,"w":0.1,"v":1e-300,"u":-12.5e-3,"m":9007199254740991,"f":0.30000000000000004}',
      '{ "a" : 1 , "b" : [ 1 , 2 ] }',
      '"\\\\"',
      '[]',
      '[-1,-12,18446744073709551616,1152921504606846976,-0.0,0e0,1E+2,1.5e-7,100000000000000000000]',
    ]) {
      expect(checkJsonText(text), text).to.equal(null);
    }
  });

  it('stays linear in the keys of one object (a hostile body of tens of thousands)', () => {
    const keys = Array.from({ length: 50_000 }, (_, i) => `"k${i}":0`);
    expect(checkJsonText(`{${keys.join(',')}}`)).to.equal(null);
    expect(checkJsonText(`{${keys.join(',')},"k7":1}`)).to.deep.include({
      path: 'k7',
      code: 'duplicate_key',
    });
  });

  it('never objects to what JSON.stringify writes', () => {
    const { rand, pick, progress } = shapes(5);
    const value = (depth: number): unknown => {
      const r = rand();
      if (depth > 3 || r < 0.3)
        return pick([0, -1, 754, 1.5, 0.1 + 0.2, 1e21, 2 ** 53, 5e-324, 'x"y\\z', '', null, true]);
      if (r < 0.6) return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
      return Object.fromEntries(
        Array.from({ length: Math.floor(rand() * 5) }, (_, i) => [`k${i}"`, value(depth + 1)]),
      );
    };
    for (let i = 0; i < 500; i++) {
      const text = JSON.stringify({ events: [progress(), value(0)], v: value(0) }, null, i % 2 === 0 ? 0 : 2);
      expect(checkJsonText(text), text).to.equal(null);
    }
  });
});
