//go:build !callsign.notencent

package secret

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"

	"github.com/callsign-dev/callsign/shared/loopback"
	"github.com/callsign-dev/callsign/shared/tlstrust"
)

// Tencent Cloud SSM API facts.
const (
	tencentSSMEndpoint = "ssm.tencentcloudapi.com"
	tencentSSMService  = "ssm"
	tencentSSMVersion  = "2019-09-23"
	tencentSSMAction   = "GetSecretValue"
	defaultTencentWait = 5 * time.Second
)

// TencentCredentials returns the Tencent Cloud credentials to sign one
// request with. token is empty for permanent keys.
type TencentCredentials func() (secretID, secretKey, token string)

// SCFCredentials reads the temporary run-role credentials SCF injects:
// TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY, TENCENTCLOUD_SESSIONTOKEN.
// (The SDK's own default chain reads different names and misses them.)
func SCFCredentials() (secretID, secretKey, token string) {
	return os.Getenv("TENCENTCLOUD_SECRETID"), os.Getenv("TENCENTCLOUD_SECRETKEY"), os.Getenv("TENCENTCLOUD_SESSIONTOKEN")
}

// TencentSSMOptions configures NewTencentSSM.
type TencentSSMOptions struct {
	// Region is the secret's region, e.g. "ap-guangzhou". Required.
	Region string
	// SecretName is the SSM secret name. Required.
	SecretName string
	// VersionID is the version to read. Required: user-defined secrets
	// have no "current" label, so rotation means storing a new version and
	// changing this value (CALLSIGN_SECRET_VERSION).
	VersionID string
	// DefaultAppID is the configured SDKAppID, see Parse.
	DefaultAppID uint32
	// Credentials is called at every fetch (SCF's credentials are
	// temporary and change). Default: SCFCredentials.
	Credentials TencentCredentials
	// Endpoint overrides "ssm.tencentcloudapi.com": host[:port], e.g.
	// "ssm.internal.tencentcloudapi.com" inside a VPC, or a URL
	// "http://127.0.0.1:9000" (its scheme applies unless Scheme is set).
	Endpoint string
	// Scheme is "HTTPS" (default) or "HTTP" (tests only).
	Scheme string
	// Timeout bounds one fetch, in addition to the caller's context.
	// Default 5s.
	Timeout time.Duration
	// Transport is the HTTP transport; default: a clone of
	// http.DefaultTransport that verifies the endpoint's certificate
	// against the Tencent Cloud API's roots (tlstrust.DigiCertGlobal)
	// before it loads the system roots (tlstrust.Transport).
	Transport http.RoundTripper
}

// TencentSSM is a Source reading one secret version from Tencent Cloud
// Secrets Manager (SSM) GetSecretValue, through the tencentcloud-sdk-go
// generic client. It is safe for concurrent use.
type TencentSSM struct {
	opts      TencentSSMOptions
	transport http.RoundTripper
}

// NewTencentSSM validates opts and returns the Source.
func NewTencentSSM(opts TencentSSMOptions) (*TencentSSM, error) {
	switch {
	case opts.Region == "":
		return nil, errors.New("secret: tencent-ssm: region is empty")
	case opts.SecretName == "":
		return nil, errors.New("secret: tencent-ssm: secret name is empty")
	case opts.VersionID == "":
		return nil, errors.New("secret: tencent-ssm: version ID is empty (user-defined secrets have no current label; set the VersionId to read)")
	}
	if scheme, host, ok := strings.Cut(opts.Endpoint, "://"); ok {
		// A URL such as CALLSIGN_SECRET_ENDPOINT=http://127.0.0.1:9000.
		if opts.Scheme == "" {
			opts.Scheme = scheme
		}
		opts.Endpoint = strings.TrimSuffix(host, "/")
		if opts.Endpoint == "" || strings.ContainsAny(opts.Endpoint, "/?#") {
			return nil, errors.New("secret: tencent-ssm: endpoint must be host[:port] or scheme://host[:port]")
		}
	}
	switch strings.ToUpper(opts.Scheme) {
	case "":
		opts.Scheme = "HTTPS"
	case "HTTPS", "HTTP":
		opts.Scheme = strings.ToUpper(opts.Scheme)
	default:
		return nil, fmt.Errorf("secret: tencent-ssm: scheme %q is not HTTP or HTTPS", opts.Scheme)
	}
	if opts.Endpoint == "" {
		opts.Endpoint = tencentSSMEndpoint
	}
	if opts.Scheme == "HTTP" && !loopbackEndpoint(opts.Endpoint) {
		// The answer carries the secret in clear text.
		return nil, errors.New("secret: tencent-ssm: plain HTTP only to a loopback endpoint (a local stand-in); use HTTPS")
	}
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTencentWait
	}
	if opts.Credentials == nil {
		opts.Credentials = SCFCredentials
	}
	base := opts.Transport
	if base == nil {
		base = tlstrust.Transport((&url.URL{Host: opts.Endpoint}).Hostname(), tlstrust.DigiCertGlobal)
	}
	return &TencentSSM{opts: opts, transport: statusTransport{base: base}}, nil
}

// tencentResponse is the GetSecretValue response.
type tencentResponse struct {
	Response struct {
		SecretName   string  `json:"SecretName"`
		VersionID    string  `json:"VersionId"`
		SecretString *string `json:"SecretString"`
		SecretBinary *string `json:"SecretBinary"`
		RequestID    string  `json:"RequestId"`
	} `json:"Response"`
}

