package identity

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callsign-dev/callsign/shared/token"
	"github.com/golang-jwt/jwt/v5"
)

const (
	testIssuer   = "https://idp.example.test"
	testAudience = "callsign-app"
)

// testKeyPair is a signing key with its JWK kid and algorithm.
type testKeyPair struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// keyFixtures generates the test keys once per test binary.
var keyFixtures = sync.OnceValue(func() map[string]testKeyPair {
	rsaKey := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	return map[string]testKeyPair{
		"rsa1":    {"rsa1", "RS256", rsaKey()},
		"rsa2":    {"rsa2", "RS256", rsaKey()},
		"ec1":     {"ec1", "ES256", ecKey},
		"weakrsa": {"weakrsa", "RS256", weak},
	}
})

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// jwkJSON renders the public JWK of k.
func jwkJSON(t testing.TB, k testKeyPair) map[string]string {
	t.Helper()
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		return map[string]string{"kty": "RSA", "kid": k.kid, "use": "sig", "alg": k.alg,
			"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		raw, err := pub.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		return map[string]string{"kty": "EC", "kid": k.kid, "crv": "P-256", "x": b64(raw[1:33]), "y": b64(raw[33:65])}
	}
	t.Fatalf("unsupported key %T", k.priv)
	return nil
}

// fakeJWKS serves a mutable JWK Set and counts fetches.
type fakeJWKS struct {
	t       testing.TB
	mu      sync.Mutex
	keys    []map[string]string
	fetches atomic.Int64
	srv     *httptest.Server
}

func newFakeJWKS(t testing.TB, kids ...string) *fakeJWKS {
	f := &fakeJWKS{t: t}
	f.set(kids...)
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.fetches.Add(1)
		f.mu.Lock()
		body, err := json.Marshal(map[string]any{"keys": f.keys})
		f.mu.Unlock()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeJWKS) set(kids ...string) {
	keys := make([]map[string]string, 0, len(kids))
	for _, kid := range kids {
		keys = append(keys, jwkJSON(f.t, keyFixtures()[kid]))
	}
	f.mu.Lock()
	f.keys = keys
	f.mu.Unlock()
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newTestJWT(t *testing.T, opts JWTOptions, d *Deriver) *JWT {
	t.Helper()
	if opts.Issuer == "" {
		opts.Issuer = testIssuer
	}
	if opts.Audience == "" {
		opts.Audience = testAudience
	}
	if opts.Now == nil {
		opts.Now = func() time.Time { return testNow }
	}
	opts.Logger = quietLogger()
	if d == nil {
		d = mustDeriver(t, ModeRaw, "")
	}
	j, err := NewJWT(opts, d)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	t.Cleanup(func() { _ = j.Close() })
	return j
}

// claims returns valid app-JWT claims for sub at testNow.
func claims(sub string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": testIssuer,
		"aud": testAudience,
		"sub": sub,
		"iat": testNow.Add(-time.Minute).Unix(),
		"exp": testNow.Add(time.Hour).Unix(),
	}
}

