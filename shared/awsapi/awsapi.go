// Package awsapi calls AWS services that speak the JSON protocols (JSON 1.0:
// DynamoDB; JSON 1.1: Secrets Manager, Systems Manager) over net/http, with
// its own Signature Version 4 signer. It replaces the AWS SDK in the
// function binaries, whose package initialisation alone costs more than a
// cold start may take.
//
// Credentials are read before every attempt (Lambda's role credentials are
// temporary), retries are bounded and jittered within the context's
// deadline, response bodies are capped, redirects are refused, and errors
// never carry a request body, a response body or a credential. A default
// client verifies its endpoint against the Amazon Trust Services roots
// before it loads the system trust store (package tlstrust), which saves a
// cold start tens of milliseconds.
package awsapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// Protocol is an AWS JSON protocol, named by its content type.
type Protocol string

// The AWS JSON protocols.
const (
	// JSON10 is awsJson1_0 (DynamoDB).
	JSON10 Protocol = "application/x-amz-json-1.0"
	// JSON11 is awsJson1_1 (Secrets Manager, SSM).
	JSON11 Protocol = "application/x-amz-json-1.1"
)

// Service is one AWS service spoken over a JSON protocol.
type Service struct {
	// Name is the signing name and endpoint prefix, e.g. "dynamodb".
	Name string
	// TargetPrefix starts the X-Amz-Target header: TargetPrefix.Operation.
	TargetPrefix string
	// Protocol is the service's JSON protocol.
	Protocol Protocol
}

// The services callsign calls.
var (
	// DynamoDB is Amazon DynamoDB.
	DynamoDB = Service{Name: "dynamodb", TargetPrefix: "DynamoDB_20120810", Protocol: JSON10}
	// SecretsManager is AWS Secrets Manager.
	SecretsManager = Service{Name: "secretsmanager", TargetPrefix: "secretsmanager", Protocol: JSON11}
	// SSM is AWS Systems Manager (Parameter Store).
	SSM = Service{Name: "ssm", TargetPrefix: "AmazonSSM", Protocol: JSON11}
)

// Defaults of Options.
const (
	// DefaultMaxAttempts is how many times one call is sent at most.
	DefaultMaxAttempts = 3
	// DefaultMaxResponseBytes caps a response body (a DynamoDB item is at
	// most 400 KB, a secret 64 KB).
	DefaultMaxResponseBytes = 1 << 20
	// retryBase and retryCap bound the jittered backoff: attempt n waits a
	// random duration in [0, min(retryCap, retryBase·2^(n-1))).
	retryBase = 50 * time.Millisecond
	retryCap  = time.Second
)

// Options configures New.
type Options struct {
	// Service is the service to call. Required.
	Service Service
	// Region is the AWS region, e.g. "eu-west-1". Required: it is part of
	// the signature even with an Endpoint override.
	Region string
	// Credentials is called before every attempt. Required.
	Credentials CredentialsFunc
	// Endpoint overrides https://<service>.<region>.amazonaws.com (a VPC
	// endpoint, a local stand-in): an absolute https URL, or http only to
	// localhost or a loopback IP, without user info, query or fragment.
	Endpoint string
	// HTTPClient sends the requests; nil means a client on a clone of
	// http.DefaultTransport that verifies server certificates against the
	// Amazon Trust Services roots before it loads the system roots
	// (tlstrust.Transport). Its redirect policy is replaced: redirects
	// are refused.
	HTTPClient *http.Client
	// Now is the clock of X-Amz-Date; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the attempts of one call (throttling, 5xx and
	// transport errors are retried); 0 means DefaultMaxAttempts, 1 never
	// retries.
	MaxAttempts int
	// MaxResponseBytes caps a response body; 0 means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int64
}

// Client calls one AWS service. It is safe for concurrent use.
type Client struct {
	service     Service
	region      string
	creds       CredentialsFunc
	url         string
	http        *http.Client
	now         func() time.Time
	maxAttempts int
	maxBody     int64
	// pause is the wait before attempt+1 (backoff; tests replace it to
	// decide which pauses fit before the deadline).
	pause func(attempt int) time.Duration
}

