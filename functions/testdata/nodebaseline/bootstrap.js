// bootstrap.js: the Node.js contender of the cold-start benchmarks
// (functions/coldstart_test.go). It is the function an integrator writes
// with the official npm package tls-sig-api-v2 instead of callsign: a
// Lambda custom-runtime bootstrap in plain Node (built-in modules only,
// besides the signing package) that answers an API Gateway HTTP API v2
// POST /v1/usersig, behind a JWT authorizer, with a UserSig for the caller.
//
// Like a real handler it loads the package and reads its configuration at
// start, then loops on the Runtime API: GET .../invocation/next, sign, POST
// .../invocation/{id}/response. The user ID is derived from the authorizer's
// sub claim the way callsign's default "hash" mode does (lower-case base32
// of SHA-256, 32 characters), so both contenders sign for the same user.
//
// Environment: AWS_LAMBDA_RUNTIME_API, CALLSIGN_SDK_APP_ID and
// CALLSIGN_SECRET_KEY. Run as `node bootstrap.js`; it finds tls-sig-api-v2
// in the repository's node_modules (`make deps-npm`).
'use strict';

const crypto = require('crypto');
const http = require('http');
const { Api } = require('tls-sig-api-v2');

const sdkAppID = Number(process.env.CALLSIGN_SDK_APP_ID);
const api = new Api(sdkAppID, process.env.CALLSIGN_SECRET_KEY);
const ttlSeconds = 86400;
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true });

function request(method, path, body) {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) };
    const req = http.request({ host, port, method, path: '/2018-06-01/runtime' + path, agent, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function base32(buf) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}

function reply(statusCode, body) {
  return { statusCode, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify(body) };
}

function handle(event) {
  const req = event.requestContext && event.requestContext.http;
  if (!req || req.method !== 'POST' || event.rawPath !== '/v1/usersig') {
    return reply(404, { error: { code: 'not_found', message: 'no such operation' } });
  }
  const auth = event.requestContext.authorizer;
  const sub = auth && auth.jwt && auth.jwt.claims && auth.jwt.claims.sub;
  if (!sub) {
    return reply(401, { error: { code: 'unauthenticated', message: 'no caller identity' } });
  }
  const userID = base32(crypto.createHash('sha256').update(sub).digest()).slice(0, 32);
  const userSig = api.genUserSig(userID, ttlSeconds);
  const expiresAt = new Date(Date.now() + ttlSeconds * 1000).toISOString();
  return reply(200, { sdkAppID, userID, userSig, expiresAt, ttlSeconds });
}

async function main() {
  for (;;) {
    const next = await request('GET', '/invocation/next');
    const id = next.headers['lambda-runtime-aws-request-id'];
    let result;
    try {
      result = handle(JSON.parse(next.body));
    } catch (err) {
      await request('POST', '/invocation/' + id + '/error', JSON.stringify({ errorMessage: String(err && err.message), errorType: 'HandlerError' }));
      continue;
    }
    await request('POST', '/invocation/' + id + '/response', JSON.stringify(result));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
