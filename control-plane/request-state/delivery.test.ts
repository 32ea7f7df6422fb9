import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { peerAddress, requestStateKeyDelivery } from './delivery.ts';

const verified = { transportSecurityType: 'ssl', sslPeerCertificate: { subject: { CN: 'proxy' } } };

test('keys go over mTLS (a verified client certificate), from anywhere', () => {
  assert.equal(requestStateKeyDelivery('10.1.2.3:51234', verified), { send: true, via: 'mtls' });
  assert.equal(requestStateKeyDelivery('[2001:db8::1]:51234', verified), { send: true, via: 'mtls' });
});

test('keys go to a loopback peer in plaintext: 127.0.0.0/8, ::1, IPv4-mapped loopback', () => {
  for (const peer of ['127.0.0.1:40000', '127.8.9.10:1', '::1:40000', '[::1]:40000', '::ffff:127.0.0.1:40000', '::1']) {
    assert.equal(requestStateKeyDelivery(peer, {}), { send: true, via: 'loopback' }, peer);
  }
});

test('a plaintext stream off loopback never gets keys, and says why', () => {
  for (const peer of ['10.0.0.5:40000', '192.0.2.2:1', '[fd00::2]:40000', 'fd00::2:40000', '::ffff:10.0.0.1:5', 'unknown', '', 'localhost:5', '128.0.0.1:5']) {
    const delivery = requestStateKeyDelivery(peer, {});
    assert.is(delivery.send, false, peer);
    if (!delivery.send) assert.match(delivery.reason, /plaintext and not on loopback/);
  }
  assert.is(requestStateKeyDelivery('10.0.0.5:1', null).send, false);
});

test('TLS without a verified client certificate is not mTLS', () => {
  const delivery = requestStateKeyDelivery('10.0.0.5:40000', { transportSecurityType: 'ssl' });
  assert.is(delivery.send, false);
  if (!delivery.send) assert.match(delivery.reason, /without a verified client certificate/);
  assert.equal(requestStateKeyDelivery('127.0.0.1:40000', { transportSecurityType: 'ssl' }), { send: true, via: 'loopback' });
});

test('peer addresses as grpc-js writes them', () => {
  assert.is(peerAddress('127.0.0.1:5'), '127.0.0.1');
  assert.is(peerAddress('::1:5000'), '::1', 'the last colon separates the port');
  assert.is(peerAddress('[fe80::1]:5'), 'fe80::1');
  assert.is(peerAddress('10.0.0.1'), '10.0.0.1');
  assert.is(peerAddress('unknown'), undefined);
  assert.is(peerAddress('[nonsense]:5'), undefined);
});

test.run();
