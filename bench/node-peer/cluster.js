// One worker per core via node:cluster (NODE_WORKERS overrides), so a Node peer gets the same
// CPUs as our servers and nginx. `serve(makeApp)` forks in the primary and, in each worker,
// listens on HOST:PORT with the express app `makeApp()` returns; SIGTERM stops it.
'use strict';
const cluster = require('node:cluster');
const os = require('node:os');

module.exports = function serve(makeApp, onStop = async () => {}) {
  const port = Number(process.env.PORT || 3000);
  const host = process.env.HOST || '127.0.0.1';
  const workers = Number(process.env.NODE_WORKERS || os.availableParallelism());
  if (cluster.isPrimary && workers > 1) {
    for (let i = 0; i < workers; i++) cluster.fork();
    const stop = () => {
      for (const w of Object.values(cluster.workers)) w.kill('SIGTERM');
      process.exit(0);
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const server = makeApp().listen(port, host);
  process.on('SIGTERM', () => server.close(() => onStop().finally(() => process.exit(0))));
};