// validRegion reports whether region looks like an AWS region name, since
// it becomes part of a host name: labels of [a-z0-9] joined by single
// hyphens. (A byte loop rather than a regexp compiled at package
// initialisation, which every cold start would pay.)
func validRegion(region string) bool {
	if region == "" || region[0] == '-' || region[len(region)-1] == '-' {
		return false
	}
	for i := 0; i < len(region); i++ {
		switch c := region[i]; {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && region[i-1] != '-':
		default:
			return false
		}
	}
	return true
}

// New validates opts and returns a Client.
func New(opts Options) (*Client, error) {
	s := opts.Service
	if s.Name == "" || s.TargetPrefix == "" || (s.Protocol != JSON10 && s.Protocol != JSON11) {
		return nil, errors.New("awsapi: incomplete Service")
	}
	if opts.Region == "" {
		return nil, fmt.Errorf("awsapi: %s: no AWS region (set %s)", s.Name, EnvRegionName)
	}
	if !validRegion(opts.Region) {
		return nil, fmt.Errorf("awsapi: %s: region is not a valid AWS region name", s.Name)
	}
	if opts.Credentials == nil {
		return nil, fmt.Errorf("awsapi: %s: Credentials is required", s.Name)
	}
	endpoint, err := ResolveEndpoint(s.Name, opts.Region, opts.Endpoint)
	if err != nil {
		return nil, err
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Transport: tlstrust.Transport(endpointHost(endpoint), tlstrust.AmazonTrustServices)}
	}
	copied := *hc
	copied.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	c := &Client{
		service:     s,
		region:      opts.Region,
		creds:       opts.Credentials,
		url:         endpoint,
		http:        &copied,
		now:         opts.Now,
		maxAttempts: opts.MaxAttempts,
		maxBody:     opts.MaxResponseBytes,
		pause:       backoff,
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.maxAttempts <= 0 {
		c.maxAttempts = DefaultMaxAttempts
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	return c, nil
}

// ErrBadEndpoint is wrapped by ResolveEndpoint for an unusable override.
// Its text never contains the URL, which may carry a credential.
var ErrBadEndpoint = errors.New("awsapi: endpoint must be an absolute https URL (plain http only for localhost or a loopback IP) without user info, query or fragment")

// ResolveEndpoint returns the URL requests to service in region go to:
// override when set (checked as for Options.Endpoint), otherwise
// https://<service>.<region>.amazonaws.com, or ".amazonaws.com.cn" for the
// China regions (cn-*).
func ResolveEndpoint(service, region, override string) (string, error) {
	if override == "" {
		suffix := ".amazonaws.com"
		if strings.HasPrefix(region, "cn-") {
			suffix = ".amazonaws.com.cn"
		}
		return "https://" + service + "." + region + suffix + "/", nil
	}
	if err := loopback.CheckURL(override); err != nil {
		return "", ErrBadEndpoint
	}
	u, err := url.Parse(override)
	if err != nil || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", ErrBadEndpoint
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), nil
}

// endpointHost is the host name or IP address of the endpoint URL
// ResolveEndpoint returned, without port or IPv6 brackets.
func endpointHost(endpoint string) string {
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// Request is one operation call.
type Request struct {
	// Operation is the API action, e.g. "GetItem".
	Operation string
	// Input is encoded as the JSON body; nil sends "{}".
	Input any
	// Output receives the decoded JSON answer; nil discards it.
	Output any
	// ErrorDetail, when not nil, receives the decoded body of a service
	// error response (e.g. DynamoDB's ConditionalCheckFailedException
	// with the item). The returned *Error never holds the body.
	ErrorDetail any
}

// Call sends operation op with the JSON of in and decodes the answer into
// out (nil: discarded). See Do.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	return c.Do(ctx, Request{Operation: op, Input: in, Output: out})
}