// signWith signs c with the fixture key kid (header kid set unless noKID).
func signWith(t testing.TB, kid string, c jwt.MapClaims, noKID bool) string {
	t.Helper()
	k := keyFixtures()[kid]
	method := jwt.GetSigningMethod(k.alg)
	tok := jwt.NewWithClaims(method, c)
	if !noKID {
		tok.Header["kid"] = k.kid
	}
	s, err := tok.SignedString(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func signHS256(t testing.TB, key []byte, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, c)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// assertJWT checks one outcome exactly and that no error text contains the
// token or any of its segments.
func assertJWT(t *testing.T, v Verifier, tok, wantUser string, wantIs error, wantText string) {
	t.Helper()
	assertVerify(t, v, Credentials{Authorization: "Bearer " + tok}, wantUser, ProviderJWT, wantIs, wantText)
	if wantText != "" {
		_, err := v.Verify(context.Background(), Credentials{Authorization: "Bearer " + tok})
		for _, part := range strings.Split(tok, ".") {
			if len(part) > 8 && strings.Contains(err.Error(), part) {
				t.Fatalf("error text contains token material: %q", err)
			}
		}
	}
}

var testHS256Secret = []byte("0123456789abcdef0123456789abcdef-app-secret")

func TestJWTAccepts(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1", "ec1")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL, HS256Secret: testHS256Secret, Algorithms: []string{"RS256", "ES256", "HS256"}, SubjectClaim: "sub"}, nil)
	custom := claims("ignored")
	custom["uid"] = "bob"
	jCustom := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL, SubjectClaim: "uid"}, nil)
	tests := []struct {
		name string
		v    *JWT
		tok  string
		want string
	}{
		{"RS256", j, signWith(t, "rsa1", claims("alice"), false), "alice"},
		{"ES256", j, signWith(t, "ec1", claims("alice"), false), "alice"},
		{"RS256 without kid", j, signWith(t, "rsa1", claims("alice"), true), "alice"},
		{"ES256 without kid", j, signWith(t, "ec1", claims("alice"), true), "alice"},
		{"HS256", j, signHS256(t, testHS256Secret, "", claims("alice")), "alice"},
		{"audience list", j, signWith(t, "rsa1", func() jwt.MapClaims { c := claims("alice"); c["aud"] = []string{"other", testAudience}; return c }(), false), "alice"},
		{"custom subject claim", jCustom, signWith(t, "rsa1", custom, false), "bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertJWT(t, tt.v, tt.tok, tt.want, nil, "")
		})
	}
	if got := jwks.fetches.Load(); got != 2 { // one initial fetch per verifier
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
}

func TestJWTHashedSubject(t *testing.T) {
	j := newTestJWT(t, JWTOptions{HS256Secret: testHS256Secret}, mustDeriver(t, ModeHash, "u-"))
	id, err := j.Verify(context.Background(), Credentials{Authorization: "Bearer " + signHS256(t, testHS256Secret, "", claims("alice@example.com"))})
	if err != nil || id != (Identity{UserID: "u-76gzqgp4byjl6djerexelgd6esncrx", Subject: "alice@example.com", Provider: ProviderJWT}) {
		t.Fatalf("got %+v, %v", id, err)
	}
}

func TestJWTKeyRotation(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1", "ec1")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL}, nil)
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "alice", nil, "")
	if got := jwks.fetches.Load(); got != 1 {
		t.Fatalf("fetches = %d, want 1", got)
	}
	// The identity provider rotates: rsa2 appears, rsa1 is retired.
	jwks.set("rsa2", "ec1")
	assertJWT(t, j, signWith(t, "rsa2", claims("alice"), false), "alice", nil, "")
	if got := jwks.fetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (one refresh for the new kid)", got)
	}
	// The refresh replaced the cache, so the retired key no longer verifies.
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: unknown signing key")
	if got := jwks.fetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2 (unknown-kid refreshes are rate-limited)", got)
	}
}

