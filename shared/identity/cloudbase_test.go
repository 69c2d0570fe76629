package identity

import (
	"context"
	"errors"
	"testing"
)

const (
	testAppID  = "wx0123456789abcdef"
	testOpenID = "oAbCdEfGhIjKlMnOpQrStUvWxYz0"
)

func mustDeriver(t testing.TB, mode, prefix string) *Deriver {
	t.Helper()
	d, err := NewDeriver(mode, prefix)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestNewCloudBaseRequiresAppID(t *testing.T) {
	_, err := NewCloudBase("", mustDeriver(t, ModeHash, "wx_"))
	if err == nil || err.Error() != "identity: cloudbase verifier needs the WeChat AppID (CALLSIGN_WECHAT_APP_ID)" {
		t.Fatalf("err = %v", err)
	}
	if _, err := NewCloudBase(testAppID, nil); err == nil {
		t.Fatal("nil deriver accepted")
	}
}

func TestCloudBaseVerify(t *testing.T) {
	hash := mustDeriver(t, ModeHash, "wx_")
	raw := mustDeriver(t, ModeRaw, "")
	tests := []struct {
		name     string
		d        *Deriver
		opts     []CloudBaseOption
		creds    Credentials
		wantUser string
		wantIs   error
		wantText string
	}{
		{
			name:     "valid hash",
			d:        hash,
			creds:    Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID}},
			wantUser: "wx_dmfu2vy3u73halfcuwzpdtceuefzy",
		},
		{
			name:     "valid raw",
			d:        raw,
			creds:    Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID}},
			wantUser: testOpenID,
		},
		{
			name:     "no context",
			d:        hash,
			creds:    Credentials{Authorization: "Bearer x", DevUser: "alice"},
			wantIs:   ErrNoCredentials,
			wantText: "cloudbase verifier: identity: no credentials",
		},
		{
			name:     "client source accepted",
			d:        hash,
			opts:     []CloudBaseOption{RequireClientSource()},
			creds:    Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID, Source: "wx_client,scf"}},
			wantUser: "wx_dmfu2vy3u73halfcuwzpdtceuefzy",
		},
		{
			name:     "devtools source refused",
			d:        hash,
			opts:     []CloudBaseOption{RequireClientSource()},
			creds:    Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID, Source: "wx_devtools"}},
			wantIs:   ErrUnauthenticated,
			wantText: "cloudbase verifier: identity: unauthenticated: SOURCE is not wx_client",
		},
		{
			name:     "unmappable raw subject",
			d:        mustDeriver(t, ModeRaw, "prefix_prefix_"),
			creds:    Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: testAppID}},
			wantIs:   ErrForbidden,
			wantText: "cloudbase verifier: derive userID (raw mode): identity: forbidden: subject cannot be mapped to a TRTC userID",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := NewCloudBase(testAppID, tt.d, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			assertVerify(t, v, tt.creds, tt.wantUser, ProviderCloudBase, tt.wantIs, tt.wantText)
		})
	}
}

func TestAttackCloudBaseWrongAppID(t *testing.T) {
	v, err := NewCloudBase(testAppID, mustDeriver(t, ModeHash, "wx_"))
	if err != nil {
		t.Fatal(err)
	}
	for _, appID := range []string{"wxffffffffffffffff", "", testAppID + "x", "WX0123456789ABCDEF"} {
		creds := Credentials{CloudBase: &CloudBaseContext{OpenID: testOpenID, AppID: appID}}
		assertVerify(t, v, creds, "", "", ErrUnauthenticated, "cloudbase verifier: identity: unauthenticated: WX_APPID does not match the configured AppID")
	}
}

func TestAttackCloudBaseWithoutOpenID(t *testing.T) {
	v, err := NewCloudBase(testAppID, mustDeriver(t, ModeHash, "wx_"))
	if err != nil {
		t.Fatal(err)
	}
	// A caller-supplied dev header or bearer text must not stand in for it.
	creds := Credentials{CloudBase: &CloudBaseContext{AppID: testAppID}, DevUser: "alice"}
	assertVerify(t, v, creds, "", "", ErrUnauthenticated, "cloudbase verifier: identity: unauthenticated: invocation carries no WX_OPENID")
}

// assertVerify checks one Verify outcome exactly; wantText == "" means
// success with wantUser/provider.
func assertVerify(t *testing.T, v Verifier, creds Credentials, wantUser, provider string, wantIs error, wantText string) {
	t.Helper()
	id, err := v.Verify(context.Background(), creds)
	if wantText == "" {
		if err != nil {
			t.Fatalf("Verify: %v", err)
		}
		if id.UserID != wantUser || id.Provider != provider {
			t.Fatalf("identity = %+v, want user %q provider %q", id, wantUser, provider)
		}
		return
	}
	if err == nil {
		t.Fatalf("Verify accepted: %+v", id)
	}
	if err.Error() != wantText {
		t.Fatalf("err = %q, want %q", err, wantText)
	}
	if wantIs != nil && !errors.Is(err, wantIs) {
		t.Fatalf("err = %v, want errors.Is %v", err, wantIs)
	}
	if id != (Identity{}) {
		t.Fatalf("identity returned with error: %+v", id)
	}
}
