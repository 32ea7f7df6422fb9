import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodePageToken, encodePageToken, pageAfter, pageSize, PageRequestError, PROXY_PAGE } from './paging.ts';

test('page_size: 0 is the default, more than the max is the max', () => {
  assert.is(pageSize(0, PROXY_PAGE), PROXY_PAGE.default);
  assert.is(pageSize(7, PROXY_PAGE), 7);
  assert.is(pageSize(PROXY_PAGE.max + 1, PROXY_PAGE), PROXY_PAGE.max);
});

test('a token round-trips; an empty one is the first page', () => {
  const token = encodePageToken({ k: 'versions', q: '', group: 'ns/gw', version: 'abc', seq: 12 });
  assert.match(token, /^[A-Za-z0-9_-]+$/);
  assert.equal(decodePageToken('versions', token), { k: 'versions', q: '', group: 'ns/gw', version: 'abc', seq: 12 });
  assert.is(decodePageToken('events', ''), undefined);
});

test('a bad token is refused with what to do', () => {
  const refused = (call: 'proxies' | 'versions' | 'events', text: string): string => {
    try {
      decodePageToken(call, text);
    } catch (error) {
      assert.instance(error, PageRequestError);
      return (error as Error).message;
    }
    throw new Error(`${text} was accepted`);
  };
  assert.match(refused('events', 'not a token!'), /not base64url.*send the next_page_token of the previous ListEvents answer unchanged/);
  assert.match(refused('events', Buffer.from('{oops').toString('base64url')), /does not decode/);
  assert.match(refused('events', encodePageToken({ k: 'proxies', after: 'p' })), /belongs to ListProxies, not ListEvents/);
  assert.match(refused('events', Buffer.from('{"k":"events","next":"7"}').toString('base64url')), /damaged/);
  assert.match(refused('events', Buffer.from('{"k":"events","next":0}').toString('base64url')), /damaged/);
  assert.match(refused('proxies', Buffer.from('[1]').toString('base64url')), /is not a page token/);
});

test('pageAfter goes on after the last key seen, whatever was added before it', () => {
  const ids = ['a', 'c', 'e', 'g'];
  const first = pageAfter(ids, (x) => x, '', 2);
  assert.equal(first, { items: ['a', 'c'], more: true });
  const grown = ['a', 'b', 'c', 'd', 'e', 'g'];
  assert.equal(pageAfter(grown, (x) => x, 'c', 2), { items: ['d', 'e'], more: true });
  assert.equal(pageAfter(grown, (x) => x, 'e', 2), { items: ['g'], more: false });
  // The last key seen went away meanwhile: the next one after it.
  assert.equal(pageAfter(['a', 'e'], (x) => x, 'c', 2), { items: ['e'], more: false });
});

test.run();
