'use strict';

// Tests for callsign.js with a fake `wx` global and a controllable clock.
// Run: node --test examples/miniprogram/ (or go test ./examples/miniprogram/).

const test = require('node:test');
const assert = require('node:assert/strict');
const { createClient, CallsignError } = require('./callsign.js');

const BASE = 'https://callsign.example.com';

// Realistic-looking credentials, so the redaction checks mean something.
const SESSION_1 = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3eF9hbGljZSIsIm4iOjF9.c2Vzc2lvbi1vbmUtc2lnbmF0dXJl';
const SESSION_2 = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ3eF9hbGljZSIsIm4iOjJ9.c2Vzc2lvbi10d28tc2lnbmF0dXJl';
const SIG_1 = 'eAEAqwBU-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoid3hfYWxpY2UifQ__';
const SIG_2 = 'eAEAqwBU-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoid3hfYWxpY2UiLCJuIjoyfQ__';
const PMK = 'eAEA-wAA-3siVExTLnZlciI6IjIuMCIsInVzZXJidWYiOiJBUUFGWVd4cCJ9';
const CALL_TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJhdWQiOiJjYWxsc2lnbjpjYWxsIiwiam0aSI6ImNfMSJ9.Y2FsbC10b2tlbi1zaWduYXR1cmU';
const CODE_1 = '0a3bcdEF0ghIJk1lmNOpq2rsTUv3wxYz';
const CODE_2 = '0b9zyxWV8utSRq7ponMLk6jiHGf5edCb';

function userSigData(userSig, expiresAt, refreshAfter) {
  return { sdkAppID: 1400000000, userID: 'wx_alice', userSig, expiresAt, ttlSeconds: 86400, refreshAfter };
}

function sessionData(token, expiresAt, userSig) {
  return {
    sessionToken: token, expiresAt, userID: 'wx_alice', sdkAppID: 1400000000, userSig,
    userSigExpiresAt: '2026-11-27T12:00:00Z', refreshAfter: '2026-11-27T07:12:00Z',
  };
}

const CALL = {
  callID: 'c_q6urq6urq6urq6urq6urqw', roomID: { str: 'c_-_v7-_v7-_v7-_v7-_v7-w' },
  privateMapKey: PMK, privileges: 63, callToken: CALL_TOKEN,
  expiresAt: '2026-11-26T14:00:00Z', inviteExpiresAt: '2026-11-26T12:02:00Z',
};
const JOINED = {
  callID: 'c_q6urq6urq6urq6urq6urqw', roomID: { str: 'c_-_v7-_v7-_v7-_v7-_v7-w' },
  privateMapKey: PMK, privileges: 62, expiresAt: '2026-11-26T14:00:05Z',
};

// clock returns a controllable `now` (milliseconds).
function clock(iso) {
  let t = Date.parse(iso);
  const now = () => t;
  now.set = (s) => { t = Date.parse(s); };
  now.advance = (ms) => { t += ms; };
  return now;
}

// deferred is a promise with its resolve exposed.
function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

// installWx puts a fake `wx` on globalThis. Each handler receives the
// recorded call and returns the outcome (or a promise of it):
//   request: {statusCode, data, header} or {fail: {errMsg}}
//   cloud:   {result} or {fail: {errMsg}}
//   login:   successive codes from `codes`, or {fail: {errMsg}}
function installWx(t, { request, cloud, codes = [CODE_1, CODE_2], loginFail } = {}) {
  const log = { requests: [], cloud: [], logins: 0 };
  const deliver = (outcome, opts) => Promise.resolve(outcome).then((o) => {
    if (o && o.fail) opts.fail(o.fail);
    else opts.success(o);
  });
  globalThis.wx = {
    request(opts) {
      log.requests.push({ url: opts.url, method: opts.method, header: { ...opts.header }, data: JSON.parse(JSON.stringify(opts.data)) });
      deliver(request(log.requests[log.requests.length - 1], log.requests.length), opts);
    },
    login(opts) {
      log.logins++;
      deliver(loginFail ? { fail: loginFail } : { code: codes[log.logins - 1] }, opts);
    },
    cloud: {
      callFunction(opts) {
        log.cloud.push({ name: opts.name, data: JSON.parse(JSON.stringify(opts.data)) });
        deliver(cloud(log.cloud[log.cloud.length - 1], log.cloud.length), opts);
      },
    },
  };
  t.after(() => { delete globalThis.wx; });
  return log;
}

function ok(data) {
  return { statusCode: 200, data, header: { 'Content-Type': 'application/json; charset=utf-8' } };
}