// Do sends r, retrying throttling, 5xx and transport errors up to
// MaxAttempts times with jittered backoff while ctx's deadline leaves room.
// A service error or an unusable response is an *Error; a request that
// got no answer wraps ErrNoResponse and the transport's error; a
// credential failure wraps ErrCredentials and the provider's error.
func (c *Client) Do(ctx context.Context, r Request) error {
	body := []byte("{}")
	if r.Input != nil {
		b, err := json.Marshal(r.Input)
		if err != nil {
			return fmt.Errorf("awsapi: %s %s: encoding the request: %w", c.service.Name, r.Operation, err)
		}
		body = b
	}
	hash := PayloadHash(body)
	var err error
	for attempt := 1; ; attempt++ {
		err = c.attempt(ctx, r, body, hash)
		if err == nil || attempt >= c.maxAttempts || !retryable(ctx, err) {
			return err
		}
		if !sleep(ctx, c.pause(attempt)) {
			return err
		}
	}
}

// ErrCredentials is wrapped, with the provider's error, when the
// credentials for a request could not be had.
var ErrCredentials = errors.New("awsapi: cannot get AWS credentials")

// ErrNoResponse is wrapped when a request got no HTTP answer (connection
// refused or reset, DNS, TLS, timeout).
var ErrNoResponse = errors.New("awsapi: no response")

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, r Request, body []byte, hash string) error {
	creds, err := c.creds(ctx)
	if err == nil && (creds.AccessKeyID == "" || creds.SecretAccessKey == "") {
		err = ErrNoCredentials
	}
	if err != nil {
		return fmt.Errorf("awsapi: %s %s: %w: %w", c.service.Name, r.Operation, ErrCredentials, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("awsapi: %s %s: %w", c.service.Name, r.Operation, err)
	}
	req.Header.Set("Content-Type", string(c.service.Protocol))
	req.Header.Set("X-Amz-Target", c.service.TargetPrefix+"."+r.Operation)
	req.Header.Set("User-Agent", "callsign-awsapi")
	Sign(req, hash, creds, c.service.Name, c.region, c.now())

	resp, err := c.http.Do(req)
	if err != nil {
		return c.sendError(ctx, r.Operation, err)
	}
	defer resp.Body.Close()
	raw, readErr := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	e := &Error{
		Service:   c.service.Name,
		Operation: r.Operation,
		Status:    resp.StatusCode,
		RequestID: requestID(resp.Header),
	}
	switch {
	case readErr != nil:
		return c.sendError(ctx, r.Operation, readErr)
	case int64(len(raw)) > c.maxBody:
		e.Err = ErrResponseTooLarge
		return e
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		if r.Output == nil {
			return nil
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			raw = []byte("{}")
		}
		if json.Unmarshal(raw, r.Output) != nil {
			e.Err = ErrInvalidResponse
			return e
		}
		return nil
	}
	e.Code, e.Message = DecodeError(resp.Header, raw)
	if r.ErrorDetail != nil && e.Code != "" {
		_ = json.Unmarshal(raw, r.ErrorDetail) // best effort: the code decides
	}
	return e
}

// sendError wraps a transport failure; the context's own error wins so
// that errors.Is(err, context.DeadlineExceeded) holds.
func (c *Client) sendError(ctx context.Context, op string, err error) error {
	if ce := ctx.Err(); ce != nil {
		return fmt.Errorf("awsapi: %s %s: %w", c.service.Name, op, ce)
	}
	return fmt.Errorf("awsapi: %s %s: %w: %w", c.service.Name, op, ErrNoResponse, err)
}

// requestID is AWS's request ID of a response.
func requestID(h http.Header) string {
	id := h.Get("X-Amzn-Requestid")
	if id == "" {
		id = h.Get("X-Amz-Request-Id")
	}
	return sanitize(id, 128)
}

// retryable reports whether another attempt may succeed: throttling,
// transient service errors, 5xx, and requests without an answer (unless
// the context ended).
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Retryable()
	}
	return errors.Is(err, ErrNoResponse)
}

// backoff is the jittered wait before attempt+1.
func backoff(attempt int) time.Duration {
	ceiling := retryCap
	if attempt < 16 {
		ceiling = min(retryCap, retryBase<<(attempt-1))
	}
	return time.Duration(rand.Int64N(int64(ceiling)))
}

// sleep waits d unless ctx ends first or its deadline falls within d; it
// reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
