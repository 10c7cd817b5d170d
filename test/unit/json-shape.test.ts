import { expect } from 'chai';
import { checkJsonShape } from '../../api/src/http/json-shape.js';

describe('checkJsonShape', () => {
  it('takes an ordinary body as it is', () => {
    const body = JSON.parse(
      '{"events":[{"event_type":"search","properties":{"q":"héllo 🎬","tags":["a",{"b":[1,null,true]}]}}]}',
    ) as unknown;
    expect(checkJsonShape(body, 100)).to.equal(null);
  });

  it('refuses any depth past the limit without recursing, for objects and arrays alike', () => {
    for (const [open, close] of [
      ['{"a":', '}'],
      ['[', ']'],
    ] as const) {
      const deep = JSON.parse(`{"properties":${open.repeat(200_000)}1${close.repeat(200_000)}}`) as unknown;
      expect(checkJsonShape(deep, 100)?.code).to.equal('too_deep');
    }
    const atLimit = JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) as unknown;
    expect(checkJsonShape(atLimit, 100)).to.equal(null);
    const overLimit = JSON.parse(`${'['.repeat(101)}${']'.repeat(101)}`) as unknown;
    expect(checkJsonShape(overLimit, 100)?.code).to.equal('too_deep');
  });

  it('refuses keys that name prototype machinery, at any level, with their path', () => {
    for (const key of ['__proto__', 'constructor', 'prototype']) {
      const top = JSON.parse(`{"${key}":{"x":1}}`) as unknown;
      expect(checkJsonShape(top, 100), key).to.deep.include({ code: 'forbidden_key', path: key });
      const nested = JSON.parse(`{"events":[{"properties":{"a":{"${key}":1}}}]}`) as unknown;
      expect(checkJsonShape(nested, 100)).to.deep.include({
        code: 'forbidden_key',
        path: `events[0].properties.a.${key}`,
      });
    }
    // An escaped spelling is the same key once parsed.
    expect(checkJsonShape(JSON.parse('{"\\u005f_proto__":1}'), 100)?.code).to.equal('forbidden_key');
  });

  it('refuses lone surrogates in values and keys', () => {
    expect(checkJsonShape(JSON.parse('{"q":"a\\ud800b"}'), 100)).to.deep.include({
      code: 'invalid_string',
      path: 'q',
    });
    expect(checkJsonShape(JSON.parse('{"\\udc00":1}'), 100)?.code).to.equal('invalid_string');
    expect(checkJsonShape(JSON.parse('{"q":"\\ud83c\\udfac"}'), 100)).to.equal(null);
  });
});
