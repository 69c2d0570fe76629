package service_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
)

// TestCallRecords: create stores the record before answering, join
// records the joiner, and a call whose room was dismissed cannot be joined.
func TestCallRecords(t *testing.T) {
	ctx := context.Background()
	var store *callrecord.Memory
	f := newFixture(t, func(o *service.Options) {
		store = callrecord.NewMemory(callrecord.MemoryOptions{Now: o.Now})
		o.Calls = store
	})
	c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "carol"}, GroupID: "grp1"})
	if err != nil {
		t.Fatal(err)
	}
	room := callrecord.Room{Str: c.RoomID.Str}
	rec, err := store.Get(ctx, room)
	if err != nil {
		t.Fatalf("no record after CreateCall: %v", err)
	}
	want := callrecord.Record{
		CallID: c.CallID, Room: room, Caller: "alice", Invitees: []string{"bob", "carol"}, Type: "video", GroupID: "grp1",
		CreatedAt: t0, ExpiresAt: t0.Add(service.DefaultPrivateMapKeyTTL), State: callrecord.StateCreated,
	}
	if !reflect.DeepEqual(rec, want) {
		t.Fatalf("record = %+v\nwant %+v", rec, want)
	}
	for _, u := range []string{"carol", "alice", "carol"} {
		if _, err := f.svc.JoinCall(ctx, user(u), service.JoinCallRequest{CallToken: c.CallToken}); err != nil {
			t.Fatalf("JoinCall(%s): %v", u, err)
		}
	}
	if rec, _ = store.Get(ctx, room); !reflect.DeepEqual(rec.Joined, []string{"carol"}) {
		t.Fatalf("Joined = %v, want [carol]", rec.Joined)
	}
	if _, err := store.Update(ctx, room, func(r *callrecord.Record) error { r.State = callrecord.StateEnded; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = f.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken})
	if e := wantCode(t, err, service.CodeExpired); e.Message != "the call has ended" {
		t.Fatalf("message = %q", e.Message)
	}
}

// TestCallRecordMissing: a join whose record another instance holds (or
// that expired) is served on the strength of the call token.
func TestCallRecordMissing(t *testing.T) {
	ctx := context.Background()
	a := newFixture(t, nil)
	b := newFixture(t, nil) // same key, its own store
	c, err := a.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"bob"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.svc.JoinCall(ctx, user("bob"), service.JoinCallRequest{CallToken: c.CallToken}); err != nil {
		t.Fatalf("JoinCall on another instance: %v", err)
	}
}

// failingStore fails or collides on Create.
type failingStore struct {
	*callrecord.Memory
	createErrs []error
}

func (s *failingStore) Create(ctx context.Context, r callrecord.Record) error {
	if len(s.createErrs) > 0 {
		err := s.createErrs[0]
		s.createErrs = s.createErrs[1:]
		return err
	}
	return s.Memory.Create(ctx, r)
}

func TestCallRecordStoreFailures(t *testing.T) {
	callBytes := bytes.Repeat([]byte{0xAB}, 16)
	for _, tc := range []struct {
		name string
		errs []error
		code string
		room uint32
	}{
		{"collision draws again", []error{callrecord.ErrExists}, "", 2},
		{"store down", []error{errors.New("connection refused")}, service.CodeUnavailable, 0},
		{"store full", []error{callrecord.ErrFull}, service.CodeUnavailable, 0},
		{"every draw collides", []error{callrecord.ErrExists, callrecord.ErrExists, callrecord.ErrExists, callrecord.ErrExists}, service.CodeUnavailable, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(o *service.Options) {
				o.RoomType = service.RoomTypeNumeric
				var r []byte
				for i := range 4 {
					r = append(r, callBytes...)
					r = append(r, 0, 0, 0, byte(i+1))
				}
				o.Rand = &seqReader{b: r}
				o.Calls = &failingStore{Memory: callrecord.NewMemory(callrecord.MemoryOptions{Now: o.Now}), createErrs: tc.errs}
			})
			resp, err := f.svc.CreateCall(context.Background(), user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob"}})
			if tc.code != "" {
				wantCode(t, err, tc.code)
				return
			}
			if err != nil || resp.RoomID.Num != tc.room {
				t.Fatalf("CreateCall = %+v, %v; want room %d", resp, err, tc.room)
			}
		})
	}
}

// TestReservedUserIDs: administrator identifiers are never served, whatever
// produced them.
func TestReservedUserIDs(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, func(o *service.Options) {
		o.ReservedUserIDs = []string{"imadmin"}
		o.Wechat = fakeWechat{"admincode": "administrator", "usercode": "oAbC123"}
		d, err := identity.NewDeriver("raw", "")
		if err != nil {
			t.Fatal(err)
		}
		o.Deriver = d
	})
	for _, u := range []string{"administrator", "imadmin"} {
		_, err := f.svc.IssueUserSig(ctx, user(u), service.UserSigRequest{})
		if e := wantCode(t, err, service.CodeForbidden); e.Message != "this userID is reserved for administrators" {
			t.Fatalf("message = %q", e.Message)
		}
		_, err = f.svc.CreateCall(ctx, user(u), service.CreateCallRequest{Type: service.CallAudio, UserIDList: []string{"bob"}})
		wantCode(t, err, service.CodeForbidden)
	}
	_, err := f.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "admincode"})
	wantCode(t, err, service.CodeForbidden)
	if _, err := f.svc.StartSession(ctx, "127.0.0.1", service.StartSessionRequest{Code: "usercode"}); err != nil {
		t.Fatalf("StartSession(usercode): %v", err)
	}
	if _, err := f.svc.IssueUserSig(ctx, user("Administrator"), service.UserSigRequest{}); err != nil {
		t.Fatalf("a different userID was refused: %v", err)
	}
}

// TestPrivateMapKeyRenewal: after the invitation expired, the caller and an
// invitee who joined may still renew their PrivateMapKey while the call's
// record lives and the call has not ended; an invitee who never joined, or
// anyone after the end, gets 410.
func TestPrivateMapKeyRenewal(t *testing.T) {
	ctx := context.Background()
	var store *callrecord.Memory
	f := newFixture(t, func(o *service.Options) {
		store = callrecord.NewMemory(callrecord.MemoryOptions{Now: o.Now})
		o.Calls = store
	})
	c, err := f.svc.CreateCall(ctx, user("alice"), service.CreateCallRequest{Type: service.CallVideo, UserIDList: []string{"bob", "carol"}})
	if err != nil {
		t.Fatal(err)
	}
	join := func(u string) (*service.JoinCallResponse, error) {
		return f.svc.JoinCall(ctx, user(u), service.JoinCallRequest{CallToken: c.CallToken})
	}
	if _, err := join("bob"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(service.DefaultInviteTTL + time.Minute)
	for _, u := range []string{"bob", "alice"} {
		r, err := join(u)
		if err != nil {
			t.Fatalf("renewal for %s: %v", u, err)
		}
		if want := f.clock.Now().Add(service.DefaultPrivateMapKeyTTL).Truncate(time.Second); !r.ExpiresAt.Equal(want) {
			t.Fatalf("renewed ticket expires %v, want %v", r.ExpiresAt, want)
		}
	}
	for _, u := range []string{"carol", "mallory"} {
		_, err := join(u)
		wantCode(t, err, service.CodeExpired)
	}
	if _, err := store.Update(ctx, callrecord.Room{Str: c.RoomID.Str}, func(r *callrecord.Record) error { r.State = callrecord.StateEnded; return nil }); err != nil {
		t.Fatal(err)
	}
	_, err = join("bob")
	wantCode(t, err, service.CodeExpired)
}
