package identity

import (
	"encoding/base64"
	"testing"
)

func TestBearerToken(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Bearer abc.def.ghi", "abc.def.ghi", true},
		{"bearer abc", "abc", true},
		{"BEARER   abc", "abc", true},
		{"Bearer", "", false},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearer a\tb", "", false},
		{"Basic abc", "", false},
		{"", "", false},
		{"abc", "", false},
	}
	for _, tt := range tests {
		got, ok := bearerToken(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("bearerToken(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func seg(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestPeekJWS(t *testing.T) {
	tests := []struct {
		name, tok, alg, iss string
		ok                  bool
	}{
		{"jwt", seg(`{"alg":"RS256"}`) + "." + seg(`{"iss":"https://idp"}`) + ".sig", "RS256", "https://idp", true},
		{"callsign", seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":"callsign","sub":"a"}`) + ".", "HS256", "callsign", true},
		{"no iss", seg(`{"alg":"none"}`) + "." + seg(`{}`) + ".", "none", "", true},
		{"numeric iss", seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":5}`) + ".x", "HS256", "", true},
		{"duplicate iss takes last", seg(`{}`) + "." + seg(`{"iss":"callsign","iss":"x"}`) + ".x", "", "x", true},
		{"two segments", seg(`{}`) + "." + seg(`{}`), "", "", false},
		{"four segments", "a.b.c.d", "", "", false},
		{"bad base64", "a.!!!.c", "", "", false},
		{"padded base64", seg(`{}`) + "." + base64.URLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + ".c", "", "", false},
		{"payload not object", seg(`{}`) + "." + seg(`"x"`) + ".c", "", "", false},
		{"payload null", seg(`{}`) + "." + seg(`null`) + ".c", "", "", false},
		{"header not json", seg(`x`) + "." + seg(`{}`) + ".c", "", "", false},
	}
	for _, tt := range tests {
		alg, iss, ok := peekJWS(tt.tok)
		if alg != tt.alg || iss != tt.iss || ok != tt.ok {
			t.Errorf("%s: peekJWS = %q, %q, %v; want %q, %q, %v", tt.name, alg, iss, ok, tt.alg, tt.iss, tt.ok)
		}
	}
}

func FuzzPeekJWS(f *testing.F) {
	f.Add(seg(`{"alg":"RS256","kid":"k1"}`) + "." + seg(`{"iss":"https://idp","sub":"a"}`) + ".sig")
	f.Add(seg(`{"alg":"HS256"}`) + "." + seg(`{"iss":"callsign"}`) + ".")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		alg, iss, ok := peekJWS(tok)
		if !ok && (alg != "" || iss != "") {
			t.Fatalf("values returned with ok=false: %q %q", alg, iss)
		}
	})
}

func FuzzBearerToken(f *testing.F) {
	f.Add("Bearer abc")
	f.Add("bearer  a.b.c")
	f.Add("Basic x")
	f.Fuzz(func(t *testing.T, h string) {
		tok, ok := bearerToken(h)
		if ok && (tok == "" || len(tok) >= len(h)) {
			t.Fatalf("bearerToken(%q) = %q", h, tok)
		}
		if !ok && tok != "" {
			t.Fatalf("token returned with ok=false")
		}
	})
}