function httpError(statusCode, code, message, extra = {}, header = {}) {
  return { statusCode, data: { error: { code, message, ...extra } }, header };
}

// fields copies the CallsignError fields the tests compare.
function fields(err) {
  assert.ok(err instanceof CallsignError, `not a CallsignError: ${err}`);
  assert.ok(err instanceof Error);
  assert.equal(err.name, 'CallsignError');
  return { code: err.code, message: err.message, status: err.status, retryAfterSeconds: err.retryAfterSeconds };
}

async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

test('createClient validates its options', () => {
  assert.throws(() => createClient({}), { name: 'TypeError', message: 'callsign: transport must be "cloud" or "https"' });
  assert.throws(() => createClient({ transport: 'https' }), {
    name: 'TypeError', message: 'callsign: baseURL (https://…) is required with transport "https"',
  });
  assert.throws(() => createClient({ transport: 'cloud', functionName: '' }), { name: 'TypeError' });
  assert.throws(() => createClient({ transport: 'cloud', now: 5 }), { name: 'TypeError' });
});

test('cloud: getUserSig unwraps the envelope, caches until refreshAfter, then refreshes', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const answers = [
    userSigData(SIG_1, '2026-11-27T12:00:00Z', '2026-11-27T07:12:00Z'),
    userSigData(SIG_2, '2026-11-28T07:12:00Z', '2026-11-28T02:24:00Z'),
  ];
  const log = installWx(t, { cloud: (_, n) => ({ result: { ok: true, data: answers[n - 1] } }) });
  const client = createClient({ transport: 'cloud', now });

  const first = await client.getUserSig();
  assert.deepEqual(first, { sdkAppID: 1400000000, userID: 'wx_alice', userSig: SIG_1, expiresAt: '2026-11-27T12:00:00Z' });
  assert.deepEqual(log.cloud, [{ name: 'callsign', data: { action: 'usersig', data: {} } }]);

  // Cached: no call while refreshAfter has not passed, even 1 ms before it.
  now.set('2026-11-27T07:11:59.999Z');
  assert.deepEqual(await client.getUserSig(), first);
  first.userSig = 'mutated by the caller';
  assert.equal((await client.getUserSig()).userSig, SIG_1);
  assert.equal(log.cloud.length, 1);

  // At refreshAfter: one new call, and the new value is cached.
  now.set('2026-11-27T07:12:00Z');
  const second = await client.getUserSig();
  assert.deepEqual(second, { sdkAppID: 1400000000, userID: 'wx_alice', userSig: SIG_2, expiresAt: '2026-11-28T07:12:00Z' });
  assert.deepEqual(await client.getUserSig(), second);
  assert.equal(log.cloud.length, 2);
  assert.deepEqual(log.cloud[1], { name: 'callsign', data: { action: 'usersig', data: {} } });
});

test('cloud: concurrent getUserSig callers share one in-flight request', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const reply = deferred();
  const log = installWx(t, { cloud: () => reply.promise });
  const client = createClient({ transport: 'cloud', functionName: 'callsign-prod', now });

  const pending = [client.getUserSig(), client.getUserSig(), client.getUserSig()];
  await new Promise((r) => setImmediate(r));
  assert.equal(log.cloud.length, 1);
  reply.resolve({ result: { ok: true, data: userSigData(SIG_1, '2026-11-27T12:00:00Z', '2026-11-27T07:12:00Z') } });
  const got = await Promise.all(pending);
  const want = { sdkAppID: 1400000000, userID: 'wx_alice', userSig: SIG_1, expiresAt: '2026-11-27T12:00:00Z' };
  assert.deepEqual(got, [want, want, want]);
  assert.notEqual(got[0], got[1]); // each caller gets its own copy
  assert.deepEqual(log.cloud, [{ name: 'callsign-prod', data: { action: 'usersig', data: {} } }]);
});

test('cloud: createCall and joinCall send the actions and unwrap the data', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const log = installWx(t, {
    cloud: (c) => ({ result: { ok: true, data: c.data.action === 'call.create' ? CALL : JOINED } }),
  });
  const client = createClient({ transport: 'cloud', now });

  assert.deepEqual(await client.createCall({ type: 'video', userIDList: ['bob', 'carol'] }), CALL);
  assert.deepEqual(await client.createCall({ type: 'audio', userIDList: ['bob'], groupID: '@TGS#2C5SZEAEF' }), CALL);
  assert.deepEqual(await client.joinCall(CALL_TOKEN), JOINED);
  assert.deepEqual(log.cloud, [
    { name: 'callsign', data: { action: 'call.create', data: { type: 'video', userIDList: ['bob', 'carol'] } } },
    { name: 'callsign', data: { action: 'call.create', data: { type: 'audio', userIDList: ['bob'], groupID: '@TGS#2C5SZEAEF' } } },
    { name: 'callsign', data: { action: 'call.join', data: { callToken: CALL_TOKEN } } },
  ]);

  const err = await rejection(client.joinCall(''));
  assert.deepEqual(fields(err), { code: 'invalid_request', message: 'callToken must be a non-empty string', status: undefined, retryAfterSeconds: undefined });
  assert.equal(log.cloud.length, 3);
});

