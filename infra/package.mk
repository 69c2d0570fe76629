# infra/package.mk: build, package and deploy callsign per cloud and stage.
#
# Included by the top-level Makefile (`include infra/package.mk`); every path
# below is relative to the directory make runs in, which must be the module
# root. Targets:
#
#   package-aws                     bin/aws/{usersig,calls,session,callbacks}.zip (arm64, bootstrap;
#                                   CALLSIGN_AWS_GOARCH=amd64 for another architecture)
#   package-tencent                 bin/tencent/callsign-event.zip (amd64, main)
#                                   bin/tencent/callsign-web.zip   (amd64, main + scf_bootstrap)
#   package STAGE=dev|staging|prod  both of the above, then `serverless package` offline
#                                   into bin/serverless/$(STAGE)
#   package-verify                  builds every zip twice and fails unless the bytes match
#   package-sizes                   builds the zips and prints each zip's and binary's size in bytes
#   deploy PROVIDER=aws|tencent STAGE=...
#                                   the only target that needs cloud credentials
#
# Per-cloud builds: build tags leave out what a cloud's functions never use
# (the default build, as used by go test and cmd/callsign, has everything;
# a binary asked at start-up for a part it lacks exits with an error naming
# the tag):
#
#   callsign.notencent  the SCF Go1 runtime (scf-go-lib), Tencent SSM secrets  all AWS functions
#   callsign.notrtcapi  the TRTC cloud API client (Tencent Cloud SDK)          AWS usersig, calls, session
#   callsign.noredis    the Redis stores (go-redis, redis_rate)                AWS functions, unless a stage's
#                                                                              limiter in serverless.yml is redis
#
# The Tencent binary keeps everything: its stages use memory or Redis, and
# the AWS Lambda adapter it carries is small.
#
# Zips are reproducible: static binaries built with -trimpath, no VCS stamp
# and an empty build ID, a fixed mtime (1980-01-01 00:00, the earliest DOS
# time a zip can hold), mode 0755, and `zip -X` (no uid/gid or extra time
# fields). Two clean builds with the same Go toolchain give identical bytes.

CALLSIGN_INFRA_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
# Including this file must not change the including Makefile's default goal;
# it is restored at the end of the file.
CALLSIGN_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)
# The makefile make was started with (the top-level Makefile, or this file
# under `make -f`), for the recursive calls below.
CALLSIGN_TOP_MAKEFILE := $(firstword $(MAKEFILE_LIST))
CALLSIGN_SUBMAKE = $(MAKE) --no-print-directory -f $(CALLSIGN_TOP_MAKEFILE)

GO ?= go
ZIP ?= zip
UNZIP ?= unzip
SERVERLESS ?= node_modules/.bin/serverless
TCB ?= tcb
SCF ?= scf

# PACKAGE_OUT is where zips go. serverless.yml names bin/aws/<fn>.zip, so the
# package and deploy targets require the default; other values are for
# package-verify and tests.
PACKAGE_OUT ?= bin
CALLSIGN_STAGES := dev staging prod
CALLSIGN_AWS_FUNCTIONS := usersig calls session callbacks
# The AWS functions' architecture: arm64, as serverless.yml declares. The
# cold-start benchmarks (functions/coldstart_test.go) build the same zip for
# the machine they run on with CALLSIGN_AWS_GOARCH=$$(go env GOARCH).
CALLSIGN_AWS_GOARCH ?= arm64
CALLSIGN_ZIP_MTIME := 198001010000
CALLSIGN_LDFLAGS := -s -w -buildid=
CALLSIGN_GOBUILD := CGO_ENABLED=0 GOOS=linux $(GO) build -trimpath -buildvcs=false -ldflags '$(CALLSIGN_LDFLAGS)'

