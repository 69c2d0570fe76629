//go:build callsign.notencent

package app

import (
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/secret"
)

// newTencentSSM refuses: this binary was built without the Tencent secret
// source.
func newTencentSSM(config.Config, Options) (secret.Source, error) {
	return nil, notBuiltIn(config.Prefix+"_SECRET_SOURCE=tencent-ssm", "the Tencent Cloud SSM secret source", "callsign.notencent")
}