test('cloud: error envelopes become CallsignError; a failure does not stick', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const replies = [
    { result: { ok: false, error: { code: 'rate_limited', message: 'too many requests for this user', retryAfterSeconds: 6 } } },
    { result: { ok: false, error: { code: 'not_invited', message: 'you are not invited to this call' } } },
    { fail: { errCode: -404011, errMsg: 'cloud.callFunction:fail -404011 cloud function execution error' } },
    { result: 'not an envelope' },
    { result: { ok: true, data: userSigData(SIG_1, '2026-11-27T12:00:00Z', '2026-11-27T07:12:00Z') } },
  ];
  const log = installWx(t, { cloud: (_, n) => replies[n - 1] });
  const client = createClient({ transport: 'cloud', now });

  assert.deepEqual(fields(await rejection(client.getUserSig())),
    { code: 'rate_limited', message: 'too many requests for this user', status: undefined, retryAfterSeconds: 6 });
  assert.deepEqual(fields(await rejection(client.joinCall(CALL_TOKEN))),
    { code: 'not_invited', message: 'you are not invited to this call', status: undefined, retryAfterSeconds: undefined });
  assert.deepEqual(fields(await rejection(client.getUserSig())), {
    code: 'network_error', message: 'cloud function call failed: cloud.callFunction:fail -404011 cloud function execution error',
    status: undefined, retryAfterSeconds: undefined,
  });
  assert.deepEqual(fields(await rejection(client.getUserSig())),
    { code: 'invalid_response', message: 'malformed cloud function reply', status: undefined, retryAfterSeconds: undefined });
  assert.equal((await client.getUserSig()).userSig, SIG_1);
  assert.equal(log.cloud.length, 5);
});

test('refresh failure: the cached UserSig is used until it expires; forceRefresh skips the cache', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const replies = [
    { result: { ok: true, data: userSigData(SIG_1, '2026-11-27T12:00:00Z', '2026-11-27T07:12:00Z') } },
    { result: { ok: false, error: { code: 'rate_limited', message: 'too many requests for this user', retryAfterSeconds: 6 } } },
    { result: { ok: false, error: { code: 'unavailable', message: 'service unavailable' } } },
    { result: { ok: true, data: userSigData(SIG_2, '2026-11-28T12:00:00Z', '2026-11-28T07:12:00Z') } },
    { result: { ok: false, error: { code: 'rate_limited', message: 'too many requests for this user', retryAfterSeconds: 9 } } },
  ];
  const log = installWx(t, { cloud: (_, n) => replies[n - 1] });
  const client = createClient({ transport: 'cloud', now });

  assert.equal((await client.getUserSig()).userSig, SIG_1);
  now.set('2026-11-27T08:00:00Z'); // past refreshAfter, before expiresAt
  assert.equal((await client.getUserSig()).userSig, SIG_1);
  assert.equal(log.cloud.length, 2);

  now.set('2026-11-27T12:00:00Z'); // expired: the error surfaces
  assert.deepEqual(fields(await rejection(client.getUserSig())),
    { code: 'unavailable', message: 'service unavailable', status: undefined, retryAfterSeconds: undefined });

  now.set('2026-11-27T12:00:01Z');
  assert.equal((await client.getUserSig()).userSig, SIG_2);
  assert.equal(log.cloud.length, 4);

  // forceRefresh fetches although the cache is fresh, and does not fall back.
  assert.deepEqual(fields(await rejection(client.getUserSig({ forceRefresh: true }))),
    { code: 'rate_limited', message: 'too many requests for this user', status: undefined, retryAfterSeconds: 9 });
  assert.equal(log.cloud.length, 5);
  assert.equal((await client.getUserSig()).userSig, SIG_2);
  assert.equal(log.cloud.length, 5);
});

