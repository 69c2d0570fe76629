package usersig

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Every returned error wraps exactly one of
// them, so callers branch with errors.Is. No error text ever contains a key,
// a ticket or a signature.
var (
	// ErrInvalidInput: an argument to a signing or verifying function breaks
	// the validation policy (spec §7). Nothing was signed.
	ErrInvalidInput = errors.New("usersig: invalid input")

	// ErrMalformed: the ticket text could not be decoded. It is the parent of
	// ErrBase64, ErrZlib, ErrJSON and ErrTooLarge.
	ErrMalformed error = &errMalformed
	// ErrBase64: the outer text is not Tencent base64 (alphabet A-Z a-z 0-9 * -,
	// padding _).
	ErrBase64 error = &malformedError{malformedText + ": bad base64"}
	// ErrZlib: the decoded bytes are not one complete, valid zlib stream.
	ErrZlib error = &malformedError{malformedText + ": bad zlib stream"}
	// ErrJSON: the inflated document is not a valid TLS 2.0 JSON document
	// (syntax, a missing field, a wrongly typed value, an unsupported TLS.ver,
	// a TLS.sig or TLS.userbuf that is not canonical standard base64).
	ErrJSON error = &malformedError{malformedText + ": bad JSON document"}
	// ErrTooLarge: the ticket text or its inflated document exceeds
	// MaxTicketLen or MaxDocumentLen.
	ErrTooLarge error = &malformedError{malformedText + ": too large"}

	// ErrAppMismatch: TLS.sdkappid differs from the expected SDKAppID
	// (official: "sdk appid not match").
	ErrAppMismatch = errors.New("usersig: sdkappid does not match")
	// ErrIdentifierMismatch: TLS.identifier differs from the expected userID
	// (official: "identifier not match").
	ErrIdentifierMismatch = errors.New("usersig: identifier does not match")
	// ErrExpired: now is after TLS.time + TLS.expire (official: "expired").
	ErrExpired = errors.New("usersig: expired")
	// ErrUserBufMismatch: the ticket carries a userbuf where none is allowed,
	// lacks one where a PrivateMapKey is required, or its PrivateMapKey userbuf
	// breaks an invariant or an expectation (official: "userbuf type not
	// match" / "userbuf not match").
	ErrUserBufMismatch = errors.New("usersig: userbuf does not match")
	// ErrBadSignature: TLS.sig is not the HMAC of the ticket under any of the
	// given keys (official: "sig not match").
	ErrBadSignature = errors.New("usersig: signature does not match")
)

// malformedText is ErrMalformed's text, the start of its children's.
const malformedText = "usersig: malformed ticket"

// errMalformed is ErrMalformed's value. The malformed errors are static
// values rather than fmt.Errorf results so that package initialisation
// builds nothing.
var errMalformed = malformedError{malformedText}

// malformedError is ErrMalformed or one of its children, which wrap it.
type malformedError struct{ msg string }

func (e *malformedError) Error() string { return e.msg }

// Unwrap returns ErrMalformed for its children and nil for ErrMalformed.
func (e *malformedError) Unwrap() error {
	if e == &errMalformed {
		return nil
	}
	return &errMalformed
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}
