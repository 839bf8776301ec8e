import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientAddress, isInternalAddress } from '../../src/proxy/http/client-address.js';

// The six examples of Envoy's x-forwarded-for documentation, and the fall-backs it names.
describe('trusted client address (x-forwarded-for, xffNumTrustedHops)', () => {
  const xff3 = '203.0.113.128, 203.0.113.10, 203.0.113.1';
  const xff4 = `${xff3}, 192.0.2.5`;

  test('edge proxy without trusted proxies in front: the peer, whatever the header says', () => {
    assert.deepEqual(clientAddress('192.0.2.5', xff3, true, 0), { address: '192.0.2.5', internal: false });
  });

  test('internal proxy behind that edge: the last address of the list', () => {
    assert.deepEqual(clientAddress('10.11.12.13', xff4, false, 0), { address: '192.0.2.5', internal: false });
  });

  test('edge proxy with two trusted proxies in front: the 2nd address from the right', () => {
    assert.deepEqual(clientAddress('192.0.2.5', xff3, true, 2), { address: '203.0.113.10', internal: false });
  });

  test('internal proxy behind that edge, two trusted hops: the 3rd address from the right', () => {
    assert.deepEqual(clientAddress('10.11.12.13', xff4, false, 2), { address: '203.0.113.10', internal: false });
  });

  test('an internal client without a header is not internal origin to an internal proxy; one proxied by another is', () => {
    assert.deepEqual(clientAddress('10.20.30.40', undefined, false, 0), { address: '10.20.30.40', internal: false });
    assert.deepEqual(clientAddress('10.20.30.50', '10.20.30.40', false, 0), { address: '10.20.30.40', internal: true });
  });

  test('at the edge, internal means an internal peer and no header', () => {
    assert.equal(clientAddress('10.0.0.7', undefined, true, 0).internal, true);
    assert.equal(clientAddress('10.0.0.7', '10.0.0.6', true, 0).internal, false);
    assert.equal(clientAddress('198.51.100.7', undefined, true, 0).internal, false);
  });

  test('a list shorter than the trusted hops, or an entry that is no IP address, falls back to the peer', () => {
    assert.equal(clientAddress('192.0.2.5', '203.0.113.1', true, 2).address, '192.0.2.5');
    assert.equal(clientAddress('10.1.1.1', '203.0.113.1', false, 1).address, '10.1.1.1');
    assert.equal(clientAddress('10.1.1.1', 'evil, 203.0.113.1', false, 1).address, '10.1.1.1');
    assert.equal(clientAddress('10.1.1.1', 'unknown', false, 0).address, '10.1.1.1');
    assert.equal(clientAddress('10.1.1.1', '2001:db8::1', false, 0).address, '2001:db8::1');
  });

  test('internal ranges: RFC 1918, loopback, unique-local IPv6, IPv4-mapped', () => {
    for (const a of ['10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '127.0.0.1', '::1', 'fd12:3456::1', '::ffff:10.0.0.1']) assert.equal(isInternalAddress(a), true, a);
    for (const a of ['172.32.0.1', '172.15.0.1', '192.169.0.1', '8.8.8.8', '2001:db8::1', 'fd::1', 'fe80::1', 'not-an-ip', '']) assert.equal(isInternalAddress(a), false, a);
  });
});
