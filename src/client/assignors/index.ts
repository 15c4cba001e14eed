/** The partition assignors and the consumer protocol's codec. */
import { range } from './range.js';
import { roundRobin } from './roundrobin.js';
import { sticky } from './sticky.js';
import type { Assignor } from './types.js';

export { range, rangeAssign } from './range.js';
export { roundRobin, roundRobinAssign } from './roundrobin.js';
export { sticky, stickyAssign } from './sticky.js';
export type { Assignor, AssignInput, GroupAssignment, GroupMember, TopicPartitionList } from './types.js';
export { CONSUMER_PROTOCOL_TYPE, decodeAssignment, decodeMetadata, encodeAssignment, encodeMetadata, type MemberAssignment, type MemberMetadata } from './protocol.js';

/** In order of preference: sticky first, so a group of this client's members agrees on it. */
export const DEFAULT_ASSIGNORS: readonly Assignor[] = [sticky, range, roundRobin];
