#!/usr/bin/env node
// The client library's browser build: one ES module, dist/client/zgate-client.browser.js, from
// src/client/index.ts. websocket-node.ts (which may import the `ws` package) is swapped for
// websocket-browser.ts, and any Node import left would fail the build, so the module uses only
// the platform's fetch and WebSocket. zgate serves it at /examples/zgate-client.js.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const browserSocket = join(root, 'src', 'client', 'websocket-browser.ts');

const browserOnly = {
  name: 'browser-only',
  setup(b) {
    b.onResolve({ filter: /websocket-node\.js$/ }, () => ({ path: browserSocket }));
    b.onResolve({ filter: /^(node:|ws$)/ }, (args) => ({ errors: [{ text: `${args.path} is a Node import, imported by ${args.importer}: the browser build must not need it` }] }));
  },
};

await build({
  entryPoints: [join(root, 'src', 'client', 'index.ts')],
  outfile: join(root, 'dist', 'client', 'zgate-client.browser.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  legalComments: 'none',
  banner: { js: '// zgate client library, browser build (ES module). Source: src/client/; README "Client library".' },
  plugins: [browserOnly],
  logLevel: 'warning',
});
