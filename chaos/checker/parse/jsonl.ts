/**
 * Reads a history in JSON Lines (see `../history.ts` for the event format). Blank lines are
 * skipped. The envelope of every event is checked here (types of index, time, process, type, f);
 * the shape of `value` depends on `f` and is checked by `../values.ts`, so that a bad value is
 * reported as an ill-formed operation rather than a file that cannot be read.
 */
import { HistoryFormatError } from '../errors.js';
import { isEventType, isClientFn, isNemesisFn, type Fn, type HistoryEvent } from '../history.js';

export function parseJsonl(text: string): HistoryEvent[] {
  const events: HistoryEvent[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (cause) {
      throw new HistoryFormatError('not a JSON value', i + 1, { cause });
    }
    events.push(parseEvent(parsed, i + 1));
  }
  return events;
}

function parseEvent(raw: unknown, line: number): HistoryEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new HistoryFormatError('an event must be a JSON object', line);
  }
  const o = raw as Record<string, unknown>;
  const index = integerField(o, 'index', line);
  const time = numberField(o, 'time', line);
  const process = integerField(o, 'process', line);
  const type = o['type'];
  if (typeof type !== 'string' || !isEventType(type)) {
    throw new HistoryFormatError(`type must be invoke, ok, fail or info, not ${JSON.stringify(type)}`, line);
  }
  const f = o['f'];
  if (typeof f !== 'string' || !(isClientFn(f) || isNemesisFn(f))) {
    throw new HistoryFormatError(`unknown f ${JSON.stringify(f)}`, line);
  }
  const event: { -readonly [K in keyof HistoryEvent]: HistoryEvent[K] } = {
    index,
    time,
    process,
    type,
    f: f satisfies Fn,
    value: o['value'],
  };
  const node = o['node'];
  if (node !== undefined) {
    if (typeof node !== 'string') throw new HistoryFormatError('node must be a string', line);
    event.node = node;
  }
  const error = o['error'];
  if (error !== undefined) event.error = typeof error === 'string' ? error : JSON.stringify(error);
  return event;
}

function numberField(o: Record<string, unknown>, name: string, line: number): number {
  const v = o[name];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new HistoryFormatError(`${name} must be a number, not ${JSON.stringify(v)}`, line);
  }
  return v;
}

function integerField(o: Record<string, unknown>, name: string, line: number): number {
  const v = numberField(o, name, line);
  if (!Number.isSafeInteger(v)) throw new HistoryFormatError(`${name} must be an integer, not ${v}`, line);
  return v;
}
