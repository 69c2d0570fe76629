package usersig

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// pmkBuf builds a userbuf from pm with the given version byte, bypassing
// Signer validation, so tests can forge inconsistent PrivateMapKeys.
func pmkBuf(pm PrivateMap) []byte { return appendUserBuf(nil, &pm) }

func TestVerifyPrivateMapKeyInvariants(t *testing.T) {
	const app, uid = 1400000000, "alice"
	ttime, exp := int64(1700000000), int64(300)
	good := PrivateMap{Account: uid, SDKAppID: app, Room: NumericRoom(9), ExpiresAt: uint32(ttime + exp), Privileges: 63}
	mod := func(f func(*PrivateMap)) []byte { pm := good; f(&pm); return pmkBuf(pm) }
	cases := []struct {
		name    string
		userbuf []byte
		err     error
		msg     string
	}{
		{"consistent", pmkBuf(good), nil, ""},
		{"empty userbuf", []byte{}, ErrUserBufMismatch, "not a PrivateMapKey userbuf"},
		{"garbage userbuf", []byte("garbage"), ErrUserBufMismatch, "not a PrivateMapKey userbuf"},
		{"account differs", mod(func(p *PrivateMap) { p.Account = "bob" }), ErrUserBufMismatch, "account"},
		{"sdkappid differs", mod(func(p *PrivateMap) { p.SDKAppID = app + 1 }), ErrUserBufMismatch, "SDKAppID"},
		{"relative dwExpTime", mod(func(p *PrivateMap) { p.ExpiresAt = uint32(exp) }), ErrUserBufMismatch, "expiry"},
		{"dwExpTime off by one", mod(func(p *PrivateMap) { p.ExpiresAt++ }), ErrUserBufMismatch, "expiry"},
		{"account type 1", mod(func(p *PrivateMap) { p.AccountType = 1 }), ErrUserBufMismatch, "account type"},
		{"privileges 256", mod(func(p *PrivateMap) { p.Privileges = 256 }), ErrUserBufMismatch, "exceed 255"},
		{"room 0", mod(func(p *PrivateMap) { p.Room = NumericRoom(0) }), ErrUserBufMismatch, "not a valid room"},
		{"string room with slash", mod(func(p *PrivateMap) { p.Room = StringRoom("a/b") }), ErrUserBufMismatch, "not a valid room"},
		{"version 1 with empty room string", append(append([]byte{1}, pmkBuf(good)[1:]...), 0, 0), ErrUserBufMismatch, "empty room string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ticket := forge(t, forged{ver: "2.0", identifier: uid, app: app, time: ttime, expire: exp, userbuf: tc.userbuf, key: testKey})
			tk, err := Verify(ticket, []string{testKey}, Expect{SDKAppID: app, UserID: uid, Now: time.Unix(ttime, 0), PrivateMapKey: true})
			if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
				t.Fatalf("Verify = %v, want %v", err, tc.err)
			}
			if err != nil {
				if errors.Is(err, ErrInvalidInput) || !strings.Contains(err.Error(), tc.msg) || tk != nil {
					t.Fatalf("error %q (ticket %v): want only ErrUserBufMismatch mentioning %q", err, tk, tc.msg)
				}
			}
		})
	}
}

// TestVerifyPrecedence: the first failing check of the official order wins.
func TestVerifyPrecedence(t *testing.T) {
	v4 := loadVectors(t)[3]
	ticket := v4.NodeUserSig
	late := time.Unix(v4.T+v4.Exp+1, 0)
	cases := []struct {
		name string
		keys []string
		want Expect
		err  error
	}{
		{"app before everything", []string{"wrong"}, Expect{SDKAppID: 1, UserID: "x", Now: late}, ErrAppMismatch},
		{"identifier before expiry", []string{"wrong"}, Expect{SDKAppID: v4.App, UserID: "x", Now: late}, ErrIdentifierMismatch},
		{"expiry before userbuf", []string{"wrong"}, Expect{SDKAppID: v4.App, UserID: v4.UID, Now: late}, ErrExpired},
		{"userbuf before signature", []string{"wrong"}, Expect{SDKAppID: v4.App, UserID: v4.UID, Now: v4.now()}, ErrUserBufMismatch},
		{"signature last", []string{"wrong"}, Expect{SDKAppID: v4.App, UserID: v4.UID, Now: v4.now(), PrivateMapKey: true}, ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(ticket, tc.keys, tc.want); !errors.Is(err, tc.err) {
				t.Fatalf("Verify = %v, want %v", err, tc.err)
			}
		})
	}
}

func TestVerifyInvalidArguments(t *testing.T) {
	room := NumericRoom(1)
	priv := PrivAll
	ok := Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: testNow}
	cases := []struct {
		name string
		keys []string
		want Expect
	}{
		{"no keys", nil, ok},
		{"empty key", []string{testKey, ""}, ok},
		{"app 0", []string{testKey}, Expect{UserID: "xiaojun", Now: testNow}},
		{"empty userID", []string{testKey}, Expect{SDKAppID: 1400000000, Now: testNow}},
		{"zero now", []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "xiaojun"}},
		{"room without PMK", []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: testNow, Room: &room}},
		{"privileges without PMK", []string{testKey}, Expect{SDKAppID: 1400000000, UserID: "xiaojun", Now: testNow, Privileges: &priv}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Verify(goV1, tc.keys, tc.want); !errors.Is(err, ErrInvalidInput) {
				t.Fatalf("Verify = %v, want ErrInvalidInput", err)
			}
		})
	}
}

// TestVerifyKeyRotation: any listed key verifies; order does not matter for
// the result; an unlisted key fails.
func TestVerifyKeyRotation(t *testing.T) {
	const prev, cur = "previous-key", "current-key"
	s, err := NewSigner(1400000000, prev)
	if err != nil {
		t.Fatal(err)
	}
	ticket, err := s.UserSig("alice", time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	want := Expect{SDKAppID: 1400000000, UserID: "alice", Now: testNow}
	for _, keys := range [][]string{{cur, prev}, {prev, cur}, {prev}} {
		if _, err := Verify(ticket, keys, want); err != nil {
			t.Errorf("keys %v: %v", keys, err)
		}
	}
	_, err = Verify(ticket, []string{cur, "older-key"}, want)
	if !errors.Is(err, ErrBadSignature) || err.Error() != "usersig: signature does not match: TLS.sig does not match any of 2 key(s)" {
		t.Errorf("Verify = %v", err)
	}
}

// TestErrorsNeverLeak: no error text contains a key, a ticket or a signature.
func TestErrorsNeverLeak(t *testing.T) {
	v := loadVectors(t)[3]
	secrets := []string{v.Key, v.NodeUserSig, v.TLSSig, v.UserBufB64, "wrong-key-value"}
	var errs []error
	for _, want := range []Expect{
		{SDKAppID: v.App, UserID: v.UID, Now: v.now(), PrivateMapKey: true},
		{SDKAppID: v.App, UserID: v.UID, Now: v.now()},
		{SDKAppID: v.App, UserID: v.UID, Now: time.Unix(v.T+v.Exp+1, 0), PrivateMapKey: true},
		{SDKAppID: v.App, UserID: "other", Now: v.now()},
	} {
		_, err := Verify(v.NodeUserSig, []string{"wrong-key-value", v.Key + "x"}, want)
		errs = append(errs, err)
	}
	_, err := Decode(v.NodeUserSig[:100])
	errs = append(errs, err)
	_, err = NewSigner(0, v.Key)
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		for _, s := range secrets {
			if strings.Contains(err.Error(), s) {
				t.Errorf("error %q contains a secret", err)
			}
		}
	}
}
