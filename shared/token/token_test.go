package token

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/internal/testclock"
	"github.com/golang-jwt/jwt/v5"
)

type testClaims struct {
	jwt.RegisteredClaims
	Room string `json:"room"`
}

var t0 = testclock.Epoch()

func mint(t *testing.T, keys Keys, aud string, exp time.Time) string {
	t.Helper()
	s, err := Sign(keys, &testClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    Issuer,
			Subject:   "alice",
			Audience:  jwt.ClaimStrings{aud},
			IssuedAt:  jwt.NewNumericDate(exp.Add(-2 * time.Minute)),
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
	// HMAC-SHA256(key="k", msg="callsign/token-key/v2/stage=<stage>"), as
	// computed by: printf %s callsign/token-key/v2/stage=prod | openssl dgst -sha256 -hmac k
	for stage, want := range map[string]string{
		"prod": "76c545e577c0f1d9d76b7f283c05828598a60c2fd73157c4b867c536a156249b",
		"dev":  "3e1b1b2c81b489b295ac70e345edc336974ec5e77f8da8b79bbd1752b0750ef0",
	} {
		if got := hex.EncodeToString(DeriveKey("k", stage)); got != want {
			t.Fatalf("DeriveKey(k, %s) = %s, want %s", stage, got, want)
		}
	}
}

// TestKeysAreStageBound: with the same TRTC key, or the same configured
// token key, in two stages, a token minted by one stage is refused by the
// other, also by its previous keys during a rotation.
func TestKeysAreStageBound(t *testing.T) {
	tokenKey := strings.Repeat("t", MinKeyBytes)
	tests := []struct {
		name      string
		dev, prod Keys
	}{
		{"same TRTC key", KeysFor("dev", "", "trtc", ""), KeysFor("prod", "", "trtc", "")},
		{"same token key", KeysFor("dev", tokenKey, "trtc", ""), KeysFor("prod", tokenKey, "trtc", "")},
		{"dev key is prod's previous key", KeysFor("dev", "", "old", ""), KeysFor("prod", "", "new", "old")},
		{"dev TRTC key is prod's fallback key", KeysFor("dev", "", "trtc", ""), KeysFor("prod", tokenKey, "trtc", "")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := mint(t, tc.dev, AudienceCall, t0.Add(time.Minute))
			if err := Verify(tok, AudienceCall, tc.dev, t0, 0, &testClaims{}); err != nil {
				t.Fatalf("dev token refused by dev: %v", err)
			}
			if err := Verify(tok, AudienceCall, tc.prod, t0, 0, &testClaims{}); !errors.Is(err, ErrInvalid) {
				t.Fatalf("dev token verified by prod: %v", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	cur := KeysFor("prod", "", "current-secret", "")
	rotated := KeysFor("prod", "", "new-secret", "current-secret")
	other := KeysFor("prod", "", "other-secret", "")
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
	expiredSession := mint(t, cur, AudienceSession, t0.Add(-time.Minute))
	expiredWrongIssuer := func() string {
		s, err := Sign(cur, &testClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: "someone", Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(-time.Minute))}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	bothAudiences := func(aud ...string) string {
		s, err := Sign(cur, &testClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, Subject: "alice", Audience: aud, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour))}, Room: "c_room"})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	// A token signed with the key an empty secret would derive, which
	// KeysFor must never produce.
	publicKey := mint(t, Keys{Current: DeriveKey("", "prod")}, AudienceCall, t0.Add(2*time.Minute))
	issuedAfterExpiry := func() string {
		s, err := Sign(cur, &testClaims{RegisteredClaims: jwt.RegisteredClaims{Issuer: Issuer, Audience: jwt.ClaimStrings{AudienceCall},
			IssuedAt: jwt.NewNumericDate(t0), ExpiresAt: jwt.NewNumericDate(t0.Add(-time.Minute))}})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}()
	withCrit := func() string {
		tok := jwt.NewWithClaims(jwt.SigningMethodHS256, &testClaims{RegisteredClaims: jwt.RegisteredClaims{
			Issuer: Issuer, Subject: "alice", Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour)),
		}, Room: "c_room"})
		tok.Header["crit"] = []string{"exp"}
		tok.Header["exp"] = t0.Add(time.Hour).Unix()
		s, err := tok.SignedString(cur.Current)
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
		{name: "expired token of another audience is invalid, not expired", tok: expiredSession, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "expired token of another issuer is invalid, not expired", tok: expiredWrongIssuer, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "issued after it expired is invalid, not expired", tok: issuedAfterExpiry, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "two audiences, verified as call", tok: bothAudiences(AudienceSession, AudienceCall), keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "two audiences, verified as session", tok: bothAudiences(AudienceSession, AudienceCall), keys: cur, now: t0, aud: AudienceSession, want: ErrInvalid},
		{name: "empty expected audience", tok: bothAudiences("", AudienceCall), keys: cur, now: t0, aud: "", want: ErrInvalid},
		{name: "key derived from an empty secret", tok: publicKey, keys: KeysFor("prod", "", "", ""), now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "tampered", tok: tampered, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "alg none", tok: none, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "no expiry", tok: noExp, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
		{name: "crit header", tok: withCrit, keys: cur, now: t0, aud: AudienceCall, want: ErrInvalid},
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
	explicit := strings.Repeat("e", MinKeyBytes)
	k := KeysFor("prod", explicit, "trtc", "old")
	if string(k.Current) != string(DeriveKey(explicit, "prod")) {
		t.Fatalf("Current = %x", k.Current)
	}
	if len(k.Previous) != 2 || string(k.Previous[0]) != string(DeriveKey("trtc", "prod")) || string(k.Previous[1]) != string(DeriveKey("old", "prod")) {
		t.Fatalf("Previous = %x", k.Previous)
	}
	k = KeysFor("prod", "", "trtc", "")
	if string(k.Current) != string(DeriveKey("trtc", "prod")) || len(k.Previous) != 0 {
		t.Fatalf("KeysFor without token key = %+v", k)
	}
	// No secret, no key: DeriveKey("", stage) is public and must never be used.
	k = KeysFor("prod", "", "", "old")
	if len(k.Current) != 0 || len(k.Previous) != 1 || string(k.Previous[0]) != string(DeriveKey("old", "prod")) {
		t.Fatalf("KeysFor without secrets = %+v", k)
	}
	if _, err := Sign(k, &testClaims{}); err == nil || err.Error() != "token: no signing key" {
		t.Fatalf("Sign with KeysFor(prod, \"\", \"\", old) = %v, want token: no signing key", err)
	}
	// Fail closed: no stage, or a token key too short to be secret.
	for _, k := range []Keys{KeysFor("", explicit, "trtc", "old"), KeysFor("prod", "a", "trtc", "old"), KeysFor("prod", explicit[:MinKeyBytes-1], "trtc", "")} {
		if len(k.Current) != 0 || len(k.Previous) != 0 {
			t.Fatalf("KeysFor = %+v, want no keys", k)
		}
	}
}

// TestShortKeysRefused: a key under MinKeyBytes neither signs nor verifies,
// so a one-byte token key can never make a token that yields a UserSig.
func TestShortKeysRefused(t *testing.T) {
	short := Keys{Current: []byte("a")}
	if _, err := Sign(short, &testClaims{}); err == nil || err.Error() != "token: signing key shorter than 32 bytes" {
		t.Fatalf("Sign with a one-byte key = %v", err)
	}
	claims := &testClaims{RegisteredClaims: jwt.RegisteredClaims{
		Issuer: Issuer, Subject: "alice", Audience: jwt.ClaimStrings{AudienceCall}, ExpiresAt: jwt.NewNumericDate(t0.Add(time.Hour)),
	}}
	forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte("a"))
	if err != nil {
		t.Fatal(err)
	}
	for _, keys := range []Keys{short, {Current: DeriveKey("trtc", "prod"), Previous: [][]byte{[]byte("a")}}} {
		if err := Verify(forged, AudienceCall, keys, t0, 0, &testClaims{}); !errors.Is(err, ErrInvalid) {
			t.Fatalf("Verify of a token signed with a one-byte key = %v, want ErrInvalid", err)
		}
	}
	ok := Keys{Current: []byte(strings.Repeat("k", MinKeyBytes))}
	tok, err := Sign(ok, claims)
	if err != nil {
		t.Fatalf("Sign with a %d-byte key: %v", MinKeyBytes, err)
	}
	if err := Verify(tok, AudienceCall, ok, t0, 0, &testClaims{}); err != nil {
		t.Fatalf("Verify with a %d-byte key: %v", MinKeyBytes, err)
	}
}

func TestSignWithoutKey(t *testing.T) {
	if _, err := Sign(Keys{}, &testClaims{}); err == nil {
		t.Fatal("Sign without a key succeeded")
	}
}

func FuzzVerify(f *testing.F) {
	keys := KeysFor("prod", "", "fuzz-secret", "")
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
