//go:build callsign.notrtcapi

package trtcapi

import "context"

// builtIn reports whether this binary has the cloud API client: a binary
// built with callsign.notrtcapi has none, and New refuses to build one.
const builtIn = false

// call is never reached: New returns ErrNotBuiltIn.
func (c *Client) call(_ context.Context, action string, _ map[string]any) error {
	return &Error{Action: action, cause: ErrNotBuiltIn}
}
