/**
 * One small history per row of CHECKER.md's table: each has exactly that anomaly and must be
 * flagged with it and nothing else.
 */
import { describe, expect, it } from 'vitest';
import { describeAnomaly, type AnomalyKind } from '../../chaos/checker/anomaly.js';
import { parseReplicaLogs } from '../../chaos/checker/checks/replicas.js';
import { checkHistory, type CheckOptions, type Report } from '../../chaos/checker/report.js';
import { HistoryBuilder } from './builder.js';

const K = 't/0';

function check(h: HistoryBuilder, options: CheckOptions = {}): Report {
  const report = checkHistory(h.build(), options);
  for (const a of report.anomalies) expect(describeAnomaly(a)).not.toBe('');
  return report;
}

function expectOnly(h: HistoryBuilder, kind: AnomalyKind, options: CheckOptions = {}): Report {
  const report = check(h, options);
  expect(report.anomalyKinds, report.anomalies.map(describeAnomaly).join('\n')).toEqual([kind]);
  expect(report.verdict).toBe('invalid');
  expect(report.valid).toBe(false);
  return report;
}

function of<T extends AnomalyKind>(report: Report, kind: T) {
  return report.anomalies.filter((a): a is Extract<typeof a, { kind: T }> => a.kind === kind);
}

describe('well-formed', () => {
  it('flags an invoke that never completes', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    h.invoke(2, 'poll', { from: { [K]: 0 } });
    const r = expectOnly(h, 'malformed');
    expect(of(r, 'malformed')[0]!.events).toEqual([4]);
  });

  it('flags two open operations in one process', () => {
    const h = new HistoryBuilder();
    h.invoke(0, 'send', [{ key: K, value: 'a' }]);
    h.ok(h.invoke(0, 'send', [{ key: K, value: 'b' }]), [{ key: K, value: 'b', offset: 0 }]);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'b']] }, { [K]: 1 });
    const r = expectOnly(h, 'malformed');
    expect(of(r, 'malformed')[0]!.reason).toMatch(/two open operations/);
  });

  it('flags an operation after info', () => {
    const h = new HistoryBuilder();
    h.sendUnsure(0, K, 'a', 'info');
    h.send(0, K, 'b', 0);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'b']] }, { [K]: 1 });
    const r = expectOnly(h, 'malformed');
    expect(of(r, 'malformed')[0]!.reason).toMatch(/after its info/);
  });

  it('flags time going back', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.at(500_000);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    expect(of(expectOnly(h, 'malformed'), 'malformed')[0]!.reason).toMatch(/time goes back/);
  });

  it('flags a completion of another kind than its invoke, and a value that does not decode', () => {
    const h = new HistoryBuilder();
    h.invoke(0, 'send', [{ key: K, value: 'a' }]);
    h.raw({ process: 0, type: 'ok', f: 'poll', value: null });
    h.ok(h.invoke(1, 'poll', { from: 'everything' }), null);
    const r = expectOnly(h, 'malformed');
    expect(of(r, 'malformed').map((a) => a.reason)).toEqual([
      'invoke of send completed as poll',
      'poll by process 1: from must be an object',
    ]);
  });
});

describe('log contents', () => {
  it('inconsistent offsets: two readers see different values at one offset', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.sendUnsure(1, K, 'c', 'info');
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 2 });
    h.poll(3, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'c']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'inconsistent-offsets'), 'inconsistent-offsets');
    expect(a).toMatchObject({ key: K, offset: 1, values: ['b', 'c'] });
    expect(a!.ops.map((o) => o.index)).toEqual([2, 6, 8]);
  });

  it('duplicate: one value at two offsets', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b'], [2, 'a']] }, { [K]: 3 });
    const [a] = of(expectOnly(h, 'duplicate'), 'duplicate');
    expect(a!.at.map((p) => p.offset)).toEqual([0, 2]);
  });

  it('garbage read: a value no one sent', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'zz']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'garbage-read'), 'garbage-read');
    expect(a!.at).toEqual({ key: K, offset: 1, value: 'zz' });
    expect(a!.readers[0]!.process).toBe(1);
  });

  it('aborted read: a value whose send failed', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.sendUnsure(0, K, 'x', 'fail');
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'x']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'aborted-read'), 'aborted-read');
    expect(a!.writer).toMatchObject({ index: 2, process: 0 });
  });
});

