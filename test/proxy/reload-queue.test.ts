import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ReloadQueue } from '../../src/proxy/reload-queue.js';

test('a reload that throws is reported with its reason, and the reload asked for meanwhile still runs', async () => {
  const ran: string[] = [];
  const failures: Array<[string, string]> = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const queue = new ReloadQueue(
    async (reason) => {
      ran.push(reason);
      if (reason === 'SIGHUP') {
        await first;
        throw new TypeError('broken');
      }
    },
    (err, reason) => failures.push([(err as Error).message, reason]),
  );
  queue.request('SIGHUP');
  queue.request('certificate files changed');
  release();
  for (let i = 0; i < 50 && ran.length < 2; i++) await new Promise((r) => setImmediate(r));
  assert.deepEqual(failures, [['broken', 'SIGHUP']]);
  assert.deepEqual(ran, ['SIGHUP', 'certificate files changed']);
});
