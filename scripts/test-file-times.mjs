// A node:test reporter: each test file's wall time (its first to its last event), slowest first.
// scripts/test.sh writes it to dist/test-times-*.txt, to find where a run's minutes go.
export default async function* fileTimes(source) {
  const spans = new Map();
  for await (const event of source) {
    const file = event.data?.file;
    // Every file is enqueued when the run starts: its span begins when it is taken off the queue.
    if (!file || event.type === 'test:enqueue') continue;
    const now = Date.now();
    const s = spans.get(file);
    if (s) s.last = now;
    else spans.set(file, { first: now, last: now });
  }
  const rows = [...spans].map(([f, s]) => [s.last - s.first, f]).sort((a, b) => b[0] - a[0]);
  let total = 0;
  for (const [ms] of rows) total += ms;
  yield `files ${rows.length}, summed ${(total / 1000).toFixed(0)} s\n`;
  for (const [ms, f] of rows) yield `${(ms / 1000).toFixed(1).padStart(7)} s  ${f}\n`;
}
