// Preloaded (NODE_OPTIONS=--require) into every node process of a job whose peak RSS the bench measures:
// at exit, appends one JSON line {pid, maxRssKiB, argv} to the file named by TAPEGRAD_RSS_LOG.
const { appendFileSync } = require("node:fs");
const { isMainThread } = require("node:worker_threads");

const log = process.env.TAPEGRAD_RSS_LOG;
if (log && isMainThread) {
  process.on("exit", () => {
    const line = { pid: process.pid, maxRssKiB: process.resourceUsage().maxRSS, argv: process.argv.slice(1) };
    appendFileSync(log, `${JSON.stringify(line)}\n`);
  });
}
