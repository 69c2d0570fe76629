package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"time"

	"github.com/callsign-dev/callsign/shared/usersig"
)

func init() {
	register(command{name: "sign", summary: "print a UserSig", run: runSign})
	register(command{name: "pmk", summary: "print a PrivateMapKey (room ticket)", run: runPMK})
}

// signFlags are the flags shared by sign and pmk.
type signFlags struct {
	app  uintFlag
	user string
	ttl  intFlag
	now  intFlag
}

func (f *signFlags) register(fs *flag.FlagSet) {
	f.app.bits = 32
	fs.Var(&f.app, "sdkappid", "TRTC SDKAppID (required)")
	fs.StringVar(&f.user, "user", "", "userID, ^[A-Za-z0-9_-]{1,32}$ (required)")
	fs.Var(&f.ttl, "ttl", fmt.Sprintf("validity in seconds, 1..%d (required)", int64(usersig.MaxTTL/time.Second)))
	fs.Var(&f.now, "now", "issue time as Unix seconds (default: the current time)")
}

// check reports missing required flags.
func (f *signFlags) check(fs *flag.FlagSet) (int, bool) {
	switch {
	case !f.app.set:
		return usageError(fs, "--sdkappid is required"), false
	case f.user == "":
		return usageError(fs, "--user is required"), false
	case !f.ttl.set:
		return usageError(fs, "--ttl is required"), false
	case f.ttl.value < 1 || f.ttl.value > int64(usersig.MaxTTL/time.Second):
		return usageError(fs, "--ttl must be 1..%d seconds", int64(usersig.MaxTTL/time.Second)), false
	}
	return exitOK, true
}

// roomFlags select a room: --room N or --str-room S.
type roomFlags struct {
	id  uintFlag
	str stringFlag
}

func (f *roomFlags) register(fs *flag.FlagSet, what string) {
	f.id.bits = 32
	fs.Var(&f.id, "room", fmt.Sprintf("numeric room ID, 1..%d%s", usersig.MaxRoomID, what))
	fs.Var(&f.str, "str-room", "string room ID, 1..64 characters"+what)
}

// room returns the selected room; set is false when neither flag was given.
func (f *roomFlags) room(fs *flag.FlagSet) (room usersig.Room, set bool, code int, ok bool) {
	switch {
	case f.id.set && f.str.set:
		return usersig.Room{}, false, usageError(fs, "give either --room or --str-room, not both"), false
	case f.id.set:
		return usersig.NumericRoom(uint32(f.id.value)), true, exitOK, true
	case f.str.set:
		return usersig.StringRoom(f.str.value), true, exitOK, true
	}
	return usersig.Room{}, false, exitOK, true
}

// stringFlag is a string flag that records whether it was given.
type stringFlag struct {
	value string
	set   bool
}

// String returns the value.
func (f *stringFlag) String() string { return f.value }

// Set stores s.
func (f *stringFlag) Set(s string) error { f.value, f.set = s, true; return nil }

func runSign(e *env, args []string) int {
	fs := newFlagSet(e, "sign", "--sdkappid N --user U --ttl SECONDS [--now UNIX]")
	var f signFlags
	f.register(fs)
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageError(fs, "unexpected argument %q", pos[0])
	}
	if code, ok := f.check(fs); !ok {
		return code
	}
	keys, err := secretKeys(e, false)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign sign: %v\n", err)
		return exitUsage
	}
	sig, err := usersig.UserSig(uint32(f.app.value), keys[0], f.user, time.Duration(f.ttl.value)*time.Second, clock(e, &f.now))
	return printTicket(e, fs, sig, err)
}

func runPMK(e *env, args []string) int {
	fs := newFlagSet(e, "pmk", "--sdkappid N --user U --ttl SECONDS [--now UNIX] (--room N | --str-room S) --privileges P")
	var f signFlags
	f.register(fs)
	var r roomFlags
	r.register(fs, " (one of --room, --str-room is required)")
	priv := uintFlag{bits: 32}
	fs.Var(&priv, "privileges", "privilege bits 0..255, decimal or 0x hex, e.g. 63 or 0xff (required)")
	pos, code, ok := parseFlags(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 0 {
		return usageError(fs, "unexpected argument %q", pos[0])
	}
	if code, ok := f.check(fs); !ok {
		return code
	}
	room, set, code, ok := r.room(fs)
	if !ok {
		return code
	}
	if !set {
		return usageError(fs, "--room or --str-room is required")
	}
	if !priv.set {
		return usageError(fs, "--privileges is required")
	}
	if priv.value > math.MaxUint8 {
		return usageError(fs, "--privileges must be 0..255")
	}
	keys, err := secretKeys(e, false)
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign pmk: %v\n", err)
		return exitUsage
	}
	pmk, err := usersig.PrivateMapKey(uint32(f.app.value), keys[0], f.user, time.Duration(f.ttl.value)*time.Second,
		clock(e, &f.now), room, usersig.Privileges(priv.value))
	return printTicket(e, fs, pmk, err)
}

// printTicket prints a signed ticket, or the signing error: invalid input
// is a usage error (2), anything else a failure (1).
func printTicket(e *env, fs *flag.FlagSet, ticket string, err error) int {
	if err != nil {
		fmt.Fprintf(e.stderr, "callsign %s: %v\n", fs.Name(), err)
		if errors.Is(err, usersig.ErrInvalidInput) {
			return exitUsage
		}
		return exitFail
	}
	fmt.Fprintln(e.stdout, ticket)
	return exitOK
}
