/**
 * The web console, on every node's HTTP listener: its pages under `/ui/` (static files, ui/,
 * copied beside this module by `npm run build`; uPlot from its package under `/ui/vendor/`) and
 * their JSON API under `/api/` (api.ts).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HttpRoute } from '../server/http.js';
import { apiRoute, type ConsoleNode } from './api.js';
import type { MetricSamples } from './samples.js';

/** Where the console's pages are: `ui/` beside the compiled module (the build copies src/console/ui there). */
const UI_DIR = fileURLToPath(new URL('./ui/', import.meta.url));
const require = createRequire(import.meta.url);
/** The chart library's files, served as they ship in its package. */
const VENDOR: Readonly<Record<string, string>> = {
  'uPlot.esm.js': require.resolve('uplot/dist/uPlot.esm.js'),
  'uPlot.min.css': require.resolve('uplot/dist/uPlot.min.css'),
};

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** A file name the console serves: letters, digits, '.', '_' and '-', no folder. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function serveFile(res: http.ServerResponse, file: string): void {
  let body: Buffer;
  try {
    body = fs.readFileSync(file);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found${fs.existsSync(UI_DIR) ? '' : ': the console was not built (npm run build copies src/console/ui)'}\n`);
    return;
  }
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(body);
}

function uiRoute(): HttpRoute {
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain' }).end('only GET is served here\n');
      return;
    }
    const url = (req.url ?? '').split('?')[0]!;
    if (url === '/ui') {
      res.writeHead(302, { location: '/ui/' }).end();
      return;
    }
    const rest = url.slice('/ui/'.length);
    if (rest === '') return serveFile(res, path.join(UI_DIR, 'index.html'));
    const vendor = /^vendor\/(.+)$/.exec(rest);
    if (vendor !== null) {
      const file = VENDOR[vendor[1]!];
      if (file === undefined) res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      else serveFile(res, file);
      return;
    }
    if (!FILE_NAME.test(rest)) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    serveFile(res, path.join(UI_DIR, rest));
  };
}

/** The console's routes for the node's HTTP listener (src/server/http.ts). */
export function consoleRoutes(node: ConsoleNode, samples: MetricSamples): Map<string, HttpRoute> {
  const ui = uiRoute();
  return new Map<string, HttpRoute>([
    ['/ui', ui],
    ['/ui/', ui],
    ['/api/', apiRoute(node, samples)],
  ]);
}
