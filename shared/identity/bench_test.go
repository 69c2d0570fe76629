package identity

import (
	"context"
	"testing"
	"time"
)

func BenchmarkDeriveHash(b *testing.B) {
	d := mustDeriver(b, ModeHash, "wx_")
	for b.Loop() {
		if _, err := d.Derive(testOpenID); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCloudBaseVerify(b *testing.B) {
	v, err := NewCloudBase(testAppID, mustDeriver(b, ModeHash, "wx_"))
	if err != nil {
		b.Fatal(err)
	}
	creds := Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID, Source: "wx_client"}}
	for b.Loop() {
		if _, err := v.Verify(context.Background(), creds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMintSession(b *testing.B) {
	keys := testKeys()
	for b.Loop() {
		if _, _, err := MintSession(keys, "alice", testNow, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkChainSessionVerify is the common HTTP path: the chain skips
// cloudbase and verifies a session token.
func BenchmarkChainSessionVerify(b *testing.B) {
	keys := testKeys()
	tok, _, err := MintSession(keys, "alice", testNow, time.Hour)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := NewCloudBase(testAppID, mustDeriver(b, ModeHash, "wx_"))
	if err != nil {
		b.Fatal(err)
	}
	s, err := NewSession(staticKeys(keys), SessionOptions{Now: func() time.Time { return testNow }})
	if err != nil {
		b.Fatal(err)
	}
	c := Chain(cb, s)
	creds := Credentials{Authorization: "Bearer " + tok}
	for b.Loop() {
		if _, err := c.Verify(context.Background(), creds); err != nil {
			b.Fatal(err)
		}
	}
}

func benchmarkJWT(b *testing.B, kid string, hs bool) {
	jwks := newFakeJWKS(b, "rsa1", "ec1").srv.URL
	j, err := NewJWT(JWTOptions{Issuer: testIssuer, Audience: testAudience, JWKSURL: jwks, HS256Secret: testHS256Secret,
		Algorithms: []string{"RS256", "ES256", "HS256"}, Now: func() time.Time { return testNow }, Logger: quietLogger()}, mustDeriver(b, ModeHash, ""))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = j.Close() })
	var tok string
	if hs {
		tok = signHS256(b, testHS256Secret, "", claims("alice"))
	} else {
		tok = signWith(b, kid, claims("alice"), false)
	}
	creds := Credentials{Authorization: "Bearer " + tok}
	for b.Loop() {
		if _, err := j.Verify(context.Background(), creds); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkJWTVerifyRS256(b *testing.B) { benchmarkJWT(b, "rsa1", false) }
func BenchmarkJWTVerifyES256(b *testing.B) { benchmarkJWT(b, "ec1", false) }
func BenchmarkJWTVerifyHS256(b *testing.B) { benchmarkJWT(b, "", true) }

func BenchmarkCode2SessionLocal(b *testing.B) {
	srv := newFakeWechat(b, reply(200, successBody)).srv.URL
	w, err := NewWechat(WechatOptions{BaseURL: srv, AppID: testWechatAppID,
		AppSecret: func(context.Context) (string, error) { return testWechatSecret, nil }})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := w.Code2Session(context.Background(), testCode); err != nil {
			b.Fatal(err)
		}
	}
}
