package identity

import (
	"context"
	"errors"
	"fmt"
)

// Gateway trusts the claims of an AWS HTTP API JWT authorizer
// (requestContext.authorizer.jwt.claims), which API Gateway has already
// verified before invoking the function. Only the Lambda adapter fills
// Credentials.GatewayClaims, and only from the gateway's request context.
//
// Enable it only when every route of the function sits behind that
// authorizer: a Function URL or a direct invoke bypasses the authorizer, and
// although those paths never carry gateway claims, the operator must not
// leave routes without the authorizer while relying on this verifier.
type Gateway struct {
	claim   string
	deriver *Deriver
}

// NewGateway returns the gateway-claims verifier. subjectClaim names the
// claim holding the user subject ("" means "sub"); d derives the userID.
func NewGateway(subjectClaim string, d *Deriver) (*Gateway, error) {
	if d == nil {
		return nil, errors.New("identity: gateway verifier needs a userID deriver")
	}
	if subjectClaim == "" {
		subjectClaim = "sub"
	}
	return &Gateway{claim: subjectClaim, deriver: d}, nil
}

// Verify implements Verifier. No claims ⇒ ErrNoCredentials; claims without a
// non-empty subject claim ⇒ ErrUnauthenticated; a subject the Deriver cannot
// map ⇒ ErrUnmappableSubject.
func (g *Gateway) Verify(_ context.Context, creds Credentials) (Identity, error) {
	if len(creds.GatewayClaims) == 0 {
		return Identity{}, fmt.Errorf("gateway verifier: %w", ErrNoCredentials)
	}
	sub := creds.GatewayClaims[g.claim]
	if sub == "" {
		return Identity{}, fmt.Errorf("gateway verifier: %w: authorizer claims lack the subject claim %q", ErrUnauthenticated, g.claim)
	}
	userID, err := g.deriver.Derive(sub)
	if err != nil {
		return Identity{}, fmt.Errorf("gateway verifier: %w", err)
	}
	return Identity{UserID: userID, Subject: sub, Provider: ProviderGateway}, nil
}
