'use strict';

// callsign mini-program client: UserSig and per-call PrivateMapKey tickets
// from a callsign deployment, in place of TUICallKit's
// debug/GenerateTestUserSig.js (which ships the TRTC secret key).
//
// Dependency-free CommonJS for the WeChat mini-program runtime. It uses only
// wx.cloud.callFunction (transport 'cloud') or wx.login + wx.request
// (transport 'https'), keeps everything in memory, and is written in plain
// ES2015 with promises (no async/await, no optional chaining), so it needs
// no "enhanced compile" setting.
//
//   const { createClient } = require('./callsign')
//   const client = createClient({ transport: 'cloud' })
//   const { sdkAppID, userID, userSig } = await client.getUserSig()
//   await client.startCall(TUICallKitAPI, { type: 'video', userIDList: ['bob'] })
//   // callee, in the call-received handler: await client.joinInvitation(event)

// CallsignError is what every failure rejects with.
//   code               the server's error code (rate_limited, unauthenticated,
//                      not_invited, expired, ...) or one of the client's own:
//                      network_error, login_failed, invalid_response,
//                      invalid_request (bad argument), unsupported (no wx API)
//   message            a client-safe text; never a token, ticket or code
//   status             the HTTP status (https transport only)
//   retryAfterSeconds  seconds to wait (rate_limited), when known
function CallsignError(code, message, details) {
  if (!(this instanceof CallsignError)) {
    return new CallsignError(code, message, details);
  }
  this.name = 'CallsignError';
  this.code = code;
  this.message = message;
  this.status = details && details.status !== undefined ? details.status : undefined;
  this.retryAfterSeconds =
    details && details.retryAfterSeconds !== undefined ? details.retryAfterSeconds : undefined;
  if (typeof Error.captureStackTrace === 'function') {
    Error.captureStackTrace(this, CallsignError);
  } else {
    this.stack = new Error(message).stack;
  }
}
CallsignError.prototype = Object.create(Error.prototype);
CallsignError.prototype.constructor = CallsignError;
CallsignError.prototype.name = 'CallsignError';

var STATUS_CODES = {
  400: 'invalid_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  410: 'expired',
  413: 'payload_too_large',
  429: 'rate_limited',
  500: 'internal',
  502: 'unavailable',
  503: 'unavailable',
  504: 'unavailable'
};

var CREATE_FIELDS = ['callID', 'roomID', 'privateMapKey', 'privileges', 'callToken', 'expiresAt', 'inviteExpiresAt'];
var JOIN_FIELDS = ['callID', 'roomID', 'privateMapKey', 'privileges', 'expiresAt'];

// Long runs of token characters (JWTs, tickets, session tokens) are removed
// from any text that ends up in an error message, in addition to the exact
// values the client knows are sensitive.
var TOKEN_RUN = /[A-Za-z0-9_*.\-]{40,}/g;
var MAX_MESSAGE = 200;

