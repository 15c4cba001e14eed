/**
 * A small SVG writer for the charts: rectangles, lines, polylines, dots and text, in user units
 * (pixels) from the top left, collected into one standalone SVG 1.1 document.
 *
 * Text is set in the viewer's generic sans-serif font, so its exact width is unknown here;
 * `textWidth` is an estimate, enough to lay out legends and to decide whether a label fits.
 * Everything that comes from outside the chart code (titles, topic names, system labels) is
 * XML-escaped on the way out, and characters XML 1.0 cannot hold are replaced.
 */

/** A CSS colour, e.g. `#1f77b4`. */
export type Colour = string;

export type Anchor = 'start' | 'middle' | 'end';

export interface TextStyle {
  readonly colour: Colour;
  /** Pixels. */
  readonly size?: number;
  /** Which point of the text `x` names; `y` is always its baseline. */
  readonly anchor?: Anchor;
  readonly bold?: boolean;
}

export const FONT_FAMILY = 'sans-serif';
export const FONT_SIZE_DEFAULT = 12;
/** An average sans-serif character's advance as a fraction of the font size, rounded up. */
const CHAR_WIDTH_EM = 0.6;
/** Coordinates are written with this many decimals: finer than any screen shows. */
const COORD_DECIMALS = 1;

/** The estimated width of `s` at `size` (see the module comment). */
export function textWidth(s: string, size = FONT_SIZE_DEFAULT): number {
  return [...s].length * size * CHAR_WIDTH_EM;
}

/**
 * `s` as XML character data or an attribute value: the five markup characters become entities,
 * and control characters and lone surrogates (which no XML document may contain) become U+FFFD.
 */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export class Svg {
  private readonly body: string[] = [];
  private depth = 0;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Colour = '#ffffff',
  ) {
    this.rect(0, 0, width, height, background);
  }

  rect(x: number, y: number, w: number, h: number, fill: Colour, opacity = 1): void {
    this.element('rect', { x: num(x), y: num(y), width: num(Math.max(0, w)), height: num(Math.max(0, h)), fill, ...fillOpacity(opacity) });
  }

  line(x0: number, y0: number, x1: number, y1: number, stroke: Colour, width = 1): void {
    this.element('line', { x1: num(x0), y1: num(y0), x2: num(x1), y2: num(y1), stroke, 'stroke-width': num(width) });
  }

  /** Joined points; at least two (a single point is a `dot`). */
  polyline(points: ReadonlyArray<readonly [number, number]>, stroke: Colour, width = 1): void {
    if (points.length < 2) throw new RangeError(`a polyline needs two points, not ${points.length}`);
    const list = points.map(([x, y]) => `${num(x)},${num(y)}`).join(' ');
    this.element('polyline', { points: list, fill: 'none', stroke, 'stroke-width': num(width), 'stroke-linejoin': 'round' });
  }

  dot(x: number, y: number, r: number, fill: Colour): void {
    this.element('circle', { cx: num(x), cy: num(y), r: num(r), fill });
  }

  text(x: number, y: number, s: string, style: TextStyle): void {
    const attrs: Record<string, string> = { x: num(x), y: num(y), 'font-size': num(style.size ?? FONT_SIZE_DEFAULT), fill: style.colour };
    if (style.anchor !== undefined && style.anchor !== 'start') attrs['text-anchor'] = style.anchor;
    if (style.bold === true) attrs['font-weight'] = 'bold';
    this.push(`<text${attributes(attrs)}>${escapeXml(s)}</text>`);
  }

  /** What `draw` adds, as one group whose `title` viewers show as a tooltip. */
  group(title: string, draw: () => void): void {
    this.push('<g>');
    this.depth++;
    this.push(`<title>${escapeXml(title)}</title>`);
    draw();
    this.depth--;
    this.push('</g>');
  }

  toString(): string {
    const open = `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}" font-family="${FONT_FAMILY}">`;
    return ['<?xml version="1.0" encoding="UTF-8"?>', open, ...this.body, '</svg>', ''].join('\n');
  }

  private element(name: string, attrs: Readonly<Record<string, string>>): void {
    this.push(`<${name}${attributes(attrs)}/>`);
  }

  private push(s: string): void {
    this.body.push(`${'  '.repeat(this.depth + 1)}${s}`);
  }
}

function attributes(attrs: Readonly<Record<string, string>>): string {
  return Object.entries(attrs)
    .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
    .join('');
}

function fillOpacity(opacity: number): Record<string, string> {
  return opacity === 1 ? {} : { 'fill-opacity': num(opacity) };
}

/** A coordinate as written; one that is not finite is a bug in the chart, not something to draw. */
function num(v: number): string {
  if (!Number.isFinite(v)) throw new RangeError(`SVG coordinate ${v} is not finite`);
  return String(Number(v.toFixed(COORD_DECIMALS + (Math.abs(v) < 1 ? 2 : 0))));
}
