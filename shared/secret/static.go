package secret

import (
	"context"
	"fmt"
)

// Static returns a Source that always yields s; it backs the "env" source
// (local development), where configuration has already read the values.
// Load fails with an error wrapping ErrUnavailable and ErrInvalidValue when
// s is incomplete (no SDKAppID or no SecretKey).
func Static(s Secret) Source { return staticSource{s: s} }

type staticSource struct{ s Secret }

// Load implements Source.
func (st staticSource) Load(ctx context.Context) (Secret, error) {
	if err := st.s.Validate(); err != nil {
		return Secret{}, fmt.Errorf("%w: env source: %w", ErrUnavailable, err)
	}
	return st.s, nil
}
