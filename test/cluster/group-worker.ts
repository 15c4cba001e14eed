/**
 * A group consumer in its own process, for tests that SIGKILL consumers. Configured by the JSON
 * in RAFTLOG_WORKER; reports over IPC: { type: 'join', memberId, generation, partitions },
 * { type: 'record', partition, offset, value } after each record's handler finished, and
 * { type: 'stopped' } after a clean stop (sent by the parent as { type: 'stop' }).
 */
import { Client, silentLogger } from '../../src/client/index.js';

interface WorkerConfig {
  brokers: string[];
  groupId: string;
  topic: string;
  sessionTimeout: number;
  heartbeatInterval: number;
  autoCommitInterval: number;
}

const config = JSON.parse(process.env['RAFTLOG_WORKER'] ?? '{}') as WorkerConfig;
const send = (m: object): void => void process.send?.(m);
const client = new Client({ brokers: config.brokers, logger: silentLogger });
const consumer = client.consumer({ groupId: config.groupId, sessionTimeout: config.sessionTimeout, heartbeatInterval: config.heartbeatInterval, rebalanceTimeout: config.sessionTimeout * 2 });
consumer.on('group.join', (e) => send({ type: 'join', memberId: e.memberId, generation: e.generation, partitions: e.memberAssignment.flatMap((a) => a.partitions) }));
consumer.subscribe({ topics: [config.topic], fromBeginning: true });
await consumer.run({
  autoCommitInterval: config.autoCommitInterval,
  eachMessage: async ({ partition, message }) => {
    send({ type: 'record', partition, offset: message.offset, value: message.value?.toString() ?? null });
  },
});
process.on('message', (m: { type?: string }) => {
  if (m.type !== 'stop') return;
  void consumer.stop().then(async () => {
    await consumer.disconnect();
    send({ type: 'stopped' });
    process.exit(0);
  });
});
