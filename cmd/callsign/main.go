// Command callsign issues and checks Tencent TRTC UserSig and PrivateMapKey
// tickets from the command line:
//
//	callsign sign    --sdkappid N --user U --ttl SECONDS [--now UNIX]
//	callsign pmk     --sdkappid N --user U --ttl SECONDS [--now UNIX] (--room N | --str-room S) --privileges P
//	callsign inspect [--json] [--now UNIX] TICKET|-
//	callsign verify  --sdkappid N --user U [--now UNIX] [--pmk [--room N | --str-room S] [--privileges P]] TICKET|-
//	callsign ban     --user U [--for 24h] [--reason TEXT]
//	callsign unban   --user U
//	callsign admin-usersig [--ttl 1h]
//
// ban, unban and admin-usersig read the stage's CALLSIGN_* configuration
// (secret source, shared store) like the functions do; see docs/operators.md.
//
// The secret key is read from CALLSIGN_SECRET_KEY or, when that is unset or
// empty, from the first line of standard input; never from a flag, so it
// stays out of shell history and process listings. verify also accepts the
// previous key from CALLSIGN_PREVIOUS_SECRET_KEY (key rotation).
//
// Exit status: 0 success (verify: the ticket is valid), 1 failure (verify:
// the ticket is invalid; inspect: it cannot be decoded), 2 usage error.
//
// # Adding a subcommand
//
// Each subcommand lives in its own file and registers itself from init:
//
//	func init() {
//		register(command{name: "serve", summary: "run the local HTTP server", run: runServe})
//	}
//
//	func runServe(e *env, args []string) int { ... }
//
// run dispatches on the first argument; e carries stdin, stdout, stderr,
// getenv and the clock, so subcommands are testable in-process.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1
	exitUsage = 2
)

// Environment variables read by the CLI.
const (
	envSecretKey         = "CALLSIGN_SECRET_KEY"
	envPreviousSecretKey = "CALLSIGN_PREVIOUS_SECRET_KEY"
)

// env is everything a subcommand may touch outside its arguments.
type env struct {
	stdin  *bufio.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	now    func() time.Time
}

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(e *env, args []string) int
}

// commands is the subcommand registry, filled by init functions before
// main runs and read-only afterwards.
var commands = map[string]command{}

// register adds a subcommand; a duplicate name is a programming error.
func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("callsign: subcommand registered twice: " + c.name)
	}
	commands[c.name] = c
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// run executes the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	e := &env{stdin: bufio.NewReader(stdin), stdout: stdout, stderr: stderr, getenv: getenv, now: time.Now}
	if len(args) == 0 {
		usage(stderr)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "callsign: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return c.run(e, args[1:])
}

// usage lists the registered subcommands.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: callsign <command> [flags]")
	fmt.Fprintln(w, "\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-8s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "\nThe secret key comes from %s or, when unset, the first line of stdin.\n", envSecretKey)
	fmt.Fprintln(w, "Run 'callsign <command> -h' for the command's flags.")
}

// newFlagSet returns a flag set that reports errors to e.stderr.
func newFlagSet(e *env, name, synopsis string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: callsign %s %s\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args, allowing flags after positional arguments, and
// returns the positional arguments. ok is false on a usage error, and help
// is true when -h was asked for.
func parseFlags(fs *flag.FlagSet, args []string) (pos []string, code int, ok bool) {
	for {
		if err := fs.Parse(args); err != nil {
			if err == flag.ErrHelp {
				return nil, exitOK, false
			}
			return nil, exitUsage, false
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, exitOK, true
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), exitOK, true
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// usageError prints msg and the flag usage and returns exitUsage.
func usageError(fs *flag.FlagSet, format string, args ...any) int {
	fmt.Fprintf(fs.Output(), "callsign %s: %s\n", fs.Name(), fmt.Sprintf(format, args...))
	fs.Usage()
	return exitUsage
}

// uintFlag is a flag holding an unsigned integer with a bit size, parsed
// as decimal or, with a 0x prefix, hexadecimal (a leading 0 is decimal, not
// octal). set reports whether the flag was given.
type uintFlag struct {
	bits  int
	value uint64
	set   bool
}

// String returns the value in decimal.
func (f *uintFlag) String() string { return strconv.FormatUint(f.value, 10) }

// Set parses s.
func (f *uintFlag) Set(s string) error {
	base, digits := 10, s
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		base, digits = 16, s[2:]
	}
	v, err := strconv.ParseUint(digits, base, f.bits)
	if err != nil {
		return fmt.Errorf("want a decimal or 0x-hex number of at most %d bits", f.bits)
	}
	f.value, f.set = v, true
	return nil
}

// intFlag is a flag holding a signed decimal integer; set reports whether
// it was given.
type intFlag struct {
	value int64
	set   bool
}

// String returns the value in decimal.
func (f *intFlag) String() string { return strconv.FormatInt(f.value, 10) }

// Set parses s.
func (f *intFlag) Set(s string) error {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("want a decimal integer")
	}
	f.value, f.set = v, true
	return nil
}

// readLine reads one line from stdin without its line ending and
// surrounding white space.
func readLine(e *env) (string, error) {
	line, err := e.stdin.ReadString('\n')
	if err != nil && (err != io.EOF || line == "") {
		return "", fmt.Errorf("read stdin: %w", err)
	}
	return strings.TrimSpace(line), nil
}

// secretKeys returns the current key (CALLSIGN_SECRET_KEY, else the first
// line of stdin) and, when withPrevious is set, CALLSIGN_PREVIOUS_SECRET_KEY
// if present. Errors never contain key material.
func secretKeys(e *env, withPrevious bool) ([]string, error) {
	key := e.getenv(envSecretKey)
	if key == "" {
		line, err := readLine(e)
		if err != nil || line == "" {
			return nil, fmt.Errorf("no secret key: set %s or write the key as the first line of stdin", envSecretKey)
		}
		key = line
	}
	keys := []string{key}
	if prev := e.getenv(envPreviousSecretKey); withPrevious && prev != "" {
		keys = append(keys, prev)
	}
	return keys, nil
}

// clock returns the --now value when given, else the current time.
func clock(e *env, now *intFlag) time.Time {
	if now.set {
		return time.Unix(now.value, 0)
	}
	return e.now()
}

// ticketArg returns the single TICKET argument, reading it from the next
// stdin line when it is "-".
func ticketArg(e *env, fs *flag.FlagSet, pos []string) (string, int, bool) {
	if len(pos) != 1 {
		return "", usageError(fs, "want exactly one TICKET argument (or - to read it from stdin), got %d", len(pos)), false
	}
	if pos[0] != "-" {
		return pos[0], exitOK, true
	}
	line, err := readLine(e)
	if err != nil || line == "" {
		fmt.Fprintf(e.stderr, "callsign %s: no ticket on stdin\n", fs.Name())
		return "", exitUsage, false
	}
	return line, exitOK, true
}
