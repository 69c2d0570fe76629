package identity

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
)

// CloudBase verifies a CloudBase wx.cloud.callFunction invocation from the
// trusted per-invocation context (Credentials.CloudBase) that the SCF Go1
// adapter copies out of InvokeRequest.Environment. It never looks at the
// process environment, the Authorization header, or anything in the
// payload's data: a payload field claiming another user has no effect. It is
// safe for concurrent use.
type CloudBase struct {
	appID         string
	deriver       *Deriver
	requireClient bool
}

// CloudBaseOption configures NewCloudBase.
type CloudBaseOption func(*CloudBase)

// RequireClientSource makes the verifier accept only invocations whose
// SOURCE names "wx_client" (a real mini-program client, possibly followed by
// further hops such as "wx_client,scf"). Invocations from the developer
// tools, HTTP triggers, timers and other functions are then refused.
func RequireClientSource() CloudBaseOption {
	return func(c *CloudBase) { c.requireClient = true }
}

// NewCloudBase returns the CloudBase verifier for the mini-program appID
// (WX_APPID must equal it). d derives the TRTC userID from the OpenID.
func NewCloudBase(appID string, d *Deriver, opts ...CloudBaseOption) (*CloudBase, error) {
	if appID == "" {
		return nil, errors.New("identity: cloudbase verifier needs the WeChat AppID (CALLSIGN_WECHAT_APP_ID)")
	}
	if d == nil {
		return nil, errors.New("identity: cloudbase verifier needs a userID deriver")
	}
	c := &CloudBase{appID: appID, deriver: d}
	for _, o := range opts {
		if o != nil {
			o(c)
		}
	}
	return c, nil
}

// Verify implements Verifier. No CloudBase context ⇒ ErrNoCredentials; an
// empty OpenID, an AppID other than the configured one, or (with
// RequireClientSource) a SOURCE without wx_client ⇒ ErrUnauthenticated; an
// OpenID the Deriver cannot map ⇒ ErrUnmappableSubject. On success Subject
// is the OpenID and UserID its derived ID.
func (c *CloudBase) Verify(_ context.Context, creds Credentials) (Identity, error) {
	cb := creds.CloudBase
	if cb == nil {
		return Identity{}, fmt.Errorf("cloudbase verifier: %w", ErrNoCredentials)
	}
	if cb.OpenID == "" {
		return Identity{}, fmt.Errorf("cloudbase verifier: %w: invocation carries no WX_OPENID", ErrUnauthenticated)
	}
	if subtle.ConstantTimeCompare([]byte(cb.AppID), []byte(c.appID)) != 1 {
		return Identity{}, fmt.Errorf("cloudbase verifier: %w: WX_APPID does not match the configured AppID", ErrUnauthenticated)
	}
	if c.requireClient && !hasSource(cb.Source, "wx_client") {
		return Identity{}, fmt.Errorf("cloudbase verifier: %w: SOURCE is not wx_client", ErrUnauthenticated)
	}
	userID, err := c.deriver.Derive(cb.OpenID)
	if err != nil {
		return Identity{}, fmt.Errorf("cloudbase verifier: %w", err)
	}
	return Identity{UserID: userID, Subject: cb.OpenID, Provider: ProviderCloudBase}, nil
}

// hasSource reports whether the comma-separated SOURCE chain contains want.
func hasSource(source, want string) bool {
	for _, s := range strings.Split(source, ",") {
		if strings.TrimSpace(s) == want {
			return true
		}
	}
	return false
}
