package loopback

import "testing"

func TestHost(t *testing.T) {
	tests := []struct {
		host string
		want bool
	}{
		{"localhost", true},
		{"LocalHost", true},
		{"127.0.0.1", true},
		{"127.9.8.7", true},
		{"::1", true},
		{"[::1]", true},
		{"::ffff:127.0.0.1", true},
		{"", false},
		{"0.0.0.0", false},
		{"::", false},
		{"192.0.2.1", false},
		{"localhost.", false},
		{"localhost.example", false},
		{"127.0.0.1.example", false},
		{"127.1", false},
		{"[::1", false},
	}
	for _, tc := range tests {
		if got := Host(tc.host); got != tc.want {
			t.Errorf("Host(%q) = %v, want %v", tc.host, got, tc.want)
		}
	}
}

func TestAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1:8080", true},
		{"localhost:8080", true},
		{"[::1]:8080", true},
		{":8080", false},
		{"0.0.0.0:8080", false},
		{"[::]:8080", false},
		{"192.0.2.1:8080", false},
		{"127.0.0.1", false},
		{"", false},
	}
	for _, tc := range tests {
		if got := Addr(tc.addr); got != tc.want {
			t.Errorf("Addr(%q) = %v, want %v", tc.addr, got, tc.want)
		}
	}
}

func TestCheckURL(t *testing.T) {
	tests := []struct {
		url  string
		want bool
	}{
		{"https://api.weixin.qq.com", true},
		{"https://idp.example/jwks?x=1", true},
		{"http://127.0.0.1:9000", true},
		{"http://localhost:9000/jwks", true},
		{"http://[::1]:9000", true},
		{"http://api.weixin.qq.com", false},
		{"http://10.0.0.5", false},
		{"http://127.0.0.1.nip.io", false},
		{"ftp://127.0.0.1", false},
		{"https:opaque", false},
		{"https://", false},
		{"/relative", false},
		{"", false},
	}
	for _, tc := range tests {
		err := CheckURL(tc.url)
		if (err == nil) != tc.want {
			t.Errorf("CheckURL(%q) = %v, want ok=%v", tc.url, err, tc.want)
		}
		if err != nil && err != ErrInsecureURL {
			t.Errorf("CheckURL(%q) error = %v, want ErrInsecureURL", tc.url, err)
		}
	}
}