test('https: one wx.login session, reused with a Bearer token until it expires', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const byPath = {
    '/v1/session': (n) => ok(sessionData(n === 1 ? SESSION_1 : SESSION_2, n === 1 ? '2026-11-27T12:00:00Z' : '2026-11-28T12:00:00Z', SIG_1)),
    '/v1/calls': () => ok(CALL),
    '/v1/calls/join': () => ok(JOINED),
    '/v1/usersig': () => ok(userSigData(SIG_2, '2026-11-28T08:00:00Z', '2026-11-28T03:12:00Z')),
  };
  let sessions = 0;
  const log = installWx(t, {
    request: (r) => {
      const path = r.url.slice(BASE.length);
      return byPath[path](path === '/v1/session' ? ++sessions : 0);
    },
  });
  const client = createClient({ transport: 'https', baseURL: BASE + '/', now });

  // The session answer's UserSig serves the first getUserSig: no /v1/usersig.
  assert.deepEqual(await client.getUserSig(),
    { sdkAppID: 1400000000, userID: 'wx_alice', userSig: SIG_1, expiresAt: '2026-11-27T12:00:00Z' });
  assert.deepEqual(await client.createCall({ type: 'video', userIDList: ['bob'] }), CALL);
  assert.deepEqual(await client.joinCall(CALL_TOKEN), JOINED);
  assert.equal(log.logins, 1);

  now.set('2026-11-27T07:12:00Z'); // UserSig refreshAfter; the session is still valid
  assert.equal((await client.getUserSig()).userSig, SIG_2);
  assert.equal(log.logins, 1);

  now.set('2026-11-27T12:00:00Z'); // the session's expiresAt: log in again
  assert.deepEqual(await client.createCall({ type: 'audio', userIDList: ['bob'] }), CALL);
  assert.equal(log.logins, 2);

  const json = { 'content-type': 'application/json' };
  const bearer = (tok) => ({ 'content-type': 'application/json', Authorization: 'Bearer ' + tok });
  assert.deepEqual(log.requests, [
    { url: BASE + '/v1/session', method: 'POST', header: json, data: { code: CODE_1 } },
    { url: BASE + '/v1/calls', method: 'POST', header: bearer(SESSION_1), data: { type: 'video', userIDList: ['bob'] } },
    { url: BASE + '/v1/calls/join', method: 'POST', header: bearer(SESSION_1), data: { callToken: CALL_TOKEN } },
    { url: BASE + '/v1/usersig', method: 'POST', header: bearer(SESSION_1), data: {} },
    { url: BASE + '/v1/session', method: 'POST', header: json, data: { code: CODE_2 } },
    { url: BASE + '/v1/calls', method: 'POST', header: bearer(SESSION_2), data: { type: 'audio', userIDList: ['bob'] } },
  ]);
});

test('https: concurrent first calls share one login', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const login = deferred();
  const log = installWx(t, {
    request: (r) => (r.url.endsWith('/v1/session') ? login.promise : ok(CALL)),
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });

  const pending = Promise.all([client.getUserSig(), client.createCall({ type: 'video', userIDList: ['bob'] }), client.getUserSig()]);
  await new Promise((r) => setImmediate(r));
  assert.equal(log.logins, 1);
  login.resolve(ok(sessionData(SESSION_1, '2026-11-27T12:00:00Z', SIG_1)));
  const [a, call, b] = await pending;
  assert.equal(a.userSig, SIG_1);
  assert.equal(b.userSig, SIG_1);
  assert.deepEqual(call, CALL);
  assert.equal(log.logins, 1);
  assert.deepEqual(log.requests.map((r) => r.url.slice(BASE.length)), ['/v1/session', '/v1/calls']);
});

test('https: a 401 unauthenticated re-logs in once and retries', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  let sessions = 0;
  let refuse = 1; // how many Bearer requests answer 401 before one succeeds
  const log = installWx(t, {
    request: (r) => {
      if (r.url.endsWith('/v1/session')) {
        sessions++;
        return ok(sessionData(sessions === 1 ? SESSION_1 : SESSION_2, '2026-11-27T12:00:00Z', SIG_1));
      }
      if (refuse > 0) {
        refuse--;
        return httpError(401, 'unauthenticated', 'credentials expired');
      }
      return ok(CALL);
    },
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });

  assert.deepEqual(await client.createCall({ type: 'video', userIDList: ['bob'] }), CALL);
  assert.equal(log.logins, 2);
  assert.deepEqual(log.requests.map((r) => [r.url.slice(BASE.length), r.header.Authorization]), [
    ['/v1/session', undefined],
    ['/v1/calls', 'Bearer ' + SESSION_1],
    ['/v1/session', undefined],
    ['/v1/calls', 'Bearer ' + SESSION_2],
  ]);
  assert.deepEqual(log.requests[2].data, { code: CODE_2 });

  // The new session is kept: the next call needs no login.
  assert.deepEqual(await client.createCall({ type: 'video', userIDList: ['bob'] }), CALL);
  assert.equal(log.logins, 2);
  assert.equal(log.requests[4].header.Authorization, 'Bearer ' + SESSION_2);
});

