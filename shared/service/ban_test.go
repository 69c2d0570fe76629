package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/token"
)

// TestBannedUser: a ban refuses every operation of that user with 403
// user_banned once the instance's cached lookup is stale (at most
// ban.DefaultCacheTTL) and nobody else's;
// the banned caller's earlier invitation stops working; after the ban
// ends, a session token issued before it stays refused (401) while a new
// one works.
func TestBannedUser(t *testing.T) {
	ctx := context.Background()
	var bans *ban.Memory
	var calls callrecord.Store
	d, err := identity.NewDeriver(identity.ModeRaw, "")
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(o *service.Options) {
		calls = o.Calls
		bans = ban.NewMemory(o.Now)
		o.Bans = ban.NewChecker(bans, ban.CheckerOptions{Now: o.Now})
		o.Wechat = fakeWechat{"mallorycode": "mallory"}
		o.Deriver = d
	})
	keys := token.KeysFor(testStage, "", testKey, "")
	sessions, err := identity.NewSession(func(context.Context) (token.Keys, error) { return keys, nil }, identity.SessionOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	withSessions := newFixture(t, func(o *service.Options) {
		o.Verifier = sessions
		o.Now = f.clock.Now
		o.Bans = ban.NewChecker(bans, ban.CheckerOptions{Now: f.clock.Now})
	})
	oldSession, _, err := identity.MintSession(keys, "mallory", f.clock.Now(), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	call, err := f.svc.CreateCall(ctx, user("mallory"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if rooms, err := calls.UserRooms(ctx, "bob"); err != nil || len(rooms) != 1 || rooms[0].Str != call.RoomID.Str {
		t.Fatalf("bob's call index = %v, %v; want the call's room", rooms, err)
	}

	f.clock.Advance(2 * time.Second)
	if _, err := ban.Ban(ctx, bans, "mallory", 10*time.Minute, "spam", f.clock.Now(), 24*time.Hour); err != nil {
		t.Fatal(err)
	}
	// This instance looked mallory up for the call less than the cache
	// lifetime ago: the ban reaches it when that lookup goes stale.
	if _, err := f.svc.IssueUserSig(ctx, user("mallory"), service.UserSigRequest{}); err != nil {
		t.Fatalf("usersig within the cache lifetime: %v", err)
	}
	f.clock.Advance(ban.DefaultCacheTTL - 2*time.Second)
	_, err = f.svc.IssueUserSig(ctx, user("mallory"), service.UserSigRequest{})
	if e := wantCode(t, err, service.CodeUserBanned); e.Status() != 403 || e.Message != "this user is banned" {
		t.Fatalf("usersig: %d %q", e.Status(), e.Message)
	}
	_, err = f.svc.CreateCall(ctx, user("mallory"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}})
	wantCode(t, err, service.CodeUserBanned)
	_, err = f.svc.JoinCall(ctx, user("mallory"), service.JoinCallRequest{CallToken: call.CallToken})
	wantCode(t, err, service.CodeUserBanned)
	_, err = f.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "mallorycode"})
	wantCode(t, err, service.CodeUserBanned)
	_, err = withSessions.svc.IssueUserSig(ctx, identity.Credentials{Authorization: "Bearer " + oldSession}, service.UserSigRequest{})
	wantCode(t, err, service.CodeUserBanned)
	// The banned caller's invitation is revoked for the invitee.
	_, err = f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: call.CallToken})
	if e := wantCode(t, err, service.CodeUnauthenticated); e.Message != "call token revoked" {
		t.Fatalf("join with a banned caller's token: %q", e.Message)
	}
	if _, err := f.svc.IssueUserSig(ctx, user("bob"), service.UserSigRequest{}); err != nil {
		t.Fatalf("another user was refused: %v", err)
	}

	// The ban ends; the old session token stays revoked, a new one works.
	f.clock.Advance(10 * time.Minute)
	_, err = withSessions.svc.IssueUserSig(ctx, identity.Credentials{Authorization: "Bearer " + oldSession}, service.UserSigRequest{})
	if e := wantCode(t, err, service.CodeUnauthenticated); e.Message != "credentials revoked; sign in again" {
		t.Fatalf("old session after the ban: %q", e.Message)
	}
	newSession, _, err := identity.MintSession(keys, "mallory", f.clock.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(ban.DefaultCacheTTL)
	if _, err := withSessions.svc.IssueUserSig(ctx, identity.Credentials{Authorization: "Bearer " + newSession}, service.UserSigRequest{}); err != nil {
		t.Fatalf("new session after the ban: %v", err)
	}
	if _, err := f.svc.IssueUserSig(ctx, user("mallory"), service.UserSigRequest{}); err != nil {
		t.Fatalf("usersig after the ban: %v", err)
	}
}

// failingBans is a ban lookup that always fails (a fail-closed Checker
// whose store is down).
type failingBans struct{}

func (failingBans) Lookup(context.Context, string) (ban.Entry, bool, error) {
	return ban.Entry{}, false, errors.New("store down")
}

func TestBanLookupFailure(t *testing.T) {
	f := newFixture(t, func(o *service.Options) { o.Bans = failingBans{} })
	_, err := f.svc.IssueUserSig(context.Background(), user("alice"), service.UserSigRequest{})
	if e := wantCode(t, err, service.CodeUnavailable); e.Message != "ban list unavailable; retry later" {
		t.Fatalf("message = %q", e.Message)
	}
}

// policyFunc adapts a function to service.CallPolicy.
type policyFunc func(caller string, invitees []string, callType, groupID string) (bool, error)

func (p policyFunc) Allow(_ context.Context, caller string, invitees []string, callType, groupID string) (bool, error) {
	return p(caller, invitees, callType, groupID)
}

// TestCallPolicy: a refusal is 403 call_not_allowed with nothing signed
// or stored; no decision is 503; the policy sees the verified caller.
func TestCallPolicy(t *testing.T) {
	ctx := context.Background()
	var (
		asked []string
		calls callrecord.Store
	)
	f := newFixture(t, func(o *service.Options) {
		calls = o.Calls
		o.Policy = policyFunc(func(caller string, invitees []string, callType, groupID string) (bool, error) {
			asked = append(asked, caller+">"+invitees[0]+":"+callType+":"+groupID)
			switch invitees[0] {
			case "down":
				return false, errors.New("webhook down")
			case "blocked":
				return false, nil
			}
			return true, nil
		})
	})
	resp, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"blocked"}})
	if e := wantCode(t, err, service.CodeCallNotAllowed); resp != nil || e.Status() != 403 || e.Message != "this call is not allowed" {
		t.Fatalf("refused call: %+v %d %q", resp, e.Status(), e.Message)
	}
	if rooms, err := calls.UserRooms(ctx, "alice"); err != nil || len(rooms) != 0 {
		t.Fatalf("a refused call was recorded: %v %v", rooms, err)
	}
	_, err = f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"down"}})
	wantCode(t, err, service.CodeUnavailable)
	if _, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}, GroupID: "@TGS#1"}); err != nil {
		t.Fatal(err)
	}
	want := []string{"alice>blocked:audio:", "alice>down:audio:", "alice>bob:video:@TGS#1"}
	if len(asked) != 3 || asked[0] != want[0] || asked[1] != want[1] || asked[2] != want[2] {
		t.Fatalf("policy asked %q, want %q", asked, want)
	}
}
