package main

import (
	"context"
	"fmt"
	"time"

	"github.com/callsign-dev/callsign/shared/app"
	"github.com/callsign-dev/callsign/shared/config"
	"github.com/callsign-dev/callsign/shared/usersig"
)

func init() {
	register(command{name: "ban", summary: "ban a user: refuse credentials, revoke tokens, kick from IM and calls", run: runBan})
	register(command{name: "unban", summary: "lift a user's ban (tokens issued before it stay revoked)", run: runUnban})
	register(command{name: "admin-usersig", summary: "print an IM administrator UserSig for server-side scripts", run: runAdminUserSig})
}

// operatorTimeout bounds one operator command.
const operatorTimeout = 30 * time.Second

// newOperator loads the stage's CALLSIGN_* configuration and builds the
// operator; problems are printed with the command's name.
func newOperator(e *env, name string) (*app.Operator, context.Context, context.CancelFunc, bool) {
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign %s: %v\n", name, err)
		return nil, nil, nil, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), operatorTimeout)
	aws, err := awsProvider(ctx, cfg)
	if err != nil {
		cancel()
		fmt.Fprintf(e.stderr, "callsign %s: %v\n", name, err)
		return nil, nil, nil, false
	}
	op, err := app.NewOperator(ctx, cfg, app.Options{Platform: app.PlatformLocal, Getenv: e.getenv, Now: e.now, AWS: aws})
	if err != nil {
		cancel()
		fmt.Fprintf(e.stderr, "callsign %s: %v\n", name, err)
		return nil, nil, nil, false
	}
	return op, ctx, cancel, true
}

// runBan bans --user for --for (default: until unban), then reports the
// IM kick and the room removals.
func runBan(e *env, args []string) int {
	fs := newFlagSet(e, "ban", "--user U [--for 24h] [--reason TEXT]")
	user := fs.String("user", "", "userID to ban")
	d := fs.Duration("for", 0, "ban duration (default: until callsign unban)")
	reason := fs.String("reason", "", "operator's note, kept with the ban")
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *user == "" || *d < 0 {
		fs.Usage()
		return exitUsage
	}
	op, ctx, cancel, ok := newOperator(e, "ban")
	if !ok {
		return exitFail
	}
	defer cancel()
	r, err := op.Ban(ctx, *user, *d, *reason)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign ban: %v\n", err)
		return exitFail
	}
	until := "until unban"
	if !r.Entry.Until.IsZero() {
		until = "until " + r.Entry.Until.Format(time.RFC3339)
	}
	fmt.Fprintf(e.stdout, "banned %s %s; tokens issued up to %s are revoked\n", *user, until, r.Entry.RevokedAt.Format(time.RFC3339))
	status := exitOK
	if r.KickErr != nil {
		fmt.Fprintf(e.stderr, "callsign ban: IM login kick failed: %v\n", r.KickErr)
		status = exitFail
	} else {
		fmt.Fprintln(e.stdout, "IM login invalidated (im_open_login_svc/kick)")
	}
	for _, room := range r.Removed {
		fmt.Fprintf(e.stdout, "removed from call room %s\n", room)
	}
	for _, err := range r.RemoveErrs {
		fmt.Fprintf(e.stderr, "callsign ban: room removal failed: %v\n", err)
		status = exitFail
	}
	return status
}

// runUnban lifts --user's ban.
func runUnban(e *env, args []string) int {
	fs := newFlagSet(e, "unban", "--user U")
	user := fs.String("user", "", "userID to unban")
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *user == "" {
		fs.Usage()
		return exitUsage
	}
	op, ctx, cancel, ok := newOperator(e, "unban")
	if !ok {
		return exitFail
	}
	defer cancel()
	found, err := op.Unban(ctx, *user)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign unban: %v\n", err)
		return exitFail
	}
	if !found {
		fmt.Fprintf(e.stdout, "%s was not banned\n", *user)
		return exitOK
	}
	fmt.Fprintf(e.stdout, "unbanned %s; tokens issued before the ban stay revoked\n", *user)
	return exitOK
}

// runAdminUserSig prints an administrator UserSig (CALLSIGN_IM_ADMIN_USER)
// for server-side scripts calling the IM REST API.
func runAdminUserSig(e *env, args []string) int {
	fs := newFlagSet(e, "admin-usersig", "[--ttl 1h]")
	ttl := fs.Duration("ttl", time.Hour, "lifetime of the UserSig")
	if _, code, ok := parseFlags(fs, args); !ok {
		return code
	}
	if *ttl < time.Minute || *ttl > usersig.MaxTTL || *ttl%time.Second != 0 {
		fmt.Fprintf(e.stderr, "callsign admin-usersig: --ttl must be whole seconds between 1m and %s\n", usersig.MaxTTL)
		return exitUsage
	}
	cfg, err := config.Load()
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign admin-usersig: %v\n", err)
		return exitFail
	}
	ctx, cancel := context.WithTimeout(context.Background(), operatorTimeout)
	defer cancel()
	aws, err := awsProvider(ctx, cfg)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign admin-usersig: %v\n", err)
		return exitFail
	}
	_, sig, err := app.AdminUserSig(ctx, cfg, app.Options{Platform: app.PlatformLocal, Getenv: e.getenv, Now: e.now, AWS: aws}, *ttl)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign admin-usersig: %v\n", err)
		return exitFail
	}
	fmt.Fprintln(e.stdout, sig)
	return exitOK
}
