import { expect } from 'chai';
import { logLevel } from 'kafkajs';
import { kafkajsLevel } from '../../lib/kafka/client.js';

describe('kafkajs log levels in ours', () => {
  it("logs a connection's error answers that kafkajs retries at info, and the others as warnings", () => {
    const retried: [string, string][] = [
      [
        'Response InitProducerId(key: 22, version: 1)',
        "The coordinator is loading and hence can't process requests for this group",
      ],
      ['Response GroupCoordinator(key: 10, version: 2)', 'The group coordinator is not available'],
    ];
    for (const [message, error] of retried) {
      expect(kafkajsLevel('Connection', logLevel.ERROR, message, error), error).to.equal('info');
    }
    const final: [string, string][] = [
      [
        'Response Produce(key: 0, version: 7)',
        'Not authorized to access topics: [Topic authorization failed]',
      ],
      [
        'Response Produce(key: 0, version: 7)',
        'The request included a message larger than the max message size the server will accept',
      ],
    ];
    for (const [message, error] of final) {
      expect(kafkajsLevel('Connection', logLevel.ERROR, message, error), error).to.equal('warn');
    }
    expect(kafkajsLevel('Connection', logLevel.ERROR, 'Response Fetch(key: 1, version: 11)')).to.equal(
      'warn',
    );
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
