// Package trtcapi calls the TRTC cloud API 3.0 (service "trtc", version
// 2019-07-22) to act on rooms from the server: remove users from a room and
// dismiss a room. It uses the generic client of
// github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common (TC3-
// HMAC-SHA256 signing), since the typed trtc module is not needed for four
// actions.
//
// Calls are paced by a Pacer (the API allows 20 requests per second per
// action), credentials are read at every call (SCF's run-role credentials
// are temporary), and errors never carry the response body or a credential.
//
// The build tag callsign.notrtcapi leaves the client, and with it the
// Tencent Cloud SDK, out of a binary: New then returns ErrNotBuiltIn, while
// the types, ParseEndpoint and the pacing stay available.
package trtcapi

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// API facts (handbook: TRTC cloud API 3.0).
const (
	// Service is the cloud API service name.
	Service = "trtc"
	// Version is the API version.
	Version = "2019-07-22"
	// DefaultEndpoint is the China-site endpoint; the international site is
	// "trtc.intl.tencentcloudapi.com".
	DefaultEndpoint = "trtc.tencentcloudapi.com"
	// DefaultRegion is the routing region used when none is configured.
	DefaultRegion = "ap-guangzhou"
	// MaxUsersPerCall is the most UserIds one removal may carry.
	MaxUsersPerCall = 10
	// DefaultTimeout bounds one API call.
	DefaultTimeout = 3 * time.Second
)

// Actions this package calls.
const (
	ActionRemoveUser             = "RemoveUser"
	ActionRemoveUserByStrRoomID  = "RemoveUserByStrRoomId"
	ActionDismissRoom            = "DismissRoom"
	ActionDismissRoomByStrRoomID = "DismissRoomByStrRoomId"
)

// Room is a TRTC room: string (Str) or numeric (Num), exactly one set.
type Room struct {
	Str string
	Num uint32
}

// Credential is a Tencent Cloud API key pair, with the session token of
// temporary (STS / run-role) credentials.
type Credential struct {
	SecretID  string
	SecretKey string
	Token     string
}

// String implements fmt.Stringer without revealing the key.
func (Credential) String() string { return "trtcapi.Credential[REDACTED]" }

// GoString implements fmt.GoStringer without revealing the key.
func (c Credential) GoString() string { return c.String() }

// Credentials yields the credential for one call.
type Credentials func(ctx context.Context) (Credential, error)

// ErrNotBuiltIn is returned by New in a binary built with the tag
// callsign.notrtcapi, which leaves the cloud API client (and the Tencent
// Cloud SDK it uses) out: the functions that never act on rooms.
var ErrNotBuiltIn = errors.New("trtcapi: this binary was built without the TRTC cloud API client (build tag callsign.notrtcapi)")

// ErrNoCredentials is wrapped when Credentials yields an empty key pair.
var ErrNoCredentials = errors.New("trtcapi: no Tencent Cloud API credentials")

// Pacer delays a call until the action's rate allows it.
type Pacer interface {
	Wait(ctx context.Context, action string) error
}

// Options configures New.
type Options struct {
	// Region is the routing region (X-TC-Region); default DefaultRegion.
	Region string
	// Endpoint overrides DefaultEndpoint: host[:port] (HTTPS),
	// https://host[:port], or http://host[:port] for a loopback host only
	// (a local stand-in). See ParseEndpoint.
	Endpoint string
	// Credentials is called at every API call. Required.
	Credentials Credentials
	// Pacer paces the calls; nil sends at once.
	Pacer Pacer
	// Timeout bounds one call in addition to the context; default
	// DefaultTimeout.
	Timeout time.Duration
	// Transport is the HTTP transport; default a clone of
	// http.DefaultTransport that verifies the API's certificate against
	// the embedded Tencent Cloud API roots first (package tlstrust).
	Transport http.RoundTripper
}

// Client calls the TRTC cloud API. It is safe for concurrent use.
type Client struct {
	region    string
	host      string
	scheme    string
	creds     Credentials
	pacer     Pacer
	timeout   time.Duration
	transport http.RoundTripper
}

