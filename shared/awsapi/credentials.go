package awsapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Credentials are an AWS access key pair, with the session token of
// temporary (role) credentials.
type Credentials struct {
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
}

// String implements fmt.Stringer without revealing any part of the key.
func (Credentials) String() string { return "awsapi.Credentials[REDACTED]" }

// GoString implements fmt.GoStringer without revealing any part of the key.
func (c Credentials) GoString() string { return c.String() }

// CredentialsFunc yields the credentials for one request. It is called
// before every attempt, so temporary credentials that the platform renews
// are always current.
type CredentialsFunc func(ctx context.Context) (Credentials, error)

// ErrNoCredentials is wrapped when a CredentialsFunc yields no access key
// pair.
var ErrNoCredentials = errors.New("awsapi: no AWS credentials")

// Environment variable names read by EnvCredentials and EnvRegion.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	EnvRegionName      = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
)

// EnvCredentials reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and
// AWS_SESSION_TOKEN through getenv at every call (Lambda's role credentials
// are temporary and set there). A missing key is an error wrapping
// ErrNoCredentials that names the variables, never their values.
func EnvCredentials(getenv func(string) string) CredentialsFunc {
	return func(context.Context) (Credentials, error) {
		c := Credentials{
			AccessKeyID:     getenv(EnvAccessKeyID),
			SecretAccessKey: getenv(EnvSecretAccessKey),
			SessionToken:    getenv(EnvSessionToken),
		}
		var missing []string
		if c.AccessKeyID == "" {
			missing = append(missing, EnvAccessKeyID)
		}
		if c.SecretAccessKey == "" {
			missing = append(missing, EnvSecretAccessKey)
		}
		if len(missing) > 0 {
			return Credentials{}, fmt.Errorf("%w: %s not set", ErrNoCredentials, strings.Join(missing, " and "))
		}
		return c, nil
	}
}

// EnvRegion is AWS_REGION, or AWS_DEFAULT_REGION when that is unset.
func EnvRegion(getenv func(string) string) string {
	if r := getenv(EnvRegionName); r != "" {
		return r
	}
	return getenv(EnvDefaultRegion)
}

// Provider is where clients find their region and credentials.
type Provider struct {
	// Region is the AWS region, e.g. "eu-west-1".
	Region string
	// Credentials is called before every request.
	Credentials CredentialsFunc
}

// EnvProvider is the Lambda provider: EnvRegion and EnvCredentials.
func EnvProvider(getenv func(string) string) Provider {
	return Provider{Region: EnvRegion(getenv), Credentials: EnvCredentials(getenv)}
}