test('https: a second 401 after the re-login is thrown, not retried again', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  let sessions = 0;
  const log = installWx(t, {
    codes: [CODE_1, CODE_2, '0c1111111111111111111111111111'],
    request: (r) => {
      if (r.url.endsWith('/v1/session')) {
        sessions++;
        return ok(sessionData(sessions === 1 ? SESSION_1 : SESSION_2, '2026-11-27T12:00:00Z', SIG_1));
      }
      return httpError(401, 'unauthenticated', 'invalid credentials');
    },
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });

  const err = await rejection(client.createCall({ type: 'video', userIDList: ['bob'] }));
  assert.deepEqual(fields(err), { code: 'unauthenticated', message: 'invalid credentials', status: 401, retryAfterSeconds: undefined });
  assert.equal(log.logins, 2);
  assert.deepEqual(log.requests.map((r) => r.url.slice(BASE.length)), ['/v1/session', '/v1/calls', '/v1/session', '/v1/calls']);
});

test('https: "invalid call token" is not a session problem: no re-login', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const log = installWx(t, {
    request: (r) => (r.url.endsWith('/v1/session')
      ? ok(sessionData(SESSION_1, '2026-11-27T12:00:00Z', SIG_1))
      : httpError(401, 'unauthenticated', 'invalid call token')),
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });

  const err = await rejection(client.joinCall(CALL_TOKEN));
  assert.deepEqual(fields(err), { code: 'unauthenticated', message: 'invalid call token', status: 401, retryAfterSeconds: undefined });
  assert.equal(log.logins, 1);
  assert.equal(log.requests.length, 2);
});

test('https: error mapping (429 with retryAfterSeconds, 410, gateway errors, network)', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const answers = [
    httpError(429, 'rate_limited', 'too many requests for this user', { retryAfterSeconds: 6 }, { 'Retry-After': '6' }),
    httpError(410, 'expired', 'call token expired'),
    { statusCode: 429, data: '<html>slow down</html>', header: { 'retry-after': '30' } },
    { statusCode: 502, data: '', header: {} },
    { statusCode: 200, data: 'not json', header: {} },
    { fail: { errMsg: 'request:fail timeout' } },
  ];
  let n = 0;
  installWx(t, {
    request: (r) => (r.url.endsWith('/v1/session') ? ok(sessionData(SESSION_1, '2026-11-27T12:00:00Z', SIG_1)) : answers[n++]),
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });
  const create = () => client.createCall({ type: 'video', userIDList: ['bob'] });

  assert.deepEqual(fields(await rejection(create())),
    { code: 'rate_limited', message: 'too many requests for this user', status: 429, retryAfterSeconds: 6 });
  assert.deepEqual(fields(await rejection(client.joinCall(CALL_TOKEN))),
    { code: 'expired', message: 'call token expired', status: 410, retryAfterSeconds: undefined });
  assert.deepEqual(fields(await rejection(create())),
    { code: 'rate_limited', message: 'HTTP 429', status: 429, retryAfterSeconds: 30 });
  assert.deepEqual(fields(await rejection(create())),
    { code: 'unavailable', message: 'HTTP 502', status: 502, retryAfterSeconds: undefined });
  assert.deepEqual(fields(await rejection(create())),
    { code: 'invalid_response', message: 'malformed response', status: 200, retryAfterSeconds: undefined });
  assert.deepEqual(fields(await rejection(create())),
    { code: 'network_error', message: 'request failed: request:fail timeout', status: undefined, retryAfterSeconds: undefined });
});

test('https: wx.login failure and a refused code', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  installWx(t, { loginFail: { errMsg: 'login:fail cancel' }, request: () => assert.fail('no request expected') });
  const client = createClient({ transport: 'https', baseURL: BASE, now });
  assert.deepEqual(fields(await rejection(client.getUserSig())),
    { code: 'login_failed', message: 'wx.login failed: login:fail cancel', status: undefined, retryAfterSeconds: undefined });

  const log = installWx(t, { request: () => httpError(401, 'unauthenticated', 'invalid credentials') });
  const err = await rejection(createClient({ transport: 'https', baseURL: BASE, now }).getUserSig());
  assert.deepEqual(fields(err), { code: 'unauthenticated', message: 'invalid credentials', status: 401, retryAfterSeconds: undefined });
  assert.equal(log.logins, 1); // a refused login is not retried
  assert.equal(log.requests.length, 1);
});

