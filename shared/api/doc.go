// Package api is callsign's transport-facing API: the net/http handler for
// every route of DESIGN §2 and the action dispatcher that CloudBase
// callFunction and direct Lambda invocations use. Both share request
// decoding, validation and the error model of DESIGN §7.
package api

import (
	"context"
	"encoding/json"

	"github.com/callsign-dev/callsign/shared/identity"
)

// Action is one callFunction or direct-invoke request:
// {"action": Name, "data": Data}.
type Action struct {
	// RequestID is the platform's request ID, used in logs.
	RequestID string
	// Name is "usersig", "call.create" or "call.join".
	Name string
	// Data is the operation's request body; may be empty.
	Data json.RawMessage
	// Credentials are what the platform verified or saw for this invocation.
	Credentials identity.Credentials
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the platform's request ID; the
// HTTP handler uses it instead of generating one.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFromContext returns the ID stored by WithRequestID, or "".
func RequestIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}
