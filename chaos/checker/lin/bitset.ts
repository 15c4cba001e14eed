/**
 * A fixed-size set of small integers (operation numbers) with a compact string key, so that a
 * set of linearized operations can be part of a cache key.
 */
export class Bitset {
  private readonly words: Uint32Array;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
  }

  set(i: number): void {
    this.words[i >>> 5]! |= 1 << (i & 31);
  }

  clear(i: number): void {
    this.words[i >>> 5]! &= ~(1 << (i & 31));
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  /** Two bitsets of one size have equal keys exactly when they hold the same members. */
  key(): string {
    let out = '';
    for (const w of this.words) out += String.fromCharCode(w & 0xffff, w >>> 16);
    return out;
  }
}