test('error messages never carry tokens, tickets or login codes', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const secrets = [SESSION_1, SIG_1, CALL_TOKEN, CODE_1];
  let n = 0;
  const answers = [
    // A misbehaving server or gateway echoing what it was sent.
    httpError(401, 'unauthenticated', `token ${SESSION_1} rejected`),
    httpError(400, 'invalid_request', `bad callToken ${CALL_TOKEN} for ${SIG_1}`),
    { fail: { errMsg: `request:fail Authorization: Bearer ${SESSION_1}` } },
  ];
  installWx(t, {
    request: (r) => {
      if (r.url.endsWith('/v1/session')) {
        return n === 0 ? httpError(403, 'forbidden', `code ${CODE_1} refused`) : ok(sessionData(SESSION_1, '2026-11-27T12:00:00Z', SIG_1));
      }
      return answers[n++ - 1];
    },
    codes: [CODE_1, CODE_1, CODE_1, CODE_1],
  });
  const client = createClient({ transport: 'https', baseURL: BASE, now });
  const errors = [];
  errors.push(await rejection(client.getUserSig())); // login refused, echoing the code
  n = 1;
  errors.push(await rejection(client.joinCall(CALL_TOKEN))); // 401 echo, re-login, then 400 echo
  errors.push(await rejection(client.createCall({ type: 'video', userIDList: ['bob'] })));

  assert.deepEqual(errors.map(fields), [
    { code: 'forbidden', message: 'code [redacted] refused', status: 403, retryAfterSeconds: undefined },
    { code: 'invalid_request', message: 'bad callToken [redacted] for [redacted]', status: 400, retryAfterSeconds: undefined },
    { code: 'network_error', message: 'request failed: request:fail Authorization: Bearer [redacted]', status: undefined, retryAfterSeconds: undefined },
  ]);

  // Cloud transport: the same for a function's error message.
  installWx(t, {
    cloud: () => ({ result: { ok: false, error: { code: 'internal', message: `cannot verify ${CALL_TOKEN}` } } }),
  });
  errors.push(await rejection(createClient({ transport: 'cloud', now }).joinCall(CALL_TOKEN)));
  assert.deepEqual(fields(errors[3]), { code: 'internal', message: 'cannot verify [redacted]', status: undefined, retryAfterSeconds: undefined });

  // A ticket the client never saw is still removed (long token-like runs).
  installWx(t, {
    cloud: () => ({ result: { ok: false, error: { code: 'internal', message: `ticket ${PMK} and ${SESSION_2} leaked` } } }),
  });
  errors.push(await rejection(createClient({ transport: 'cloud', now }).getUserSig()));
  assert.deepEqual(fields(errors[4]), { code: 'internal', message: 'ticket [redacted] and [redacted] leaked', status: undefined, retryAfterSeconds: undefined });
  secrets.push(PMK, SESSION_2);

  for (const err of errors) {
    const text = [err.message, err.stack, JSON.stringify(err), String(err)].join('\n');
    for (const s of secrets) assert.ok(!text.includes(s), `error text contains a credential: ${text}`);
  }
});

// ---- device clock skew ---------------------------------------------------

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const iso = (ms) => new Date(ms).toISOString().replace('.000Z', 'Z');

// issued is what callsign answers at serverNow (its own clock): a 24 h
// UserSig, refreshAfter at 80 %, and serverTime.
function issued(serverNow, n) {
  return {
    sdkAppID: 1400000000, userID: 'wx_alice', userSig: 'usersig-' + n, expiresAt: iso(serverNow + DAY),
    ttlSeconds: 86400, refreshAfter: iso(serverNow + DAY * 4 / 5), serverTime: iso(serverNow),
  };
}

function issuedSession(serverNow, n) {
  const u = issued(serverNow, n);
  return {
    sessionToken: SESSION_1, expiresAt: iso(serverNow + DAY), userID: u.userID, sdkAppID: u.sdkAppID, userSig: u.userSig,
    userSigExpiresAt: u.expiresAt, refreshAfter: u.refreshAfter, serverTime: u.serverTime,
  };
}