describe('completeness', () => {
  it('lost write: an acknowledged value below an offset someone read, read by no one', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.send(0, K, 'c', 2);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 3 });
    h.poll(2, { [K]: 2 }, { [K]: [[2, 'c']] }, { [K]: 3 });
    const [a] = of(expectOnly(h, 'lost-write'), 'lost-write');
    expect(a).toMatchObject({ at: { key: K, offset: 1, value: 'b' }, readOffset: 2 });
    expect(a!.reachedBy.process).toBe(2);
  });

  it('unseen: after final reads, an acknowledged value never read', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, 't/1', 'b', 0);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    const [a] = of(expectOnly(h, 'unseen'), 'unseen');
    expect(a!.at).toEqual({ key: 't/1', offset: 0, value: 'b' });
  });

  it('unseen is not checked without final reads', () => {
    const h = new HistoryBuilder();
    h.poll(1, { [K]: 0 }, {}, { [K]: 0 });
    h.send(0, K, 'a', 0);
    const r = check(h);
    expect(r.verdict).toBe('valid');
    expect(r.notes.join()).toMatch(/no final reads/);
  });

  it('offset gap: an offset below the high watermark no one observed', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 4 });
    const [a] = of(expectOnly(h, 'offset-gap'), 'offset-gap');
    expect(a).toMatchObject({ key: K, from: 2, to: 3, logStart: 0, highWatermark: 4 });
  });
});

describe('order', () => {
  function abc(h: HistoryBuilder): void {
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.send(0, K, 'c', 2);
    h.poll(3, { [K]: 1 }, { [K]: [[1, 'b']] }, { [K]: 3 });
  }

  it('poll order: offsets inside one poll not consecutive from `from`', () => {
    const h = new HistoryBuilder();
    abc(h);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [2, 'c']] }, { [K]: 3 });
    const [a] = of(expectOnly(h, 'poll-order'), 'poll-order');
    expect(a).toMatchObject({ expected: 1, actual: 2, previous: null });
  });

  it('poll order: a process skips ahead between polls', () => {
    const h = new HistoryBuilder();
    abc(h);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 3 });
    h.poll(1, { [K]: 2 }, { [K]: [[2, 'c']] }, { [K]: 3 });
    const [a] = of(expectOnly(h, 'poll-order'), 'poll-order');
    expect(a).toMatchObject({ expected: 1, actual: 2 });
    expect(a!.previous!.index).toBe(8);
  });

  it('poll order: a process goes back without a seek', () => {
    const h = new HistoryBuilder();
    abc(h);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 3 });
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b'], [2, 'c']] }, { [K]: 3 });
    expect(of(expectOnly(h, 'poll-order'), 'poll-order')[0]).toMatchObject({ expected: 2, actual: 0 });
  });

  it('send order: a producer\'s later send lands lower', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 1);
    h.send(0, K, 'b', 0);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'b'], [1, 'a']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'send-order'), 'send-order');
    expect(a).toMatchObject({ earlierOffset: 1, laterOffset: 0 });
    expect([a!.earlier.index, a!.later.index]).toEqual([0, 2]);
  });

  it('real-time order: a send acknowledged before another began lands above it', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 1);
    h.send(1, K, 'b', 0);
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'b'], [1, 'a']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'real-time-order'), 'real-time-order');
    expect([a!.earlier.process, a!.later.process]).toEqual([0, 1]);
  });

  it('concurrent sends may land in either order', () => {
    const h = new HistoryBuilder();
    const a = h.invoke(0, 'send', [{ key: K, value: 'a' }]);
    const b = h.invoke(1, 'send', [{ key: K, value: 'b' }]);
    h.ok(a, [{ key: K, value: 'a', offset: 1 }]);
    h.ok(b, [{ key: K, value: 'b', offset: 0 }]);
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'b'], [1, 'a']] }, { [K]: 2 });
    expect(check(h).anomalyKinds).toEqual([]);
  });
});

describe('stale read', () => {
  it('a poll after an acknowledged send whose high watermark hides it', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.poll(1, { [K]: 0 }, {}, { [K]: 0 });
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    const [a] = of(expectOnly(h, 'stale-read'), 'stale-read');
    expect(a).toMatchObject({ highWatermark: 0, cause: { by: 'send', offset: 0 } });
  });

  it('a poll whose high watermark is below that of an earlier poll', () => {
    const h = new HistoryBuilder();
    h.sendUnsure(0, K, 'a', 'info');
    h.sendUnsure(1, K, 'b', 'info');
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 2 });
    h.poll(3, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    const [a] = of(expectOnly(h, 'stale-read'), 'stale-read');
    expect(a).toMatchObject({ highWatermark: 1, cause: { by: 'poll', highWatermark: 2 } });
  });
});

