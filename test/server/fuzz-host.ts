// The fuzz test's servers: one per store named on the command line, all in this one process, each on a port of its
// own. The test drives them from another process, so that a request that hung this one would be seen, not shared.
// Heavy requests (the fuzz's larger densities) run on the event loop between the others (workers: 0), through the same
// admission as on workers: a worker thread started from the TypeScript sources takes seconds to boot on a loaded
// machine, which the test's one-second bound on every answer would count.
import { startServer } from "../../src/server/server.js";

const urls: string[] = [];
for (const dir of process.argv.slice(2)) {
  const server = await startServer({ model: dir, port: 0, host: "127.0.0.1", pollInterval: 0, handleSignals: false, logLevel: "silent", workers: 0 });
  urls.push(server.url);
}
process.stdout.write(`READY ${JSON.stringify(urls)}\n`);
