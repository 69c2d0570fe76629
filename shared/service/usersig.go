package service

import (
	"context"
	"strconv"
	"time"

	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/ratelimit"
)

// IssueUserSig issues a UserSig for the verified caller. The lifetime is
// in.TTLSeconds clamped to UserSigMaxTTL (400 when below MinUserSigTTL), or
// UserSigTTL when absent. Errors are *Error.
func (s *Service) IssueUserSig(ctx context.Context, creds identity.Credentials, in UserSigRequest) (*UserSigResponse, error) {
	id, e := s.authenticate(ctx, creds)
	if e != nil {
		return nil, e
	}
	ttl, e := s.userSigTTLFor(in.TTLSeconds)
	if e != nil {
		return nil, e
	}
	if e := s.limit(ctx, ratelimit.OpUserSig, id.UserID); e != nil {
		return nil, e
	}
	m, e := s.material(ctx)
	if e != nil {
		return nil, e
	}
	now := s.now()
	sig, err := m.signer.UserSig(id.UserID, ttl, now)
	if err != nil {
		e := wrapErr(CodeInternal, msgInternal, err)
		s.logCause(ctx, "signing a UserSig failed", e)
		return nil, e
	}
	issued := issuedAt(now)
	return &UserSigResponse{
		SDKAppID:     m.sdkAppID,
		UserID:       id.UserID,
		UserSig:      sig,
		ExpiresAt:    issued.Add(ttl),
		TTLSeconds:   int64(ttl / time.Second),
		RefreshAfter: refreshAt(issued, ttl),
		ServerTime:   issued,
	}, nil
}

// userSigTTLFor turns an optional requested lifetime into the granted one.
func (s *Service) userSigTTLFor(req *int64) (time.Duration, *Error) {
	if req == nil {
		return s.userSigTTL, nil
	}
	secs := *req
	if secs < int64(MinUserSigTTL/time.Second) {
		return 0, invalidRequest("ttlSeconds must be at least " + strconv.FormatInt(int64(MinUserSigTTL/time.Second), 10))
	}
	if max := int64(s.userSigMax / time.Second); secs > max {
		secs = max
	}
	return time.Duration(secs) * time.Second, nil
}

// issuedAt is the issue instant as the tickets record it: whole seconds, UTC.
func issuedAt(now time.Time) time.Time {
	return time.Unix(now.Unix(), 0).UTC()
}

// refreshAt is 80 % of the way from issued to issued+ttl, in whole seconds.
func refreshAt(issued time.Time, ttl time.Duration) time.Time {
	secs := int64(ttl/time.Second) * 4 / 5
	return issued.Add(time.Duration(secs) * time.Second)
}
