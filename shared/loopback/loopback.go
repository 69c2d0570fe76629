// Package loopback decides whether a host name, a listen address or a URL
// stays on the local machine. The local server (whose dev verifier trusts a
// header naming the user) and the plain-http exceptions for test stand-ins
// all use this one definition.
package loopback

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// Host reports whether host is "localhost" (any case) or a loopback IP
// literal (127.0.0.0/8, ::1, also in brackets or IPv4-mapped). Any other
// name is not loopback, even one that resolves to 127.0.0.1: a name can be
// rebound, a literal cannot.
func Host(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Addr reports whether the host part of a "host:port" address is Host. An
// address without a host (":8080") listens on every interface and is not
// loopback; neither is a value that is not host:port.
func Addr(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	return err == nil && Host(host)
}

// ErrInsecureURL is returned by CheckURL.
var ErrInsecureURL = errors.New("must be an absolute https URL (plain http only for localhost or a loopback IP)")

// CheckURL accepts an absolute https URL with a host, and an http URL only
// when its host is loopback (tests and local stand-ins). The error never
// contains the URL, which may carry a credential.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return ErrInsecureURL
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if Host(u.Hostname()) {
			return nil
		}
	}
	return ErrInsecureURL
}
