package service

import (
	"context"
	"time"

	"github.com/callsign-dev/callsign/shared/ban"
)

// checkBan refuses a banned user (403 user_banned) and a credential issued
// at or before the user's revocation (401: the client signs in again and
// gets a fresh one once the ban is over). issuedAt is zero for credentials
// callsign did not issue.
func (s *Service) checkBan(ctx context.Context, userID string, issuedAt time.Time) *Error {
	e, found, err := s.banEntry(ctx, userID)
	if err != nil {
		return err
	}
	switch {
	case !found:
		return nil
	case e.Active(s.now()):
		return &Error{Code: CodeUserBanned, Message: msgUserBanned}
	case e.Revoked(issuedAt):
		return &Error{Code: CodeUnauthenticated, Message: msgRevoked}
	}
	return nil
}

// banEntry looks up userID's ban entry; a lookup failure (only with a
// fail-closed Checker) is 503.
func (s *Service) banEntry(ctx context.Context, userID string) (ban.Entry, bool, *Error) {
	if s.bans == nil {
		return ban.Entry{}, false, nil
	}
	e, found, err := s.bans.Lookup(ctx, userID)
	if err != nil {
		ee := wrapErr(CodeUnavailable, msgBansDown, err)
		s.logCause(ctx, "ban lookup failed", ee)
		return ban.Entry{}, false, ee
	}
	return e, found, nil
}

// checkCallToken refuses a call token issued at or before its caller's
// revocation (401): a banned caller's invitations die with the ban.
func (s *Service) checkCallToken(ctx context.Context, c *callClaims) *Error {
	if c.IssuedAt == nil {
		return nil
	}
	e, found, err := s.banEntry(ctx, c.Subject)
	if err != nil {
		return err
	}
	if found && (e.Active(s.now()) || e.Revoked(c.IssuedAt.Time)) {
		return &Error{Code: CodeUnauthenticated, Message: msgCallTokenRevoked}
	}
	return nil
}

// checkPolicy asks the call policy whether the call may be created.
func (s *Service) checkPolicy(ctx context.Context, caller string, in *CreateCallRequest) *Error {
	if s.policy == nil {
		return nil
	}
	ok, err := s.policy.Allow(ctx, caller, in.UserIDList, string(in.Type), in.GroupID)
	if err != nil {
		e := wrapErr(CodeUnavailable, msgPolicyDown, err)
		s.logCause(ctx, "call policy failed", e)
		return e
	}
	if !ok {
		return &Error{Code: CodeCallNotAllowed, Message: msgCallNotAllowed}
	}
	return nil
}