// skewedServer installs a fake callsign whose clock is serverNow(); while
// up() is false it answers 503 unavailable.
function skewedServer(t, serverNow, up) {
  let n = 0;
  const codes = Array.from({ length: 100 }, (_, i) => '0a3bcdEF0ghIJk1lmNOpq2rsTUv' + String(i).padStart(5, '0'));
  return installWx(t, {
    codes,
    cloud: () => (up()
      ? { result: { ok: true, data: issued(serverNow(), ++n) } }
      : { result: { ok: false, error: { code: 'unavailable', message: 'service unavailable' } } }),
    request: (r) => {
      if (!up()) return httpError(503, 'unavailable', 'service unavailable');
      return ok(r.url.endsWith('/v1/session') ? issuedSession(serverNow(), ++n) : issued(serverNow(), ++n));
    },
  });
}

for (const transport of ['cloud', 'https']) {
  test(`${transport}: device clock 48 h ahead: one request for 20 calls, then a refresh at 80 % of the lifetime`, async (t) => {
    const now = clock('2026-11-28T12:00:00Z');
    const serverNow = () => now() - 2 * DAY; // the server reads 2026-11-26T12:00:00Z
    const log = skewedServer(t, serverNow, () => true);
    const client = createClient({ transport, baseURL: BASE, now });
    const requests = () => log.cloud.length + log.requests.length;

    for (let i = 0; i < 20; i++) {
      assert.equal((await client.getUserSig()).userSig, 'usersig-1', `call ${i + 1}`);
      now.advance(HOUR * 19 / 20); // 20 calls over the 19.2 h before refreshAfter
    }
    assert.equal(requests(), 1);
    now.set(iso(Date.parse('2026-11-28T12:00:00Z') + DAY * 4 / 5)); // refreshAfter, by the device's clock
    assert.equal((await client.getUserSig()).userSig, 'usersig-2');
    assert.equal(requests(), 2);
  });

  test(`${transport}: device clock 48 h behind: the UserSig is refreshed after 80 % of its lifetime`, async (t) => {
    const start = Date.parse('2026-11-24T12:00:00Z');
    const now = clock(iso(start));
    const serverNow = () => now() + 2 * DAY; // the server reads 2026-11-26T12:00:00Z
    const log = skewedServer(t, serverNow, () => true);
    const client = createClient({ transport, baseURL: BASE, now });
    const requests = () => log.cloud.length + log.requests.length;

    for (let h = 0; h <= 19; h++) {
      now.set(iso(start + h * HOUR));
      assert.equal((await client.getUserSig()).userSig, 'usersig-1', `hour ${h}`);
    }
    assert.equal(requests(), 1);
    now.set(iso(start + DAY * 4 / 5)); // 19.2 h of device time, not 48 h more
    assert.equal((await client.getUserSig()).userSig, 'usersig-2');
    assert.equal(requests(), 2);
  });

  test(`${transport}: device clock 48 h behind: never serves an expired UserSig`, async (t) => {
    const start = Date.parse('2026-11-24T12:00:00Z');
    const now = clock(iso(start));
    const serverNow = () => now() + 2 * DAY; // the server reads 2026-11-26T12:00:00Z
    let up = true;
    skewedServer(t, serverNow, () => up);
    const client = createClient({ transport, baseURL: BASE, now });
    assert.equal((await client.getUserSig()).userSig, 'usersig-1');

    // The server goes down: the cached UserSig is served while it is valid
    // on the server's clock (until hour 24), and never after.
    up = false;
    let served = 0;
    let refused = 0;
    for (let h = 1; h <= 30; h++) {
      now.set(iso(start + h * HOUR));
      let v;
      try {
        v = await client.getUserSig();
      } catch (err) {
        assert.equal(fields(err).code, 'unavailable', `hour ${h}`);
        refused++;
        continue;
      }
      assert.ok(serverNow() < Date.parse(v.expiresAt),
        `hour ${h}: served a UserSig that expired at ${v.expiresAt} (server time ${iso(serverNow())})`);
      served++;
    }
    assert.deepEqual({ served, refused }, { served: 23, refused: 7 });
  });
}

test('cloud: from a server without serverTime, ttlSeconds gives the durations', async (t) => {
  const now = clock('2026-11-28T12:00:00Z');
  const serverNow = () => now() - 2 * DAY;
  let n = 0;
  const log = installWx(t, {
    cloud: () => {
      const d = issued(serverNow(), ++n);
      delete d.serverTime;
      return { result: { ok: true, data: d } };
    },
  });
  const client = createClient({ transport: 'cloud', now });
  for (let i = 0; i < 20; i++) {
    assert.equal((await client.getUserSig()).userSig, 'usersig-1');
    now.advance(HOUR * 19 / 20);
  }
  assert.equal(log.cloud.length, 1);
});

