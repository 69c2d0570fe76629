package identity

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// Defaults and limits of the WeChat client.
const (
	// DefaultWechatBaseURL is the WeChat API origin.
	DefaultWechatBaseURL = "https://api.weixin.qq.com"
	// DefaultWechatTimeout bounds one Code2Session call, retry included.
	DefaultWechatTimeout = 3 * time.Second
	// DefaultWechatRetryDelay is the pause before retrying errcode -1.
	DefaultWechatRetryDelay = 100 * time.Millisecond
	// MaxLoginCodeBytes is the longest wx.login code accepted.
	MaxLoginCodeBytes = 128
	// maxWechatBody bounds a code2Session response body.
	maxWechatBody = 64 << 10
	// maxOpenIDBytes bounds an OpenID/UnionID returned by WeChat.
	maxOpenIDBytes = 128
)

// WechatOptions configures NewWechat.
type WechatOptions struct {
	// BaseURL is the API origin (default DefaultWechatBaseURL); tests point
	// it at a local fake.
	BaseURL string
	// AppID is the mini-program AppID.
	AppID string
	// AppSecret returns the mini-program AppSecret (typically from the
	// cached secret source); called once per Code2Session.
	AppSecret func(context.Context) (string, error)
	// HTTPClient sends the request; nil means a client on a clone of
	// http.DefaultTransport that verifies the server's certificate against
	// the roots of WeChat's API (tlstrust.DigiCertGlobal) before it loads
	// the system roots. Redirects are never followed (the query carries
	// the secret).
	HTTPClient *http.Client
	// Timeout bounds one Code2Session call including its retry (default
	// DefaultWechatTimeout).
	Timeout time.Duration
	// RetryDelay is the pause before the single retry after errcode -1
	// (default DefaultWechatRetryDelay).
	RetryDelay time.Duration
}

// WechatSession is the verified result of a wx.login code exchange. It
// deliberately has no session_key: callsign never keeps, returns or logs it.
type WechatSession struct {
	// OpenID identifies the user within the mini-program.
	OpenID string
	// UnionID identifies the user across the developer's apps; may be empty.
	UnionID string
}

// Wechat exchanges wx.login codes with WeChat's code2Session API. It is safe
// for concurrent use.
type Wechat struct {
	endpoint   string
	appID      string
	appSecret  func(context.Context) (string, error)
	client     func() *http.Client // built once, on first use
	timeout    time.Duration
	retryDelay time.Duration
}

// NewWechat returns a code2Session client.
func NewWechat(opts WechatOptions) (*Wechat, error) {
	if opts.AppID == "" {
		return nil, errors.New("identity: wechat client needs the AppID (CALLSIGN_WECHAT_APP_ID)")
	}
	if opts.AppSecret == nil {
		return nil, errors.New("identity: wechat client needs an AppSecret source")
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultWechatBaseURL
	}
	// The request carries the AppSecret in its query: never over plain
	// http to another machine.
	u, err := url.Parse(base)
	if err != nil || loopback.CheckURL(base) != nil || u.RawQuery != "" || u.ForceQuery {
		return nil, errors.New("identity: wechat base URL must be an absolute https URL without a query (plain http only for localhost or a loopback IP)")
	}
	if opts.Timeout < 0 || opts.RetryDelay < 0 {
		return nil, errors.New("identity: wechat timeout and retry delay must not be negative")
	}
	// The HTTP client is built on the first exchange, not here: only the
	// session operation calls code2Session, so the other functions need
	// not clone a transport at start (docs/performance.md).
	host := u.Hostname()
	newClient := func() *http.Client {
		var client http.Client
		if opts.HTTPClient != nil {
			client = *opts.HTTPClient
		} else {
			client.Transport = tlstrust.Transport(host, tlstrust.DigiCertGlobal)
		}
		client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		return &client
	}
	return &Wechat{
		endpoint:   strings.TrimRight(base, "/") + "/sns/jscode2session",
		appID:      opts.AppID,
		appSecret:  opts.AppSecret,
		client:     sync.OnceValue(newClient),
		timeout:    positiveOr(opts.Timeout, DefaultWechatTimeout),
		retryDelay: positiveOr(opts.RetryDelay, DefaultWechatRetryDelay),
	}, nil
}

// ValidLoginCode reports whether code looks like a wx.login code: 1 to
// MaxLoginCodeBytes printable ASCII characters without spaces.
func ValidLoginCode(code string) bool {
	if len(code) == 0 || len(code) > MaxLoginCodeBytes {
		return false
	}
	for i := 0; i < len(code); i++ {
		if code[i] <= ' ' || code[i] > '~' {
			return false
		}
	}
	return true
}

