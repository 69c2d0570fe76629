// Package secret loads callsign's signing material from a managed store and
// keeps it cached across warm invocations. Nothing in this package ever
// prints a secret value: Secret redacts itself in fmt, %v and slog output.
//
// The build tag callsign.notencent leaves the Tencent Cloud SSM source
// (TencentSSM) out.
package secret

import (
	"context"
	"errors"
	"log/slog"
)

// Secret is the signing material. A stored value is either a bare TRTC key
// (then SDKAppID comes from configuration) or a JSON object with the fields
// below (JSON names in the field comments).
type Secret struct {
	SDKAppID          uint32 // "sdkAppID"
	SecretKey         string // "secretKey": the TRTC key, used as raw bytes
	PreviousSecretKey string // "previousSecretKey": still accepted when verifying during rotation
	WeChatAppSecret   string // "wechatAppSecret": for code2Session
	TokenKey          string // "tokenKey": optional separate key for session and call tokens

	// Call enforcement (TRTC room callbacks and removals).
	TRTCCallbackKey       string // "trtcCallbackKey": the TRTC console's callback key, verifies Sign
	TencentCloudSecretID  string // "tencentCloudSecretId": Cloud API key for RemoveUser*/DismissRoom*
	TencentCloudSecretKey string // "tencentCloudSecretKey": its secret; set both or neither

	// CallPolicyKey is "callPolicyKey": the HMAC key signing requests to
	// the call-policy webhook.
	CallPolicyKey string
}

const redacted = "[REDACTED]"

// String implements fmt.Stringer without revealing any value.
func (s Secret) String() string { return "secret.Secret" + redacted }

// GoString implements fmt.GoStringer without revealing any value.
func (s Secret) GoString() string { return s.String() }

// LogValue implements slog.LogValuer without revealing any value.
func (s Secret) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Uint64("sdkAppID", uint64(s.SDKAppID)),
		slog.Bool("previousKey", s.PreviousSecretKey != ""),
		slog.Bool("wechatAppSecret", s.WeChatAppSecret != ""),
		slog.Bool("tokenKey", s.TokenKey != ""),
		slog.Bool("trtcCallbackKey", s.TRTCCallbackKey != ""),
		slog.Bool("tencentCloudKey", s.TencentCloudSecretID != ""),
		slog.Bool("callPolicyKey", s.CallPolicyKey != ""),
	)
}

// Source yields the current Secret.
type Source interface {
	Load(ctx context.Context) (Secret, error)
}

// ErrUnavailable is wrapped by Source implementations when no usable secret
// could be obtained (store unreachable and nothing cached, or a value that
// failed validation). The API answers 503 unavailable.
var ErrUnavailable = errors.New("secret: unavailable")
