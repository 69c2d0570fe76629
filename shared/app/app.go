// Package app assembles callsign from its configuration: the secret source
// and its cache, the identity verifiers, the rate limiter, the service and
// the API. Every function binary and the local server build themselves with
// New, once per instance, so warm invocations reuse every client and cache.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/callsign-dev/callsign/shared/api"
	"github.com/callsign-dev/callsign/shared/audit"
	"github.com/callsign-dev/callsign/shared/awsapi"
	"github.com/callsign-dev/callsign/shared/awsapi/dynamodb"
	"github.com/callsign-dev/callsign/shared/ban"
	"github.com/callsign-dev/callsign/shared/callrecord"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/enforce"
	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/metrics"
	"github.com/callsign-dev/callsign/shared/ratelimit"
	"github.com/callsign-dev/callsign/shared/secret"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/token"
	"github.com/callsign-dev/callsign/shared/trtcapi"
	"github.com/callsign-dev/callsign/shared/usersig"
)

// Platform names passed in Options.Platform.
const (
	PlatformLocal  = "local"
	PlatformLambda = "lambda"
	PlatformSCF    = "scf"
	PlatformWeb    = "web"
)

// DevSDKAppID is the SDKAppID used with a generated development key when
// CALLSIGN_SDK_APP_ID is unset on the local stage.
const DevSDKAppID = 1400000000

// Options are the per-binary choices that are not configuration.
type Options struct {
	// Operations limits the API to these operations ("usersig",
	// "call.create", "call.join", "session", "callback.trtc",
	// "callback.call"); nil serves
	// all of them.
	Operations []string
	// Platform is where the instance runs: PlatformLocal, PlatformLambda,
	// PlatformSCF or PlatformWeb. The dev verifier is refused anywhere but
	// PlatformLocal.
	Platform string
	// Logger receives structured logs; nil means JSON on stderr at the
	// configured level. New adds the attribute "platform" (Platform) to
	// it, so it must not carry one already.
	Logger *slog.Logger
	// Getenv reads the process environment (platform detection, Tencent
	// region); nil means os.Getenv.
	Getenv func(string) string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MetricsOut receives the metric lines on Lambda and SCF; nil means
	// stdout. (The audit trail goes through Logger's handler.)
	MetricsOut io.Writer
	// AWS supplies the region and credentials of the AWS stores (Secrets
	// Manager, SSM, DynamoDB); nil means awsapi.EnvProvider(Getenv):
	// AWS_REGION (else AWS_DEFAULT_REGION) and the credentials in
	// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, read
	// at every request (Lambda's role credentials are temporary). The
	// local CLI passes the AWS SDK's default chain (profiles, SSO).
	AWS *awsapi.Provider
}

// awsOptions are the awsapi client options of an endpoint override:
// region and credentials from opts.AWS, clock from opts.Now.
func awsOptions(opts Options, endpoint string) awsapi.Options {
	p := awsapi.EnvProvider(opts.Getenv)
	if opts.AWS != nil {
		p = *opts.AWS
	}
	return awsapi.Options{Region: p.Region, Credentials: p.Credentials, Endpoint: endpoint, Now: opts.Now}
}

// NewLogger returns the JSON logger every binary uses.
func NewLogger(cfg config.Config) *slog.Logger {
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.SlogLevel()})).
		With("stage", cfg.Stage)
}

