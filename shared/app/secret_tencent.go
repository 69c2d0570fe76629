//go:build !callsign.notencent

package app

import (
	"fmt"

	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/secret"
)

// newTencentSSM builds the Tencent Cloud SSM secret source.
func newTencentSSM(cfg config.Config, opts Options) (secret.Source, error) {
	getenv := opts.Getenv
	o := secret.TencentSSMOptions{
		Region:       cfg.SecretRegion,
		SecretName:   cfg.SecretName,
		VersionID:    cfg.SecretVersion,
		DefaultAppID: cfg.SDKAppID,
		Endpoint:     cfg.SecretEndpoint,
		// SCF's run-role credentials are temporary: read them at
		// every fetch.
		Credentials: func() (string, string, string) {
			return getenv("TENCENTCLOUD_SECRETID"), getenv("TENCENTCLOUD_SECRETKEY"), getenv("TENCENTCLOUD_SESSIONTOKEN")
		},
	}
	if o.Region == "" {
		o.Region = getenv("TENCENTCLOUD_REGION")
	}
	if o.Region == "" {
		return nil, fmt.Errorf("app: %s_SECRET_REGION is required with tencent-ssm when TENCENTCLOUD_REGION is unset", config.Prefix)
	}
	src, err := secret.NewTencentSSM(o)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return src, nil
}
