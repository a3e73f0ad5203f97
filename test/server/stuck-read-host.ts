// A server whose store reads of `latest` block in the kernel once it is ready — as a read on a hung network file
// system does — for the test of its exit: the injected read opens a FIFO nobody writes to the blocking way, which holds
// one of libuv's threadpool threads that process.exit() then waits for. Arguments: the store folder, the FIFO's path.
// Prints READY on stderr once serving, STUCK when a read has blocked; logs on stdout.
import { promises as fs } from "node:fs";
import { nodeLocalIo } from "../../src/artifact/local-store.js";
import { startServer } from "../../src/server/server.js";

const [dir, fifo] = process.argv.slice(2);
let armed = false;
await startServer({
  model: dir,
  port: 0,
  host: "127.0.0.1",
  pollInterval: 0.05,
  workers: 0,
  shutdownGraceMs: 0,
  shutdownTimeoutMs: 500,
  storeOptions: {
    localIo: {
      ...nodeLocalIo,
      async readFile(path) {
        if (armed && path.endsWith("latest")) {
          process.stderr.write("STUCK\n");
          await fs.readFile(fifo);
        }
        return nodeLocalIo.readFile(path);
      },
    },
  },
});
armed = true;
process.stderr.write("READY\n");
