// Package imapi calls Tencent's IM REST API as the app's administrator:
// it invalidates a user's IM login (v4/im_open_login_svc/kick) and reads
// and ends TUICallKit calls (v4/call_engine_http_srv/get_call_info,
// end_call). Every request is signed with an administrator UserSig that the
// Client mints from the TRTC secret and caches; no route ever returns it.
//
// Errors never carry the request URL, whose query holds the UserSig.
package imapi

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// Defaults.
const (
	// DefaultBaseURL is the China-site host; see the handbook for the
	// regional hosts (e.g. https://adminapisgp.im.qcloud.com).
	DefaultBaseURL = "https://console.tim.qq.com"
	// DefaultAdminUser is Tencent's conventional administrator identifier.
	DefaultAdminUser = "administrator"
	// DefaultTimeout bounds one request (Tencent asks callers to allow
	// more than 3 s).
	DefaultTimeout = 5 * time.Second
	// AdminSigTTL is the lifetime of the cached administrator UserSig; it
	// is re-minted after 80 % of it.
	AdminSigTTL = 24 * time.Hour
	// maxResponseBytes bounds a response body.
	maxResponseBytes = 1 << 20
)

// REST commands.
const (
	PathKick        = "v4/im_open_login_svc/kick"
	PathGetCallInfo = "v4/call_engine_http_srv/get_call_info"
	PathEndCall     = "v4/call_engine_http_srv/end_call"
)

// Error codes with a meaning here.
const (
	// CodeAccountNotFound (kick): the account does not exist; nothing to
	// kick.
	CodeAccountNotFound = 70107
	// CodeCallNotFound (call engine): the call does not exist or already
	// ended.
	CodeCallNotFound = 101004
)

// ErrCallNotFound is returned by GetCallInfo for a call that does not
// exist or already ended.
var ErrCallNotFound = errors.New("imapi: the call does not exist or already ended")

// Error is a failed REST call: a transport failure, a non-200 status or a
// body with ActionStatus FAIL. It names the command, never the URL.
type Error struct {
	// Path is the command, e.g. PathKick.
	Path string
	// Status is the HTTP status (0: no response).
	Status int
	// Code and Info are the body's ErrorCode and ErrorInfo.
	Code int
	Info string

	cause error
}

// Error implements error.
func (e *Error) Error() string {
	switch {
	case e.cause != nil:
		return "imapi: " + e.Path + ": " + e.cause.Error()
	case e.Status != http.StatusOK:
		return "imapi: " + e.Path + ": HTTP " + strconv.Itoa(e.Status)
	}
	return fmt.Sprintf("imapi: %s: ErrorCode %d: %.200s", e.Path, e.Code, e.Info)
}

// Unwrap returns the transport failure, if any.
func (e *Error) Unwrap() error { return e.cause }

