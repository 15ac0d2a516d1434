/** Tokens and ACLs across a 3-member loopback cluster, under attack; the leader's term holds. */
import { TestCluster } from '../cluster/helpers.js';
import { ADMIN_DIGEST, SUPER, basic, req, snapshotState, until, zpath } from './support.js';
import { digestOf } from '../../src/auth/digest.js';

jest.setTimeout(120_000);

const ALICE = basic('alice', 'pw-alice');
const MALLORY = basic('mallory', 'pw');
let c: TestCluster;

beforeAll(async () => {
  c = await TestCluster.start(3, { args: ['--super-digest', ADMIN_DIGEST] });
  await until(() => req(c.base(1), 'GET', '/v1/cluster'), (r) => r.json?.leaderId != null, 30_000);
});
afterAll(async () => {
  for (const id of c?.running() ?? []) await c.procs.get(id)!.stop();
});

it('a token made on member 1 works on 2 and 3; revoked on 2, member 3 refuses it; ACLs hold everywhere; the term is unchanged', async () => {
  const term0 = (await req(c.base(1), 'GET', '/v1/cluster')).json.term;
  const t = await req(c.base(1), 'POST', '/v1/auth/tokens', { auth: ALICE, body: {} });
  expect(t.status).toBe(201);
  const zxid = t.headers.get('zgate-zxid');
  // ?minZxid waits before the token is looked up: one request suffices on each member.
  for (const id of [2, 3]) {
    const w = await req(c.base(id), 'GET', `/v1/auth/whoami?minZxid=${zxid}`, { auth: `Bearer ${t.json.token}` });
    expect({ id, status: w.status }).toEqual({ id, status: 200 });
    expect(w.json.ids).toContainEqual({ scheme: 'digest', id: 'alice' });
  }
  const del = await req(c.base(2), 'DELETE', `/v1/auth/tokens/${t.json.id}`, { auth: ALICE });
  expect(del.status).toBe(204);
  const dz = del.headers.get('zgate-zxid');
  const r3 = await req(c.base(3), 'GET', `/v1/auth/whoami?minZxid=${dz}`, { auth: `Bearer ${t.json.token}` });
  expect(r3.status).toBe(401);
  expect(r3.json.error.code).toBe('AuthFailed');
  const w1 = await req(c.base(1), 'PUT', zpath('/after-revoke'), { auth: `Bearer ${t.json.token}`, body: 'x' });
  expect(w1.status).toBe(401);

  // An ACL set through member 3 is enforced on 1 and 2.
  const mk = await req(c.base(3), 'PUT', zpath('/guarded'), { auth: SUPER, body: 'x', headers: { 'if-none-match': '*' } });
  expect(mk.status).toBe(201);
  const set = await req(c.base(3), 'PUT', zpath('/guarded') + '?acl=true', { auth: SUPER, body: { acl: [{ perms: 'cdrwa', scheme: 'digest', id: digestOf('alice', 'pw-alice') }] } });
  expect(set.status).toBe(200);
  const sz = set.headers.get('zgate-zxid');
  for (const id of [1, 2]) {
    const before = await snapshotState(c.base(id));
    await until(() => req(c.base(id), 'GET', zpath('/guarded') + `?acl=true&minZxid=${sz}`, { auth: SUPER }), (r) => r.json?.stat?.aversion === 1, 5000);
    const g = await req(c.base(id), 'GET', zpath('/guarded') + `?minZxid=${sz}`, { auth: MALLORY });
    expect({ id, status: g.status }).toEqual({ id, status: 403 });
    expect((await req(c.base(id), 'PUT', zpath('/guarded'), { auth: MALLORY, body: 'evil' })).status).toBe(403);
    expect((await req(c.base(id), 'DELETE', zpath('/guarded/kid'), { auth: MALLORY })).status).toBe(403); // DELETE is checked on the parent
    expect((await req(c.base(id), 'PUT', zpath('/guarded') + '?acl=true', { auth: MALLORY, body: { acl: [{ perms: 'cdrwa', scheme: 'world', id: 'anyone' }] } })).status).toBe(403);
    expect((await req(c.base(id), 'GET', zpath('/'), { auth: 'Bearer zgt_AAAAAAAAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB' })).status).toBe(401);
    expect((await req(c.base(id), 'GET', zpath('/guarded'), { auth: ALICE })).status).toBe(200);
    expect(await snapshotState(c.base(id))).toEqual(before);
  }
  for (const id of [1, 2, 3]) expect((await req(c.base(id), 'GET', '/v1/cluster')).json.term).toBe(term0);
});
