package secret

import (
	"errors"
	"strconv"
	"strings"
)

// Error kinds. Every error a store-backed Source returns is a *StoreError
// whose Kind is one of these; errors.Is matches the kind and ErrUnavailable.
var (
	// ErrAccessDenied: the store refused the caller's credentials or
	// permissions (IAM/CAM policy, KMS key policy, missing role credentials).
	ErrAccessDenied = errors.New("secret: access denied")
	// ErrNotFound: the secret, parameter or version does not exist.
	ErrNotFound = errors.New("secret: not found")
	// ErrThrottled: the store rate-limited the request.
	ErrThrottled = errors.New("secret: throttled")
	// ErrTimeout: the request did not complete before its deadline.
	ErrTimeout = errors.New("secret: timed out")
	// ErrCanceled: the caller canceled the request.
	ErrCanceled = errors.New("secret: canceled")
	// ErrStoreFailure: the store answered 5xx, rejected the request for
	// another reason, or could not be reached.
	ErrStoreFailure = errors.New("secret: store failure")
	// ErrInvalidResponse: the store's response was not the expected JSON or
	// lacked the value (no SecretString/SecretBinary, no Parameter.Value).
	ErrInvalidResponse = errors.New("secret: invalid store response")
	// ErrInvalidValue: the stored value is not a usable secret (see Parse).
	ErrInvalidValue = errors.New("secret: invalid value")
	// ErrCheckFailed: the fetched secret was refused by the Cache's Check.
	ErrCheckFailed = errors.New("secret: self-check failed")
)

// StoreError describes a failed fetch from a managed store. Its message is
// built only from the fields below, never from the stored value or from the
// raw response body, so it is safe to log and to return.
type StoreError struct {
	// Store names the source: "aws-secretsmanager", "aws-ssm" or "tencent-ssm".
	Store string
	// Kind is one of the Err* kinds of this package.
	Kind error
	// Code is the store's error code (e.g. "AccessDeniedException"), if any.
	Code string
	// Status is the HTTP status code, or 0 when there was no response.
	Status int
	// RequestID is the store's request ID, if any (for CloudTrail/CloudAudit).
	RequestID string
	// Detail is a value-free explanation written by this package.
	Detail string

	cause error // only causes whose text cannot contain the value
}

// Error implements error.
func (e *StoreError) Error() string {
	var b strings.Builder
	b.WriteString("secret: ")
	b.WriteString(e.Store)
	b.WriteString(": ")
	b.WriteString(strings.TrimPrefix(e.kind().Error(), "secret: "))
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.Status != 0 {
		b.WriteString(" (HTTP ")
		b.WriteString(strconv.Itoa(e.Status))
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	if e.cause != nil && (errors.Is(e.cause, ErrInvalidValue) || e.kind() == ErrTimeout || e.kind() == ErrCanceled) {
		// Parse errors and context errors are value-free by construction
		// and say what is wrong.
		b.WriteString(": ")
		b.WriteString(e.cause.Error())
	}
	return b.String()
}

// Unwrap lets errors.Is and errors.As see the kind, ErrUnavailable and the
// underlying cause where it is safe to keep (context and network errors,
// AWS API errors, parse errors).
func (e *StoreError) Unwrap() []error {
	errs := []error{e.kind(), ErrUnavailable}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// kind is Kind, or ErrStoreFailure when unset.
func (e *StoreError) kind() error {
	if e.Kind == nil {
		return ErrStoreFailure
	}
	return e.Kind
}