test('cloud: a device clock set back before the request time refetches instead of stretching the cache', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  let n = 0;
  const log = installWx(t, { cloud: () => ({ result: { ok: true, data: issued(now(), ++n) } }) });
  const client = createClient({ transport: 'cloud', now });
  assert.equal((await client.getUserSig()).userSig, 'usersig-1');
  now.advance(-HOUR);
  assert.equal((await client.getUserSig()).userSig, 'usersig-2');
  assert.equal(log.cloud.length, 2);
});

// fakeCallKit records TUICallKitAPI.calls() options.
function fakeCallKit(outcome) {
  const kit = { calls: [], };
  kit.api = {
    calls(opts) {
      kit.calls.push(JSON.parse(JSON.stringify(opts)));
      return outcome === undefined ? Promise.resolve() : outcome;
    },
  };
  return kit;
}

test('TUICallKit 5: startCall creates the call, then calls() with the room and the call token as userData', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const numeric = { ...CALL, roomID: { num: 2147483647 } };
  const replies = [CALL, numeric];
  const log = installWx(t, { cloud: (_, n) => ({ result: { ok: true, data: replies[n - 1] } }) });
  const client = createClient({ transport: 'cloud', now });
  const kit = fakeCallKit();

  assert.deepEqual(await client.startCall(kit.api, { type: 'video', userIDList: ['bob', 'carol'], groupID: '@TGS#2C5SZEAEF', timeout: 30 }), CALL);
  assert.deepEqual(await client.startCall(kit.api, { type: 'audio', userIDList: ['bob'], offlinePushInfo: { title: 'alice' } }), numeric);
  assert.deepEqual(log.cloud, [
    { name: 'callsign', data: { action: 'call.create', data: { type: 'video', userIDList: ['bob', 'carol'], groupID: '@TGS#2C5SZEAEF' } } },
    { name: 'callsign', data: { action: 'call.create', data: { type: 'audio', userIDList: ['bob'] } } },
  ]);
  assert.deepEqual(kit.calls, [
    { userIDList: ['bob', 'carol'], type: 2, userData: CALL_TOKEN, strRoomID: CALL.roomID.str, chatGroupID: '@TGS#2C5SZEAEF', timeout: 30 },
    { userIDList: ['bob'], type: 1, userData: CALL_TOKEN, roomID: 2147483647, offlinePushInfo: { title: 'alice' } },
  ]);
});

test('TUICallKit 5: startCall refuses bad arguments before any request, and passes calls() failures on', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const log = installWx(t, { cloud: () => ({ result: { ok: true, data: CALL } }) });
  const client = createClient({ transport: 'cloud', now });

  assert.deepEqual(fields(await rejection(client.startCall({}, { type: 'video', userIDList: ['bob'] }))),
    { code: 'invalid_request', message: 'callKit must be TUICallKitAPI (it has no calls())', status: undefined, retryAfterSeconds: undefined });
  assert.deepEqual(fields(await rejection(client.startCall(fakeCallKit().api, { type: 2, userIDList: ['bob'] }))),
    { code: 'invalid_request', message: 'type must be "audio" or "video"', status: undefined, retryAfterSeconds: undefined });
  assert.equal(log.cloud.length, 0);

  const busy = new Error('callee is busy');
  const kit = fakeCallKit(Promise.reject(busy));
  assert.equal(await rejection(client.startCall(kit.api, { type: 'video', userIDList: ['bob'] })), busy);
  assert.equal(kit.calls.length, 1);
});

test('TUICallKit 5: the callee joins with the userData of the call-received event', async (t) => {
  const now = clock('2026-11-26T12:00:00Z');
  const log = installWx(t, { cloud: () => ({ result: { ok: true, data: JOINED } }) });
  const client = createClient({ transport: 'cloud', now });

  assert.deepEqual(await client.joinInvitation({ callerId: 'wx_alice', calleeIdList: ['wx_bob'], mediaType: 2, userData: CALL_TOKEN }), JOINED);
  assert.deepEqual(await client.joinInvitation({ data: { userData: CALL_TOKEN } }), JOINED);
  assert.deepEqual(log.cloud, [
    { name: 'callsign', data: { action: 'call.join', data: { callToken: CALL_TOKEN } } },
    { name: 'callsign', data: { action: 'call.join', data: { callToken: CALL_TOKEN } } },
  ]);
  for (const event of [undefined, {}, { userData: '' }, { userData: 7 }, { data: {} }]) {
    assert.deepEqual(fields(await rejection(client.joinInvitation(event))), {
      code: 'invalid_request', message: 'the invitation carries no callsign call token in userData', status: undefined, retryAfterSeconds: undefined,
    });
  }
  assert.equal(log.cloud.length, 2);
});
