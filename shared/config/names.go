package config

import (
	"fmt"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"time"
)

// VariableNames returns the name of every environment variable Config reads,
// in field order, e.g. "CALLSIGN_SDK_APP_ID": each field's envconfig tag.
func VariableNames() []string {
	t := reflect.TypeFor[Config]()
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("envconfig")
	}
	return names
}

// checkKnown returns an error naming the first variable in environ (as
// os.Environ returns it) that starts with Prefix + "_" but is not one
// Config reads.
func checkKnown(environ []string) error {
	names := VariableNames()
	for _, kv := range environ {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, Prefix+"_") && !slices.Contains(names, name) {
			return fmt.Errorf("config: unknown environment variable %s", name)
		}
	}
	return nil
}

// envName returns the variable name of a Config field without the prefix,
// e.g. "SDK_APP_ID" for "SDKAppID".
func envName(field string) string {
	if f, ok := reflect.TypeFor[Config]().FieldByName(field); ok {
		return strings.TrimPrefix(f.Tag.Get("envconfig"), Prefix+"_")
	}
	return strings.ToUpper(field)
}

// Setting is one configuration variable with its effective value.
type Setting struct {
	Name        string // e.g. CALLSIGN_STAGE
	Value       string // effective value, secrets redacted
	Default     string // the default, if any
	Description string
	Secret      bool // the value (or a URL's credentials) is never printed
}

// Redacted is what every secret value is replaced with when printed.
const Redacted = "[REDACTED]"

// Settings lists every variable with its effective value in field order.
//
// A field tagged secret:"true" prints as Redacted (empty stays empty). A
// field tagged secret:"url" is a URL whose credentials are secret: it
// prints with its user information redacted (a lone user name too, since
// "redis://password@host" is a common way to write a password), or as
// Redacted when it is not a URL with a scheme and a host. A password, the
// query values and the fragment of any other URL-valued setting are
// redacted as well.
func (c Config) Settings() []Setting {
	names := VariableNames()
	v := reflect.ValueOf(c)
	t := v.Type()
	out := make([]Setting, 0, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		kind := f.Tag.Get("secret")
		s := Setting{
			Name:        names[i],
			Default:     f.Tag.Get("default"),
			Description: f.Tag.Get("desc"),
			Secret:      kind != "",
			Value:       format(v.Field(i)),
		}
		switch {
		case s.Value == "":
		case kind == "url":
			s.Value = redactURL(s.Value, true)
		case s.Secret:
			s.Value = Redacted
		default:
			s.Value = redactURL(s.Value, false)
		}
		out = append(out, s)
	}
	return out
}

// redactURL hides the credentials of a URL value: the password, every
// query value and the fragment (a token or key is often passed as
// "?access_token=…"), and with secretURL also a user name given without a
// password. Query parameter names stay, so the output still shows what is
// set. A value that is not a URL with a scheme and a host is returned
// unchanged, or as Redacted when secretURL is set.
func redactURL(value string, secretURL bool) string {
	u, err := url.Parse(value)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if secretURL {
			return Redacted
		}
		return value
	}
	changed := false
	if u.User != nil {
		switch _, has := u.User.Password(); {
		case has:
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
			changed = true
		case secretURL:
			u.User = url.User("REDACTED")
			changed = true
		}
	}
	if u.RawQuery != "" {
		u.RawQuery = redactQuery(u.RawQuery)
		changed = true
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = "REDACTED", ""
		changed = true
	}
	if !changed {
		return value
	}
	return u.String()
}

// redactQuery replaces the value of every name=value pair of a raw query
// with REDACTED, and a bare element (which may itself be a key) entirely.
func redactQuery(raw string) string {
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		name, _, hasValue := strings.Cut(p, "=")
		switch {
		case p == "":
		case hasValue:
			parts[i] = name + "=REDACTED"
		default:
			parts[i] = "REDACTED"
		}
	}
	return strings.Join(parts, "&")
}

func format(v reflect.Value) string {
	switch x := v.Interface().(type) {
	case time.Duration:
		return x.String()
	case []string:
		return strings.Join(x, ",")
	default:
		return fmt.Sprint(x)
	}
}

// MarkdownTable renders the variable reference used in the README: name,
// default and description of every variable.
func MarkdownTable() string {
	var b strings.Builder
	b.WriteString("| Variable | Default | Description |\n|---|---|---|\n")
	for _, s := range (Config{}).Settings() {
		def := s.Default
		if def != "" {
			def = "`" + def + "`"
		}
		desc := s.Description
		if s.Secret {
			desc += " (secret: redacted when printed)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", s.Name, def, strings.ReplaceAll(desc, "|", `\|`))
	}
	return b.String()
}