// Code2Session exchanges a wx.login code for the user's OpenID (and UnionID).
// Errors, which never contain the code, the AppSecret or session_key:
//   - malformed code, errcode 40029 (invalid code), 40163 (code already
//     used) ⇒ ErrUnauthenticated (HTTP 401);
//   - 45011 (WeChat's per-user minute quota) ⇒ ErrRateLimited (429);
//   - 40226 (high-risk user, login blocked) ⇒ ErrForbidden (403);
//   - 40125, 40013, 41002, 41004, 41008, 40066 (our AppID/AppSecret/URL is
//     wrong) ⇒ ErrMisconfigured (500, alarm);
//   - -1 (system busy) is retried once, then ErrUnavailable (503);
//   - any other non-zero errcode, a timeout, a transport error, a non-200
//     status, an oversized or malformed body, or a missing OpenID ⇒
//     ErrUnavailable (503): callsign cannot tell whether the user is at
//     fault, so the client may retry with a new code.
//
// An AppSecret source failure is returned wrapped as is (e.g.
// secret.ErrUnavailable).
func (w *Wechat) Code2Session(ctx context.Context, code string) (WechatSession, error) {
	if !ValidLoginCode(code) {
		return WechatSession{}, fmt.Errorf("wechat code2Session: %w: malformed login code", ErrUnauthenticated)
	}
	secret, err := w.appSecret(ctx)
	if err != nil {
		return WechatSession{}, fmt.Errorf("wechat code2Session: loading AppSecret: %w", err)
	}
	if secret == "" {
		return WechatSession{}, fmt.Errorf("wechat code2Session: %w: AppSecret is empty", ErrMisconfigured)
	}
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	q := url.Values{
		"appid":      {w.appID},
		"secret":     {secret},
		"js_code":    {code},
		"grant_type": {"authorization_code"},
	}
	target := w.endpoint + "?" + q.Encode()
	for attempt := 1; ; attempt++ {
		s, errcode, err := w.exchange(ctx, target)
		if err != nil {
			return WechatSession{}, err
		}
		if errcode == -1 && attempt == 1 {
			t := time.NewTimer(w.retryDelay)
			select {
			case <-ctx.Done():
				t.Stop()
				return WechatSession{}, fmt.Errorf("wechat code2Session: %w: %w", ErrUnavailable, ctx.Err())
			case <-t.C:
			}
			continue
		}
		if errcode != 0 {
			return WechatSession{}, fmt.Errorf("wechat code2Session: errcode %d: %w", errcode, errcodeError(errcode))
		}
		return s, nil
	}
}

// errcodeError maps a non-zero code2Session errcode to a sentinel.
func errcodeError(errcode int) error {
	switch errcode {
	case 40029, 40163:
		return ErrUnauthenticated
	case 45011:
		return ErrRateLimited
	case 40226:
		return ErrForbidden
	case 40125, 40013, 41002, 41004, 41008, 40066:
		return ErrMisconfigured
	default: // -1 after the retry, and codes WeChat does not document
		return ErrUnavailable
	}
}

// exchange performs one request. It returns the session and errcode of a
// well-formed response, or an error wrapping ErrUnavailable.
func (w *Wechat) exchange(ctx context.Context, target string) (WechatSession, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		// The URL embeds the secret: never include err.
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: cannot build request", ErrUnavailable)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := w.client().Do(req)
	if err != nil {
		// *url.Error prints the full URL, secret included: report only a
		// classification, and the caller's context error if that ended it.
		if ctxErr := ctx.Err(); ctxErr != nil {
			return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: request did not complete: %w", ErrUnavailable, ctxErr)
		}
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: request timed out", ErrUnavailable)
		}
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: transport error", ErrUnavailable)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWechatBody))
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: HTTP status %d", ErrUnavailable, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxWechatBody+1))
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: reading response: %w", ErrUnavailable, ctxErr)
		}
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: reading response failed", ErrUnavailable)
	}
	if len(body) > maxWechatBody {
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: response too large", ErrUnavailable)
	}
	return parseCode2Session(body)
}

// parseCode2Session decodes a code2Session response body. session_key is
// not decoded at all. A well-formed error response returns its non-zero
// errcode; a success must carry a plausible OpenID.
func parseCode2Session(body []byte) (WechatSession, int, error) {
	var r struct {
		OpenID  string `json:"openid"`
		UnionID string `json:"unionid"`
		ErrCode int    `json:"errcode"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: malformed response", ErrUnavailable)
	}
	if r.ErrCode != 0 {
		return WechatSession{}, r.ErrCode, nil
	}
	if r.OpenID == "" {
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: response has no openid", ErrUnavailable)
	}
	if !plausibleID(r.OpenID) || (r.UnionID != "" && !plausibleID(r.UnionID)) {
		return WechatSession{}, 0, fmt.Errorf("wechat code2Session: %w: response has a malformed openid or unionid", ErrUnavailable)
	}
	return WechatSession{OpenID: r.OpenID, UnionID: r.UnionID}, 0, nil
}

// plausibleID reports whether s looks like an OpenID/UnionID: 1 to 128
// printable ASCII characters without spaces.
func plausibleID(s string) bool {
	if len(s) == 0 || len(s) > maxOpenIDBytes {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