# serverless.yml is the one place an AWS stage's limiter is set
# (params.<default|stage>.limiter). The AWS zips serve every stage, so they
# carry Redis when any stage's limiter is redis. The values must be literal:
# a value make cannot read stops the AWS build instead of guessing.
CALLSIGN_SERVERLESS_YML ?= serverless.yml
CALLSIGN_AWS_LIMITERS = $(shell awk '/^params:/ {p = 1; next} /^[^ \t\#]/ {p = 0} p && $$1 == "limiter:" {v = $$2; gsub(/["\047]/, "", v); print v}' $(CALLSIGN_SERVERLESS_YML) 2>/dev/null)
callsign_comma := ,
CALLSIGN_AWS_TAGS = lambda.norpc,callsign.notencent$(if $(filter redis,$(CALLSIGN_AWS_LIMITERS)),,$(callsign_comma)callsign.noredis)
# Only callbacks removes users from rooms through the TRTC cloud API.
CALLSIGN_AWS_TAGS_usersig = $(CALLSIGN_AWS_TAGS),callsign.notrtcapi
CALLSIGN_AWS_TAGS_calls = $(CALLSIGN_AWS_TAGS),callsign.notrtcapi
CALLSIGN_AWS_TAGS_session = $(CALLSIGN_AWS_TAGS),callsign.notrtcapi
CALLSIGN_AWS_TAGS_callbacks = $(CALLSIGN_AWS_TAGS)

# Environment for serverless: no telemetry, no notices, nothing online.
CALLSIGN_SLS_ENV := SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off
# Deploy output markers of failure: the Tencent tools exit 0 on failure.
CALLSIGN_RUN_CHECKED := $(CALLSIGN_INFRA_DIR)/tencent/run-checked.sh
# Renders a cloudbaserc.json template with JSON-escaped deploy-time values.
CALLSIGN_RENDER_CONFIG := $(CALLSIGN_INFRA_DIR)/tencent/render-config.sh

.PHONY: package-aws package-tencent package package-verify package-sizes deploy \
	deploy-aws deploy-tencent deploy-tencent-event deploy-tencent-web \
	callsign-check-stage callsign-check-out callsign-check-tencent-env \
	callsign-check-tcb-env callsign-check-aws-limiters callsign-print-aws-tags callsign-force

package-aws: $(CALLSIGN_AWS_FUNCTIONS:%=$(PACKAGE_OUT)/aws/%.zip)

package-tencent: $(PACKAGE_OUT)/tencent/callsign-event.zip $(PACKAGE_OUT)/tencent/callsign-web.zip

# The zips always rebuild: Go's build cache keeps that cheap, and make cannot
# see every input of a Go build (go.sum, the toolchain, build tags).
callsign-force:

callsign-check-aws-limiters:
	@test -n '$(CALLSIGN_AWS_LIMITERS)' || { echo "$(CALLSIGN_SERVERLESS_YML): no params limiter found (the AWS build tags depend on it)" >&2; exit 2; }
	@test -z '$(filter-out memory redis dynamodb,$(CALLSIGN_AWS_LIMITERS))' || { \
	  printf "%s: params limiter '%s' is not a literal memory, redis or dynamodb\n" '$(CALLSIGN_SERVERLESS_YML)' '$(filter-out memory redis dynamodb,$(CALLSIGN_AWS_LIMITERS))' >&2; exit 2; }

# Prints "<function> <tags>" per AWS function (used by the tests).
callsign-print-aws-tags: callsign-check-aws-limiters
	@$(foreach f,$(CALLSIGN_AWS_FUNCTIONS),echo "$(f) $(CALLSIGN_AWS_TAGS_$(f))";)

