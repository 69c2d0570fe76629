package identity

import (
	"context"
	"errors"
	"fmt"
)

// serverlessVariables are environment variables whose presence means the
// process runs on AWS Lambda or Tencent SCF.
func serverlessVariables() []string {
	return []string{
		"AWS_LAMBDA_RUNTIME_API",
		"AWS_LAMBDA_FUNCTION_NAME",
		"_LAMBDA_SERVER_PORT",
		"TENCENTCLOUD_RUNENV",
		"SCF_FUNCTIONNAME",
	}
}

// dev trusts the X-Callsign-User header. Local server only.
type dev struct{}

// NewDev returns the development verifier: the X-Callsign-User header
// (Credentials.DevUser) names the TRTC userID directly, with no derivation
// and no proof. It exists for the local server and tests only, and
// construction fails when getenv reports a serverless runtime (any of
// AWS_LAMBDA_RUNTIME_API, AWS_LAMBDA_FUNCTION_NAME, _LAMBDA_SERVER_PORT,
// TENCENTCLOUD_RUNENV, SCF_FUNCTIONNAME non-empty). Pass os.Getenv.
func NewDev(getenv func(string) string) (Verifier, error) {
	if getenv == nil {
		return nil, errors.New("identity: dev verifier needs getenv (pass os.Getenv)")
	}
	for _, name := range serverlessVariables() {
		if getenv(name) != "" {
			return nil, fmt.Errorf("identity: refusing to enable the dev verifier: %s is set, so this is AWS Lambda or Tencent SCF; the dev verifier trusts an unauthenticated header and is for the local server only", name)
		}
	}
	return dev{}, nil
}

// Verify implements Verifier. No header ⇒ ErrNoCredentials; a value that is
// not a valid TRTC userID ⇒ ErrUnauthenticated. A request that also carries
// an Authorization header ⇒ ErrUnauthenticated: the dev verifier is last in
// the chain, so that header was presented and no verifier accepted it (say
// "Bearer garbage" with only the session verifier before it), and a
// presented-but-invalid credential must stop the chain, never fall back to
// the header that names the user.
func (dev) Verify(_ context.Context, creds Credentials) (Identity, error) {
	if creds.DevUser == "" {
		return Identity{}, fmt.Errorf("dev verifier: %w", ErrNoCredentials)
	}
	if creds.Authorization != "" {
		return Identity{}, fmt.Errorf("dev verifier: %w: an Authorization header was presented and not accepted", ErrUnauthenticated)
	}
	if !ValidUserID(creds.DevUser) {
		return Identity{}, fmt.Errorf("dev verifier: %w: X-Callsign-User is not a valid userID", ErrUnauthenticated)
	}
	return Identity{UserID: creds.DevUser, Subject: creds.DevUser, Provider: ProviderDev}, nil
}