// Options configures New.
type Options struct {
	// BaseURL is the REST host: https, or http to a loopback host only;
	// default DefaultBaseURL.
	BaseURL string
	// AdminUser is the administrator identifier; default DefaultAdminUser.
	AdminUser string
	// Secrets yields the SDKAppID and the TRTC key the administrator
	// UserSig is signed with. Required.
	Secrets secret.Source
	// Now is the clock of the UserSig; nil means time.Now.
	Now func() time.Time
	// Timeout bounds one request; default DefaultTimeout.
	Timeout time.Duration
	// Transport is the HTTP transport; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Client calls the IM REST API. It is safe for concurrent use.
type Client struct {
	base    string
	admin   string
	secrets secret.Source
	now     func() time.Time
	http    *http.Client

	mu     sync.Mutex
	sig    string
	sigApp uint32
	sigKey string
	sigAt  time.Time
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	if opts.Secrets == nil {
		return nil, errors.New("imapi: a secret Source is required")
	}
	if opts.BaseURL == "" {
		opts.BaseURL = DefaultBaseURL
	}
	if err := CheckBaseURL(opts.BaseURL); err != nil {
		return nil, err
	}
	if opts.AdminUser == "" {
		opts.AdminUser = DefaultAdminUser
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	return &Client{
		base: strings.TrimRight(opts.BaseURL, "/"), admin: opts.AdminUser, secrets: opts.Secrets, now: opts.Now,
		http: &http.Client{Timeout: opts.Timeout, Transport: opts.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}, nil
}

// CheckBaseURL accepts an https URL without query, or http to loopback.
func CheckBaseURL(raw string) error {
	if err := loopback.CheckURL(raw); err != nil {
		return fmt.Errorf("imapi: base URL %w", err)
	}
	if u, _ := url.Parse(raw); u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.User != nil {
		return errors.New("imapi: base URL must not carry a query, fragment or user info")
	}
	return nil
}

// AdminUserSig returns an administrator UserSig valid for ttl, freshly
// minted (for callsign admin-usersig). It never leaves the operator's CLI.
func (c *Client) AdminUserSig(ctx context.Context, ttl time.Duration) (sdkAppID uint32, sig string, err error) {
	s, err := c.secrets.Load(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("imapi: loading the secret: %w", err)
	}
	sig, err = usersig.UserSig(s.SDKAppID, s.SecretKey, c.admin, ttl, c.now())
	if err != nil {
		return 0, "", fmt.Errorf("imapi: signing the administrator UserSig: %w", err)
	}
	return s.SDKAppID, sig, nil
}

// cachedSig returns the cached administrator UserSig, minting a new one
// when it is older than 80 % of AdminSigTTL or the secret changed.
func (c *Client) cachedSig(ctx context.Context) (uint32, string, error) {
	s, err := c.secrets.Load(ctx)
	if err != nil {
		return 0, "", fmt.Errorf("imapi: loading the secret: %w", err)
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sig != "" && c.sigApp == s.SDKAppID && c.sigKey == s.SecretKey &&
		!now.Before(c.sigAt) && now.Sub(c.sigAt) < AdminSigTTL*4/5 {
		return c.sigApp, c.sig, nil
	}
	sig, err := usersig.UserSig(s.SDKAppID, s.SecretKey, c.admin, AdminSigTTL, now)
	if err != nil {
		return 0, "", fmt.Errorf("imapi: signing the administrator UserSig: %w", err)
	}
	c.sig, c.sigApp, c.sigKey, c.sigAt = sig, s.SDKAppID, s.SecretKey, now
	return c.sigApp, c.sig, nil
}

// reply is the common part of every response.
type reply struct {
	ActionStatus string `json:"ActionStatus"`
	ErrorCode    int    `json:"ErrorCode"`
	ErrorInfo    string `json:"ErrorInfo"`
}

// call POSTs body to path and decodes the response into out (may be nil).
func (c *Client) call(ctx context.Context, path string, body any, out any) error {
	app, sig, err := c.cachedSig(ctx)
	if err != nil {
		return err
	}
	var r [4]byte
	if _, err := rand.Read(r[:]); err != nil {
		return &Error{Path: path, cause: err}
	}
	q := url.Values{}
	q.Set("sdkappid", strconv.FormatUint(uint64(app), 10))
	q.Set("identifier", c.admin)
	q.Set("usersig", sig)
	q.Set("random", strconv.FormatUint(uint64(binary.BigEndian.Uint32(r[:])), 10))
	q.Set("contenttype", "json")
	b, err := json.Marshal(body)
	if err != nil {
		return &Error{Path: path, cause: err}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/"+path+"?"+q.Encode(), bytes.NewReader(b))
	if err != nil {
		return &Error{Path: path, cause: errors.New("building the request failed")}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error names the URL, and with it the UserSig: keep only
		// the underlying failure.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return &Error{Path: path, cause: err}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &Error{Path: path, Status: resp.StatusCode, cause: errors.New("reading the response failed")}
	}
	if resp.StatusCode != http.StatusOK {
		return &Error{Path: path, Status: resp.StatusCode}
	}
	var rep reply
	if err := json.Unmarshal(raw, &rep); err != nil {
		return &Error{Path: path, Status: resp.StatusCode, cause: errors.New("response is not JSON")}
	}
	if rep.ErrorCode != 0 || rep.ActionStatus != "OK" {
		return &Error{Path: path, Status: resp.StatusCode, Code: rep.ErrorCode, Info: rep.ErrorInfo}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return &Error{Path: path, Status: resp.StatusCode, cause: fmt.Errorf("decoding the response: %w", err)}
		}
	}
	return nil
}

// code returns the ErrorCode of a REST failure, or 0.
func code(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// Kick invalidates userID's IM login: every earlier UserSig stops working
// for IM login. An account that does not exist is not an error.
func (c *Client) Kick(ctx context.Context, userID string) error {
	err := c.call(ctx, PathKick, map[string]string{"UserID": userID}, nil)
	if code(err) == CodeAccountNotFound {
		return nil
	}
	return err
}

// CallUser is one member of a TUICallKit call.
type CallUser struct {
	// UserID is User_Account (a string, or a number in some samples).
	UserID string
	// Status is "Calling", "Waiting", ...
	Status string
}

// UnmarshalJSON accepts User_Account as a string or a number.
func (u *CallUser) UnmarshalJSON(b []byte) error {
	var raw struct {
		Account json.RawMessage `json:"User_Account"`
		Status  string          `json:"Status"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	u.Status = raw.Status
	if len(raw.Account) > 0 && raw.Account[0] == '"' {
		return json.Unmarshal(raw.Account, &u.UserID)
	}
	var n json.Number
	if err := json.Unmarshal(raw.Account, &n); err != nil {
		return fmt.Errorf("User_Account is neither a string nor a number")
	}
	u.UserID = n.String()
	return nil
}

// CallInfo is a call as Tencent's call engine knows it.
type CallInfo struct {
	// CallID is CallId.
	CallID string `json:"CallId"`
	// Caller is Caller_Account when Tencent sends it (empty otherwise).
	Caller string `json:"Caller_Account"`
	// RoomID is the room, a string in both room types.
	RoomID string `json:"RoomId"`
	// RoomIDType is 1 for a numeric room, 2 for a string room.
	RoomIDType int `json:"RoomIdType"`
	// MediaType is "Audio" or "Video" (CallMediaType in some samples).
	MediaType string `json:"CallMediaType"`
	// GroupID is ChatGroupId.
	GroupID string `json:"ChatGroupId"`
	// Users are the members and their status.
	Users []CallUser `json:"-"`
}

// GetCallInfo reads a call; ErrCallNotFound when it does not exist or
// already ended.
func (c *Client) GetCallInfo(ctx context.Context, callID string) (CallInfo, error) {
	var out struct {
		Response struct {
			CallInfo CallInfo   `json:"CallInfo"`
			UserList []CallUser `json:"UserList"`
		} `json:"Response"`
	}
	err := c.call(ctx, PathGetCallInfo, map[string]string{"CallId": callID}, &out)
	if code(err) == CodeCallNotFound {
		return CallInfo{}, ErrCallNotFound
	}
	if err != nil {
		return CallInfo{}, err
	}
	info := out.Response.CallInfo
	info.Users = out.Response.UserList
	return info, nil
}

// EndCall ends a call; a call that already ended is not an error.
func (c *Client) EndCall(ctx context.Context, callID string) error {
	err := c.call(ctx, PathEndCall, map[string]string{"CallId": callID}, nil)
	if code(err) == CodeCallNotFound {
		return nil
	}
	return err
}
