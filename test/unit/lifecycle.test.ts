import { expect } from 'chai';
import { UnavailableError, ValidationError, isRetriable } from '../../lib/errors.js';
import { StopTimeoutError, startWithRetry, stopEach, type Service } from '../../lib/lifecycle.js';
import { createLogger } from '../../lib/log.js';

const silent = createLogger({ level: 'silent', pretty: false, name: 'test' });

function flaky(failures: unknown[]): Service & { attempts: number } {
  const svc = {
    name: 'flaky',
    attempts: 0,
    start: async () => {
      const err = failures[svc.attempts++];
      if (err !== undefined) throw err as Error;
    },
    stop: async () => {},
  };
  return svc;
}

describe('isRetriable', () => {
  it('trusts typed errors and kafkajs flags', () => {
    expect(isRetriable(new UnavailableError('x'))).to.equal(true);
    expect(isRetriable(new ValidationError('x'))).to.equal(false);
    expect(isRetriable({ retriable: true })).to.equal(true);
  });
  it('treats a down or restarting server as transient, also behind "retries exceeded"', () => {
    expect(isRetriable(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).to.equal(true);
    const exceeded = Object.assign(new Error('gave up'), {
      name: 'KafkaJSNonRetriableError',
      retriable: false,
      cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }),
    });
    expect(isRetriable(exceeded)).to.equal(true);
  });
  it('does not retry programmer errors', () => {
    expect(isRetriable(new TypeError('undefined is not a function'))).to.equal(false);
    expect(isRetriable('string')).to.equal(false);
  });
});

describe('startWithRetry', () => {
  it('retries transient start failures until the service starts', async () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const svc = flaky([refused, refused]);
    await startWithRetry(svc, silent, 60_000);
    expect(svc.attempts).to.equal(3);
  });
  it('fails at once on a non-retriable error', async () => {
    const svc = flaky([new TypeError('bug')]);
    const err = await startWithRetry(svc, silent, 60_000).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(TypeError);
    expect(svc.attempts).to.equal(1);
  });
  it('gives up after the startup timeout', async () => {
    const refused = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
    const svc = flaky(Array.from({ length: 100 }, () => refused));
    const err = await startWithRetry(svc, silent, 0).catch((e: unknown) => e);
    expect(err).to.equal(refused);
  });
});

describe('stopEach', () => {
  function svc(name: string, stop: () => Promise<void>, order: string[]): Service {
    return {
      name,
      start: async () => {},
      stop: async () => {
        order.push(name);
        await stop();
      },
    };
  }

  it('stops every service in order and resolves when all stopped', async () => {
    const order: string[] = [];
    await stopEach([svc('http', async () => {}, order), svc('producer', async () => {}, order)], 1000);
    expect(order).to.deep.equal(['http', 'producer']);
  });

  it('leaves a hung service behind, stops the rest, then names it', async () => {
    const order: string[] = [];
    const hangs = svc('http', () => new Promise<void>(() => {}), order);
    const fails = svc('pool', () => Promise.reject(new Error('pool broke')), order);
    const err = await stopEach([hangs, fails, svc('producer', async () => {}, order)], 50).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(order).to.deep.equal(['http', 'pool', 'producer']);
    expect(err).to.be.instanceOf(StopTimeoutError);
    expect((err as StopTimeoutError).services).to.deep.equal(['http']);
    expect((err as Error).message).to.equal('did not stop within 50 ms: http');
  });

  it('throws a failed stop once the others stopped', async () => {
    const order: string[] = [];
    const err = await stopEach(
      [
        svc('pool', () => Promise.reject(new Error('pool broke')), order),
        svc('producer', async () => {}, order),
      ],
      1000,
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(order).to.deep.equal(['pool', 'producer']);
    expect((err as Error).message).to.equal('pool broke');
  });
});
