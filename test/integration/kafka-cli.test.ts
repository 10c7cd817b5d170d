import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { withAdmin } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

const run = promisify(execFile);

/** The runbook's Kafka commands on a machine without the broker image: `npm run kafka -- groups|topics|configs`. */
describe('Kafka CLI tools from the jars (infra/kafka/kafka.sh)', function () {
  this.timeout(120_000);

  it("describes a group's committed offsets and lag, a topic's partitions, and sets its retention", async () => {
    const { brokers } = testEnv();
    const topic = `cli-${randomUUID()}`;
    const groupId = `${topic}-etl`;
    await withAdmin(brokers, async (admin) => {
      await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
      await admin.setOffsets({ groupId, topic, partitions: [{ partition: 1, offset: '0' }] });
    });
    const tool = (...args: string[]) =>
      run('bash', ['infra/kafka/kafka.sh', ...args, '--bootstrap-server', brokers[0]!]);
    const groups = await tool('groups', '--describe', '--group', groupId);
    expect(groups.stdout).to.match(new RegExp(`${groupId}\\s+${topic}\\s+1\\s+0\\s+0\\s+0`));
    const topics = await tool('topics', '--describe', '--topic', topic);
    expect(topics.stdout).to.include('PartitionCount: 2');
    // The runbook's disk steps: a topic's retention, set and read back.
    const entity = ['--entity-type', 'topics', '--entity-name', topic];
    await tool('configs', '--alter', ...entity, '--add-config', 'retention.ms=3600000');
    const configs = await tool('configs', '--describe', ...entity);
    expect(configs.stdout).to.include('retention.ms=3600000');
  });
});