describe('committed offsets', () => {
  function consumed(h: HistoryBuilder): void {
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.assign(1, 'g', 'beginning', { [K]: 0 });
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 2 });
  }

  it('a fetchCommitted that reads an offset overwritten before it began', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 1 });
    h.commit(1, 'g', { [K]: 2 });
    h.fetchCommitted(2, 'g', { [K]: 1 });
    const [a] = of(expectOnly(h, 'committed-offsets'), 'committed-offsets');
    expect(a).toMatchObject({ group: 'g', key: K });
    expect(a!.witness.op.process).toBe(2);
  });

  it('a fetchCommitted that reads nothing after an acknowledged commit', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 2 });
    h.fetchCommitted(2, 'g', { [K]: null });
    expectOnly(h, 'committed-offsets');
  });

  it('an info commit is open forever: it may be seen late, or never', () => {
    for (const seen of [2, null]) {
      const h = new HistoryBuilder();
      consumed(h);
      h.commit(1, 'g', { [K]: 2 }, 'info');
      h.fetchCommitted(2, 'g', { [K]: null });
      h.fetchCommitted(2, 'g', { [K]: seen });
      expect(check(h).verdict).toBe('valid');
    }
  });

  it('a failed commit never happened', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 2 }, 'fail');
    h.fetchCommitted(2, 'g', { [K]: 2 });
    expectOnly(h, 'committed-offsets');
  });

  it('resume position: resuming before an acknowledged commit', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 2 });
    h.assign(2, 'g', 'committed', { [K]: 0 });
    h.poll(2, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 2 });
    const [a] = of(expectOnly(h, 'resume-position'), 'resume-position');
    expect(a).toMatchObject({ start: 0, allowed: [2] });
  });

  it('resume position: resuming after every commit', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 1 });
    h.assign(2, 'g', 'committed', { [K]: 2 });
    h.poll(2, { [K]: 2 }, {}, { [K]: 2 });
    expect(of(expectOnly(h, 'resume-position'), 'resume-position')[0]).toMatchObject({ start: 2, allowed: [1] });
  });

  it('resuming at a commit concurrent with the assign is fine', () => {
    const h = new HistoryBuilder();
    consumed(h);
    h.commit(1, 'g', { [K]: 1 });
    const c = h.invoke(1, 'commit', { group: 'g', offsets: { [K]: 2 } });
    h.assign(2, 'g', 'committed', { [K]: 2 });
    h.ok(c);
    h.poll(2, { [K]: 2 }, {}, { [K]: 2 });
    expect(check(h).verdict).toBe('valid');
  });
});

