package secret

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/callsign-dev/callsign/shared/awsapi"
)

// Store names used in StoreError.Store (they match CALLSIGN_SECRET_SOURCE).
const (
	// StoreAWSSecretsManager is AWS Secrets Manager.
	StoreAWSSecretsManager = "aws-secretsmanager"
	// StoreAWSSSM is AWS Systems Manager Parameter Store.
	StoreAWSSSM = "aws-ssm"
	// StoreTencentSSM is Tencent Cloud Secrets Manager (SSM).
	StoreTencentSSM = "tencent-ssm"
)

// AWSAPI is the part of *awsapi.Client the AWS sources use: one JSON
// operation call.
type AWSAPI interface {
	Call(ctx context.Context, op string, in, out any) error
}

// SecretsManagerAPI is the Secrets Manager client of AWSSecretsManager; an
// *awsapi.Client for awsapi.SecretsManager satisfies it.
type SecretsManagerAPI = AWSAPI

// SSMAPI is the Systems Manager client of AWSSSM; an *awsapi.Client for
// awsapi.SSM satisfies it.
type SSMAPI = AWSAPI

// NewAWSClients builds the Secrets Manager and SSM clients from opts (its
// Service is set for each): the region, the credentials (in Lambda:
// awsapi.EnvProvider, the role credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, read at every fetch), and an
// optional Endpoint overriding both clients' endpoint (VPC endpoint, local
// test server).
func NewAWSClients(opts awsapi.Options) (*awsapi.Client, *awsapi.Client, error) {
	opts.Service = awsapi.SecretsManager
	sm, err := awsapi.New(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("secret: %w", err)
	}
	opts.Service = awsapi.SSM
	ps, err := awsapi.New(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("secret: %w", err)
	}
	return sm, ps, nil
}

// getSecretValueInput is the request of secretsmanager:GetSecretValue.
type getSecretValueInput struct {
	SecretID     string `json:"SecretId"`
	VersionStage string `json:"VersionStage,omitempty"`
}

// getSecretValueOutput is the part of its answer the source reads
// (SecretBinary is a base64 blob on the wire).
type getSecretValueOutput struct {
	SecretString *string `json:"SecretString"`
	SecretBinary []byte  `json:"SecretBinary"`
}

// getParameterInput is the request of ssm:GetParameter.
type getParameterInput struct {
	Name           string `json:"Name"`
	WithDecryption bool   `json:"WithDecryption"`
}

// getParameterOutput is the part of its answer the source reads.
type getParameterOutput struct {
	Parameter *struct {
		Type  string  `json:"Type"`
		Value *string `json:"Value"`
	} `json:"Parameter"`
}

// parameterTypeSecureString is the SSM type of an encrypted parameter.
const parameterTypeSecureString = "SecureString"

// AWSSecretsManager is a Source reading one secret from AWS Secrets Manager
// with GetSecretValue. It is safe for concurrent use.
type AWSSecretsManager struct {
	client       SecretsManagerAPI
	secretID     string
	versionStage string
	defaultAppID uint32
}

// NewAWSSecretsManager returns a Source for the secret secretID (name or
// ARN). An empty versionStage reads AWSCURRENT; "AWSPREVIOUS" or a custom
// staging label reads that version. defaultAppID is the configured
// SDKAppID (0 if the secret must carry it), see Parse.
func NewAWSSecretsManager(client SecretsManagerAPI, secretID, versionStage string, defaultAppID uint32) (*AWSSecretsManager, error) {
	if client == nil {
		return nil, errors.New("secret: aws-secretsmanager: nil client")
	}
	if secretID == "" {
		return nil, errors.New("secret: aws-secretsmanager: secret ID is empty")
	}
	return &AWSSecretsManager{client: client, secretID: secretID, versionStage: versionStage, defaultAppID: defaultAppID}, nil
}

// Load implements Source. It reads SecretString, or SecretBinary (UTF-8
// text) when the secret was stored as binary. Errors are *StoreError.
func (a *AWSSecretsManager) Load(ctx context.Context) (Secret, error) {
	var out getSecretValueOutput
	err := a.client.Call(ctx, "GetSecretValue", getSecretValueInput{SecretID: a.secretID, VersionStage: a.versionStage}, &out)
	if err != nil {
		return Secret{}, awsError(StoreAWSSecretsManager, err)
	}
	var value string
	switch {
	case out.SecretString != nil && *out.SecretString != "":
		value = *out.SecretString
	case len(out.SecretBinary) > 0:
		if !utf8.Valid(out.SecretBinary) {
			return Secret{}, &StoreError{Store: StoreAWSSecretsManager, Kind: ErrInvalidResponse, Detail: "SecretBinary is not UTF-8 text"}
		}
		value = string(out.SecretBinary)
	default:
		return Secret{}, &StoreError{Store: StoreAWSSecretsManager, Kind: ErrInvalidResponse, Detail: "response has neither SecretString nor SecretBinary"}
	}
	s, err := Parse(value, a.defaultAppID)
	if err != nil {
		return Secret{}, &StoreError{Store: StoreAWSSecretsManager, Kind: ErrInvalidValue, cause: err}
	}
	return s, nil
}

