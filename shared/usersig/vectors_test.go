package usersig

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"testing"
	"time"
)

// Spec §10.2: the Go-official-compatible outer strings.
const (
	goV1     = "eAEArABT-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoieGlhb2p1biIsIlRMUy5zZGthcHBpZCI6MTQwMDAwMDAwMCwiVExTLmV4cGlyZSI6MTU1NTIwMDAsIlRMUy50aW1lIjoxNzAwMDAwMDAwLCJUTFMuc2lnIjoiTHZBN2QvSXc3Z1NzbnNrdlZ6QkRQT0NDRGJ1TkN3NEdId1RDMGJpcCtCND0ifQoBAAD--9-DMfw_"
	goV4     = "eAEA5QAa-3siVExTLnZlciI6IjIuMCIsIlRMUy5pZGVudGlmaWVyIjoieGlhb2p1biIsIlRMUy5zZGthcHBpZCI6MTQwMDAwMDAwMCwiVExTLmV4cGlyZSI6MTU1NTIwMDAsIlRMUy50aW1lIjoxNzAwMDAwMDAwLCJUTFMudXNlcmJ1ZiI6IkFBQUhlR2xoYjJwMWJsTnlUZ0FBQUNjUVprRS9BQUFBQVA4QUFBQUEiLCJUTFMuc2lnIjoieTlBdmI1eHdIZ0lnb0FCYkdha0xhRTB4cyt2L2RMY0lQZWdiV2ZjYlJMST0ifQoBAAD--*9eQ8M_"
	goV1JSON = `{"TLS.ver":"2.0","TLS.identifier":"xiaojun","TLS.sdkappid":1400000000,"TLS.expire":15552000,"TLS.time":1700000000,"TLS.sig":"LvA7d/Iw7gSsnskvVzBDPOCCDbuNCw4GHwTC0bip+B4="}` + "\n"
)

func TestVectorUserBufContentAndHMAC(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			var ub64 []byte
			if v.pmk() {
				pm := PrivateMap{Account: v.UID, SDKAppID: v.App, Room: v.room(t),
					ExpiresAt: uint32(v.T + v.Exp), Privileges: Privileges(v.Priv)}
				if v.Kind == "pmkstr" {
					pm.Version = 1
				}
				ub := appendUserBuf(nil, &pm)
				if got := hex.EncodeToString(ub); got != v.UserBufHex {
					t.Errorf("userbuf hex = %s, want %s", got, v.UserBufHex)
				}
				if got := base64.StdEncoding.EncodeToString(ub); got != v.UserBufB64 {
					t.Errorf("userbuf b64 = %s, want %s", got, v.UserBufB64)
				}
				back, ok := parseUserBuf(ub)
				if !ok || *back != pm {
					t.Errorf("parseUserBuf = %+v, %v; want %+v", back, ok, pm)
				}
				ub64 = []byte(v.UserBufB64)
			}
			content := appendContent(nil, v.UID, []byte(strconv.FormatUint(uint64(v.App), 10)), uint64(v.T), uint64(v.Exp), ub64)
			if string(content) != v.ContentToSign {
				t.Errorf("content = %q, want %q", content, v.ContentToSign)
			}
			mac := hmac.New(sha256.New, []byte(v.Key))
			mac.Write(content)
			sum := mac.Sum(nil)
			if got := hex.EncodeToString(sum); got != v.HMACHex {
				t.Errorf("hmac = %s, want %s", got, v.HMACHex)
			}
			if got := base64.StdEncoding.EncodeToString(sum); got != v.TLSSig {
				t.Errorf("sig = %s, want %s", got, v.TLSSig)
			}
		})
	}
}

func TestVectorSignMatchesNodeDocument(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			s, err := NewSigner(v.App, v.Key)
			if err != nil {
				t.Fatal(err)
			}
			ours := v.sign(t, s)
			got := docFields(t, inflateTicket(t, ours))
			want := docFields(t, []byte(v.JSON))
			if len(got) != len(want) {
				t.Fatalf("document has %d fields, want %d: %v", len(got), len(want), got)
			}
			for k, w := range want {
				if got[k] != w {
					t.Errorf("%s = %v, want %v", k, got[k], w)
				}
			}
		})
	}
}

