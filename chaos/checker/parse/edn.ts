/**
 * A reader for the small part of EDN that Jepsen-style logs use: maps `{:k v, ...}` (commas are
 * whitespace), vectors `[...]`, lists `(...)`, keywords `:name`, strings `"..."` with `\"`, `\\`,
 * `\n`, `\t` escapes, integers, `nil`, `true`, `false` and bare symbols.
 */
import { HistoryFormatError } from '../errors.js';

export type Edn =
  | { readonly tag: 'nil' }
  | { readonly tag: 'bool'; readonly value: boolean }
  | { readonly tag: 'int'; readonly value: number }
  | { readonly tag: 'string'; readonly value: string }
  | { readonly tag: 'keyword'; readonly name: string }
  | { readonly tag: 'symbol'; readonly name: string }
  | { readonly tag: 'vector'; readonly items: readonly Edn[] }
  | { readonly tag: 'list'; readonly items: readonly Edn[] }
  | { readonly tag: 'map'; readonly entries: ReadonlyArray<readonly [Edn, Edn]> };

/** Reads exactly one EDN value from `text`; `line` is for error messages. */
export function readEdn(text: string, line: number): Edn {
  const reader = new Reader(text, line);
  const value = reader.value();
  reader.skipSpace();
  if (!reader.atEnd()) reader.fail('text after the value');
  return value;
}

/** The value of keyword key `:name` in an EDN map, or undefined. */
export function ednGet(map: Edn, name: string): Edn | undefined {
  if (map.tag !== 'map') return undefined;
  for (const [k, v] of map.entries) {
    if (k.tag === 'keyword' && k.name === name) return v;
  }
  return undefined;
}

const DELIMITERS = new Set(['{', '}', '[', ']', '(', ')', '"', ',', ' ', '\t', '\n', '\r']);

class Reader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly line: number,
  ) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  fail(what: string): never {
    throw new HistoryFormatError(`EDN: ${what} at column ${this.pos + 1}`, this.line);
  }

  skipSpace(): void {
    while (!this.atEnd() && /[\s,]/.test(this.text[this.pos]!)) this.pos++;
  }

  value(): Edn {
    this.skipSpace();
    if (this.atEnd()) this.fail('unexpected end');
    const c = this.text[this.pos]!;
    switch (c) {
      case '{':
        return this.map();
      case '[':
        return { tag: 'vector', items: this.sequence(']') };
      case '(':
        return { tag: 'list', items: this.sequence(')') };
      case '"':
        return this.string();
      default:
        return this.atom();
    }
  }

  private sequence(close: string): Edn[] {
    this.pos++;
    const items: Edn[] = [];
    for (;;) {
      this.skipSpace();
      if (this.atEnd()) this.fail(`missing ${close}`);
      if (this.text[this.pos] === close) {
        this.pos++;
        return items;
      }
      items.push(this.value());
    }
  }

  private map(): Edn {
    const items = this.sequence('}');
    if (items.length % 2 !== 0) this.fail('a map needs an even number of forms');
    const entries: Array<readonly [Edn, Edn]> = [];
    for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
    return { tag: 'map', entries };
  }

  private string(): Edn {
    this.pos++;
    let out = '';
    for (;;) {
      if (this.atEnd()) this.fail('unterminated string');
      const c = this.text[this.pos++]!;
      if (c === '"') return { tag: 'string', value: out };
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = this.text[this.pos++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '"':
        case '\\':
          out += e;
          break;
        default:
          this.fail(`unknown escape \\${e ?? ''}`);
      }
    }
  }

  private atom(): Edn {
    const start = this.pos;
    while (!this.atEnd() && !DELIMITERS.has(this.text[this.pos]!)) this.pos++;
    const token = this.text.slice(start, this.pos);
    if (token === '') this.fail(`unexpected ${this.text[this.pos]}`);
    if (token === 'nil') return { tag: 'nil' };
    if (token === 'true' || token === 'false') return { tag: 'bool', value: token === 'true' };
    if (token.startsWith(':')) return { tag: 'keyword', name: token.slice(1) };
    if (/^[-+]?\d+$/.test(token)) {
      const value = Number(token);
      if (!Number.isSafeInteger(value)) this.fail(`integer ${token} is out of range`);
      return { tag: 'int', value };
    }
    return { tag: 'symbol', name: token };
  }
}
