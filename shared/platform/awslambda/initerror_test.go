package awslambda_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/callsign-dev/callsign/shared/platform/awslambda"
)

func TestReportInitError(t *testing.T) {
	tests := []struct {
		name    string
		status  int
		wantErr string
	}{
		{"accepted", http.StatusAccepted, ""},
		{"refused", http.StatusForbidden, "awslambda: reporting the init error: the Runtime API answered 403, want 202"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var method, path, contentType, errorType, body string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				method, path, body = r.Method, r.URL.Path, string(b)
				contentType, errorType = r.Header.Get("Content-Type"), r.Header.Get("Lambda-Runtime-Function-Error-Type")
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			err := awslambda.ReportInitError(context.Background(), strings.TrimPrefix(srv.URL, "http://"),
				awslambda.InitError{Type: "Callsign.ConfigurationError", Message: "callsign: configuration failed"})
			if got := errString(err); got != tt.wantErr {
				t.Errorf("error %q, want %q", got, tt.wantErr)
			}
			if method != "POST" || path != "/2018-06-01/runtime/init/error" || contentType != "application/json" || errorType != "Callsign.ConfigurationError" ||
				body != `{"errorMessage":"callsign: configuration failed","errorType":"Callsign.ConfigurationError"}` {
				t.Errorf("request %s %s, Content-Type %q, error type %q, body %s", method, path, contentType, errorType, body)
			}
		})
	}
}

func TestReportInitErrorWithoutRuntimeAPI(t *testing.T) {
	err := awslambda.ReportInitError(context.Background(), "", awslambda.InitError{Type: "T", Message: "m"})
	if got, want := errString(err), "awslambda: reporting an init error: AWS_LAMBDA_RUNTIME_API is not set"; got != want {
		t.Errorf("error %q, want %q", got, want)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
