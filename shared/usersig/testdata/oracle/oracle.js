// oracle.js: the official npm package tls-sig-api-v2@1.0.2 as an independent
// implementation for callsign's cross-check tests (oracle_test.go).
//
// stdin:  a JSON array of cases
//         {kind: "usersig"|"pmk"|"pmkstr", app, key, uid, exp, t, room, priv, ours}
//         where ours is callsign's ticket for the same inputs.
// stdout: a JSON array, one result per case:
//         {userSig, doc, oursDoc, oursSigOK}
//         userSig: the npm package's ticket with the clock pinned to t;
//         doc: its decoded JSON document; oursDoc: callsign's decoded document
//         (decoded with Node's zlib); oursSigOK: whether the HMAC of
//         callsign's document, recomputed here, equals its TLS.sig.
'use strict';

const crypto = require('crypto');
const zlib = require('zlib');
const { Api } = require('tls-sig-api-v2');

function decode(ticket) {
  const std = ticket.replace(/_/g, '=').replace(/-/g, '/').replace(/\*/g, '+');
  return JSON.parse(zlib.inflateSync(Buffer.from(std, 'base64')).toString('utf8'));
}

function sigOK(doc, key) {
  let content = 'TLS.identifier:' + doc['TLS.identifier'] + '\n' +
    'TLS.sdkappid:' + doc['TLS.sdkappid'] + '\n' +
    'TLS.time:' + doc['TLS.time'] + '\n' +
    'TLS.expire:' + doc['TLS.expire'] + '\n';
  if (Object.prototype.hasOwnProperty.call(doc, 'TLS.userbuf')) {
    content += 'TLS.userbuf:' + doc['TLS.userbuf'] + '\n';
  }
  const mac = crypto.createHmac('sha256', key).update(content).digest('base64');
  return mac === doc['TLS.sig'];
}

function generate(c) {
  const api = new Api(c.app, c.key);
  const realNow = Date.now;
  Date.now = () => c.t * 1000;
  try {
    switch (c.kind) {
      case 'usersig': return api.genUserSig(c.uid, c.exp);
      case 'pmk': return api.genPrivateMapKey(c.uid, c.exp, c.room, c.priv);
      case 'pmkstr': return api.genPrivateMapKeyWithStringRoomID(c.uid, c.exp, c.room, c.priv);
      default: throw new Error('unknown kind ' + c.kind);
    }
  } finally {
    Date.now = realNow;
  }
}

const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', () => {
  const cases = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const results = cases.map((c) => {
    const userSig = generate(c);
    const oursDoc = decode(c.ours);
    return { userSig, doc: decode(userSig), oursDoc, oursSigOK: sigOK(oursDoc, c.key) };
  });
  process.stdout.write(JSON.stringify(results));
});
