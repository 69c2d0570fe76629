package usersig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// TestDecodeErrors covers spec §10.3 item 6: each failure has its own error.
func TestDecodeErrors(t *testing.T) {
	vs := loadVectors(t)
	raw, err := tencentBase64().DecodeString(vs[0].NodeUserSig)
	if err != nil {
		t.Fatal(err)
	}
	goodDoc := []byte(goV1JSON)
	bomb := bytes.Repeat([]byte(" "), MaxDocumentLen+1)

	cases := []struct {
		name   string
		ticket string
		err    error
		msg    string // substring of the error text
	}{
		{"empty", "", ErrBase64, "empty ticket"},
		{"character outside the alphabet", "eJyr+VgrxCdY", ErrBase64, "offset 4"},
		{"newline is not ignored", vs[0].NodeUserSig[:8] + "\n" + vs[0].NodeUserSig[8:], ErrBase64, "offset 8"},
		{"standard base64 padding", strings.ReplaceAll(vs[0].NodeUserSig, "_", "="), ErrBase64, "outside"},
		{"RFC base64url", base64.URLEncoding.EncodeToString(raw), ErrBase64, ""},
		{"RFC base64url without padding", base64.RawURLEncoding.EncodeToString(raw), ErrBase64, ""},
		{"bad length", vs[0].NodeUserSig[:len(vs[0].NodeUserSig)-3], ErrBase64, ""},
		{"too long", strings.Repeat("A", MaxTicketLen+1), ErrTooLarge, "at most 8192"},
		{"not zlib", tencentBase64().EncodeToString([]byte("not a zlib stream")), ErrZlib, ""},
		{"truncated zlib", tencentBase64().EncodeToString(raw[:len(raw)-6]), ErrZlib, ""},
		{"bad adler32", tencentBase64().EncodeToString(append(append([]byte{}, raw[:len(raw)-1]...), raw[len(raw)-1]^1)), ErrZlib, "checksum"},
		{"trailing data after zlib", tencentBase64().EncodeToString(append(append([]byte{}, raw...), 0)), ErrZlib, "after the end"},
		{"oversized inflated payload", wrap(t, bomb, 9), ErrTooLarge, "exceeds 16384"},
		{"invalid JSON", wrap(t, []byte(`{"TLS.ver":"2.0",`), 6), ErrJSON, ""},
		{"JSON array", wrap(t, []byte(`[1,2]`), 6), ErrJSON, ""},
		{"trailing JSON", wrap(t, append(append([]byte{}, goodDoc...), "{}"...), 6), ErrJSON, ""},
		{"invalid UTF-8", wrap(t, []byte("{\"TLS.ver\":\"2.0\xff\"}"), 6), ErrJSON, "UTF-8"},
		{"missing ver", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.ver":"2.0",`, "", 1)), 6), ErrJSON, "TLS.ver is missing"},
		{"missing identifier", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.identifier":"xiaojun",`, "", 1)), 6), ErrJSON, "TLS.identifier is missing"},
		{"missing sdkappid", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.sdkappid":1400000000,`, "", 1)), 6), ErrJSON, "TLS.sdkappid is missing"},
		{"missing expire", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.expire":15552000,`, "", 1)), 6), ErrJSON, "TLS.expire is missing"},
		{"missing time", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.time":1700000000,`, "", 1)), 6), ErrJSON, "TLS.time is missing"},
		{"missing sig", wrap(t, []byte(strings.Replace(goV1JSON, `,"TLS.sig":"LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="`, "", 1)), 6), ErrJSON, "TLS.sig is missing"},
		{"null field", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.time":1700000000`, `"TLS.time":null`, 1)), 6), ErrJSON, "TLS.time is missing"},
		{"string-typed sdkappid", wrap(t, []byte(strings.Replace(goV1JSON, `1400000000`, `"1400000000"`, 1)), 6), ErrJSON, ""},
		{"string-typed time", wrap(t, []byte(strings.Replace(goV1JSON, `1700000000`, `"1700000000"`, 1)), 6), ErrJSON, ""},
		{"string-typed expire", wrap(t, []byte(strings.Replace(goV1JSON, `15552000`, `"15552000"`, 1)), 6), ErrJSON, ""},
		{"fractional time", wrap(t, []byte(strings.Replace(goV1JSON, `1700000000`, `1700000000.5`, 1)), 6), ErrJSON, ""},
		{"negative expire", wrap(t, []byte(strings.Replace(goV1JSON, `15552000`, `-1`, 1)), 6), ErrJSON, "negative"},
		{"time+expire overflow", wrap(t, []byte(strings.Replace(strings.Replace(goV1JSON, `15552000`, `9223372036854775807`, 1), `1700000000`, `1`, 1)), 6), ErrJSON, "overflows"},
		{"sdkappid beyond uint32", wrap(t, []byte(strings.Replace(goV1JSON, `1400000000`, `4294967296`, 1)), 6), ErrJSON, ""},
		{"wrong ver", wrap(t, []byte(strings.Replace(goV1JSON, `"2.0"`, `"1.0"`, 1)), 6), ErrJSON, "unsupported TLS.ver"},
		{"numeric ver", wrap(t, []byte(strings.Replace(goV1JSON, `"2.0"`, `2.0`, 1)), 6), ErrJSON, ""},
		{"short sig", wrap(t, []byte(strings.Replace(goV1JSON, `LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=`, `LvA7`, 1)), 6), ErrJSON, "HMAC-SHA256"},
		{"long sig", wrap(t, []byte(strings.Replace(goV1JSON, `LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4=`, strings.Repeat("A", 400), 1)), 6), ErrJSON, "HMAC-SHA256"},
		{"non-canonical sig", wrap(t, []byte(strings.Replace(goV1JSON, `+B4=`, `+B5=`, 1)), 6), ErrJSON, "HMAC-SHA256"},
		{"sig with escaped newline", wrap(t, []byte(strings.Replace(goV1JSON, `LvA7`, `Lv\nA`, 1)), 6), ErrJSON, "HMAC-SHA256"},
		{"userbuf not base64", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.sig"`, `"TLS.userbuf":"!!","TLS.sig"`, 1)), 6), ErrJSON, "TLS.userbuf"},
		{"userbuf not canonical", wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.sig"`, `"TLS.userbuf":"AB==","TLS.sig"`, 1)), 6), ErrJSON, "canonical"},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if seen[tc.name] {
				t.Fatal("duplicate case")
			}
			seen[tc.name] = true
			tk, err := Decode(tc.ticket)
			if !errors.Is(err, tc.err) {
				t.Fatalf("Decode error = %v, want %v", err, tc.err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if tk != nil {
				t.Fatalf("Decode returned a ticket with an error")
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not mention %q", err, tc.msg)
			}
			// Verify reports the same decoding error.
			if _, verr := Verify(tc.ticket, []string{"k"}, Expect{SDKAppID: 1, UserID: "u", Now: testNow}); !errors.Is(verr, tc.err) {
				t.Fatalf("Verify error = %v, want %v", verr, tc.err)
			}
		})
	}
}

// TestMalformedSentinelsDistinct checks that the four decoding errors are
// distinct children of ErrMalformed.
func TestMalformedSentinelsDistinct(t *testing.T) {
	errs := []error{ErrBase64, ErrZlib, ErrJSON, ErrTooLarge}
	for i, a := range errs {
		if !errors.Is(a, ErrMalformed) {
			t.Errorf("%v does not wrap ErrMalformed", a)
		}
		for j, b := range errs {
			if i != j && errors.Is(a, b) {
				t.Errorf("%v wraps %v", a, b)
			}
		}
	}
	for _, e := range []error{ErrInvalidInput, ErrAppMismatch, ErrIdentifierMismatch, ErrExpired, ErrUserBufMismatch, ErrBadSignature} {
		if errors.Is(e, ErrMalformed) {
			t.Errorf("%v wraps ErrMalformed", e)
		}
	}
}

// TestDecodeAnyLayout accepts every official JSON layout and zlib level.
func TestDecodeAnyLayout(t *testing.T) {
	sig := "LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="
	layouts := map[string]string{
		"go-map alphabetical": `{"TLS.expire":15552000,"TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.sig":"` + sig + `","TLS.time":1700000000,"TLS.ver":"2.0"}`,
		"python spaces":       `{"TLS.ver": "2.0", "TLS.identifier": "xiaojun", "TLS.sdkappid": 1400000000, "TLS.expire": 15552000, "TLS.time": 1700000000, "TLS.sig": "` + sig + `"}`,
		"php escaped slash":   `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1700000000,"TLS.sig":"` + strings.ReplaceAll(sig, "/", `\/`) + `"}`,
		"c++ order":           `{"TLS.ver":"2.0","TLS.sdkappid":1400000000,"TLS.identifier":"xiaojun","TLS.time":1700000000,"TLS.expire":15552000,"TLS.sig":"` + sig + `"}`,
		"unknown extra field": `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1700000000,"TLS.sig":"` + sig + `","x":1}`,
	}
	v1 := loadVectors(t)[0]
	for name, doc := range layouts {
		for _, level := range []int{0, 1, 6, 9} {
			ticket := wrap(t, []byte(doc), level)
			if _, err := Verify(ticket, []string{v1.Key}, Expect{SDKAppID: v1.App, UserID: v1.UID, Now: v1.now()}); err != nil {
				t.Errorf("%s level %d: %v", name, level, err)
			}
		}
	}
}

// TestDecodeEmptyUserBufField: a present but empty TLS.userbuf decodes to a
// non-nil empty UserBuf, so Verify can tell it from an absent one.
func TestDecodeEmptyUserBufField(t *testing.T) {
	tk, err := Decode(wrap(t, []byte(strings.Replace(goV1JSON, `"TLS.sig"`, `"TLS.userbuf":"","TLS.sig"`, 1)), 6))
	if err != nil {
		t.Fatal(err)
	}
	if tk.UserBuf == nil || len(tk.UserBuf) != 0 || tk.PrivateMap != nil {
		t.Fatalf("UserBuf = %#v, PrivateMap = %+v; want empty non-nil, nil", tk.UserBuf, tk.PrivateMap)
	}
	tk, err = Decode(goV1)
	if err != nil {
		t.Fatal(err)
	}
	if tk.UserBuf != nil {
		t.Fatalf("UserBuf = %#v, want nil", tk.UserBuf)
	}
}

func TestParseUserBuf(t *testing.T) {
	v4, _ := base64.StdEncoding.DecodeString("AAAHeGlhb2p1blNyTgAAACcQZkE/AAAAAP8AAAAA")
	v7 := []byte("\x01\x00\x07xiaojunSrN\x00\x00\x00\x00\x00fA?\x00\x00\x00\x00\xff\x00\x00\x00\x00\x00\x0a1000000040")
	cases := []struct {
		name string
		b    []byte
		ok   bool
	}{
		{"V4", v4, true},
		{"V7", v7, true},
		{"empty", nil, false},
		{"V4 short by one", v4[:len(v4)-1], false},
		{"V4 long by one", append(append([]byte{}, v4...), 0), false},
		{"version 2", append([]byte{2}, v4[1:]...), false},
		{"account length too long", append([]byte{0, 0xff, 0xff}, v4[3:]...), false},
		{"V7 short room", v7[:len(v7)-1], false},
		{"V7 long room", append(append([]byte{}, v7...), 'x'), false},
		{"V7 without room length", v7[:len(v7)-12], false},
		{"V4 as version 1", append([]byte{1}, v4[1:]...), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pm, ok := parseUserBuf(tc.b)
			if ok != tc.ok || (pm != nil) != tc.ok {
				t.Fatalf("parseUserBuf = %+v, %v; want ok %v", pm, ok, tc.ok)
			}
		})
	}
}