// New builds the API for one instance. It fetches the secret once (a failure
// is logged and requests answer 503 until a later fetch succeeds) and stops
// background work (JWKS refresh) when ctx ends.
func New(ctx context.Context, cfg config.Config, opts Options) (*api.API, error) {
	if opts.Logger == nil {
		opts.Logger = NewLogger(cfg)
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Platform == "" {
		opts.Platform = PlatformLocal
	}
	// Every line logged from here on names the platform once; callers
	// give a logger without it.
	log := opts.Logger.With("platform", opts.Platform)

	obs := newObserver(cfg.Stage, opts, opts.MetricsOut)
	trail := audit.New(log.Handler(), opts.Now)

	src, err := secretSource(cfg, opts)
	if err != nil {
		return nil, err
	}
	secrets := secret.NewCache(obs.source(src), secret.CacheOptions{
		TTL:    cfg.SecretCacheTTL,
		Now:    opts.Now,
		Logger: log,
		Check:  func(s secret.Secret) error { return SelfTest(s, opts.Now()) },
	})
	// A failed first load is logged by the cache; requests answer 503
	// unavailable until a later fetch succeeds.
	_ = secrets.Prime(ctx)

	deriver, err := identity.NewDeriver(cfg.UserIDMode, cfg.UserIDPrefix)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	verifier, err := verifiers(ctx, cfg, opts, deriver, secrets)
	if err != nil {
		return nil, err
	}
	st, err := newStores(cfg, opts, obs)
	if err != nil {
		return nil, err
	}
	limiter := st.limiter
	policies, err := ratelimit.ParsePolicies(cfg.RateLimits, ratelimit.DefaultPolicies())
	if err != nil {
		return nil, fmt.Errorf("app: %s_RATE_LIMITS: %w", config.Prefix, err)
	}

	so := service.Options{
		Verifier:         verifier,
		Limiter:          limiter,
		Policies:         policies,
		Secrets:          secrets,
		Stage:            cfg.Stage,
		Now:              opts.Now,
		Deriver:          deriver,
		Logger:           log,
		UserSigTTL:       cfg.UserSigTTL,
		UserSigMaxTTL:    cfg.UserSigMaxTTL,
		PrivateMapKeyTTL: cfg.PrivateMapKeyTTL,
		InviteTTL:        cfg.InviteTTL,
		SessionTTL:       cfg.SessionTTL,
		MaxInvitees:      cfg.MaxInvitees,
		RoomType:         cfg.RoomType,
		ScreenShare:      cfg.ScreenShare,
		TokenLeeway:      5 * time.Second,
		Calls:            st.calls,
		ReservedUserIDs:  reservedUserIDs(cfg),
	}
	// Operator controls (docs/operators.md): bans, the call policy.
	bans := newBanChecker(cfg, opts, st)
	so.Bans = bans
	policy, err := newCallPolicy(cfg, opts, secrets)
	if err != nil {
		return nil, err
	}
	if policy != nil {
		so.Policy = policy
	}
	if cfg.WechatAppID != "" {
		w, err := identity.NewWechat(identity.WechatOptions{
			BaseURL: cfg.WechatAPIBaseURL,
			AppID:   cfg.WechatAppID,
			AppSecret: func(ctx context.Context) (string, error) {
				s, err := secrets.Load(ctx)
				if err != nil {
					return "", err
				}
				if s.WeChatAppSecret == "" {
					return "", fmt.Errorf("%w: no wechatAppSecret in the stored secret", identity.ErrMisconfigured)
				}
				return s.WeChatAppSecret, nil
			},
			Timeout: cfg.WechatTimeout,
		})
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		so.Wechat = w
	}
	svc, err := service.New(so)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	// Only the callback operations act on rooms: the other functions
	// build no TRTC or IM client (and may be built without the former).
	var enf *enforce.Enforcer
	if servesCallbacks(opts.Operations) {
		if enf, err = newEnforcer(cfg, opts, st, secrets, bans, obs.rec); err != nil {
			return nil, err
		}
	}
	log.Info("callsign ready", "verifiers", strings.Join(cfg.Verifiers, ","),
		"limiter", cfg.Limiter, "secretSource", cfg.SecretSource, "userIDMode", cfg.UserIDMode,
		"callEnforcement", cfg.CallEnforcement, "callUnknownRoom", cfg.CallUnknownRoom)
	return api.New(svc, api.Options{
		Logger:         log,
		AllowedOrigins: cfg.AllowedOrigins,
		Operations:     opts.Operations,
		// The dev verifier trusts a header naming the user: answer only
		// loopback peers that name a loopback host, whatever the binary
		// (callsign serve or a function run locally) and listen address.
		LoopbackOnly:   cfg.HasVerifier(identity.ProviderDev),
		Enforcer:       enf,
		Metrics:        obs.rec,
		Audit:          trail,
		MetricsHandler: obs.page,
	}), nil
}

// newEnforcer builds the TRTC room-callback handler and its cloud API
// client. Cloud API credentials come from the stored secret
// (tencentCloudSecretId/Key) when it has them, otherwise from
// TENCENTCLOUD_SECRETID/SECRETKEY/SESSIONTOKEN: the run role's temporary
// credentials on SCF, or the developer's keys with the env source. Removals
// are paced per action by the shared limiter, so the pace holds across
// instances.
func newEnforcer(cfg config.Config, opts Options, st stores, secrets secret.Source, bans *ban.Checker, rec metrics.Recorder) (*enforce.Enforcer, error) {
	client, err := newTRTCClient(cfg, opts, st, secrets)
	if err != nil {
		return nil, err
	}
	im, err := newIMClient(cfg, opts, secrets)
	if err != nil {
		return nil, err
	}
	enf, err := enforce.New(enforce.Options{
		Store:        st.calls,
		Secrets:      secrets,
		Remover:      client,
		Calls:        im,
		Banned:       bans.Banned,
		Mode:         enforce.Mode(cfg.CallEnforcement),
		UnknownRoom:  enforce.UnknownRoom(cfg.CallUnknownRoom),
		ServiceUsers: cfg.CallServiceUsers,
		Logger:       opts.Logger,
		Metrics:      rec,
		Now:          opts.Now,
		ActiveTTL:    cfg.PrivateMapKeyTTL,
	})
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	return enf, nil
}

// newTRTCClient builds the TRTC cloud API client (room removals).
func newTRTCClient(cfg config.Config, opts Options, st stores, secrets secret.Source) (*trtcapi.Client, error) {
	getenv := opts.Getenv
	client, err := trtcapi.New(trtcapi.Options{
		Region:   cfg.TRTCRegion,
		Endpoint: cfg.TRTCAPIEndpoint,
		Credentials: func(ctx context.Context) (trtcapi.Credential, error) {
			s, err := secrets.Load(ctx)
			if err != nil {
				return trtcapi.Credential{}, err
			}
			if s.TencentCloudSecretID != "" {
				return trtcapi.Credential{SecretID: s.TencentCloudSecretID, SecretKey: s.TencentCloudSecretKey}, nil
			}
			return trtcapi.Credential{
				SecretID:  getenv("TENCENTCLOUD_SECRETID"),
				SecretKey: getenv("TENCENTCLOUD_SECRETKEY"),
				Token:     getenv("TENCENTCLOUD_SESSIONTOKEN"),
			}, nil
		},
		Pacer: &trtcapi.LimiterPacer{Limiter: st.limiter},
	})
	if errors.Is(err, trtcapi.ErrNotBuiltIn) {
		return nil, notBuiltIn("the TRTC callback operations", "the TRTC cloud API client", "callsign.notrtcapi")
	}
	if err != nil {
		return nil, fmt.Errorf("app: %s_TRTC_API_ENDPOINT: %w", config.Prefix, err)
	}
	return client, nil
}

// servesCallbacks reports whether operations (nil: all) include a callback
// operation, the only ones that need the enforcer.
func servesCallbacks(operations []string) bool {
	return len(operations) == 0 || slices.Contains(operations, api.OpCallbackTRTC) || slices.Contains(operations, api.OpCallbackCall)
}

// SelfTest signs one UserSig with s and verifies it, proving the key and
// SDKAppID are usable before any request is served with them.
func SelfTest(s secret.Secret, now time.Time) error {
	const probe = "callsign_selftest"
	sig, err := usersig.UserSig(s.SDKAppID, s.SecretKey, probe, time.Minute, now)
	if err != nil {
		return fmt.Errorf("self-test: signing failed: %w", err)
	}
	if _, err := usersig.Verify(sig, []string{s.SecretKey}, usersig.Expect{SDKAppID: s.SDKAppID, UserID: probe, Now: now}); err != nil {
		return fmt.Errorf("self-test: verification failed: %w", err)
	}
	return nil
}

func secretSource(cfg config.Config, opts Options) (secret.Source, error) {
	switch cfg.SecretSource {
	case "env":
		s := secret.Secret{
			SDKAppID:          cfg.SDKAppID,
			SecretKey:         cfg.SecretKey,
			PreviousSecretKey: cfg.PreviousSecretKey,
			WeChatAppSecret:   cfg.WechatAppSecret,
			TokenKey:          cfg.TokenKey,
			TRTCCallbackKey:   cfg.TRTCCallbackKey,
			CallPolicyKey:     cfg.CallPolicyKey,
		}
		if s.SecretKey == "" {
			if cfg.Stage != "local" || opts.Platform != PlatformLocal {
				return nil, fmt.Errorf("app: %s_SECRET_KEY is required outside the local server", config.Prefix)
			}
			var b [32]byte
			if _, err := rand.Read(b[:]); err != nil {
				return nil, fmt.Errorf("app: generating a development key: %w", err)
			}
			s.SecretKey = hex.EncodeToString(b[:])
			if s.SDKAppID == 0 {
				s.SDKAppID = DevSDKAppID
			}
			opts.Logger.Warn("DEVELOPMENT KEY: no CALLSIGN_SECRET_KEY is set, so callsign generated a random key for this run. "+
				"Tencent will NOT accept its UserSigs; set CALLSIGN_SDK_APP_ID and CALLSIGN_SECRET_KEY to your TRTC application's values.",
				"sdkAppID", s.SDKAppID)
		}
		return secret.Static(s), nil
	case "aws-secretsmanager", "aws-ssm":
		sm, ps, err := secret.NewAWSClients(awsOptions(opts, cfg.SecretEndpoint))
		if err != nil {
			return nil, fmt.Errorf("app: %s_SECRET_SOURCE=%s: %w", config.Prefix, cfg.SecretSource, err)
		}
		if cfg.SecretSource == "aws-ssm" {
			src, err := secret.NewAWSSSM(ps, cfg.SecretName, cfg.SDKAppID)
			if err != nil {
				return nil, fmt.Errorf("app: %w", err)
			}
			return src, nil
		}
		src, err := secret.NewAWSSecretsManager(sm, cfg.SecretName, cfg.SecretVersion, cfg.SDKAppID)
		if err != nil {
			return nil, fmt.Errorf("app: %w", err)
		}
		return src, nil
	case "tencent-ssm":
		return newTencentSSM(cfg, opts)
	}
	return nil, fmt.Errorf("app: unknown secret source %q", cfg.SecretSource)
}

// verifiers builds the enabled verifiers in the fixed order of DESIGN §3.
func verifiers(ctx context.Context, cfg config.Config, opts Options, d *identity.Deriver, secrets secret.Source) (identity.Verifier, error) {
	keys := func(ctx context.Context) (token.Keys, error) {
		s, err := secrets.Load(ctx)
		if err != nil {
			return token.Keys{}, err
		}
		return token.KeysFor(cfg.Stage, s.TokenKey, s.SecretKey, s.PreviousSecretKey), nil
	}
	var chain []identity.Verifier
	for _, name := range []string{identity.ProviderCloudBase, identity.ProviderSession, identity.ProviderJWT, identity.ProviderGateway, identity.ProviderDev} {
		if !cfg.HasVerifier(name) {
			continue
		}
		var (
			v   identity.Verifier
			err error
		)
		switch name {
		case identity.ProviderCloudBase:
			v, err = identity.NewCloudBase(cfg.WechatAppID, d)
		case identity.ProviderSession:
			v, err = identity.NewSession(keys, identity.SessionOptions{Now: opts.Now, Leeway: 5 * time.Second})
		case identity.ProviderJWT:
			var j *identity.JWT
			j, err = identity.NewJWT(identity.JWTOptions{
				Issuer:       cfg.JWTIssuer,
				Audience:     cfg.JWTAudience,
				HS256Secret:  []byte(cfg.JWTSecret),
				JWKSURL:      cfg.JWTJwksURL,
				Algorithms:   cfg.JWTAlgorithms,
				Leeway:       cfg.JWTLeeway,
				SubjectClaim: cfg.JWTSubjectClaim,
				Now:          opts.Now,
				Logger:       opts.Logger,
			}, d)
			if err == nil {
				go func() { <-ctx.Done(); j.Close() }()
				v = j
			}
		case identity.ProviderGateway:
			v, err = identity.NewGateway(cfg.GatewaySubjectClaim, d)
		case identity.ProviderDev:
			if opts.Platform != PlatformLocal {
				return nil, errors.New("app: the dev verifier runs only on the local server")
			}
			v, err = identity.NewDev(opts.Getenv)
			if err == nil {
				opts.Logger.Warn("dev verifier enabled: the X-Callsign-User header names the user; never expose this server")
			}
		}
		if err != nil {
			return nil, fmt.Errorf("app: %s verifier: %w", name, err)
		}
		chain = append(chain, v)
	}
	if len(chain) == 0 {
		return nil, fmt.Errorf("app: no identity verifier enabled (%s_VERIFIERS)", config.Prefix)
	}
	return identity.Chain(chain...), nil
}

// stores are the shared-store clients of one instance: the rate limiter,
// the call records and the bans live in the same store (CALLSIGN_LIMITER).
type stores struct {
	limiter ratelimit.Limiter
	calls   callrecord.Store
	bans    ban.Store
}

// newStores builds the limiter and the call records of cfg.Limiter; calls
// to a shared store are timed by obs (the memory limiter is not one).
func newStores(cfg config.Config, opts Options, obs *observer) (stores, error) {
	local := ratelimit.NewMemory(ratelimit.MemoryOptions{Now: opts.Now})
	var (
		limiter ratelimit.Limiter
		calls   callrecord.Store
		bans    ban.Store
	)
	switch cfg.Limiter {
	case "memory":
		return stores{limiter: local, calls: callrecord.NewMemory(callrecord.MemoryOptions{Now: opts.Now}), bans: ban.NewMemory(opts.Now)}, nil
	case "redis":
		st, err := newRedisStores(cfg, opts)
		if err != nil {
			return stores{}, err
		}
		limiter, calls, bans = st.limiter, st.calls, st.bans
	case "dynamodb":
		client, err := dynamodb.New(awsOptions(opts, cfg.DynamodbEndpoint))
		if err != nil {
			return stores{}, fmt.Errorf("app: %s_LIMITER=dynamodb: %w", config.Prefix, err)
		}
		limiter = ratelimit.NewDynamoDB(client, cfg.DynamodbTable, cfg.KeyPrefix(), ratelimit.WithDynamoDBClock(opts.Now))
		calls = callrecord.NewDynamoDB(client, cfg.DynamodbTable, cfg.KeyPrefix(), opts.Now)
		bans = ban.NewDynamoDB(client, cfg.DynamodbTable, cfg.KeyPrefix(), opts.Now)
	default:
		return stores{}, fmt.Errorf("app: unknown limiter %q", cfg.Limiter)
	}
	mode, err := ratelimit.ParseFailureMode(cfg.LimiterFailure)
	if err != nil {
		return stores{}, fmt.Errorf("app: %s_LIMITER_FAILURE: %w", config.Prefix, err)
	}
	resilient := ratelimit.NewResilient(obs.limiter(limiter), ratelimit.ResilientOptions{
		Timeout: cfg.StoreTimeout(),
		Mode:    mode,
		Local:   local,
		Logger:  opts.Logger,
		Now:     opts.Now,
	})
	obs.resilient.Store(resilient)
	return stores{
		limiter: resilient,
		calls:   obs.calls(callrecord.WithTimeout(calls, callStoreTimeout)),
		bans:    bans,
	}, nil
}

// callStoreTimeout bounds one call-record operation on a shared store (an
// Update may take several round trips); a failure is a 503, never a hang.
const callStoreTimeout = 2 * time.Second
