// The Node stack the static servers replace, as a benchmark peer: express with /healthz and
// express.static. Nothing from npm: express comes from Debian's node-express package
// (NODE_PATH=/usr/share/nodejs). One worker per core (cluster.js).
'use strict';
const serve = require('./cluster');

serve(() => {
  const express = require('express');
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => res.type('text/plain').send('1'));
  app.use(express.static(process.env.SITE_DIR || '.'));
  return app;
});
