import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { randomHex, randomUuid } from '../../src/telemetry/random-ids.js';

describe('random ids', () => {
  test('trace and span ids are distinct lower-case hex of the asked length, across pool refills', () => {
    const seen = new Set<string>();
    // 600 rounds of 24 bytes take the 4 KiB pool through several refills.
    for (let i = 0; i < 600; i++) {
      const span = randomHex(8);
      const trace = randomHex(16);
      assert.match(span, /^[0-9a-f]{16}$/);
      assert.match(trace, /^[0-9a-f]{32}$/);
      assert.notEqual(span, '0'.repeat(16));
      seen.add(span).add(trace);
    }
    assert.equal(seen.size, 1200);
  });

  test('UUIDs stay distinct and well-formed across batches and pool refills, interleaved with other ids', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 500; i++) {
      ids.add(randomUuid());
      randomHex(16);
    }
    assert.equal(ids.size, 500);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });
});