// AWSSSM is a Source reading one SecureString parameter from AWS Systems
// Manager Parameter Store with GetParameter(WithDecryption=true). It is safe
// for concurrent use.
type AWSSSM struct {
	client       SSMAPI
	name         string
	defaultAppID uint32
}

// NewAWSSSM returns a Source for the parameter name (e.g.
// "/callsign/prod/trtc"; a "name:version" or "name:label" selector works
// too). defaultAppID is as for Parse.
func NewAWSSSM(client SSMAPI, name string, defaultAppID uint32) (*AWSSSM, error) {
	if client == nil {
		return nil, errors.New("secret: aws-ssm: nil client")
	}
	if name == "" {
		return nil, errors.New("secret: aws-ssm: parameter name is empty")
	}
	return &AWSSSM{client: client, name: name, defaultAppID: defaultAppID}, nil
}

// Load implements Source. A parameter whose type is String or StringList
// is refused: a signing key must be a SecureString (encrypted with KMS, and
// readable only with kms:Decrypt). Errors are *StoreError.
func (p *AWSSSM) Load(ctx context.Context) (Secret, error) {
	var out getParameterOutput
	err := p.client.Call(ctx, "GetParameter", getParameterInput{Name: p.name, WithDecryption: true}, &out)
	if err != nil {
		return Secret{}, awsError(StoreAWSSSM, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidResponse, Detail: "response has no Parameter.Value"}
	}
	if t := out.Parameter.Type; t != "" && t != parameterTypeSecureString {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidValue, Detail: fmt.Sprintf("parameter type is %s; store the secret as a SecureString", t)}
	}
	s, err := Parse(*out.Parameter.Value, p.defaultAppID)
	if err != nil {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidValue, cause: err}
	}
	return s, nil
}

// awsError maps an awsapi call error to a value-free *StoreError. An
// unusable response keeps no cause.
func awsError(store string, err error) *StoreError {
	se := &StoreError{Store: store, Kind: ErrStoreFailure}
	var ae *awsapi.Error
	hasAPI := errors.As(err, &ae)
	if hasAPI {
		se.RequestID = ae.RequestID
		se.Status = ae.Status
	}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		se.Kind, se.cause = ErrTimeout, context.DeadlineExceeded
		return se
	case errors.Is(err, context.Canceled):
		se.Kind, se.cause = ErrCanceled, context.Canceled
		return se
	case errors.As(err, &netErr) && netErr.Timeout():
		se.Kind, se.cause = ErrTimeout, netErr
		return se
	case errors.Is(err, awsapi.ErrCredentials):
		// The provider's own text is not kept in the message: it may come
		// from any credential chain.
		se.Kind, se.cause = ErrAccessDenied, err
		se.Detail = "could not get AWS credentials"
		if errors.Is(err, awsapi.ErrNoCredentials) {
			se.Detail = "no AWS credentials"
		}
		return se
	}
	if hasAPI && ae.Code != "" {
		se.Code = ae.Code
		se.cause = ae
		if k := awsKind(se.Code); k != nil {
			se.Kind = k
			return se
		}
	}
	if k := statusKind(se.Status); k != nil {
		se.Kind = k
		return se
	}
	if hasAPI && ae.Err != nil {
		se.Kind, se.cause = ErrInvalidResponse, nil
		se.Detail = "response is not the expected JSON"
		if errors.Is(ae.Err, awsapi.ErrResponseTooLarge) {
			se.Detail = "response is too large"
		}
		return se
	}
	if errors.Is(err, awsapi.ErrNoResponse) {
		se.Detail = "could not reach the store"
		if netErr != nil {
			se.cause = netErr
		}
		return se
	}
	if !hasAPI {
		se.Detail = "unexpected client error"
	}
	return se
}

func awsKind(code string) error {
	switch code {
	case "AccessDeniedException", "AccessDenied", "UnrecognizedClientException",
		"InvalidSignatureException", "IncompleteSignature", "SignatureDoesNotMatch",
		"ExpiredTokenException", "ExpiredToken", "InvalidClientTokenId",
		"MissingAuthenticationToken", "DecryptionFailure", "KMSAccessDeniedException",
		"InvalidKeyId", "NotAuthorized":
		return ErrAccessDenied
	case "ResourceNotFoundException", "ParameterNotFound", "ParameterVersionNotFound":
		return ErrNotFound
	case "ThrottlingException", "Throttling", "TooManyRequestsException",
		"RequestLimitExceeded", "ThrottledException", "ProvisionedThroughputExceededException":
		return ErrThrottled
	}
	return nil
}

func statusKind(status int) error {
	switch {
	case status < 400:
		return nil
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return ErrAccessDenied
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusTooManyRequests:
		return ErrThrottled
	case status == http.StatusRequestTimeout || status == http.StatusGatewayTimeout:
		return ErrTimeout
	default:
		return ErrStoreFailure
	}
}
