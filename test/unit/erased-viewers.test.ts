import { expect } from 'chai';
import { ErasedViewers, type ErasedViewersSource } from '../../api/src/erasure/erased-viewers.js';
import { createLogger } from '../../lib/log.js';

const silent = createLogger({ level: 'silent', pretty: false, name: 'test' });

/** A source that records what each read asked for and answers from a script. */
function scripted(answers: ({ viewers: string[]; latest: Date | undefined } | Error)[]) {
  const asked: (Date | undefined)[] = [];
  const source: ErasedViewersSource = {
    since(since) {
      asked.push(since);
      const next = answers.shift();
      if (next === undefined) return Promise.resolve({ viewers: [], latest: undefined });
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
  return { source, asked };
}

describe('erased viewers (refused at ingestion)', () => {
  it('reads every erasure first, then only the recent ones, going back five minutes before the latest seen', async () => {
    const latest = new Date('2026-12-01T10:00:00Z');
    const { source, asked } = scripted([
      { viewers: ['AAAA'], latest },
      { viewers: ['bbbb'], latest: new Date('2026-12-01T09:59:00Z') },
    ]);
    const erased = new ErasedViewers(source, silent);
    await erased.read();
    await erased.read();
    expect(asked).to.deep.equal([undefined, new Date('2026-12-01T09:55:00Z')]);
    expect([erased.has('aaaa'), erased.has('BBBB'), erased.has('cccc')]).to.deep.equal([true, true, false]);
  });

  it('keeps what it knew through a failed read, and learns an erasure taken here at once', async () => {
    const { source, asked } = scripted([new Error('down'), { viewers: ['aaaa'], latest: new Date(0) }]);
    const erased = new ErasedViewers(source, silent);
    await erased.read();
    erased.add('CCCC');
    expect(erased.has('cccc')).to.equal(true);
    await erased.read();
    // The first read failed: the next one still reads everything.
    expect(asked).to.deep.equal([undefined, undefined]);
    expect(erased.has('aaaa')).to.equal(true);
  });

  it('refuses an erased viewer with a 403 viewer_erased, and lets others through', () => {
    const erased = new ErasedViewers(scripted([]).source, silent);
    erased.add('aaaa');
    expect(() => erased.refuse('bbbb')).not.to.throw();
    try {
      erased.refuse('AAAA');
      expect.fail('accepted');
    } catch (err) {
      expect(err).to.include({ status: 403, code: 'viewer_erased' });
    }
  });
});
