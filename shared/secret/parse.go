package secret

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/callsign-dev/callsign/shared/token"
)

// MaxValueBytes is the largest stored value Parse accepts (the Secrets
// Manager limit; SSM and Tencent SSM limits are smaller).
const MaxValueBytes = 64 << 10

// JSON field names of a stored JSON secret.
const (
	fieldSDKAppID          = "sdkAppID"
	fieldSecretKey         = "secretKey"
	fieldPreviousSecretKey = "previousSecretKey"
	fieldWeChatAppSecret   = "wechatAppSecret"
	fieldTokenKey          = "tokenKey"

	fieldTRTCCallbackKey       = "trtcCallbackKey"
	fieldTencentCloudSecretID  = "tencentCloudSecretId"
	fieldTencentCloudSecretKey = "tencentCloudSecretKey"
	fieldCallPolicyKey         = "callPolicyKey"
)

// MaxCallbackKeyLen is the longest TRTC callback key the console accepts.
const MaxCallbackKeyLen = 32

// allowedFields lists the JSON field names for error messages.
const allowedFields = fieldSDKAppID + ", " + fieldSecretKey + ", " + fieldPreviousSecretKey + ", " + fieldWeChatAppSecret + ", " + fieldTokenKey +
	", " + fieldTRTCCallbackKey + ", " + fieldTencentCloudSecretID + ", " + fieldTencentCloudSecretKey + ", " + fieldCallPolicyKey

// knownFields lists every JSON field name.
var knownFields = [...]string{fieldSDKAppID, fieldSecretKey, fieldPreviousSecretKey, fieldWeChatAppSecret, fieldTokenKey,
	fieldTRTCCallbackKey, fieldTencentCloudSecretID, fieldTencentCloudSecretKey, fieldCallPolicyKey}

// Parse turns a stored value into a Secret. The value is either
//
//   - a bare TRTC secret key (surrounding whitespace is trimmed), or
//   - a JSON object {"sdkAppID": 1400000000, "secretKey": "...",
//     "previousSecretKey": "...", "wechatAppSecret": "...", "tokenKey": "...",
//     "trtcCallbackKey": "...", "tencentCloudSecretId": "...",
//     "tencentCloudSecretKey": "...", "callPolicyKey": "..."} where only
//     secretKey is required.
//
// Rules, chosen to catch configuration mistakes early:
//   - field names are case-sensitive; unknown and duplicate fields are
//     rejected; null or "" means "not set" for optional fields;
//   - sdkAppID is a JSON number or a string of digits (the Secrets Manager
//     console's key/value editor stores every value as a string); 0 means
//     "not set";
//   - string values are trimmed and must not contain whitespace or control
//     characters (a TRTC key is 64 hex characters; anything else is almost
//     certainly a paste error);
//   - when both the value and defaultAppID carry an SDKAppID they must agree;
//     the result's SDKAppID must be in 1..4294967295.
//
// Errors wrap ErrInvalidValue and never contain any part of the value.
func Parse(value string, defaultAppID uint32) (Secret, error) {
	v := strings.TrimSpace(value)
	if v == "" {
		return Secret{}, invalid("value is empty")
	}
	if len(v) > MaxValueBytes {
		return Secret{}, invalid(fmt.Sprintf("value is larger than %d bytes", MaxValueBytes))
	}
	var s Secret
	switch v[0] {
	case '{':
		var err error
		if s, err = parseJSON(v); err != nil {
			return Secret{}, err
		}
	case '[', '"':
		return Secret{}, invalid("a JSON value must be an object")
	default:
		if err := checkKeyText(fieldSecretKey, v); err != nil {
			return Secret{}, err
		}
		s.SecretKey = v
	}
	if s.SDKAppID != 0 && defaultAppID != 0 && s.SDKAppID != defaultAppID {
		return Secret{}, invalid(fmt.Sprintf("sdkAppID in the secret (%d) does not match the configured SDKAppID (%d)", s.SDKAppID, defaultAppID))
	}
	if s.SDKAppID == 0 {
		s.SDKAppID = defaultAppID
	}
	if err := s.Validate(); err != nil {
		return Secret{}, err
	}
	return s, nil
}

// Validate reports whether s is complete enough to sign with: a non-zero
// SDKAppID, a non-empty SecretKey and, when set, a TokenKey of at least
// token.MinKeyBytes bytes. The error wraps ErrInvalidValue.
func (s Secret) Validate() error {
	if s.SDKAppID == 0 {
		return invalid("no SDKAppID: put sdkAppID in the secret or configure the SDKAppID")
	}
	if s.SecretKey == "" {
		return invalid("secretKey is missing")
	}
	if s.TokenKey != "" && len(s.TokenKey) < token.MinKeyBytes {
		// A short key makes session and call tokens guessable offline.
		return invalid(fmt.Sprintf("tokenKey must be at least %d bytes", token.MinKeyBytes))
	}
	return nil
}

