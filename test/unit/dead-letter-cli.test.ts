import { expect } from 'chai';
import { escapeControl, letterLine } from '../../etl/src/dead-letter-format.js';
import type { StoredLetter } from '../../etl/src/dead-letter-reader.js';
import { planReplay } from '../../etl/src/dead-letter-replay.js';

const letter = (over: Partial<StoredLetter> = {}): StoredLetter => ({
  dlqPartition: 0,
  dlqOffset: '0',
  key: Buffer.from('k'),
  value: Buffer.from('{"x":1}'),
  reason: 'contract',
  stage: 'decode',
  sourceTopic: 'progress-events',
  sourcePartition: 2,
  sourceOffset: '41',
  failedAt: '2026-12-06T02:00:00.000Z',
  ...over,
});

describe('dlq replay: source topic allow-list', () => {
  const allowed = new Set(['progress-events', 'user-events', 'experiment-exposures']);

  it('republishes only to the topics the ETL consumes, counting the others by topic', () => {
    const letters = [
      letter({ sourceTopic: 'progress-events', dlqOffset: '1' }),
      letter({ sourceTopic: 'user-events', dlqOffset: '2' }),
      letter({ sourceTopic: 'billing-commands', dlqOffset: '3' }),
      letter({ sourceTopic: 'dead-letters', dlqOffset: '4' }),
      letter({ sourceTopic: 'billing-commands', dlqOffset: '5' }),
      letter({ sourceTopic: '', dlqOffset: '6' }),
      letter({ sourceTopic: 'progress-events', dlqOffset: '7' }),
    ];
    const plan = planReplay(letters, allowed);
    expect([...plan.byTopic.keys()].sort()).to.deep.equal(['progress-events', 'user-events']);
    expect(plan.byTopic.get('progress-events')!.map((l) => l.dlqOffset)).to.deep.equal(['1', '7']);
    expect(Object.fromEntries(plan.refused)).to.deep.equal({ 'billing-commands': 2, 'dead-letters': 1 });
    expect(plan.noSource).to.equal(1);
    const planned = [...plan.byTopic.values()].flat().length;
    expect(planned + plan.noSource + 3).to.equal(letters.length);
  });

  it('matches topic names exactly (no prefix, case or padding tricks)', () => {
    const plan = planReplay(
      ['progress-events2', 'Progress-Events', ' progress-events', 'progress-events\n'].map((t) =>
        letter({ sourceTopic: t }),
      ),
      allowed,
    );
    expect(plan.byTopic.size).to.equal(0);
    expect([...plan.refused.values()].reduce((a, b) => a + b, 0)).to.equal(4);
  });
});

describe('dlq list: control characters escaped', () => {
  it('escapes C0/C1 controls, DEL, bidi overrides and the backslash; keeps other text', () => {
    expect(escapeControl('a\u001b[2J\u001b]0;pwned\u0007b')).to.equal(
      'a\\u{001b}[2J\\u{001b}]0;pwned\\u{0007}b',
    );
    expect(escapeControl('l1\nl2\r\tx\\y')).to.equal('l1\\nl2\\r\\tx\\\\y');
    expect(escapeControl('\u009b\u007f\u202egnp.exe')).to.equal('\\u{009b}\\u{007f}\\u{202e}gnp.exe');
    expect(escapeControl('héllo 世界 {"a":1}')).to.equal('héllo 世界 {"a":1}');
  });

  it('prints a line with no raw control character from any field a producer controls', () => {
    const line = letterLine(
      letter({
        value: Buffer.from('{"x":"\u001b[1A\u001b[2Kforged line"}\n'),
        reason: 'bad\rreason',
        stage: 'x\u001b[31m',
        sourceTopic: 'topic\u001b]0;title\u0007',
        failedAt: 'now\n2026',
      }),
    );
    // eslint-disable-next-line no-control-regex
    expect(line).not.to.match(/[\u0000-\u001f\u007f-\u009f]/);
    expect(line).to.contain('\\u{001b}[1A');
    expect(line).to.contain('topic\\u{001b}]0;title\\u{0007}/2@41');
  });
});
