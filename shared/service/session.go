package service

import (
	"context"
	"time"

	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// ProviderWechat is the Trace.Provider of a StartSession caller verified by
// WeChat code2Session.
const ProviderWechat = "wechat"

// StartSession exchanges a wx.login code for the caller's WeChat identity
// (code2Session), derives the userID, and returns a callsign session token
// plus a UserSig with the default lifetime. WeChat's session_key is never
// returned. clientIP is used to rate-limit failed exchanges ("auth.fail").
// Without a configured Wechat client it answers 404 not_found. Errors are
// *Error.
func (s *Service) StartSession(ctx context.Context, clientIP string, in StartSessionRequest) (*StartSessionResponse, error) {
	if s.wechat == nil {
		return nil, &Error{Code: CodeNotFound, Message: msgSessionDisabled}
	}
	if !validCode(in.Code) {
		return nil, invalidRequest("code is required: the wx.login code (at most 128 printable ASCII characters)")
	}
	if e := s.checkBlocked(clientIP); e != nil {
		return nil, e
	}
	sess, err := s.wechat.Code2Session(ctx, in.Code)
	if err == nil && sess.OpenID == "" {
		err = identity.ErrUnauthenticated
	}
	if err != nil {
		e := identityError(err)
		if e.Code == CodeUnauthenticated {
			if limited := s.authFailed(ctx, clientIP); limited != nil {
				return nil, limited
			}
		}
		s.logCause(ctx, "code2Session failed", e)
		return nil, e
	}
	userID, err := s.deriver.Derive(sess.OpenID)
	if err != nil {
		e := identityError(err)
		s.logCause(ctx, "deriving the userID failed", e)
		return nil, e
	}
	if !identity.ValidUserID(userID) {
		return nil, &Error{Code: CodeInternal, Message: msgInternal}
	}
	if s.reserved[userID] {
		return nil, &Error{Code: CodeForbidden, Message: msgReservedUserID}
	}
	if e := s.checkBan(ctx, userID, time.Time{}); e != nil {
		return nil, e
	}
	t := traceFrom(ctx)
	t.UserID, t.Provider = userID, ProviderWechat
	if e := s.limit(ctx, ratelimit.OpSession, userID); e != nil {
		return nil, e
	}
	m, e := s.material(ctx)
	if e != nil {
		return nil, e
	}
	now := s.now()
	tok, expiresAt, err := identity.MintSession(m.tokens, userID, now, s.sessionTTL)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "minting a session token failed", e)
		return nil, e
	}
	sig, err := m.signer.UserSig(userID, s.userSigTTL, now)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "signing a UserSig failed", e)
		return nil, e
	}
	issued := issuedAt(now)
	return &StartSessionResponse{
		SessionToken:     tok,
		ExpiresAt:        expiresAt.UTC(),
		UserID:           userID,
		SDKAppID:         m.sdkAppID,
		UserSig:          sig,
		UserSigExpiresAt: issued.Add(s.userSigTTL),
		RefreshAfter:     refreshAt(issued, s.userSigTTL),
		ServerTime:       issued,
	}, nil
}

// validCode reports whether c looks like a wx.login code: 1..MaxCodeLen
// printable ASCII characters without spaces. The code itself is checked by
// WeChat.
func validCode(c string) bool {
	if len(c) == 0 || len(c) > MaxCodeLen {
		return false
	}
	for i := 0; i < len(c); i++ {
		if c[i] <= ' ' || c[i] > '~' {
			return false
		}
	}
	return true
}
