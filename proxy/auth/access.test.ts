import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AccessRule } from '../../shared/config/types.ts';
import { AccessPolicy } from './access.ts';
import type { Principal } from './authenticator.ts';

const rule = (name: string, fields: Partial<AccessRule>): AccessRule => ({ name, effect: 'allow', subjects: [], groups: [], scopes: [], tools: [], targets: [], ...fields });
const alice: Principal = { id: 'jwt:i#alice', subject: 'alice', claims: { groups: ['ops'], scope: 'mcp:read mcp:write' } };
const bob: Principal = { id: 'jwt:i#bob', subject: 'bob', claims: { scp: ['mcp:read'] } };

const policy = new AccessPolicy({
  rules: [
    rule('ops-everything', { groups: ['ops'] }),
    rule('readers-weather', { scopes: ['mcp:read'], targets: ['weather'] }),
    rule('readers-echo-tool', { subjects: ['bob'], tools: ['everything_echo'] }),
    rule('nobody-deletes', { effect: 'deny', tools: ['*_delete*'] }),
  ],
});

test('allow by group, scope (scope or scp) or subject; deny wins; nothing matching is default-deny', () => {
  const a = policy.for(alice);
  const b = policy.for(bob);
  assert.equal(a.tool('everything_add', 'everything'), { allowed: true });
  assert.equal(a.tool('weather_delete-alert', 'weather'), { allowed: false, rule: 'nobody-deletes' });
  assert.equal(b.tool('weather_forecast', 'weather'), { allowed: true });
  assert.equal(b.tool('everything_echo', 'everything'), { allowed: true });
  assert.equal(b.tool('everything_add', 'everything'), { allowed: false, rule: 'default-deny' });
  assert.equal(b.target('weather'), { allowed: true });
  assert.equal(b.target('everything'), { allowed: false, rule: 'default-deny' }, 'a tool rule does not open the target\'s prompts and resources');
  assert.equal(policy.for(undefined).tool('everything_echo', 'everything'), { allowed: false, rule: 'default-deny' }, 'anonymous matches only rules without principals');
  assert.is(b.toolFilter().allows('weather_forecast'), true, 'the target is taken from a prefixed name');
  assert.is(b.toolFilter().allows('everything_add', 'everything'), false);
});

test.run();