// New validates opts and returns a Client, or ErrNotBuiltIn in a binary
// built with the tag callsign.notrtcapi.
func New(opts Options) (*Client, error) {
	if !builtIn {
		return nil, ErrNotBuiltIn
	}
	if opts.Credentials == nil {
		return nil, errors.New("trtcapi: Credentials is required")
	}
	host, scheme, err := ParseEndpoint(opts.Endpoint)
	if err != nil {
		return nil, err
	}
	c := &Client{
		region:    opts.Region,
		host:      host,
		scheme:    scheme,
		creds:     opts.Credentials,
		pacer:     opts.Pacer,
		timeout:   opts.Timeout,
		transport: opts.Transport,
	}
	if c.region == "" {
		c.region = DefaultRegion
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.transport == nil {
		// Verify the API's certificate against the Tencent Cloud API's
		// roots before loading the system store, whose first load costs a
		// callbacks instance's first removal tens of milliseconds; what is
		// accepted is unchanged (tlstrust.ClientConfig).
		c.transport = tlstrust.Transport((&url.URL{Host: host}).Hostname(), tlstrust.DigiCertGlobal)
	}
	c.transport = statusTransport{base: c.transport}
	return c, nil
}

// ParseEndpoint checks an endpoint override and returns its host[:port]
// and scheme ("HTTPS" or "HTTP"). Empty means DefaultEndpoint over HTTPS.
// Plain HTTP is accepted only for a loopback host (127.0.0.1, ::1,
// localhost), so API credentials never cross a network unencrypted.
func ParseEndpoint(endpoint string) (host, scheme string, err error) {
	if endpoint == "" {
		return DefaultEndpoint, "HTTPS", nil
	}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return "", "", errors.New("trtcapi: endpoint must be host[:port] or https://host[:port]")
	}
	switch u.Scheme {
	case "https":
		return u.Host, "HTTPS", nil
	case "http":
		h := u.Hostname()
		if ip := net.ParseIP(h); (ip != nil && ip.IsLoopback()) || h == "localhost" {
			return u.Host, "HTTP", nil
		}
		return "", "", errors.New("trtcapi: plain http endpoints are allowed only for a loopback host; use https")
	default:
		return "", "", errors.New("trtcapi: endpoint scheme must be https (or http for a loopback host)")
	}
}

// Error is a failed API call. It carries no response body and no
// credential.
type Error struct {
	// Action is the API action.
	Action string
	// Code is Tencent's error code (e.g. "InternalError"), or "" for a
	// transport failure.
	Code string
	// RequestID is Tencent's request ID, when the API answered.
	RequestID string
	// Status is the HTTP status, when a response arrived.
	Status int
	// Temporary reports whether retrying may succeed (network errors,
	// timeouts, throttling, Tencent internal errors, 5xx).
	Temporary bool

	cause error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("trtcapi: ")
	b.WriteString(e.Action)
	switch {
	case e.Code != "":
		b.WriteString(": ")
		b.WriteString(e.Code)
	case e.cause != nil:
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	default:
		fmt.Fprintf(&b, ": HTTP status %d", e.Status)
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap returns the cause (a context or network error), if any.
func (e *Error) Unwrap() error { return e.cause }

// IsTemporary reports whether err is worth retrying.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return false
}

// RemoveUsers removes userIDs (1..MaxUsersPerCall) from room with
// RemoveUser (numeric rooms) or RemoveUserByStrRoomId (string rooms).
// FailedOperation.RoomNotExist counts as success: the room is already
// gone, so nobody is in it.
func (c *Client) RemoveUsers(ctx context.Context, sdkAppID uint32, room Room, userIDs []string) error {
	if len(userIDs) == 0 || len(userIDs) > MaxUsersPerCall {
		return fmt.Errorf("trtcapi: remove needs 1..%d users, got %d", MaxUsersPerCall, len(userIDs))
	}
	action, params, err := roomParams(sdkAppID, room, ActionRemoveUser, ActionRemoveUserByStrRoomID)
	if err != nil {
		return err
	}
	params["UserIds"] = userIDs
	return c.call(ctx, action, params)
}

// DismissRoom removes everyone from room and closes it (DismissRoom or
// DismissRoomByStrRoomId). FailedOperation.RoomNotExist counts as success.
func (c *Client) DismissRoom(ctx context.Context, sdkAppID uint32, room Room) error {
	action, params, err := roomParams(sdkAppID, room, ActionDismissRoom, ActionDismissRoomByStrRoomID)
	if err != nil {
		return err
	}
	return c.call(ctx, action, params)
}

// roomParams picks the numeric or string variant of an action.
func roomParams(sdkAppID uint32, room Room, numAction, strAction string) (string, map[string]any, error) {
	switch {
	case sdkAppID == 0:
		return "", nil, errors.New("trtcapi: SDKAppID is 0")
	case (room.Str != "") == (room.Num != 0):
		return "", nil, errors.New("trtcapi: room must be a string or a non-zero number")
	case room.Str != "":
		return strAction, map[string]any{"SdkAppId": sdkAppID, "RoomId": room.Str}, nil
	default:
		return numAction, map[string]any{"SdkAppId": sdkAppID, "RoomId": room.Num}, nil
	}
}

// statusTransport records each response's HTTP status in the request's
// *statusRecord: the SDK reports bad statuses only in messages that quote
// the body.
type statusTransport struct{ base http.RoundTripper }

type statusRecordKey struct{}

type statusRecord struct{ status int }

// RoundTrip implements http.RoundTripper.
func (s statusTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := s.base.RoundTrip(r)
	if rec, ok := r.Context().Value(statusRecordKey{}).(*statusRecord); ok && resp != nil {
		rec.status = resp.StatusCode
	}
	return resp, err
}
