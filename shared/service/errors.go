package service

import (
	"errors"
	"net/http"
	"time"

	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
)

// Error codes (DESIGN §7). They are stable: clients branch on them.
const (
	// CodeInvalidRequest (400): the request body or a field is invalid.
	CodeInvalidRequest = "invalid_request"
	// CodeUnauthenticated (401): no credentials, or credentials (or a call
	// token) that failed verification.
	CodeUnauthenticated = "unauthenticated"
	// CodeForbidden (403): the caller is known but refused.
	CodeForbidden = "forbidden"
	// CodeNotInvited (403): the verified caller is not an invitee of the call.
	CodeNotInvited = "not_invited"
	// CodeUserBanned (403): an operator banned the verified user.
	CodeUserBanned = "user_banned"
	// CodeCallNotAllowed (403): the call policy refused this call.
	CodeCallNotAllowed = "call_not_allowed"
	// CodeNotFound (404): unknown route, action or disabled operation.
	CodeNotFound = "not_found"
	// CodeMethodNotAllowed (405): HTTP only; the route exists but not for
	// this method. The response carries an Allow header.
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeExpired (410): the call token (invitation) has expired.
	CodeExpired = "expired"
	// CodePayloadTooLarge (413): the request body exceeds the size limit.
	CodePayloadTooLarge = "payload_too_large"
	// CodeRateLimited (429): a rate limit refused the request; retry later.
	CodeRateLimited = "rate_limited"
	// CodeInternal (500): a server-side fault (misconfiguration, a bug).
	CodeInternal = "internal"
	// CodeUnavailable (503): a dependency (secret store, rate-limit store,
	// identity provider) is unavailable; retry later.
	CodeUnavailable = "unavailable"
)

// Status returns the HTTP status of an error code; unknown codes are 500.
func Status(code string) int {
	switch code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeUnauthenticated:
		return http.StatusUnauthorized
	case CodeForbidden, CodeNotInvited, CodeUserBanned, CodeCallNotAllowed:
		return http.StatusForbidden
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMethodNotAllowed:
		return http.StatusMethodNotAllowed
	case CodeExpired:
		return http.StatusGone
	case CodePayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeRateLimited:
		return http.StatusTooManyRequests
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// Error is the only error type the Service returns. Code and Message are
// safe to show to clients: Message is a fixed text chosen by callsign (or a
// validation message naming a field), never the text of an underlying error
// and never a credential. The underlying cause, if any, is available to
// errors.Is / errors.As through Unwrap for logging and tests.
type Error struct {
	// Code is one of the Code* constants.
	Code string
	// Message is a short, human-readable, client-safe explanation.
	Message string
	// RetryAfter is how long the client should wait before retrying; set
	// for rate_limited (and zero otherwise).
	RetryAfter time.Duration
	// Limit is the rate-limit decision that refused the request, when a
	// Limiter made one; transports turn it into RateLimit-* headers.
	Limit *ratelimit.Decision

	cause error
}

// Error implements error. It contains only the code and the safe message.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the underlying cause (may be nil). Its text is for server
// logs only.
func (e *Error) Unwrap() error { return e.cause }

// Status returns the HTTP status for e.Code.
func (e *Error) Status() int { return Status(e.Code) }

// RetryAfterSeconds is RetryAfter rounded up to whole seconds; 0 when no
// retry hint applies.
func (e *Error) RetryAfterSeconds() int {
	if e.RetryAfter <= 0 {
		return 0
	}
	s := e.RetryAfter / time.Second
	if e.RetryAfter%time.Second != 0 {
		s++
	}
	return int(s)
}

// NewError returns an Error with code and message and no cause. Transports
// use it for their own failures (bad JSON, unknown routes).
func NewError(code, message string) *Error {
	return &Error{Code: code, Message: message}
}

// AsError returns err as a *Error: err itself when it is one (or wraps
// one), otherwise an internal error wrapping err.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: msgInternal, cause: err}
}

// Fixed client-facing messages.
const (
	msgInternal         = "internal error"
	msgNoCredentials    = "authentication required"
	msgBadCredentials   = "invalid credentials"
	msgExpiredCreds     = "credentials expired"
	msgForbidden        = "this identity may not use callsign"
	msgUpstreamLimited  = "identity provider rate limit reached; retry later"
	msgUpstreamDown     = "identity provider unavailable; retry later"
	msgSecretDown       = "signing secret unavailable; retry later"
	msgLimiterDown      = "rate limiter unavailable; retry later"
	msgUserLimited      = "too many requests for this user"
	msgAuthFailLimited  = "too many failed authentication attempts; retry later"
	msgInvalidCallToken = "invalid call token"
	msgExpiredCallToken = "call token expired"
	msgNotInvited       = "you are not invited to this call"
	msgSessionDisabled  = "sessions are not enabled on this deployment"
	msgReservedUserID   = "this userID is reserved for administrators"
	msgCallEnded        = "the call has ended"
	msgRecordsDown      = "call records unavailable; retry later"
	msgUserBanned       = "this user is banned"
	msgRevoked          = "credentials revoked; sign in again"
	msgCallTokenRevoked = "call token revoked"
	msgBansDown         = "ban list unavailable; retry later"
	msgCallNotAllowed   = "this call is not allowed"
	msgPolicyDown       = "call policy unavailable; retry later"
)

// upstreamRetryAfter is the retry hint for an identity provider's own rate
// limit (WeChat 45011 is a per-minute quota).
const upstreamRetryAfter = time.Minute

// wrapErr builds an Error with a cause.
func wrapErr(code, message string, cause error) *Error {
	return &Error{Code: code, Message: message, cause: cause}
}

// invalidRequest returns a 400 with message.
func invalidRequest(message string) *Error {
	return &Error{Code: CodeInvalidRequest, Message: message}
}

// identityError maps an error from a Verifier, the WeChat client or the
// Deriver to an API error. Sentinels are checked from the most to the least
// operational, so an outage is never reported as bad credentials.
func identityError(err error) *Error {
	switch {
	case errors.Is(err, identity.ErrMisconfigured):
		return wrapErr(CodeInternal, msgInternal, err)
	case errors.Is(err, identity.ErrUnavailable),
		errors.Is(err, secret.ErrUnavailable),
		errors.Is(err, ratelimit.ErrUnavailable):
		return wrapErr(CodeUnavailable, msgUpstreamDown, err)
	case errors.Is(err, identity.ErrRateLimited):
		e := wrapErr(CodeRateLimited, msgUpstreamLimited, err)
		e.RetryAfter = upstreamRetryAfter
		return e
	case errors.Is(err, identity.ErrForbidden):
		return wrapErr(CodeForbidden, msgForbidden, err)
	case errors.Is(err, identity.ErrNoCredentials):
		return wrapErr(CodeUnauthenticated, msgNoCredentials, err)
	case errors.Is(err, identity.ErrExpiredCredentials):
		return wrapErr(CodeUnauthenticated, msgExpiredCreds, err)
	case errors.Is(err, identity.ErrUnauthenticated):
		return wrapErr(CodeUnauthenticated, msgBadCredentials, err)
	default:
		return wrapErr(CodeInternal, msgInternal, err)
	}
}
