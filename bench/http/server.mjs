// Owns one benchmark server process: opens one driver on one database file, serves the routes of
// routes.mjs on 127.0.0.1 with one framework, and talks to the benchmark over IPC.
//
//   node bench/http/server.mjs --driver=litepool --framework=node --file=/tmp/…/bench.db
//
// Messages: sends {type:'ready', port} once listening; answers {type:'stats'} with its CPU time
// and event-loop utilization so far ({type:'stats', cpuSeconds, elu, rssBytes}); on {type:'stop'}
// closes the server and the database and exits.

import { performance } from 'node:perf_hooks';

import { loadDriver } from './drivers/index.mjs';
import { loadFramework } from './frameworks/index.mjs';
import { routes } from './routes.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));

async function main() {
  if (!process.send) throw new Error('server.mjs runs as a child of bench/http/run.mjs (IPC channel required)');
  const driver = await loadDriver(args.driver);
  const framework = await loadFramework(args.framework);
  const conn = await driver.open(args.file);
  const server = await framework.start(routes(conn));
  const stats = () => {
    const cpu = process.cpuUsage();
    return {
      type: 'stats',
      cpuSeconds: (cpu.user + cpu.system) / 1e6,
      elu: performance.eventLoopUtilization(),
      rssBytes: process.memoryUsage.rss(),
    };
  };
  process.on('message', async (message) => {
    if (message?.type === 'stats') process.send(stats());
    else if (message?.type === 'stop') {
      await server.close();
      await conn.close();
      process.send({ type: 'stopped' }, () => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send({ type: 'ready', port: server.port, pid: process.pid });
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
