import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { kafkajsLevel } from '../../lib/kafka/client.js';

describe('kafkajs log levels in ours', () => {
  it("logs a connection's error answers, which kafkajs retries, at info", () => {
    for (const message of [
      'Response InitProducerId(key: 22, version: 1)',
      'Response GroupCoordinator(key: 10, version: 2)',
    ]) {
      expect(kafkajsLevel('Connection', logLevel.ERROR, message), message).to.equal('info');
    }
  });

  it('keeps every other kafkajs error and warning a warning', () => {
    expect(kafkajsLevel('Connection', logLevel.ERROR, 'Connection error: connect ECONNREFUSED')).to.equal(
      'warn',
    );
    expect(kafkajsLevel('Consumer', logLevel.ERROR, 'Response from the broker')).to.equal('warn');
    expect(kafkajsLevel('Producer', logLevel.ERROR, 'Failed to send messages')).to.equal('warn');
    expect(kafkajsLevel('Consumer', logLevel.WARN, 'Heartbeat failed')).to.equal('warn');
  });

  it('keeps info and debug as they are', () => {
    expect(kafkajsLevel('Connection', logLevel.INFO, 'Response Fetch')).to.equal('info');
    expect(kafkajsLevel('Connection', logLevel.DEBUG, 'Response Fetch')).to.equal('debug');
  });
});