describe('replica agreement', () => {
  function history(): HistoryBuilder {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.send(0, K, 'b', 1);
    h.poll(1, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b']] }, { [K]: 2 });
    return h;
  }
  const log = (commitIndex: number, entries: Array<[number, string]>, logStart = 0) => ({
    [K]: { logStart, commitIndex, entries },
  });

  it('flags replicas whose committed logs differ', () => {
    const replicas = parseReplicaLogs(
      JSON.stringify({
        n1: log(2, [[0, 'a'], [1, 'b']]),
        n2: log(2, [[0, 'a'], [1, 'x']]),
        n3: log(3, [[0, 'a'], [1, 'b'], [2, 'c']]),
      }),
    );
    const [a] = of(expectOnly(history(), 'replica-disagreement', { replicas }), 'replica-disagreement');
    expect(a).toEqual({ kind: 'replica-disagreement', key: K, offset: 1, values: { n1: 'b', n2: 'x', n3: 'b' } });
  });

  it('ignores differences above the lowest commit index and below a replica\'s log start', () => {
    const replicas = parseReplicaLogs(
      JSON.stringify({
        n1: log(2, [[0, 'a'], [1, 'b'], [2, 'x']]),
        n2: log(3, [[1, 'b'], [2, 'c']], 1),
      }),
    );
    expect(check(history(), { replicas }).verdict).toBe('valid');
  });
});

describe('liveness', () => {
  const SECOND = 1_000_000_000;

  it('flags operations that do not succeed again within the bound after the final heal', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.nemesis('kill', 'n1');
    h.sendUnsure(1, K, 'x', 'fail');
    h.nemesis('restart', 'n1');
    const heal = h.now;
    h.sendUnsure(2, K, 'y', 'fail');
    h.at(heal + 20 * SECOND);
    h.poll(3, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    const [a] = of(expectOnly(h, 'liveness', { livenessBoundNs: 5 * SECOND }), 'liveness');
    expect(a!.reason).toMatch(/first success 20001\.0 ms after the final heal/);
    expect(a!.ops.map((o) => o.process)).toEqual([3, 2]);
  });

  it('flags faults left active at the end', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.nemesis('partition', [['n1'], ['n2', 'n3']]);
    h.poll(3, { [K]: 0 }, { [K]: [[0, 'a']] }, { [K]: 1 });
    expect(of(expectOnly(h, 'liveness'), 'liveness')[0]!.reason).toMatch(/faults still active/);
  });

  it('counts outcomes per fault window and measures failover', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.at(10 * SECOND).nemesis('kill', 'n1');
    h.sendUnsure(1, K, 'x', 'info');
    h.sendUnsure(2, K, 'y', 'fail');
    h.at(12 * SECOND).send(2, K, 'b', 1);
    h.at(20 * SECOND).nemesis('restart', 'n1');
    h.at(21 * SECOND).nemesis('pause', 'n2');
    h.at(21.5 * SECOND).send(2, K, 'c', 2);
    h.nemesis('resume', 'n2');
    h.poll(3, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'b'], [2, 'c']] }, { [K]: 3 });
    const r = check(h);
    expect(r.verdict).toBe('valid');
    expect(r.windows.map((w) => [w.openedBy, w.active.join(), w.ok, w.info, w.fail])).toEqual([
      [null, '', 1, 0, 0],
      ['kill n1', 'kill n1', 1, 1, 1],
      ['restart n1', '', 0, 0, 0],
      ['pause n2', 'pause n2', 1, 0, 0],
      ['resume n2', '', 1, 0, 0],
    ]);
    // The kill is in place at 10.001 s (its info), the first ok send invoked after it ends at
    // 12.001 s; the pause is in place at 21.001 s, the next ok send ends at 21.501 s.
    expect(r.failover!.faults.map((f) => [f.fault, f.recoveryNs])).toEqual([
      ['kill n1', 2 * SECOND],
      ['pause n2', 0.5 * SECOND],
    ]);
    expect(r.failover!.p50Ns).toBe(0.5 * SECOND);
    expect(r.failover!.p99Ns).toBe(2 * SECOND);
  });
});

describe('valid histories', () => {
  it('a full run with info sends that did and did not take effect, commits and a seek back', () => {
    const h = new HistoryBuilder();
    h.send(0, K, 'a', 0);
    h.sendUnsure(1, K, 'lost-in-flight', 'info');
    h.sendUnsure(2, K, 'took-effect', 'info');
    h.send(3, K, 'b', 2);
    h.sendUnsure(3, K, 'refused', 'fail');
    h.ok(h.invoke(4, 'send', [{ key: K, value: 'c' }, { key: 't/1', value: 'd' }]), [
      { key: K, value: 'c', offset: 3 },
      { key: 't/1', value: 'd', offset: 0 },
    ]);
    h.assign(5, 'g', 'beginning', { [K]: 0 });
    h.poll(5, { [K]: 0 }, { [K]: [[0, 'a'], [1, 'took-effect']] }, { [K]: 4 });
    h.commit(5, 'g', { [K]: 2 });
    h.poll(5, { [K]: 2 }, { [K]: [[2, 'b'], [3, 'c']] }, { [K]: 4 });
    h.assign(5, 'g', { [K]: 1 }, { [K]: 1 });
    h.poll(5, { [K]: 1 }, { [K]: [[1, 'took-effect']] }, { [K]: 4 });
    h.commit(5, 'g', { [K]: 4 }, 'info');
    h.assign(6, 'g', 'committed', { [K]: 2 });
    h.fetchCommitted(6, 'g', { [K]: 4 });
    h.nemesis('transfer', { key: K, to: 'n2' });
    h.poll(7, { [K]: 0, 't/1': 0 }, { [K]: [[0, 'a'], [1, 'took-effect'], [2, 'b'], [3, 'c']], 't/1': [[0, 'd']] }, { [K]: 4, 't/1': 1 });
    const r = check(h);
    expect(r.anomalies.map(describeAnomaly)).toEqual([]);
    expect(r.verdict).toBe('valid');
    expect(r.counts.log).toEqual({ keys: 2, sent: 7, acknowledged: 4, read: 5 });
    expect(r.counts.byF['send']).toEqual({ ok: 3, fail: 1, info: 2, open: 0 });
  });

  it('an empty history is valid', () => {
    expect(checkHistory([]).verdict).toBe('valid');
  });
});