function isObject(v) {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function positiveInt(v) {
  var n = typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? parseInt(v, 10) : v;
  return typeof n === 'number' && isFinite(n) && n >= 1 ? Math.ceil(n) : undefined;
}

function parseTime(v) {
  if (typeof v !== 'string') return NaN;
  return Date.parse(v);
}

// serverOrigin is the server-clock instant an answer's times count from:
// its serverTime, or (from a server that does not send it) expiresAt minus
// ttlSeconds; NaN when neither is there.
function serverOrigin(d, expiresAt) {
  var st = parseTime(d.serverTime);
  if (!isNaN(st)) return st;
  return typeof d.ttlSeconds === 'number' && d.ttlSeconds > 0 ? expiresAt - d.ttlSeconds * 1000 : NaN;
}

// localTime moves server-clock instant t onto the device's clock: the
// request's send time plus how long after origin t falls. The device clock
// may be hours or days off; only its rate matters. Sending happens before
// the server issues the answer, so a deadline can only come early, never
// late. Without an origin, t is used as it is.
function localTime(t, origin, sentAt) {
  return isNaN(origin) ? t : sentAt + (t - origin);
}

// within reports whether the device clock reads between an entry's send
// time and deadline; a clock set back before the send time counts as
// outside, so a clock change can never stretch a cached credential.
function within(e, t, deadline) {
  return t >= e.sentAt && t < deadline;
}

function parseJSON(data) {
  if (typeof data !== 'string') return data;
  try {
    return JSON.parse(data);
  } catch (e) {
    return undefined;
  }
}

function headerValue(header, name) {
  if (!isObject(header)) return undefined;
  var keys = Object.keys(header);
  for (var i = 0; i < keys.length; i++) {
    if (keys[i].toLowerCase() === name) return header[keys[i]];
  }
  return undefined;
}

function redact(text, sensitive) {
  var s = typeof text === 'string' ? text : String(text);
  for (var i = 0; i < sensitive.length; i++) {
    var v = sensitive[i];
    if (typeof v === 'string' && v.length >= 8) s = s.split(v).join('[redacted]');
  }
  s = s.replace(TOKEN_RUN, '[redacted]');
  return s.length > MAX_MESSAGE ? s.slice(0, MAX_MESSAGE) + '…' : s;
}

function pick(data, fields) {
  var out = {};
  for (var i = 0; i < fields.length; i++) {
    if (data[fields[i]] === undefined) {
      throw new CallsignError('invalid_response', 'response lacks ' + fields[i]);
    }
    out[fields[i]] = data[fields[i]];
  }
  return out;
}

function wxAPI() {
  // `wx` is a global of the mini-program runtime (tests install a fake one).
  if (typeof wx === 'undefined' || !wx) {
    throw new CallsignError('unsupported', 'the wx API is not available');
  }
  return wx; // eslint-disable-line no-undef
}

// createClient({ transport: 'cloud' | 'https', functionName = 'callsign',
//                baseURL, now = Date.now })
function createClient(options) {
  var opts = options || {};
  var transport = opts.transport;
  if (transport !== 'cloud' && transport !== 'https') {
    throw new TypeError('callsign: transport must be "cloud" or "https"');
  }
  var functionName = opts.functionName === undefined ? 'callsign' : opts.functionName;
  if (typeof functionName !== 'string' || functionName === '') {
    throw new TypeError('callsign: functionName must be a non-empty string');
  }
  var baseURL = '';
  if (transport === 'https') {
    if (typeof opts.baseURL !== 'string' || !/^https?:\/\/[^/]/.test(opts.baseURL)) {
      throw new TypeError('callsign: baseURL (https://…) is required with transport "https"');
    }
    baseURL = opts.baseURL.replace(/\/+$/, '');
  }
  var now = opts.now === undefined ? Date.now : opts.now;
  if (typeof now !== 'function') throw new TypeError('callsign: now must be a function');

  // Deadlines below are on the device's clock (see localTime).
  var sig = null; // {value, sentAt, refreshAt, expiresAt, session}
  var sigInFlight = null;
  var session = null; // {token, sentAt, expiresAt}
  var loginInFlight = null;

  function known() {
    return [session && session.token, sig && sig.value.userSig];
  }

  function fail(code, what, err, sensitive) {
    var detail = err && typeof err.errMsg === 'string' ? ': ' + err.errMsg : '';
    return new CallsignError(code, redact(what + detail, sensitive.concat(known())));
  }

  // storeUserSig validates a UserSig answer to a request sent at sentAt
  // (device clock) and caches it.
  function storeUserSig(d, from, sentAt) {
    var expiresAt = parseTime(d.expiresAt);
    var refreshAt = parseTime(d.refreshAfter);
    if (typeof d.sdkAppID !== 'number' || typeof d.userID !== 'string' ||
        typeof d.userSig !== 'string' || d.userSig === '' || isNaN(expiresAt)) {
      throw new CallsignError('invalid_response', 'malformed UserSig response');
    }
    if (isNaN(refreshAt) || refreshAt > expiresAt) refreshAt = expiresAt;
    var origin = serverOrigin(d, expiresAt);
    sig = {
      value: { sdkAppID: d.sdkAppID, userID: d.userID, userSig: d.userSig, expiresAt: d.expiresAt },
      sentAt: sentAt,
      refreshAt: localTime(refreshAt, origin, sentAt),
      expiresAt: localTime(expiresAt, origin, sentAt),
      session: from || null
    };
    return sig.value;
  }

  // ---- cloud transport -------------------------------------------------

  function callCloud(action, data) {
    var sensitive = [data.callToken];
    return new Promise(function (resolve, reject) {
      var w = wxAPI();
      if (!w.cloud || typeof w.cloud.callFunction !== 'function') {
        throw new CallsignError('unsupported', 'wx.cloud is not available; call wx.cloud.init() first');
      }
      w.cloud.callFunction({
        name: functionName,
        data: { action: action, data: data },
        success: resolve,
        fail: function (err) {
          reject(fail('network_error', 'cloud function call failed', err, sensitive));
        }
      });
    }).then(function (res) {
      var r = parseJSON(res && res.result);
      if (!isObject(r) || typeof r.ok !== 'boolean') {
        throw new CallsignError('invalid_response', 'malformed cloud function reply');
      }
      if (r.ok) {
        if (!isObject(r.data)) throw new CallsignError('invalid_response', 'malformed cloud function reply');
        return r.data;
      }
      var e = isObject(r.error) ? r.error : {};
      throw new CallsignError(
        typeof e.code === 'string' && e.code ? e.code : 'invalid_response',
        redact(typeof e.message === 'string' && e.message ? e.message : 'cloud function failed', sensitive.concat(known())),
        { retryAfterSeconds: positiveInt(e.retryAfterSeconds) }
      );
    });
  }

  // ---- https transport -------------------------------------------------

  function post(path, body, token) {
    var sensitive = [token, body.code, body.callToken];
    return new Promise(function (resolve, reject) {
      var header = { 'content-type': 'application/json' };
      if (token) header.Authorization = 'Bearer ' + token;
      wxAPI().request({
        url: baseURL + path,
        method: 'POST',
        header: header,
        data: body,
        dataType: 'json',
        success: resolve,
        fail: function (err) {
          reject(fail('network_error', 'request failed', err, sensitive));
        }
      });
    }).then(function (res) {
      var status = res && res.statusCode;
      var data = parseJSON(res && res.data);
      if (status >= 200 && status < 300) {
        if (!isObject(data)) throw new CallsignError('invalid_response', 'malformed response', { status: status });
        return data;
      }
      var e = isObject(data) && isObject(data.error) ? data.error : {};
      var retry = positiveInt(e.retryAfterSeconds);
      if (retry === undefined) retry = positiveInt(headerValue(res && res.header, 'retry-after'));
      throw new CallsignError(
        typeof e.code === 'string' && e.code ? e.code : STATUS_CODES[status] || 'http_error',
        redact(typeof e.message === 'string' && e.message ? e.message : 'HTTP ' + status, sensitive.concat(known())),
        { status: status, retryAfterSeconds: retry }
      );
    });
  }

  function wxLogin() {
    return new Promise(function (resolve, reject) {
      wxAPI().login({
        success: function (res) {
          if (res && typeof res.code === 'string' && res.code !== '') resolve(res.code);
          else reject(new CallsignError('login_failed', 'wx.login returned no code'));
        },
        fail: function (err) {
          reject(fail('login_failed', 'wx.login failed', err, []));
        }
      });
    });
  }

  function login() {
    var sentAt;
    return wxLogin().then(function (code) {
      sentAt = now();
      return post('/v1/session', { code: code }, null);
    }).then(function (d) {
      var expiresAt = parseTime(d.expiresAt);
      if (typeof d.sessionToken !== 'string' || d.sessionToken === '' || isNaN(expiresAt)) {
        throw new CallsignError('invalid_response', 'malformed session response');
      }
      var s = { token: d.sessionToken, sentAt: sentAt, expiresAt: localTime(expiresAt, parseTime(d.serverTime), sentAt) };
      session = s;
      // The session answer carries a UserSig too; keep it so the first
      // getUserSig() needs no second request.
      try {
        storeUserSig({
          sdkAppID: d.sdkAppID, userID: d.userID, userSig: d.userSig,
          expiresAt: d.userSigExpiresAt, refreshAfter: d.refreshAfter, serverTime: d.serverTime
        }, s, sentAt);
      } catch (e) {
        // A session without a usable UserSig is still a session.
      }
      return s;
    });
  }

  function validSession() {
    return session && within(session, now(), session.expiresAt) ? session : null;
  }

  // ensureSession returns the current session, or logs in; concurrent
  // callers share one login.
  function ensureSession() {
    var s = validSession();
    if (s) return Promise.resolve(s);
    if (!loginInFlight) {
      loginInFlight = login().then(function (v) {
        loginInFlight = null;
        return v;
      }, function (err) {
        loginInFlight = null;
        throw err;
      });
    }
    return loginInFlight;
  }

  // A 401 means the session token was refused, except for call.join's
  // "invalid call token", which a new session cannot fix.
  function sessionRefused(err) {
    return err instanceof CallsignError && err.status === 401 &&
      err.code === 'unauthenticated' && err.message !== 'invalid call token';
  }

  function authedPost(path, body) {
    return ensureSession().then(function (s) {
      return post(path, body, s.token).catch(function (err) {
        if (!sessionRefused(err)) throw err;
        if (session === s) session = null; // log in again, once
        return ensureSession().then(function (s2) {
          return post(path, body, s2.token);
        });
      });
    });
  }

  // ---- operations ------------------------------------------------------

  function call(action, path, body) {
    return transport === 'cloud' ? callCloud(action, body) : authedPost(path, body);
  }

  function fetchUserSig() {
    var sentAt = now();
    if (transport === 'cloud') {
      return callCloud('usersig', {}).then(function (d) {
        return storeUserSig(d, null, sentAt);
      });
    }
    var hadSession = validSession() !== null;
    return ensureSession().then(function (s) {
      // A login made for this call brought a fresh UserSig with it.
      if (!hadSession && sig && sig.session === s && within(sig, now(), sig.refreshAt)) return sig.value;
      return authedPost('/v1/usersig', {}).then(function (d) {
        return storeUserSig(d, null, sentAt);
      });
    });
  }

  function copy(v) {
    return { sdkAppID: v.sdkAppID, userID: v.userID, userSig: v.userSig, expiresAt: v.expiresAt };
  }

  // getUserSig() -> {sdkAppID, userID, userSig, expiresAt}: the
  // genTestUserSig shape. Cached until refreshAfter (as a duration from
  // when it was requested, so a wrong device clock does not matter);
  // concurrent callers share one request. If a refresh fails while the
  // cached UserSig has not expired yet, the cached one is returned.
  // {forceRefresh: true} skips the cache (use it when TRTC or TIM report
  // the UserSig expired).
  function getUserSig(options) {
    var force = !!(options && options.forceRefresh);
    if (!force && sig && within(sig, now(), sig.refreshAt)) return Promise.resolve(copy(sig.value));
    if (!sigInFlight) {
      sigInFlight = fetchUserSig().then(function (v) {
        sigInFlight = null;
        return v;
      }, function (err) {
        sigInFlight = null;
        throw err;
      });
    }
    return sigInFlight.then(copy, function (err) {
      if (!force && sig && within(sig, now(), sig.expiresAt)) return copy(sig.value);
      throw err;
    });
  }

  // createCall({type: 'video'|'audio', userIDList, groupID}) ->
  // {callID, roomID, privateMapKey, privileges, callToken, expiresAt, inviteExpiresAt}
  function createCall(params) {
    var p = params || {};
    var body = { type: p.type, userIDList: p.userIDList };
    if (p.groupID !== undefined && p.groupID !== null && p.groupID !== '') body.groupID = p.groupID;
    return call('call.create', '/v1/calls', body).then(function (d) {
      return pick(d, CREATE_FIELDS);
    });
  }

  // joinCall(callToken) -> {callID, roomID, privateMapKey, privileges, expiresAt}
  function joinCall(callToken) {
    if (typeof callToken !== 'string' || callToken === '') {
      return Promise.reject(new CallsignError('invalid_request', 'callToken must be a non-empty string'));
    }
    return call('call.join', '/v1/calls/join', { callToken: callToken }).then(function (d) {
      return pick(d, JOIN_FIELDS);
    });
  }

  // startCall(callKit, {type: 'video'|'audio', userIDList, groupID, timeout,
  // offlinePushInfo}) creates the call on callsign, then rings the invitees
  // through TUICallKit 5 with the server's room and the call token:
  //   callKit.calls({userIDList, type: 1|2, strRoomID | roomID,
  //                  userData: callToken[, chatGroupID, timeout, offlinePushInfo]})
  // callKit is TUICallKitAPI (@trtc/calls-uikit-wx). Resolves with the
  // created call; a failure of calls() rejects with TUICallKit's own error.
  function startCall(callKit, params) {
    if (!callKit || typeof callKit.calls !== 'function') {
      return Promise.reject(new CallsignError('invalid_request', 'callKit must be TUICallKitAPI (it has no calls())'));
    }
    var p = params || {};
    var mediaType = CALL_MEDIA_TYPES[p.type];
    if (!mediaType) {
      return Promise.reject(new CallsignError('invalid_request', 'type must be "audio" or "video"'));
    }
    return createCall({ type: p.type, userIDList: p.userIDList, groupID: p.groupID }).then(function (c) {
      var opts = { userIDList: p.userIDList.slice(), type: mediaType, userData: c.callToken };
      if (isObject(c.roomID) && typeof c.roomID.str === 'string') opts.strRoomID = c.roomID.str;
      else if (isObject(c.roomID) && typeof c.roomID.num === 'number') opts.roomID = c.roomID.num;
      else throw new CallsignError('invalid_response', 'response has no usable roomID');
      if (p.groupID) opts.chatGroupID = p.groupID;
      if (p.timeout !== undefined) opts.timeout = p.timeout;
      if (p.offlinePushInfo !== undefined) opts.offlinePushInfo = p.offlinePushInfo;
      return Promise.resolve(callKit.calls(opts)).then(function () {
        return c;
      });
    });
  }

  // joinInvitation(event) reads the call token the caller put in userData
  // from the call engine's call-received event and joins the call: the
  // join is recorded on the server, and the returned PrivateMapKey serves
  // custom TRTC clients (TUICallKit enters the room on its own when the
  // user accepts). Rejects with invalid_request when the invitation
  // carries no call token (a call not started through callsign).
  function joinInvitation(event) {
    var token = invitationToken(event);
    if (!token) {
      return Promise.reject(new CallsignError('invalid_request', 'the invitation carries no callsign call token in userData'));
    }
    return joinCall(token);
  }

  return {
    getUserSig: getUserSig,
    createCall: createCall,
    joinCall: joinCall,
    startCall: startCall,
    joinInvitation: joinInvitation
  };
}

// CALL_MEDIA_TYPES maps callsign call types to TUICallKit's CallMediaType.
var CALL_MEDIA_TYPES = { audio: 1, video: 2 };

// invitationToken returns the call token of a call-received event: its
// userData (the engine's event data, or the same wrapped in {data}), or ''.
function invitationToken(event) {
  if (!isObject(event)) return '';
  var data = isObject(event.data) && event.data.userData !== undefined ? event.data : event;
  return typeof data.userData === 'string' ? data.userData : '';
}

module.exports = { createClient: createClient, CallsignError: CallsignError };