func TestAttackJWTUnknownKID(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL}, nil)
	// rsa2 is a real key, but not in the JWKS.
	tok := signWith(t, "rsa2", claims("alice"), false)
	for i := 0; i < 3; i++ {
		assertJWT(t, j, tok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: unknown signing key")
	}
	// Initial fetch plus one refresh; the other attempts hit the rate limit.
	if got := jwks.fetches.Load(); got != 2 {
		t.Fatalf("fetches = %d, want 2", got)
	}
	// Without a kid, no key in the set verifies rsa2's signature.
	assertJWT(t, j, signWith(t, "rsa2", claims("alice"), true), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: invalid signature")
}

func TestAttackJWTAlgNone(t *testing.T) {
	j := newTestJWT(t, JWTOptions{JWKSURL: newFakeJWKS(t, "rsa1").srv.URL, HS256Secret: testHS256Secret, Algorithms: []string{"RS256", "HS256"}}, nil)
	payload, err := json.Marshal(claims("alice"))
	if err != nil {
		t.Fatal(err)
	}
	for _, header := range []string{`{"alg":"none","typ":"JWT"}`, `{"alg":"None"}`, `{"alg":"NONE","kid":"rsa1"}`} {
		tok := b64([]byte(header)) + "." + b64(payload) + "."
		assertJWT(t, j, tok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: algorithm not allowed")
	}
	// Even jwt's own "none" method, signed properly, is refused.
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims("alice")).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	assertJWT(t, j, none, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: algorithm not allowed")
}

// TestAttackJWTHS256WithRSAPublicKey is the classic key-confusion attack:
// HS256 with the RSA public key (PEM or DER bytes) as the HMAC secret.
func TestAttackJWTHS256WithRSAPublicKey(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1")
	der, err := x509.MarshalPKIXPublicKey(keyFixtures()["rsa1"].priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwksOnly := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL}, nil)
	both := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL, HS256Secret: testHS256Secret, Algorithms: []string{"RS256", "HS256"}}, nil)
	for _, key := range [][]byte{pemBytes, der} {
		tok := signHS256(t, key, "rsa1", claims("alice"))
		assertJWT(t, jwksOnly, tok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: algorithm not allowed")
		// With HS256 enabled, HS256 only ever uses the configured secret.
		assertJWT(t, both, tok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: invalid signature")
	}
}

func TestAttackJWTKeyTypeMismatch(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1", "ec1", "weakrsa")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL, Algorithms: []string{"RS256", "ES256", "PS256"}}, nil)
	// An ES256 token naming the RSA key's kid.
	es := jwt.NewWithClaims(jwt.SigningMethodES256, claims("alice"))
	es.Header["kid"] = "rsa1"
	esTok, err := es.SignedString(keyFixtures()["ec1"].priv)
	if err != nil {
		t.Fatal(err)
	}
	assertJWT(t, j, esTok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: signing key does not match the algorithm")
	// A PS256 token with a key whose JWK says alg RS256.
	ps := jwt.NewWithClaims(jwt.SigningMethodPS256, claims("alice"))
	ps.Header["kid"] = "rsa1"
	psTok, err := ps.SignedString(keyFixtures()["rsa1"].priv)
	if err != nil {
		t.Fatal(err)
	}
	assertJWT(t, j, psTok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: signing key does not match the algorithm")
	// An RSA key below 2048 bits is never used.
	assertJWT(t, j, signWith(t, "weakrsa", claims("alice"), false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: signing key does not match the algorithm")
}

func TestAttackJWTClaims(t *testing.T) {
	j := newTestJWT(t, JWTOptions{JWKSURL: newFakeJWKS(t, "rsa1").srv.URL, Leeway: 30 * time.Second}, nil)
	with := func(mod func(jwt.MapClaims)) string {
		c := claims("alice")
		mod(c)
		return signWith(t, "rsa1", c, false)
	}
	tests := []struct {
		name     string
		tok      string
		wantUser string
		wantIs   error
		wantText string
	}{
		{"expired", with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-31 * time.Second).Unix() }), "", ErrExpiredCredentials, "jwt verifier: identity: unauthenticated: credentials expired"},
		{"expired within leeway", with(func(c jwt.MapClaims) { c["exp"] = testNow.Add(-29 * time.Second).Unix() }), "alice", nil, ""},
		{"not yet valid", with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(31 * time.Second).Unix() }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token not valid yet"},
		{"nbf within leeway", with(func(c jwt.MapClaims) { c["nbf"] = testNow.Add(29 * time.Second).Unix() }), "alice", nil, ""},
		{"issued in the future", with(func(c jwt.MapClaims) { c["iat"] = testNow.Add(time.Hour).Unix() }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token issued in the future"},
		{"wrong issuer", with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.test" }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: wrong issuer"},
		{"wrong audience", with(func(c jwt.MapClaims) { c["aud"] = "another-app" }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: wrong audience"},
		{"wrong issuer and expired", with(func(c jwt.MapClaims) { c["iss"] = "x"; c["exp"] = testNow.Add(-time.Hour).Unix() }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: wrong issuer"},
		{"missing exp", with(func(c jwt.MapClaims) { delete(c, "exp") }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: missing required claim (exp, iss or aud)"},
		{"missing aud", with(func(c jwt.MapClaims) { delete(c, "aud") }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: missing required claim (exp, iss or aud)"},
		{"missing sub", with(func(c jwt.MapClaims) { delete(c, "sub") }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token has no non-empty string subject claim"},
		{"numeric sub", with(func(c jwt.MapClaims) { c["sub"] = 42 }), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token has no non-empty string subject claim"},
		{"unmappable sub", with(func(c jwt.MapClaims) { c["sub"] = "alice@example.com" }), "", ErrUnmappableSubject, "jwt verifier: derive userID (raw mode): identity: forbidden: subject cannot be mapped to a TRTC userID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assertJWT(t, j, tt.tok, tt.wantUser, tt.wantIs, tt.wantText)
		})
	}
}

func TestAttackJWTTampered(t *testing.T) {
	j := newTestJWT(t, JWTOptions{JWKSURL: newFakeJWKS(t, "rsa1").srv.URL}, nil)
	good := signWith(t, "rsa1", claims("alice"), false)
	parts := strings.Split(good, ".")
	forged, err := json.Marshal(claims("mallory"))
	if err != nil {
		t.Fatal(err)
	}
	assertJWT(t, j, parts[0]+"."+b64(forged)+"."+parts[2], "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: invalid signature")
	assertJWT(t, j, "eyJhbGciOiJSUzI1NiJ9.e30", "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: malformed token")
	assertJWT(t, j, parts[0]+"."+parts[1]+".!!!", "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: malformed token")
}

func TestAttackJWTOversized(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL, MaxTokenBytes: 1024}, nil)
	c := claims("alice")
	c["pad"] = strings.Repeat("x", 1024)
	assertJWT(t, j, signWith(t, "rsa1", c, false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token too large")
	jd := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL}, nil) // default 8192
	c["pad"] = strings.Repeat("x", 8192)
	assertJWT(t, jd, signWith(t, "rsa1", c, false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: token too large")
	c["pad"] = strings.Repeat("x", 5000)
	assertJWT(t, jd, signWith(t, "rsa1", c, false), "alice", nil, "")
}

// TestAttackSessionTokenAsAppJWT: callsign's own tokens are never the app
// JWT verifier's, even when the app secret happens to equal the token key.
func TestAttackSessionTokenAsAppJWT(t *testing.T) {
	keys := testKeys()
	tok, _, err := MintSession(keys, "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	j := newTestJWT(t, JWTOptions{HS256Secret: keys.Current, Audience: "callsign:session"}, nil)
	assertVerify(t, j, Credentials{Authorization: "Bearer " + tok}, "", "", ErrNoCredentials, "jwt verifier: identity: no credentials")
}

func TestJWTNoBearer(t *testing.T) {
	j := newTestJWT(t, JWTOptions{HS256Secret: testHS256Secret}, nil)
	for _, auth := range []string{"", "Basic abc", "Bearer"} {
		assertVerify(t, j, Credentials{Authorization: auth, DevUser: "alice"}, "", "", ErrNoCredentials, "jwt verifier: identity: no credentials")
	}
}

func TestJWTCloseKeepsCache(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1")
	j := newTestJWT(t, JWTOptions{JWKSURL: jwks.srv.URL}, nil)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "alice", nil, "")
}

func TestJWTUnreachableJWKSAtStart(t *testing.T) {
	jwks := newFakeJWKS(t)
	var down atomic.Bool
	down.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		jwks.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	jwks.set("rsa1")
	j := newTestJWT(t, JWTOptions{JWKSURL: srv.URL}, nil)
	// The provider recovers; the first token refreshes the empty cache.
	down.Store(false)
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "alice", nil, "")
}

func TestJWTOversizedJWKSRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"keys":[],"pad":"`+strings.Repeat("x", MaxJWKSBytes)+`"}`)
	}))
	t.Cleanup(srv.Close)
	j := newTestJWT(t, JWTOptions{JWKSURL: srv.URL}, nil)
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: unknown signing key")
}

// TestAttackJWTCriticalHeader: a correctly signed token whose header lists
// critical extensions ("crit") is refused, since callsign understands none
// (RFC 7515 §4.1.11), whatever the algorithm or the listed names.
func TestAttackJWTCriticalHeader(t *testing.T) {
	f := newFakeJWKS(t, "rsa1")
	j := newTestJWT(t, JWTOptions{HS256Secret: testHS256Secret, JWKSURL: f.srv.URL, Algorithms: []string{"HS256", "RS256"}}, nil)
	withCrit := func(method jwt.SigningMethod, key any, kid string, crit any) string {
		tok := jwt.NewWithClaims(method, claims("alice"))
		if kid != "" {
			tok.Header["kid"] = kid
		}
		tok.Header["crit"] = crit
		tok.Header["exp"] = testNow.Add(time.Hour).Unix()
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	rsa := keyFixtures()["rsa1"]
	for name, tok := range map[string]string{
		"HS256 crit b64":        withCrit(jwt.SigningMethodHS256, testHS256Secret, "", []string{"b64"}),
		"HS256 crit exp":        withCrit(jwt.SigningMethodHS256, testHS256Secret, "", []string{"exp"}),
		"HS256 empty crit":      withCrit(jwt.SigningMethodHS256, testHS256Secret, "", []string{}),
		"HS256 crit not a list": withCrit(jwt.SigningMethodHS256, testHS256Secret, "", "exp"),
		"RS256 crit":            withCrit(jwt.SigningMethodRS256, rsa.priv, rsa.kid, []string{"exp"}),
	} {
		t.Run(name, func(t *testing.T) {
			assertJWT(t, j, tok, "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: unsupported critical header parameters")
		})
	}
	// The same tokens without crit verify.
	assertJWT(t, j, signHS256(t, testHS256Secret, "", claims("alice")), "alice", nil, "")
	assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "alice", nil, "")
}

// TestAttackJWTJWKSRedirectRefused: a JWKS endpoint that redirects (to
// keys an attacker controls, or to carry the URL's access token elsewhere)
// is treated as a failed fetch; the redirect target is never contacted,
// even with a caller-supplied client that would follow it.
func TestAttackJWTJWKSRedirectRefused(t *testing.T) {
	target := newFakeJWKS(t, "rsa1")
	for _, client := range []*http.Client{nil, {}} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.srv.URL+"/jwks", http.StatusFound)
		}))
		t.Cleanup(redirector.Close)
		j := newTestJWT(t, JWTOptions{JWKSURL: redirector.URL + "/jwks?access_token=t", HTTPClient: client}, nil)
		assertJWT(t, j, signWith(t, "rsa1", claims("alice"), false), "", ErrUnauthenticated, "jwt verifier: identity: unauthenticated: unknown signing key")
		if n := target.fetches.Load(); n != 0 {
			t.Fatalf("the redirect target was fetched %d times", n)
		}
	}
}

func TestNewJWTOptions(t *testing.T) {
	d := mustDeriver(t, ModeHash, "")
	tests := []struct {
		name string
		opts JWTOptions
		d    *Deriver
		want string
	}{
		{"nil deriver", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret}, nil, "identity: jwt verifier needs a userID deriver"},
		{"no issuer", JWTOptions{Audience: "a", HS256Secret: testHS256Secret}, d, "identity: jwt verifier needs an issuer and an audience (CALLSIGN_JWT_ISSUER, CALLSIGN_JWT_AUDIENCE)"},
		{"no audience", JWTOptions{Issuer: "i", HS256Secret: testHS256Secret}, d, "identity: jwt verifier needs an issuer and an audience (CALLSIGN_JWT_ISSUER, CALLSIGN_JWT_AUDIENCE)"},
		{"callsign issuer", JWTOptions{Issuer: "callsign", Audience: "a", HS256Secret: testHS256Secret}, d, `identity: jwt issuer "callsign" is reserved for callsign's own session tokens`},
		{"no keys", JWTOptions{Issuer: "i", Audience: "a"}, d, "identity: jwt verifier needs an HS256 secret or a JWKS URL (CALLSIGN_JWT_SECRET, CALLSIGN_JWT_JWKS_URL)"},
		{"short secret", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: []byte("short")}, d, "identity: jwt HS256 secret must be at least 32 bytes"},
		{"plain http JWKS", JWTOptions{Issuer: "i", Audience: "a", JWKSURL: "http://idp.example.test/jwks"}, d, "identity: JWKS URL must use https (plain http is allowed only for loopback)"},
		{"relative JWKS", JWTOptions{Issuer: "i", Audience: "a", JWKSURL: "/jwks"}, d, "identity: JWKS URL must use https (plain http is allowed only for loopback)"},
		{"alg none", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret, Algorithms: []string{"none"}}, d, `identity: jwt algorithm "none" is not supported (allowed: HS256 and [RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA])`},
		{"HS512", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret, Algorithms: []string{"HS512"}}, d, `identity: jwt algorithm "HS512" is not supported (allowed: HS256 and [RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA])`},
		{"HS256 without secret", JWTOptions{Issuer: "i", Audience: "a", JWKSURL: "https://idp.example.test/jwks", Algorithms: []string{"HS256"}}, d, "identity: jwt algorithm HS256 needs an HS256 secret (CALLSIGN_JWT_SECRET)"},
		{"RS256 without JWKS", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret, Algorithms: []string{"RS256", "ES256"}}, d, "identity: jwt algorithm RS256 needs a JWKS URL (CALLSIGN_JWT_JWKS_URL); for a shared secret set CALLSIGN_JWT_ALGORITHMS=HS256"},
		{"leeway", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret, Leeway: 6 * time.Minute}, d, "identity: jwt leeway must be between 0 and 5m0s"},
		{"max bytes", JWTOptions{Issuer: "i", Audience: "a", HS256Secret: testHS256Secret, MaxTokenBytes: 1 << 20}, d, "identity: jwt MaxTokenBytes must be between 1 and 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j, err := NewJWT(tt.opts, tt.d)
			if err == nil {
				_ = j.Close()
				t.Fatal("NewJWT accepted")
			}
			if err.Error() != tt.want {
				t.Fatalf("err = %q, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), string(testHS256Secret)) {
				t.Fatal("error leaks the secret")
			}
		})
	}
}

func TestJWTDefaultAlgorithms(t *testing.T) {
	jwks := newFakeJWKS(t, "rsa1")
	tests := []struct {
		opts JWTOptions
		want string
	}{
		{JWTOptions{HS256Secret: testHS256Secret}, "[HS256]"},
		{JWTOptions{JWKSURL: jwks.srv.URL}, "[RS256 ES256]"},
		{JWTOptions{JWKSURL: jwks.srv.URL, HS256Secret: testHS256Secret}, "[HS256 RS256 ES256]"},
		{JWTOptions{JWKSURL: jwks.srv.URL, Algorithms: []string{"ES256", "ES256"}}, "[ES256]"},
	}
	for _, tt := range tests {
		if got := fmt.Sprint(newTestJWT(t, tt.opts, nil).Algorithms()); got != tt.want {
			t.Errorf("Algorithms() = %s, want %s", got, tt.want)
		}
	}
}

func TestAttackChainBadBearerDoesNotFallThrough(t *testing.T) {
	s := newTestSession(t, testKeys(), testNow)
	j := newTestJWT(t, JWTOptions{HS256Secret: testHS256Secret}, nil)
	dv, err := NewDev(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := Chain(s, j, dv)
	// A bad app JWT plus a dev header: the JWT failure stops the chain.
	bad := signHS256(t, []byte("a-different-secret-of-32-bytes-long!"), "", claims("alice"))
	_, err = c.Verify(context.Background(), Credentials{Authorization: "Bearer " + bad, DevUser: "mallory"})
	if err == nil || err.Error() != "jwt verifier: identity: unauthenticated: invalid signature" {
		t.Fatalf("err = %v", err)
	}
	// A forged session token (right issuer, wrong key) stops it too.
	forged, _, err := MintSession(tokenKeysFor("other"), "mallory", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Verify(context.Background(), Credentials{Authorization: "Bearer " + forged, DevUser: "mallory"})
	if err == nil || err.Error() != "session verifier: identity: unauthenticated: invalid session token" {
		t.Fatalf("err = %v", err)
	}
	// Session token, app JWT and dev header each reach their verifier.
	good, _, err := MintSession(testKeys(), "alice", testNow, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		creds    Credentials
		provider string
	}{
		{Credentials{Authorization: "Bearer " + good}, ProviderSession},
		{Credentials{Authorization: "Bearer " + signHS256(t, testHS256Secret, "", claims("alice"))}, ProviderJWT},
		{Credentials{DevUser: "alice"}, ProviderDev},
	} {
		id, err := c.Verify(context.Background(), tc.creds)
		if err != nil || id.UserID != "alice" || id.Provider != tc.provider {
			t.Fatalf("got %+v, %v; want alice via %s", id, err, tc.provider)
		}
	}
}

func tokenKeysFor(secret string) token.Keys { return token.KeysFor(testStage, "", secret, "") }
