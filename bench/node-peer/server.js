// The Node stack the Rust services replace, as a benchmark peer: express with /healthz and
// express.static. Nothing from npm: express comes from Debian's node-express package
// (NODE_PATH=/usr/share/nodejs). One worker per core via node:cluster, so it gets the same CPUs
// as marketing-server and nginx (NODE_WORKERS overrides).
'use strict';
const cluster = require('node:cluster');
const os = require('node:os');

const port = Number(process.env.PORT || 3000);
const host = process.env.HOST || '127.0.0.1';
const siteDir = process.env.SITE_DIR || '.';
const workers = Number(process.env.NODE_WORKERS || os.availableParallelism());

if (cluster.isPrimary && workers > 1) {
  for (let i = 0; i < workers; i++) cluster.fork();
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => res.type('text/plain').send('1'));
  app.use(express.static(siteDir));
  const server = app.listen(port, host);
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
}
