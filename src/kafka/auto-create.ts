/**
 * Topic auto-creation (`--auto-create-topics`, Kafka's auto.create.topics.enable): a Metadata
 * request that names topics that do not exist, and allows their creation, creates them with the
 * controller's defaults (1 partition, a replication factor of up to 3), as a native createTopics
 * with partitions and replication factor -1. Kafka clients ask Metadata before they produce to a
 * topic they do not know (kafkajs's producer, librdkafka's), and again after a produce answered
 * UNKNOWN_TOPIC_OR_PARTITION, so producing to a new topic creates it.
 *
 * Only the controller creates topics. A node that is not the controller forwards the request to
 * it, as a client would: one native createTopics on the controller's client listener, over a
 * connection opened for it and closed after (with TLS when that listener takes it) (auto-creation is rare: once per topic). Requests of
 * this node for the same topic while one is under way wait for that one.
 */
import { Connection } from '../client/connection.js';
import { ServerError } from '../errors.js';
import { ErrorCode, type CreateTopicsRequest, type CreateTopicsResponse, type TopicResult } from '../wire/protocol.js';
import { native, requestProblem, type KafkaNode } from './api.js';
import type { Session } from '../server/session.js';

/** How long a Metadata request waits for the topics it creates (the controller also waits for their leaders, up to 10 s). */
export const AUTO_CREATE_TIMEOUT_MS = 10_000;
/** How long forwarding to the controller waits to connect to it. */
const FORWARD_CONNECT_TIMEOUT_MS = 2000;

/** Creations under way on this node, by topic name. */
const underWay = new WeakMap<KafkaNode, Map<string, Promise<TopicResult>>>();

/**
 * Creates `names` (topics this node does not know) and resolves with each one's result once the
 * controller answered; a failure to reach the controller is a result too (never throws).
 */
export async function autoCreateTopics(node: KafkaNode, session: Session, names: readonly string[]): Promise<readonly TopicResult[]> {
  let mine = underWay.get(node);
  if (mine === undefined) underWay.set(node, (mine = new Map()));
  const fresh = names.filter((n) => !mine.has(n));
  if (fresh.length > 0) {
    const created = create(node, session, fresh);
    for (const name of fresh) {
      const one = created.then((results) => results.find((r) => r.name === name) ?? { name, error: { code: ErrorCode.UnknownServerError, message: `the controller did not answer for ${name}` } });
      mine.set(name, one);
      void one.finally(() => mine.delete(name));
    }
  }
  return Promise.all(names.map((n) => mine.get(n)!));
}

async function create(node: KafkaNode, session: Session, names: readonly string[]): Promise<readonly TopicResult[]> {
  const req: CreateTopicsRequest = { type: 'createTopics', topics: names.map((name) => ({ name, partitions: -1, replicationFactor: -1 })), timeoutMs: AUTO_CREATE_TIMEOUT_MS };
  const problem = requestProblem(req);
  if (problem !== null) return names.map((name) => ({ name, error: { code: problem.code, message: problem.message } }));
  const failed = (code: ErrorCode, message: string): TopicResult[] => names.map((name) => ({ name, error: { code, message } }));
  try {
    return (await native(node, session, req))!.topics;
  } catch (err) {
    if (!(err instanceof ServerError) || err.code !== ErrorCode.NotLeader) {
      return failed(err instanceof ServerError ? err.code : ErrorCode.UnknownServerError, err instanceof Error ? err.message : String(err));
    }
  }
  // Not the controller: ask it.
  const id = node.controllerId();
  const controller = id !== null && id !== node.config.id ? node.clientDial(id) : undefined;
  if (controller === undefined) return failed(ErrorCode.LeaderNotAvailable, 'no controller is known to create the topic; retry shortly');
  // Over TLS when the controller's client listener takes it, presenting this node's certificate.
  const connection = new Connection({ address: controller.address, connectTimeoutMs: FORWARD_CONNECT_TIMEOUT_MS, ...(controller.tls !== undefined ? { tls: controller.tls } : {}) });
  try {
    const res: CreateTopicsResponse = await connection.request(req, AUTO_CREATE_TIMEOUT_MS + FORWARD_CONNECT_TIMEOUT_MS);
    return res.topics;
  } catch (err) {
    return failed(ErrorCode.LeaderNotAvailable, `the controller ${id} could not be asked to create the topic: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    connection.close();
  }
}
