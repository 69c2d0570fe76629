package secret

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
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

// SecretsManagerAPI is the part of *secretsmanager.Client this package uses.
type SecretsManagerAPI interface {
	GetSecretValue(ctx context.Context, params *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// SSMAPI is the part of *ssm.Client this package uses.
type SSMAPI interface {
	GetParameter(ctx context.Context, params *ssm.GetParameterInput, optFns ...func(*ssm.Options)) (*ssm.GetParameterOutput, error)
}

// NewAWSClients builds Secrets Manager and SSM clients from the default AWS
// configuration chain (in Lambda: the role credentials in AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN and the region in AWS_REGION).
// A non-empty endpoint overrides both clients' base endpoint (VPC endpoint,
// local test server). optFns are passed to config.LoadDefaultConfig, e.g.
// config.WithRetryMaxAttempts.
func NewAWSClients(ctx context.Context, endpoint string, optFns ...func(*config.LoadOptions) error) (*secretsmanager.Client, *ssm.Client, error) {
	cfg, err := config.LoadDefaultConfig(ctx, optFns...)
	if err != nil {
		return nil, nil, fmt.Errorf("secret: loading AWS configuration: %w", err)
	}
	sm := secretsmanager.NewFromConfig(cfg, func(o *secretsmanager.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	ps := ssm.NewFromConfig(cfg, func(o *ssm.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	return sm, ps, nil
}

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
	in := &secretsmanager.GetSecretValueInput{SecretId: aws.String(a.secretID)}
	if a.versionStage != "" {
		in.VersionStage = aws.String(a.versionStage)
	}
	out, err := a.client.GetSecretValue(ctx, in)
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
	out, err := p.client.GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(p.name), WithDecryption: aws.Bool(true)})
	if err != nil {
		return Secret{}, awsError(StoreAWSSSM, err)
	}
	if out.Parameter == nil || out.Parameter.Value == nil {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidResponse, Detail: "response has no Parameter.Value"}
	}
	if t := out.Parameter.Type; t != "" && t != ssmtypes.ParameterTypeSecureString {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidValue, Detail: fmt.Sprintf("parameter type is %s; store the secret as a SecureString", t)}
	}
	s, err := Parse(*out.Parameter.Value, p.defaultAppID)
	if err != nil {
		return Secret{}, &StoreError{Store: StoreAWSSSM, Kind: ErrInvalidValue, cause: err}
	}
	return s, nil
}

// awsError maps an aws-sdk-go-v2 operation error to a value-free
// *StoreError. Deserialization errors are not kept as the cause: their
// text may quote bytes of the response body.
func awsError(store string, err error) *StoreError {
	se := &StoreError{Store: store, Kind: ErrStoreFailure}
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		se.RequestID = re.ServiceRequestID()
		se.Status = re.HTTPStatusCode()
	} else {
		var sre *smithyhttp.ResponseError
		if errors.As(err, &sre) {
			se.Status = sre.HTTPStatusCode()
		}
	}
	var apiErr smithy.APIError
	hasAPI := errors.As(err, &apiErr)
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
	}
	if hasAPI {
		se.Code = apiErr.ErrorCode()
		se.cause = apiErr
		if k := awsKind(se.Code); k != nil {
			se.Kind = k
			return se
		}
	}
	if k := statusKind(se.Status); k != nil {
		se.Kind = k
		return se
	}
	var de *smithy.DeserializationError
	if errors.As(err, &de) {
		se.Kind, se.cause = ErrInvalidResponse, nil
		se.Detail = "response is not the expected JSON"
		return se
	}
	var send *smithyhttp.RequestSendError
	if errors.As(err, &send) {
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