$(PACKAGE_OUT)/aws/%.zip: callsign-force callsign-check-aws-limiters
	@test -n "$(CALLSIGN_AWS_TAGS_$*)" || { echo "no build tags for AWS function $*" >&2; exit 2; }
	rm -rf $(PACKAGE_OUT)/aws/$* $@
	mkdir -p $(PACKAGE_OUT)/aws/$*
	GOARCH=$(CALLSIGN_AWS_GOARCH) GOARM64=v8.0 $(CALLSIGN_GOBUILD) -tags $(CALLSIGN_AWS_TAGS_$*) -o $(PACKAGE_OUT)/aws/$*/bootstrap ./functions/$*
	chmod 0755 $(PACKAGE_OUT)/aws/$*/bootstrap
	touch -t $(CALLSIGN_ZIP_MTIME) $(PACKAGE_OUT)/aws/$*/bootstrap
	cd $(PACKAGE_OUT)/aws/$* && $(ZIP) -q -X ../$*.zip bootstrap

# One amd64 binary serves both Tencent entry points: the Go1 event function
# (CloudBase callFunction) and the Web function (HTTP on :9000).
$(PACKAGE_OUT)/tencent/callsign/main: callsign-force
	rm -rf $(PACKAGE_OUT)/tencent/callsign
	mkdir -p $(PACKAGE_OUT)/tencent/callsign
	GOARCH=amd64 GOAMD64=v1 $(CALLSIGN_GOBUILD) -o $@ ./functions/callsign
	chmod 0755 $@
	touch -t $(CALLSIGN_ZIP_MTIME) $@

$(PACKAGE_OUT)/tencent/callsign-event.zip: $(PACKAGE_OUT)/tencent/callsign/main
	rm -rf $(PACKAGE_OUT)/tencent/event $@
	mkdir -p $(PACKAGE_OUT)/tencent/event
	cp $< $(PACKAGE_OUT)/tencent/event/main
	chmod 0755 $(PACKAGE_OUT)/tencent/event/main
	touch -t $(CALLSIGN_ZIP_MTIME) $(PACKAGE_OUT)/tencent/event/main
	cd $(PACKAGE_OUT)/tencent/event && $(ZIP) -q -X ../callsign-event.zip main

$(PACKAGE_OUT)/tencent/callsign-web.zip: $(PACKAGE_OUT)/tencent/callsign/main $(CALLSIGN_INFRA_DIR)/tencent/scf_bootstrap
	rm -rf $(PACKAGE_OUT)/tencent/web $@
	mkdir -p $(PACKAGE_OUT)/tencent/web
	cp $< $(PACKAGE_OUT)/tencent/web/main
	cp $(CALLSIGN_INFRA_DIR)/tencent/scf_bootstrap $(PACKAGE_OUT)/tencent/web/scf_bootstrap
	chmod 0755 $(PACKAGE_OUT)/tencent/web/main $(PACKAGE_OUT)/tencent/web/scf_bootstrap
	touch -t $(CALLSIGN_ZIP_MTIME) $(PACKAGE_OUT)/tencent/web/main $(PACKAGE_OUT)/tencent/web/scf_bootstrap
	cd $(PACKAGE_OUT)/tencent/web && $(ZIP) -q -X ../callsign-web.zip main scf_bootstrap

callsign-check-stage:
	@case "$(STAGE)" in dev|staging|prod) ;; \
	  *) echo "STAGE must be one of: $(CALLSIGN_STAGES) (got '$(STAGE)')" >&2; exit 2;; esac

callsign-check-out:
	@test "$(PACKAGE_OUT)" = bin || { echo "package/deploy need PACKAGE_OUT=bin (serverless.yml names bin/aws/<fn>.zip)" >&2; exit 2; }

# Offline: no credentials, no network. The result in bin/serverless/$(STAGE)
# is what `deploy PROVIDER=aws` uploads.
package: callsign-check-stage callsign-check-out package-aws package-tencent
	rm -rf $(PACKAGE_OUT)/serverless/$(STAGE)
	$(CALLSIGN_SLS_ENV) $(SERVERLESS) package --stage $(STAGE) --package $(PACKAGE_OUT)/serverless/$(STAGE)

