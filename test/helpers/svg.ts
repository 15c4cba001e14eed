/**
 * A strict reader for the charts' SVG, for tests: the XML subset our writer (chaos/plot/svg.ts)
 * emits, an optional declaration, elements with double-quoted attributes, character data and the
 * five named entities. Anything else (an unclosed or mismatched tag, a bare `<` or `&`, a second
 * root) throws, so a test that reads a chart fails when the chart is not well-formed.
 */

export interface XmlElement {
  readonly name: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly XmlElement[];
  /** The element's own character data, entities decoded. */
  readonly text: string;
}

const NAME = /[A-Za-z_][\w.:-]*/y;
const ATTR = /\s+([A-Za-z_][\w.:-]*)="([^"<]*)"/y;
const ENTITY = /&(amp|lt|gt|quot|apos);|&/g;
const DECODED: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

export function parseXml(doc: string): XmlElement {
  let at = 0;
  const decl = /^<\?xml [^?]*\?>\s*/.exec(doc);
  if (decl !== null) at = decl[0].length;
  const fail = (why: string): never => {
    throw new Error(`not well-formed at ${at}: ${why}: ${JSON.stringify(doc.slice(at, at + 40))}`);
  };
  const decode = (s: string): string =>
    s.replace(ENTITY, (_match, name: string | undefined) => (name === undefined ? fail(`a bare & in ${JSON.stringify(s)}`) : DECODED[name]!));

  const element = (): XmlElement => {
    if (doc[at] !== '<') fail('expected a tag');
    at++;
    NAME.lastIndex = at;
    const name = NAME.exec(doc)?.[0] ?? fail('expected a tag name');
    at += name.length;
    const attrs: Record<string, string> = {};
    for (;;) {
      ATTR.lastIndex = at;
      const a = ATTR.exec(doc);
      if (a === null) break;
      if (a[1]! in attrs) fail(`attribute ${a[1]} twice`);
      attrs[a[1]!] = decode(a[2]!);
      at += a[0].length;
    }
    if (doc.startsWith('/>', at)) {
      at += 2;
      return { name, attrs, children: [], text: '' };
    }
    if (doc[at] !== '>') fail(`expected the end of <${name}>`);
    at++;
    const children: XmlElement[] = [];
    let text = '';
    for (;;) {
      const lt = doc.indexOf('<', at);
      if (lt < 0) fail(`<${name}> is not closed`);
      text += decode(doc.slice(at, lt));
      at = lt;
      if (doc.startsWith('</', at)) {
        const close = `</${name}>`;
        if (!doc.startsWith(close, at)) fail(`expected ${close}`);
        at += close.length;
        // Indentation between child elements is not text.
        return { name, attrs, children, text: children.length > 0 ? text.trim() : text };
      }
      children.push(element());
    }
  };

  const root = element();
  if (doc.slice(at).trim() !== '') fail('content after the root element');
  return root;
}

/** Every element below `e` (depth first, in document order) that `match` accepts. */
export function findAll(e: XmlElement, match: (x: XmlElement) => boolean): XmlElement[] {
  return e.children.flatMap((c) => [...(match(c) ? [c] : []), ...findAll(c, match)]);
}

/** The `<g>` whose `<title>` is `title`; throws unless there is exactly one. */
export function groupTitled(root: XmlElement, title: string): XmlElement {
  const found = findAll(root, (x) => x.name === 'g' && x.children[0]?.name === 'title' && x.children[0].text === title);
  if (found.length !== 1) throw new Error(`${found.length} groups titled ${JSON.stringify(title)}`);
  return found[0]!;
}

/** The points of a `<polyline>`, as numbers. */
export function polylinePoints(e: XmlElement): Array<[number, number]> {
  return (e.attrs.points ?? '').split(' ').map((p) => {
    const [x, y] = p.split(',').map(Number);
    return [x!, y!];
  });
}
