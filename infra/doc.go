// Package infra holds no production code. Its tests check callsign's
// deployment configuration offline: the Serverless Framework template for
// AWS (serverless.yml, packaged per stage), the Tencent SCF and CloudBase
// files under infra/tencent, and the reproducible zips built by
// infra/package.mk. See docs/deploy.md.
package infra
