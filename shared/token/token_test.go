package token

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type testClaims struct {
	jwt.RegisteredClaims
	Room string `json:"room"`
}

var t0 = time.Unix(1700000000, 0)

func mint(t *testing.T, keys Keys, aud string, exp time.Time) string {
	t.Helper()
	s, err := Sign(keys, &testClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   "alice",
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(t0),
			ExpiresAt: jwt.NewNumericDate(exp),
		},
		Room: "c_room",
	})
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return s
}

func TestDeriveKeyIsFixedHMAC(t *testing.T) {
	// HMAC-SHA256(key="k", msg="callsign/token-key/v1"), as computed by
	// openssl dgst -sha256 -hmac k.
	const want = "d1f4487b3711abfcd6dbd19cf71178c0eccef1ad217314952f3570b62cd99770"
	if got := hex.EncodeToString(DeriveKey("k")); got != want {
		t.Fatalf("DeriveKey(k) = %s, want %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	cur := KeysFor("", "current-secret", "")
	rotated := KeysFor("", "new-secret", "current-secret")
	other := KeysFor("", "other-secret", "")
	valid := mint(t, cur, AudienceCall, t0.Add(2*time.Minute))
	expired := mint(t, cur, AudienceCall, t0.Add(-time.Minute))
	session := mint(t, cur, AudienceSession, t0.Add(2*time.Minute))
	parts := strings.Split(valid, ".")
	tampered := parts[0] + "." + parts[1] + "x." + parts[2]
	none := func() string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodNone, &testClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour)),
		}}).SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	noExp := func() string {
		s, err := Sign(cur, &testClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, Audience: jwt.ClaimStrings{AudienceCall}}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	wrongIssuer := func() string {
		s, err := Sign(cur, &testClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "someone", Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour))}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()

	tests := []struct {
		name  string
		tok   string
		keys  Keys
		now   time.Time
		want  error
		aud   string
		check bool
	}{
		{name: "valid", tok: valid, keys: cur, now: t0, aud: AudienceCall, check: true},
		{name: "valid with previous key during rotation", tok: valid, keys: rotated, now: t0, aud: AudienceCall, check: true},
		{name: "unknown key", tok: valid, keys: other, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "expired", tok: expired, keys: cur, now: t0, aud: AudienceCall, want: ErrExpired},
		{name: "expired within leeway is still expired past it", tok: valid, keys: cur, now: t0.Add(3 * time.Minute), aud: AudienceCall, want: ErrExpired},
		{name: "expired token signed by unknown key is invalid", tok: expired, keys: other, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "wrong audience", tok: session, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "tampered", tok: tampered, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "alg none", tok: none, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "no expiry", tok: noExp, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "wrong issuer", tok: wrongIssuer, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "empty", tok: "", keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "oversized", tok: strings.Repeat("a", MaxLength+1), keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "no keys", tok: valid, keys: Keys{}, now: t0, aud: AudienceCall, want: ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c testClaims
			err := Verify(tc.tok, tc.aud, tc.keys, tc.now, 30*time.Second, &c)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Subject != "alice" || c.Room != "c_room" {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify error = %v, want %v", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.tok) && tc.tok != "" {
				t.Fatal("error text contains the token")
			}
		})
	}
}

func TestKeysFor(t *testing.T) {
	k := KeysFor("explicit", "trtc", "old")
	if string(k.Current) != "explicit" {
		t.Fatalf("Current = %q", k.Current)
	}
	if len(k.Previous) != 2 || string(k.Previous[0]) != string(DeriveKey("trtc")) || string(k.Previous[1]) != string(DeriveKey("old")) {
		t.Fatalf("Previous = %x", k.Previous)
	}
	k = KeysFor("", "trtc", "")
	if string(k.Current) != string(DeriveKey("trtc")) || len(k.Previous) != 0 {
		t.Fatalf("KeysFor without token key = %+v", k)
	}
}

func TestSignWithoutKey(t *testing.T) {
	if _, err := Sign(Keys{}, &testClaims{}); err == nil {
		t.Fatal("Sign without a key succeeded")
	}
}

func FuzzVerify(f *testing.F) {
	keys := KeysFor("", "fuzz-secret", "")
	valid, err := Sign(keys, &testClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour)),
	}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add("")
	f.Add("a.b.c")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		var c testClaims
		err := Verify(s, AudienceCall, keys, t0, time.Second, &c)
		if err != nil && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrExpired) {
			t.Fatalf("unexpected error class: %v", err)
		}
		if err == nil && s != valid {
			// Only a correctly signed token may verify; any other accepted
			// input must at least carry our audience and issuer.
			if c.Issuer != Issuer {
				t.Fatalf("accepted token with issuer %q", c.Issuer)
			}
		}
	})
}
