import { describe, expect, it } from 'vitest';
import { murmur2, partitionForKey, toPositive } from '../../src/client/partitioner.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('murmur2', () => {
  it("equals Kafka's Utils.murmur2 on UtilsTest.testMurmur2's vectors", () => {
    expect(murmur2(ascii('21'))).toBe(-973932308);
    expect(murmur2(ascii('foobar'))).toBe(-790332482);
    expect(murmur2(ascii('a-little-bit-long-string'))).toBe(-985981536);
    expect(murmur2(ascii('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(ascii('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'))).toBe(-58897971);
    expect(murmur2(new Uint8Array([0x61, 0x62, 0x63]))).toBe(479470107);
  });

  it('equals kafkajs 2.2.4 DefaultPartitioner murmur2 (values computed with kafkajs outside the project)', () => {
    // Each remainder length 0..3, bytes >= 0x80 (Java's signed bytes), and the empty key.
    expect(murmur2(new Uint8Array(0))).toBe(275646681);
    expect(murmur2(new Uint8Array([0xff]))).toBe(-311467685);
    expect(murmur2(new Uint8Array([0x80, 0x81]))).toBe(1642145146);
    expect(murmur2(new Uint8Array([0xfe, 0xfd, 0xfc]))).toBe(-1973149693);
    expect(murmur2(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x00]))).toBe(-1982800100);
    expect(murmur2(ascii('kafka'))).toBe(-798503068);
  });

  it('returns a signed 32-bit integer', () => {
    for (let i = 0; i < 1000; i++) {
      const h = murmur2(ascii(`key-${i}`));
      expect(h | 0).toBe(h);
    }
  });
});

describe('partitionForKey', () => {
  it('is toPositive(murmur2(key)) % partitions', () => {
    expect(toPositive(-1)).toBe(0x7fffffff);
    expect(toPositive(-(2 ** 31))).toBe(0);
    expect(toPositive(5)).toBe(5);
    // -973932308 & 0x7fffffff = 1173551340
    expect(partitionForKey(ascii('21'), 1)).toBe(0);
    expect(partitionForKey(ascii('21'), 3)).toBe(1173551340 % 3);
    expect(partitionForKey(ascii('foobar'), 10)).toBe((-790332482 & 0x7fffffff) % 10);
  });

  it('stays in range', () => {
    for (let i = 0; i < 1000; i++) {
      const p = partitionForKey(ascii(String(i)), 7);
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThan(7);
    }
  });

  it('rejects a partition count that is not a positive integer', () => {
    expect(() => partitionForKey(ascii('k'), 0)).toThrow(RangeError);
    expect(() => partitionForKey(ascii('k'), 1.5)).toThrow(RangeError);
  });
});
