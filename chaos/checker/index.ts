/**
 * The history checker's public surface: parse a history file, check it, render the report.
 * Tests may reach into the other modules; tools should need only this.
 */
export { parseHistoryFile, type ParsedHistory, type HistoryFormat } from './parse/index.js';
export { checkHistory, checkParsed, type CheckOptions, type Report, type Verdict } from './report.js';
export { renderReport, summarize } from './render.js';
export { parseReplicaLogs, type ReplicaLogs } from './checks/replicas.js';
export { describeAnomaly, ANOMALY_KINDS, type Anomaly, type AnomalyKind } from './anomaly.js';
export type { HistoryEvent, OpRef } from './history.js';
