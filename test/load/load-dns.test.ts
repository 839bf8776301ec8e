import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { LookupAll } from '../../src/load/fortio-dns.js';
import { fortioResult, type FortioResult } from '../../src/load/fortio-json.js';
import { parseLoadArgs } from '../../src/load/load-options.js';
import { runLoad } from '../../src/load/load-runner.js';
import { bulwark } from './load-support.js';

/** A name with both loopback addresses, IPv6 first (as getaddrinfo orders them), filtered by family as the system's lookup does. */
const dualStackLookup: LookupAll = async (host, family) => {
  assert.equal(host, 'dual.test');
  return [{ address: '::1', family: 6 }, { address: '127.0.0.1', family: 4 }].filter((a) => family === 0 || a.family === family);
};

/** Runs 4 calls on one connection per call (or kept, with extra flags) and returns which addresses they dialled. */
async function peersOf(port: number, flags: string[]): Promise<FortioResult['IPCountMap']> {
  const o = parseLoadArgs(['-quiet', '-qps', '0', '-c', '1', '-n', '4', ...flags, `http://dual.test:${port}/`]);
  const r = await runLoad(o, { lookupAll: dualStackLookup });
  const result = fortioResult(o, r.recorder, r.startTime, r.actualDurationMs);
  assert.deepEqual(result.RetCodes, { '200': 4 });
  return result.IPCountMap;
}

test('-resolve-ip-type, -dns-method and -no-reresolve pick the address each new connection dials, as Fortio resolves', async () => {
  // Listening on :: takes both loopback addresses.
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '::', r));
  const port = (server.address() as AddressInfo).port;
  const v4 = `127.0.0.1:${port}`;
  const v6 = `[::1]:${port}`;
  try {
    // Fortio's default: IPv4 only.
    assert.deepEqual(await peersOf(port, ['-keepalive=false']), { [v4]: 4 });
    assert.deepEqual(await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip6']), { [v6]: 4 });
    // Both families: cached-rr (the default) hands out the first lookup's addresses in turn, rr looks up each time and does too.
    assert.deepEqual(await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip']), { [v6]: 2, [v4]: 2 });
    assert.deepEqual(await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip', '-dns-method', 'rr']), { [v6]: 2, [v4]: 2 });
    assert.deepEqual(await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip', '-dns-method', 'first']), { [v6]: 4 });
    const rnd = await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip', '-dns-method', 'rnd']);
    assert.equal((rnd[v6] ?? 0) + (rnd[v4] ?? 0), 4);
    // -no-reresolve: every connection of a client goes to its first address.
    assert.deepEqual(await peersOf(port, ['-keepalive=false', '-resolve-ip-type', 'ip', '-no-reresolve']), { [v6]: 4 });
    // A kept connection is resolved once.
    assert.deepEqual(await peersOf(port, ['-resolve-ip-type', 'ip']), { [v6]: 1 });
  } finally {
    server.close();
  }
});

test('the DNS flags from the command line: localhost as IPv4, a -dns-method Fortio refuses, a -resolve-ip-type Go does not know', async () => {
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    const run = await bulwark(['load', '-qps', '0', '-c', '1', '-n', '3', '-keepalive=false', '-resolve-ip-type', 'ip4', '-dns-method', 'first', '-no-reresolve', '-json', '-', `http://localhost:${port}/`]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual((JSON.parse(run.stdout) as FortioResult).IPCountMap, { [`127.0.0.1:${port}`]: 3 });
    const badMethod = await bulwark(['load', '-dns-method', 'random', `http://localhost:${port}/`]);
    assert.equal(badMethod.code, 2);
    assert.match(badMethod.stderr, /invalid value "random" for flag -dns-method: invalid value for dns method, should be one of cached-rr, first, rnd or rr/);
    const badType = await bulwark(['load', '-n', '1', '-resolve-ip-type', 'ipx', `http://localhost:${port}/`]);
    assert.equal(badType.code, 1);
    assert.match(badType.stderr, /Aborting because of unknown network ipx/);
  } finally {
    server.close();
  }
});
