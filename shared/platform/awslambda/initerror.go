package awslambda

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// initErrorTimeout bounds the init-error report: the process is about to
// exit and must not hang on an unresponsive Runtime API.
const initErrorTimeout = 2 * time.Second

// InitError is what ReportInitError sends to the Runtime API. Both fields
// are fixed words chosen by the caller: never an error's text, which could
// quote configuration (the detailed error goes to the function's log).
type InitError struct {
	// Type is the errorType, e.g. "Callsign.ConfigurationError"; it is also
	// sent as the Lambda-Runtime-Function-Error-Type header.
	Type string
	// Message is the errorMessage.
	Message string
}

// ReportInitError tells the Runtime API at runtimeAPI (AWS_LAMBDA_RUNTIME_API,
// "host:port") that the function failed to initialise:
// POST /2018-06-01/runtime/init/error with {"errorMessage","errorType"}.
// aws-lambda-go never makes this call, so a runtime that exits during init
// must make it itself; Lambda then reports the init failure with that type
// instead of an unexplained exit. The request bypasses HTTP(S)_PROXY, as
// aws-lambda-go's own client does, and is bounded by a short timeout.
func ReportInitError(ctx context.Context, runtimeAPI string, e InitError) error {
	if runtimeAPI == "" {
		return fmt.Errorf("awslambda: reporting an init error: %s is not set", "AWS_LAMBDA_RUNTIME_API")
	}
	body, err := json.Marshal(struct {
		Message string `json:"errorMessage"`
		Type    string `json:"errorType"`
	}{e.Message, e.Type})
	if err != nil {
		return fmt.Errorf("awslambda: encoding the init error: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, initErrorTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+runtimeAPI+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("awslambda: building the init error report: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Lambda-Runtime-Function-Error-Type", e.Type)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.Proxy = nil
	client := &http.Client{Transport: transport}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("awslambda: reporting the init error: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("awslambda: reporting the init error: the Runtime API answered %d, want 202", resp.StatusCode)
	}
	return nil
}