// Load implements Source. Credentials are read at each call. Exactly one
// of SecretString and SecretBinary (base64 of UTF-8 text) must be set.
// Errors are *StoreError; SDK error messages are never used because some
// of them quote the response body.
func (t *TencentSSM) Load(ctx context.Context) (Secret, error) {
	id, key, token := t.opts.Credentials()
	if id == "" || key == "" {
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrAccessDenied,
			Detail: "no Tencent Cloud credentials (bind a run role to the function: SCF then sets TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY)"}
	}
	ctx, cancel := context.WithTimeout(ctx, t.opts.Timeout)
	defer cancel()
	rec := &statusRecord{}
	ctx = context.WithValue(ctx, statusRecordKey{}, rec)

	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = t.opts.Endpoint
	cpf.HttpProfile.Scheme = t.opts.Scheme
	cpf.HttpProfile.ReqTimeout = int((t.opts.Timeout + time.Second - 1) / time.Second)
	cpf.Language = "en-US"
	cpf.Debug = false // debug mode dumps response bodies (the secret) to stderr
	cpf.DisableRegionBreaker = true
	cpf.NetworkFailureMaxRetries = 0
	cpf.RateLimitExceededMaxRetries = 0
	client := common.NewCommonClient(common.NewTokenCredential(id, key, token), t.opts.Region, cpf)
	client.WithHttpTransport(t.transport)

	req := tchttp.NewCommonRequest(tencentSSMService, tencentSSMVersion, tencentSSMAction)
	req.SetContext(ctx)
	if err := req.SetActionParameters(map[string]interface{}{"SecretName": t.opts.SecretName, "VersionId": t.opts.VersionID}); err != nil {
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrStoreFailure, Detail: "building the request failed"}
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		return Secret{}, tencentError(ctx, err, rec.status)
	}
	if k := statusKind(rec.status); k != nil {
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: k, Status: rec.status}
	}
	var out tencentResponse
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil {
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrInvalidResponse, Detail: "response is not the expected JSON"}
	}
	r := out.Response
	str, bin := deref(r.SecretString), deref(r.SecretBinary)
	var value string
	switch {
	case str != "" && bin != "":
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrInvalidResponse, RequestID: r.RequestID, Detail: "response has both SecretString and SecretBinary"}
	case str != "":
		value = str
	case bin != "":
		raw, err := base64.StdEncoding.DecodeString(bin)
		if err != nil || !utf8.Valid(raw) {
			return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrInvalidResponse, RequestID: r.RequestID, Detail: "SecretBinary is not base64 of UTF-8 text"}
		}
		value = string(raw)
	default:
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrInvalidResponse, RequestID: r.RequestID, Detail: "response has neither SecretString nor SecretBinary"}
	}
	s, err := Parse(value, t.opts.DefaultAppID)
	if err != nil {
		return Secret{}, &StoreError{Store: StoreTencentSSM, Kind: ErrInvalidValue, RequestID: r.RequestID, cause: err}
	}
	return s, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// tencentError maps an error from the generic client to a *StoreError.
func tencentError(ctx context.Context, err error, status int) *StoreError {
	se := &StoreError{Store: StoreTencentSSM, Kind: ErrStoreFailure, Status: status}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || (ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded)):
		se.Kind, se.cause = ErrTimeout, context.DeadlineExceeded
		return se
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		se.Kind, se.cause = ErrCanceled, context.Canceled
		return se
	case errors.As(err, &netErr) && netErr.Timeout():
		se.Kind, se.cause = ErrTimeout, netErr
		return se
	}
	if errors.As(err, &netErr) {
		se.cause, se.Detail = netErr, "could not reach the store"
		return se
	}
	var sdkErr *tcerr.TencentCloudSDKError
	if errors.As(err, &sdkErr) {
		if sdkErr.Code == "ClientError.NetworkError" {
			se.Detail = "could not reach the store"
			return se
		}
		if strings.HasPrefix(sdkErr.Code, "ClientError") {
			// Client-side: bad status or unparseable body. The message
			// contains the body, so only the status is reported.
			if k := statusKind(status); k != nil {
				se.Kind = k
				return se
			}
			se.Kind, se.Detail = ErrInvalidResponse, "response is not the expected JSON"
			return se
		}
		se.Code, se.RequestID = sdkErr.Code, sdkErr.RequestId
		se.Kind = tencentKind(sdkErr.Code)
		return se
	}
	if k := statusKind(status); k != nil {
		se.Kind = k
		return se
	}
	se.Detail = "unexpected client error"
	return se
}

// tencentKind maps a Tencent Cloud API error code (see the common error
// codes and SSM's GetSecretValue error codes) to an error kind.
func tencentKind(code string) error {
	major, _, _ := strings.Cut(code, ".")
	switch {
	case major == "AuthFailure", major == "UnauthorizedOperation", major == "OperationDenied":
		return ErrAccessDenied
	case major == "ResourceNotFound", code == "ResourceUnavailable.SecretNotExist":
		return ErrNotFound
	case major == "RequestLimitExceeded", major == "LimitExceeded":
		return ErrThrottled
	default:
		return ErrStoreFailure
	}
}

// statusTransport records the HTTP status of each response in the
// *statusRecord carried by the request's context: the SDK reports bad
// statuses only inside a message that quotes the body.
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

// loopbackEndpoint reports whether host[:port] names a loopback host.
func loopbackEndpoint(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	return loopback.Host(strings.Trim(host, "[]"))
}
