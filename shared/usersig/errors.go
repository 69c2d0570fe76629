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
	ErrMalformed = errors.New("usersig: malformed ticket")
	// ErrBase64: the outer text is not Tencent base64 (alphabet A-Z a-z 0-9 * -,
	// padding _).
	ErrBase64 = fmt.Errorf("%w: bad base64", ErrMalformed)
	// ErrZlib: the decoded bytes are not one complete, valid zlib stream.
	ErrZlib = fmt.Errorf("%w: bad zlib stream", ErrMalformed)
	// ErrJSON: the inflated document is not a valid TLS 2.0 JSON document
	// (syntax, a missing field, a wrongly typed value, an unsupported TLS.ver,
	// a TLS.sig or TLS.userbuf that is not canonical standard base64).
	ErrJSON = fmt.Errorf("%w: bad JSON document", ErrMalformed)
	// ErrTooLarge: the ticket text or its inflated document exceeds
	// MaxTicketLen or MaxDocumentLen.
	ErrTooLarge = fmt.Errorf("%w: too large", ErrMalformed)

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

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidInput}, args...)...)
}
