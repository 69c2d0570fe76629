// Package callpolicy asks the app's own webhook who may call whom. On
// call.create callsign POSTs the caller, the invitees, the call type and
// the IM group to CALLSIGN_CALL_POLICY_URL, signed with HMAC-SHA256 so the
// receiver can verify it came from callsign, and waits at most Timeout for
// {"allow":true|false}. Decisions are cached per instance for CacheTTL; a
// webhook that is slow, down or answers anything else fails open or closed
// as configured.
//
// Signature: header X-Callsign-Timestamp is the Unix time in seconds and
// X-Callsign-Signature is "v1=" + lowercase hex of
// HMAC-SHA256(key, timestamp + "." + body). The key is callPolicyKey in the
// stored secret (CALLSIGN_CALL_POLICY_KEY with the env source).
package callpolicy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/callsign-dev/callsign/shared/loopback"
)

// Headers of a policy request.
const (
	HeaderTimestamp = "X-Callsign-Timestamp"
	HeaderSignature = "X-Callsign-Signature"
)

// Defaults.
const (
	// DefaultTimeout bounds one webhook call.
	DefaultTimeout = time.Second
	// DefaultCacheTTL is how long a decision is reused.
	DefaultCacheTTL = 10 * time.Second
	// maxCached bounds the decision cache.
	maxCached = 10_000
	// maxResponseBytes bounds a webhook answer.
	maxResponseBytes = 4 << 10
)

// ErrFailed wraps every failure to get a decision.
var ErrFailed = errors.New("callpolicy: no decision from the webhook")

// Request is the JSON body sent to the webhook.
type Request struct {
	// Caller is the verified caller's userID.
	Caller string `json:"caller"`
	// Invitees are the userIDs the caller wants to call.
	Invitees []string `json:"invitees"`
	// Type is "audio" or "video".
	Type string `json:"type"`
	// GroupID is the optional IM group.
	GroupID string `json:"groupID,omitempty"`
}

// Decision is the webhook's JSON answer.
type Decision struct {
	// Allow is true when the call may be created.
	Allow *bool `json:"allow"`
}

// Sign returns the X-Callsign-Signature value for body sent at ts.
func Sign(key []byte, ts int64, body []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strconv.FormatInt(ts, 10)))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify reports whether sig is the signature of body sent at ts (for
// receivers written in Go, and the tests).
func Verify(key []byte, ts int64, body []byte, sig string) bool {
	return hmac.Equal([]byte(Sign(key, ts, body)), []byte(sig))
}

// Options configures New.
type Options struct {
	// URL is the webhook: https, or http to a loopback host only.
	URL string
	// Key yields the HMAC key at each call (it is read from the cached
	// secret). Required.
	Key func(ctx context.Context) ([]byte, error)
	// FailOpen allows the call when no decision could be had; otherwise
	// such a call.create answers 503.
	FailOpen bool
	// Timeout bounds one call; default DefaultTimeout.
	Timeout time.Duration
	// CacheTTL is how long a decision is reused; default DefaultCacheTTL,
	// negative disables the cache.
	CacheTTL time.Duration
	// Now is the clock of the cache and the timestamp; nil means time.Now.
	Now func() time.Time
	// Logger receives failures; nil discards.
	Logger *slog.Logger
	// Transport is the HTTP transport; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Client consults the webhook. It is safe for concurrent use.
type Client struct {
	url      string
	key      func(ctx context.Context) ([]byte, error)
	failOpen bool
	timeout  time.Duration
	ttl      time.Duration
	now      func() time.Time
	log      *slog.Logger
	http     *http.Client

	mu    sync.Mutex
	cache map[string]cachedDecision
}

type cachedDecision struct {
	allow bool
	until time.Time
}

// CheckURL accepts an https URL (http only to loopback) without user info
// or fragment.
func CheckURL(raw string) error {
	if err := loopback.CheckURL(raw); err != nil {
		return fmt.Errorf("callpolicy: URL %w", err)
	}
	if u, _ := url.Parse(raw); u.User != nil || u.Fragment != "" {
		return errors.New("callpolicy: URL must not carry user info or a fragment")
	}
	return nil
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	if err := CheckURL(opts.URL); err != nil {
		return nil, err
	}
	if opts.Key == nil {
		return nil, errors.New("callpolicy: a Key source is required")
	}
	c := &Client{url: opts.URL, key: opts.Key, failOpen: opts.FailOpen, timeout: opts.Timeout, ttl: opts.CacheTTL,
		now: opts.Now, log: opts.Logger, cache: make(map[string]cachedDecision)}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if c.ttl == 0 {
		c.ttl = DefaultCacheTTL
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.http = &http.Client{Transport: opts.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return c, nil
}

// Allow implements service.CallPolicy: true when the webhook (or a cached
// decision) allows the call. When no decision can be had it returns true
// with FailOpen and an error wrapping ErrFailed otherwise.
func (c *Client) Allow(ctx context.Context, caller string, invitees []string, callType, groupID string) (bool, error) {
	req := Request{Caller: caller, Invitees: invitees, Type: callType, GroupID: groupID}
	key := cacheKey(req)
	now := c.now()
	if c.ttl > 0 {
		c.mu.Lock()
		d, ok := c.cache[key]
		c.mu.Unlock()
		if ok && now.Before(d.until) {
			return d.allow, nil
		}
	}
	allow, err := c.ask(ctx, req, now)
	if err != nil {
		c.log.LogAttrs(ctx, slog.LevelError, "call policy webhook failed", slog.Bool("failOpen", c.failOpen), slog.String("error", err.Error()))
		if c.failOpen {
			return true, nil
		}
		return false, err
	}
	if c.ttl > 0 {
		c.mu.Lock()
		if len(c.cache) >= maxCached {
			for k, d := range c.cache {
				if !now.Before(d.until) {
					delete(c.cache, k)
				}
			}
			if len(c.cache) >= maxCached {
				clear(c.cache)
			}
		}
		c.cache[key] = cachedDecision{allow: allow, until: now.Add(c.ttl)}
		c.mu.Unlock()
	}
	return allow, nil
}

// cacheKey identifies a request independently of the invitees' order.
func cacheKey(r Request) string {
	inv := slices.Clone(r.Invitees)
	slices.Sort(inv)
	return r.Caller + "\x00" + r.Type + "\x00" + r.GroupID + "\x00" + strings.Join(inv, ",")
}

// ask calls the webhook once.
func (c *Client) ask(ctx context.Context, r Request, now time.Time) (bool, error) {
	k, err := c.key(ctx)
	if err != nil {
		return false, fmt.Errorf("%w: loading the key: %w", ErrFailed, err)
	}
	if len(k) == 0 {
		return false, fmt.Errorf("%w: no callPolicyKey is configured", ErrFailed)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return false, fmt.Errorf("%w: encoding: %w", ErrFailed, err)
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return false, fmt.Errorf("%w: building the request failed", ErrFailed)
	}
	ts := now.Unix()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(ts, 10))
	req.Header.Set(HeaderSignature, Sign(k, ts, body))
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a token in its query
		}
		return false, fmt.Errorf("%w: %w", ErrFailed, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false, fmt.Errorf("%w: HTTP %d", ErrFailed, resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return false, fmt.Errorf("%w: reading the answer: %w", ErrFailed, err)
	}
	var d Decision
	if err := json.Unmarshal(raw, &d); err != nil || d.Allow == nil {
		return false, fmt.Errorf("%w: the answer is not {\"allow\":true|false}", ErrFailed)
	}
	return *d.Allow, nil
}