func TestGoOfficialByteIdentical(t *testing.T) {
	vs := loadVectors(t)
	for _, tc := range []struct {
		v    vector
		want string
	}{{vs[0], goV1}, {vs[3], goV4}} {
		t.Run(tc.v.Name, func(t *testing.T) {
			s, err := NewSigner(tc.v.App, tc.v.Key)
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.v.sign(t, s); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
	if got := string(inflateTicket(t, goV1)); got != goV1JSON {
		t.Errorf("V1 document = %q, want %q", got, goV1JSON)
	}
	raw, err := tencentBase64().DecodeString(goV1)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 188 || hex.EncodeToString(raw[:7]) != "7801"+"00ac0053ff" ||
		hex.EncodeToString(raw[len(raw)-9:]) != "010000ffffdfc331fc" {
		t.Errorf("V1 zlib framing: len %d, head %x, tail %x", len(raw), raw[:7], raw[len(raw)-9:])
	}
}

func TestVectorDecodeNode(t *testing.T) {
	for _, v := range loadVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			tk, err := Decode(v.NodeUserSig)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			var want struct {
				Ver        string `json:"TLS.ver"`
				Identifier string `json:"TLS.identifier"`
				SDKAppID   uint32 `json:"TLS.sdkappid"`
				Time       int64  `json:"TLS.time"`
				Expire     int64  `json:"TLS.expire"`
				UserBuf    []byte `json:"TLS.userbuf"`
				Sig        string `json:"TLS.sig"`
			}
			if err := json.Unmarshal([]byte(v.JSON), &want); err != nil {
				t.Fatal(err)
			}
			if tk.Version != want.Ver || tk.Identifier != want.Identifier || tk.SDKAppID != want.SDKAppID ||
				tk.Time != want.Time || tk.Expire != want.Expire || tk.Sig != want.Sig ||
				string(tk.UserBuf) != string(want.UserBuf) || (tk.UserBuf == nil) != (want.UserBuf == nil) {
				t.Errorf("Decode = %+v, want %+v", tk, want)
			}
			if got, want := tk.ExpiresAt(), time.Unix(v.T+v.Exp, 0); !got.Equal(want) {
				t.Errorf("ExpiresAt = %v, want %v", got, want)
			}
			if !v.pmk() {
				if tk.PrivateMap != nil {
					t.Errorf("PrivateMap = %+v, want nil", tk.PrivateMap)
				}
				return
			}
			wantPM := PrivateMap{Account: v.UID, SDKAppID: v.App, Room: v.room(t),
				ExpiresAt: uint32(v.T + v.Exp), Privileges: Privileges(v.Priv)}
			if v.Kind == "pmkstr" {
				wantPM.Version = 1
			}
			if tk.PrivateMap == nil || *tk.PrivateMap != wantPM {
				t.Errorf("PrivateMap = %+v, want %+v", tk.PrivateMap, wantPM)
			}
		})
	}
}

func TestVectorVerify(t *testing.T) {
	for _, v := range loadVectors(t) {
		s, err := NewSigner(v.App, v.Key)
		if err != nil {
			t.Fatal(err)
		}
		ours := v.sign(t, s)
		room := v.room(t)
		priv := Privileges(v.Priv)
		otherRoom := NumericRoom(7)
		otherPriv := priv ^ PrivCreateRoom
		expiry := time.Unix(v.T+v.Exp, 0)
		base := Expect{SDKAppID: v.App, UserID: v.UID, Now: expiry, PrivateMapKey: v.pmk()}
		with := func(f func(*Expect)) Expect { e := base; f(&e); return e }
		otherUID := v.UID + "x"
		if len(otherUID) > MaxUserIDLen {
			otherUID = "someone_else"
		}
		cases := []struct {
			name string
			keys []string
			want Expect
			err  error
		}{
			{"valid at t+exp", []string{v.Key}, base, nil},
			{"valid at t", []string{v.Key}, with(func(e *Expect) { e.Now = v.now() }), nil},
			{"expired at t+exp+1", []string{v.Key}, with(func(e *Expect) { e.Now = expiry.Add(time.Second) }), ErrExpired},
			{"other key", []string{v.Key + "0"}, base, ErrBadSignature},
			{"rotation: previous key second", []string{"new-key", v.Key}, base, nil},
			{"other uid", []string{v.Key}, with(func(e *Expect) { e.UserID = otherUID }), ErrIdentifierMismatch},
			{"other app", []string{v.Key}, with(func(e *Expect) { e.SDKAppID = v.App + 1 }), ErrAppMismatch},
			{"kind swapped", []string{v.Key}, with(func(e *Expect) { e.PrivateMapKey = !v.pmk() }), ErrUserBufMismatch},
		}
		if v.pmk() {
			cases = append(cases,
				struct {
					name string
					keys []string
					want Expect
					err  error
				}{"room and privileges", []string{v.Key}, with(func(e *Expect) { e.Room = &room; e.Privileges = &priv }), nil},
				struct {
					name string
					keys []string
					want Expect
					err  error
				}{"other room", []string{v.Key}, with(func(e *Expect) { e.Room = &otherRoom }), ErrUserBufMismatch},
				struct {
					name string
					keys []string
					want Expect
					err  error
				}{"other privileges", []string{v.Key}, with(func(e *Expect) { e.Privileges = &otherPriv }), ErrUserBufMismatch},
			)
		}
		for _, tc := range cases {
			for _, src := range []struct{ name, ticket string }{{"node", v.NodeUserSig}, {"ours", ours}} {
				t.Run(v.Name+"/"+src.name+"/"+tc.name, func(t *testing.T) {
					tk, err := Verify(src.ticket, tc.keys, tc.want)
					if !errors.Is(err, tc.err) || (err == nil) != (tc.err == nil) {
						t.Fatalf("Verify error = %v, want %v", err, tc.err)
					}
					if err == nil && (tk == nil || tk.Identifier != v.UID || tk.Sig != v.TLSSig) {
						t.Fatalf("Verify ticket = %+v", tk)
					}
					if err != nil && tk != nil {
						t.Fatalf("Verify returned a ticket with error %v", err)
					}
				})
			}
		}
	}
}