// validateEnforcement checks the call-enforcement fields: a callback key
// of at most MaxCallbackKeyLen letters and digits (the TRTC console's
// rule), a Cloud API key pair given whole or not at all, and a call-policy
// key of at least token.MinKeyBytes bytes when set.
func (s Secret) validateEnforcement() error {
	if len(s.TRTCCallbackKey) > MaxCallbackKeyLen {
		return invalid(fmt.Sprintf("%s is longer than %d characters", fieldTRTCCallbackKey, MaxCallbackKeyLen))
	}
	for _, c := range []byte(s.TRTCCallbackKey) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return invalid(fmt.Sprintf("%s must be letters and digits only", fieldTRTCCallbackKey))
		}
	}
	if (s.TencentCloudSecretID == "") != (s.TencentCloudSecretKey == "") {
		return invalid(fmt.Sprintf("set both %s and %s, or neither", fieldTencentCloudSecretID, fieldTencentCloudSecretKey))
	}
	if s.CallPolicyKey != "" && len(s.CallPolicyKey) < token.MinKeyBytes {
		// A short key lets anyone forge the call-policy requests.
		return invalid(fmt.Sprintf("%s must be at least %d bytes", fieldCallPolicyKey, token.MinKeyBytes))
	}
	return nil
}

func invalid(msg string) error {
	return fmt.Errorf("%w: %s", ErrInvalidValue, msg)
}

func parseJSON(v string) (Secret, error) {
	var s Secret
	dec := json.NewDecoder(strings.NewReader(v))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // the '{' checked by the caller
		return Secret{}, jsonError(err)
	}
	seen := make(map[string]bool, 5)
	for n := 1; dec.More(); n++ {
		tok, err := dec.Token()
		if err != nil {
			return Secret{}, jsonError(err)
		}
		key, ok := tok.(string)
		if !ok {
			return Secret{}, invalid(fmt.Sprintf("JSON field #%d has no name", n))
		}
		if !isKnownField(key) {
			return Secret{}, unknownField(key, n)
		}
		if seen[key] {
			return Secret{}, invalid(fmt.Sprintf("JSON field %q appears more than once", key))
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return Secret{}, jsonError(err)
		}
		if key == fieldSDKAppID {
			if s.SDKAppID, err = parseAppID(raw); err != nil {
				return Secret{}, err
			}
			continue
		}
		text, err := parseText(key, raw)
		if err != nil {
			return Secret{}, err
		}
		switch key {
		case fieldSecretKey:
			s.SecretKey = text
		case fieldPreviousSecretKey:
			s.PreviousSecretKey = text
		case fieldWeChatAppSecret:
			s.WeChatAppSecret = text
		case fieldTokenKey:
			s.TokenKey = text
		case fieldTRTCCallbackKey:
			s.TRTCCallbackKey = text
		case fieldTencentCloudSecretID:
			s.TencentCloudSecretID = text
		case fieldTencentCloudSecretKey:
			s.TencentCloudSecretKey = text
		case fieldCallPolicyKey:
			s.CallPolicyKey = text
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return Secret{}, jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Secret{}, invalid("unexpected data after the JSON object")
	}
	if s.SecretKey == "" {
		return Secret{}, invalid("JSON secret has no secretKey")
	}
	if err := s.validateEnforcement(); err != nil {
		return Secret{}, err
	}
	return s, nil
}

func isKnownField(key string) bool {
	for _, f := range knownFields {
		if key == f {
			return true
		}
	}
	return false
}

// unknownField names the field only when it is a wrong-case spelling of a
// known field; any other name might be a pasted value and is not echoed.
func unknownField(key string, n int) error {
	for _, f := range knownFields {
		if strings.EqualFold(key, f) {
			return invalid(fmt.Sprintf("JSON field names are case-sensitive: use %q", f))
		}
	}
	return invalid(fmt.Sprintf("unknown JSON field #%d (allowed: %s)", n, allowedFields))
}

// jsonError reports a JSON syntax problem by position only: the decoder's
// own messages quote characters of the input.
func jsonError(err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return invalid(fmt.Sprintf("invalid JSON at byte %d", se.Offset))
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return invalid("invalid JSON: unexpected end of input")
	}
	return invalid("invalid JSON")
}

func parseAppID(raw json.RawMessage) (uint32, error) {
	bad := invalid("sdkAppID must be an integer between 1 and 4294967295")
	var text string
	switch {
	case string(raw) == "null":
		return 0, nil
	case len(raw) > 0 && raw[0] == '"':
		if err := json.Unmarshal(raw, &text); err != nil {
			return 0, bad
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return 0, nil
		}
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return 0, bad
		}
		text = string(n)
	}
	for _, r := range text {
		if r < '0' || r > '9' {
			return 0, bad
		}
	}
	id, err := strconv.ParseUint(text, 10, 32)
	if err != nil {
		return 0, bad
	}
	return uint32(id), nil
}

func parseText(field string, raw json.RawMessage) (string, error) {
	if string(raw) == "null" {
		return "", nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", invalid(fmt.Sprintf("%s must be a string", field))
	}
	var text string
	if err := json.Unmarshal(raw, &text); err != nil {
		return "", invalid(fmt.Sprintf("%s is not a valid JSON string", field))
	}
	text = strings.TrimSpace(text)
	if text == "" {
		return "", nil
	}
	if err := checkKeyText(field, text); err != nil {
		return "", err
	}
	return text, nil
}

func checkKeyText(field, text string) error {
	if !utf8.ValidString(text) {
		return invalid(fmt.Sprintf("%s is not valid UTF-8", field))
	}
	for _, r := range text {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalid(fmt.Sprintf("%s contains whitespace or control characters", field))
		}
	}
	return nil
}