# Two clean builds into separate directories must give identical zips.
package-verify:
	rm -rf $(PACKAGE_OUT)/verify
	$(CALLSIGN_SUBMAKE) package-aws package-tencent PACKAGE_OUT=$(PACKAGE_OUT)/verify/a
	$(CALLSIGN_SUBMAKE) package-aws package-tencent PACKAGE_OUT=$(PACKAGE_OUT)/verify/b
	cd $(PACKAGE_OUT)/verify/a && for z in aws/*.zip tencent/*.zip; do cmp "$$z" "../b/$$z" || exit 1; done
	cd $(PACKAGE_OUT)/verify/a && sha256sum aws/*.zip tencent/*.zip
	rm -rf $(PACKAGE_OUT)/verify

# Each zip's size and its binary's (uncompressed) size, in bytes. The AWS
# limit this project keeps is 5,000,000 bytes per zip (infra tests).
package-sizes: package-aws package-tencent
	@printf '%-28s %10s %10s\n' zip "zip bytes" "binary"
	@for z in $(CALLSIGN_AWS_FUNCTIONS:%=aws/%); do \
	  printf '%-28s %10s %10s\n' "$$z.zip" "$$(wc -c < $(PACKAGE_OUT)/$$z.zip)" "$$(wc -c < $(PACKAGE_OUT)/$$z/bootstrap)"; done
	@for z in event web; do \
	  printf '%-28s %10s %10s\n' "tencent/callsign-$$z.zip" "$$(wc -c < $(PACKAGE_OUT)/tencent/callsign-$$z.zip)" "$$(wc -c < $(PACKAGE_OUT)/tencent/$$z/main)"; done

deploy: callsign-check-stage
	@case "$(PROVIDER)" in \
	  aws) $(CALLSIGN_SUBMAKE) deploy-aws STAGE=$(STAGE) ;; \
	  tencent) $(CALLSIGN_SUBMAKE) deploy-tencent STAGE=$(STAGE) ;; \
	  *) echo "PROVIDER must be aws or tencent (got '$(PROVIDER)')" >&2; exit 2;; esac

# AWS: package offline, then upload exactly that package. Credentials come
# from the usual AWS variables or profile.
deploy-aws: callsign-check-stage
	@test -n "$(CALLSIGN_WECHAT_APP_ID)" || { echo "set CALLSIGN_WECHAT_APP_ID (the mini-program AppID) to deploy" >&2; exit 2; }
	$(CALLSIGN_SUBMAKE) package STAGE=$(STAGE)
	$(CALLSIGN_SLS_ENV) $(SERVERLESS) deploy --stage $(STAGE) --package $(PACKAGE_OUT)/serverless/$(STAGE)

# Tencent: both entry points. Account-specific values come from the
# deployer's environment (see docs/deploy.md); the tools' output is checked
# for failure markers because their exit status cannot be trusted.
deploy-tencent: deploy-tencent-event deploy-tencent-web

CALLSIGN_TENCENT_STAGE_DIR = dist/tencent/$(STAGE)

# The region of the CloudBase environment (the Web function's is in its yml).
CALLSIGN_TENCENT_REGION ?= ap-guangzhou
# Applies a function's reserved concurrency (infra/tencent/setconcurrency).
SETCONCURRENCY ?= $(GO) -C $(CALLSIGN_INFRA_DIR)/tencent/setconcurrency run .

# Values injected at deploy time. dev uses the in-memory limiter; staging and
# prod use Redis in a VPC.
callsign-check-tencent-env: callsign-check-stage
	@test -n "$(CALLSIGN_WECHAT_APP_ID)" || { echo "set CALLSIGN_WECHAT_APP_ID (the mini-program AppID)" >&2; exit 2; }
	@if [ "$(STAGE)" != dev ]; then \
	  for v in CALLSIGN_REDIS_URL TENCENT_VPC_ID TENCENT_SUBNET_ID; do \
	    eval "test -n \"\$${$$v}\"" || { echo "set $$v to deploy $(STAGE) to Tencent" >&2; exit 2; }; \
	  done; fi

# A CloudBase environment belongs to one stage: its name (the environment
# ID without the suffix CloudBase appends) must end in the stage, e.g.
# callsign-prod-1a2b3c for prod. A dev deploy with prod's TCB_ENV_ID (say,
# left in the shell) is refused here instead of overwriting prod.
callsign-check-tcb-env: callsign-check-stage
	@test -n "$(TCB_ENV_ID)" || { echo "set TCB_ENV_ID (the CloudBase environment of $(STAGE))" >&2; exit 2; }
	@printf '%s\n' "$$TCB_ENV_ID" | grep -Eqx '([a-z0-9][a-z0-9-]*-)?$(STAGE)-[a-z0-9]+' || { \
	  echo "TCB_ENV_ID is not a CloudBase environment of stage $(STAGE): its name must end in '$(STAGE)' (e.g. callsign-$(STAGE)-1a2b3c); refusing to deploy" >&2; exit 2; }

deploy-tencent-event: callsign-check-tencent-env callsign-check-tcb-env callsign-check-out package-tencent
	rm -rf $(CALLSIGN_TENCENT_STAGE_DIR)/cloudbase
	mkdir -p $(CALLSIGN_TENCENT_STAGE_DIR)/cloudbase/functions/callsign
	$(UNZIP) -q $(PACKAGE_OUT)/tencent/callsign-event.zip -d $(CALLSIGN_TENCENT_STAGE_DIR)/cloudbase/functions/callsign
	@# The deployed cloudbaserc.json has every {{env.NAME}} replaced by its
	@# JSON-escaped value (an unset or empty one stops the deploy). It is
	@# owner-only and removed right after the deploy: it may hold the Redis
	@# password.
	$(CALLSIGN_RENDER_CONFIG) $(CALLSIGN_INFRA_DIR)/tencent/$(STAGE)/cloudbaserc.json $(CALLSIGN_TENCENT_STAGE_DIR)/cloudbase/cloudbaserc.json
	cd $(CALLSIGN_TENCENT_STAGE_DIR)/cloudbase || exit 1; \
	  status=0; $(abspath $(CALLSIGN_RUN_CHECKED)) $(TCB) fn deploy callsign -e "$(TCB_ENV_ID)" --force || status=$$?; \
	  rm -f cloudbaserc.json; exit $$status
	@# Reserved concurrency (docs/operations.md): neither tcb nor scf sets it
	@# from their configuration files.
	$(SETCONCURRENCY) -file $(abspath $(CALLSIGN_INFRA_DIR)/tencent/$(STAGE)/concurrency.json) -function event -namespace "$(TCB_ENV_ID)" -region "$(CALLSIGN_TENCENT_REGION)"

deploy-tencent-web: callsign-check-tencent-env callsign-check-out package-tencent
	rm -rf $(CALLSIGN_TENCENT_STAGE_DIR)/web
	mkdir -p $(CALLSIGN_TENCENT_STAGE_DIR)/web/code
	cp $(CALLSIGN_INFRA_DIR)/tencent/$(STAGE)/serverless.yml $(CALLSIGN_TENCENT_STAGE_DIR)/web/
	$(UNZIP) -q $(PACKAGE_OUT)/tencent/callsign-web.zip -d $(CALLSIGN_TENCENT_STAGE_DIR)/web/code
	cd $(CALLSIGN_TENCENT_STAGE_DIR)/web && $(abspath $(CALLSIGN_RUN_CHECKED)) $(SCF) deploy
	$(SETCONCURRENCY) -file $(abspath $(CALLSIGN_INFRA_DIR)/tencent/$(STAGE)/concurrency.json) -function web -region ap-guangzhou

.DEFAULT_GOAL := $(CALLSIGN_SAVED_DEFAULT_GOAL)
