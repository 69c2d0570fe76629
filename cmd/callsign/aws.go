package main

import (
	"context"
	"fmt"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"

	"github.com/callsign-dev/callsign/shared/awsapi"
	"github.com/callsign-dev/callsign/shared/config"
)

// usesAWS reports whether cfg reads a secret from or keeps state in AWS.
func usesAWS(cfg config.Config) bool {
	return cfg.Limiter == "dynamodb" || cfg.SecretSource == "aws-secretsmanager" || cfg.SecretSource == "aws-ssm"
}

// awsProvider gives the AWS stores the region and credentials of the AWS
// SDK's default chain (environment, shared config and credentials files,
// profiles, SSO, container and instance roles), as other AWS tools on an
// operator's machine find them. The function binaries read only the
// environment (app's default) and do not link the SDK. It returns nil when
// cfg uses no AWS store, so that no AWS configuration is loaded.
func awsProvider(ctx context.Context, cfg config.Config) (*awsapi.Provider, error) {
	if !usesAWS(cfg) {
		return nil, nil
	}
	c, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("loading the AWS configuration: %w", err)
	}
	return &awsapi.Provider{
		Region: c.Region,
		Credentials: func(ctx context.Context) (awsapi.Credentials, error) {
			if c.Credentials == nil {
				return awsapi.Credentials{}, awsapi.ErrNoCredentials
			}
			v, err := c.Credentials.Retrieve(ctx)
			if err != nil {
				return awsapi.Credentials{}, err
			}
			return awsapi.Credentials{AccessKeyID: v.AccessKeyID, SecretAccessKey: v.SecretAccessKey, SessionToken: v.SessionToken}, nil
		},
	}, nil
}
