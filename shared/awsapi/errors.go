package awsapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kinds of unusable responses, wrapped by an *Error without a Code.
var (
	// ErrInvalidResponse: a success response whose body is not the
	// expected JSON.
	ErrInvalidResponse = errors.New("awsapi: response is not the expected JSON")
	// ErrResponseTooLarge: the body exceeded Options.MaxResponseBytes.
	ErrResponseTooLarge = errors.New("awsapi: response body too large")
)

// Error is an answered call that failed: a service error (Code set), an
// HTTP error status without a recognisable code, or an unusable response
// (Err set). It holds no request or response body and no credential.
type Error struct {
	// Service is the service's signing name, e.g. "dynamodb".
	Service string
	// Operation is the API action, e.g. "UpdateItem".
	Operation string
	// Code is the service's error code without namespace, e.g.
	// "ConditionalCheckFailedException"; "" when the answer had none.
	Code string
	// Status is the HTTP status code.
	Status int
	// Message is the first line of the service's message, at most 256
	// bytes, without control characters; empty for signature errors (whose
	// full message quotes the signed request).
	Message string
	// RequestID is AWS's request ID, if any (for CloudTrail and support).
	RequestID string
	// Err is ErrInvalidResponse or ErrResponseTooLarge for an unusable
	// response, otherwise nil.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("awsapi: ")
	b.WriteString(e.Service)
	b.WriteByte(' ')
	b.WriteString(e.Operation)
	b.WriteString(": ")
	switch {
	case e.Err != nil:
		b.WriteString(strings.TrimPrefix(e.Err.Error(), "awsapi: "))
	case e.Code != "":
		b.WriteString(e.Code)
	default:
		b.WriteString("error status")
	}
	b.WriteString(" (HTTP ")
	b.WriteString(strconv.Itoa(e.Status))
	if e.RequestID != "" {
		b.WriteString(", request ")
		b.WriteString(e.RequestID)
	}
	b.WriteByte(')')
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	return b.String()
}

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether sending the same request again may succeed:
// throttling (Throttled), transient error codes, and 5xx.
func (e *Error) Retryable() bool {
	if e.Err != nil {
		return false
	}
	if e.Throttled() {
		return true
	}
	switch e.Code {
	case "TransactionInProgressException", "BandwidthLimitExceeded", "LimitExceededException",
		"PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
		"InternalError", "InternalServerError", "InternalFailure", "ServiceUnavailable":
		return true
	}
	return e.Status >= 500
}

// Throttled reports a throttling error code or HTTP 429.
func (e *Error) Throttled() bool {
	switch e.Code {
	case "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
		"TooManyRequestsException", "ProvisionedThroughputExceededException",
		"RequestLimitExceeded", "RequestThrottled", "SlowDown":
		return true
	}
	return e.Status == http.StatusTooManyRequests
}

// signatureCodes are codes whose message may quote the canonical request,
// session token included.
var signatureCodes = map[string]bool{
	"InvalidSignatureException": true,
	"SignatureDoesNotMatch":     true,
	"IncompleteSignature":       true,
}

// DecodeError reads the error code and message of a JSON-protocol error
// response: the code from the X-Amzn-ErrorType header, else the body's
// "code" or "__type", stripped of its namespace ("ns#Code") and of any
// ":suffix"; the message from "message" or "Message", cut to its first
// line (see Error.Message). A body that is not JSON yields neither.
func DecodeError(h http.Header, body []byte) (code, message string) {
	var v struct {
		Type     string `json:"__type"`
		Code     string `json:"code"`
		MessageL string `json:"message"`
		MessageU string `json:"Message"`
	}
	_ = json.Unmarshal(body, &v) // a non-JSON body leaves the fields empty
	raw := h.Get("X-Amzn-Errortype")
	if raw == "" {
		raw = v.Code
	}
	if raw == "" {
		raw = v.Type
	}
	code = sanitizeCode(raw)
	message = v.MessageL
	if message == "" {
		message = v.MessageU
	}
	if signatureCodes[code] {
		message = ""
	}
	message, _, _ = strings.Cut(message, "\n")
	return code, sanitize(message, 256)
}

// sanitizeCode strips a namespace and a suffix and keeps the code only if
// it is a plain identifier.
func sanitizeCode(raw string) string {
	raw, _, _ = strings.Cut(raw, ":")
	if i := strings.LastIndexByte(raw, '#'); i >= 0 {
		raw = raw[i+1:]
	}
	raw = strings.TrimSpace(raw)
	if raw == "" || len(raw) > 128 {
		return ""
	}
	for _, c := range raw {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ""
		}
	}
	return raw
}

// sanitize drops control and invalid characters and cuts s to at most n
// bytes on a character boundary.
func sanitize(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if r == utf8.RuneError || unicode.IsControl(r) {
			continue
		}
		if b.Len()+utf8.RuneLen(r) > n {
			break
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}
