package usersig

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// newBase64Pairs computes the pair table of a 64-character alphabet, the
// way tables.go was generated.
func newBase64Pairs(alphabet string) *base64Pairs {
	var t base64Pairs
	for v := range t {
		t[v] = uint16(alphabet[v>>6]) | uint16(alphabet[v&0x3f])<<8
	}
	return &t
}

// TestGeneratedTables recomputes every value of the generated tables.go
// from the package's own constants and code and requires it exactly.
// internal/gentables' test checks that tables.go is what go generate writes.
func TestGeneratedTables(t *testing.T) {
	const stdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	for _, tc := range []struct {
		name     string
		table    *base64Pairs
		alphabet string
	}{
		{"tencentPairs", &tencentPairs, tencentAlphabet},
		{"stdPairs", &stdPairs, stdAlphabet},
	} {
		want := newBase64Pairs(tc.alphabet)
		for v := range want {
			if tc.table[v] != want[v] {
				t.Fatalf("%s[%#03x] = %#04x, want %#04x", tc.name, v, tc.table[v], want[v])
			}
		}
	}
	// constTicketText, from both the standard encoder (alphabet mapped) and
	// the Tencent Encoding.
	run := []byte(jsonIdentifier[constStart-zlibHeaderLen:])
	fromStd := strings.NewReplacer("+", "*", "/", "-", "=", "_").Replace(base64.StdEncoding.EncodeToString(run))
	for _, want := range []string{fromStd, tencentBase64().EncodeToString(run)} {
		if constTicketText != want {
			t.Errorf("constTicketText = %q, want %q", constTicketText, want)
		}
	}
	if want := newAdler().write([]byte(jsonIdentifier)); adlerPrefix != want {
		t.Errorf("adlerPrefix = %+v, want %+v", adlerPrefix, want)
	}
}

// TestMalformedErrors: ErrMalformed and its children, static values, have
// their exact texts and unwrap as documented (TestMalformedSentinelsDistinct
// checks errors.Is between them).
func TestMalformedErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		text string
	}{
		{ErrMalformed, "usersig: malformed ticket"},
		{ErrBase64, "usersig: malformed ticket: bad base64"},
		{ErrZlib, "usersig: malformed ticket: bad zlib stream"},
		{ErrJSON, "usersig: malformed ticket: bad JSON document"},
		{ErrTooLarge, "usersig: malformed ticket: too large"},
	} {
		if tc.err.Error() != tc.text {
			t.Errorf("%q: text %q", tc.text, tc.err.Error())
		}
		parent := errors.Unwrap(tc.err)
		if tc.err == ErrMalformed {
			if parent != nil {
				t.Errorf("ErrMalformed unwraps to %v, want nil", parent)
			}
			continue
		}
		if parent != ErrMalformed {
			t.Errorf("%q unwraps to %v, want ErrMalformed", tc.text, parent)
		}
	}
}
