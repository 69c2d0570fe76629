//go:build !callsign.notrtcapi

package trtcapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tcerr "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/errors"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// builtIn reports whether this binary has the cloud API client.
const builtIn = true

// roomNotExist is the error code of an action on a room that is gone.
const roomNotExist = "FailedOperation.RoomNotExist"

// call paces, signs and sends one action.
func (c *Client) call(ctx context.Context, action string, params map[string]any) error {
	if c.pacer != nil {
		if err := c.pacer.Wait(ctx, action); err != nil {
			return &Error{Action: action, Temporary: true, cause: fmt.Errorf("pacing: %w", err)}
		}
	}
	cred, err := c.creds(ctx)
	if err != nil {
		return &Error{Action: action, Temporary: true, cause: err}
	}
	if cred.SecretID == "" || cred.SecretKey == "" {
		return &Error{Action: action, cause: ErrNoCredentials}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	rec := &statusRecord{}
	ctx = context.WithValue(ctx, statusRecordKey{}, rec)

	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = c.host
	cpf.HttpProfile.Scheme = c.scheme
	cpf.HttpProfile.ReqTimeout = int((c.timeout + time.Second - 1) / time.Second)
	cpf.Language = "en-US"
	cpf.Debug = false
	cpf.DisableRegionBreaker = true
	cpf.NetworkFailureMaxRetries = 0
	cpf.RateLimitExceededMaxRetries = 0
	client := common.NewCommonClient(common.NewTokenCredential(cred.SecretID, cred.SecretKey, cred.Token), c.region, cpf)
	client.WithHttpTransport(c.transport)

	req := tchttp.NewCommonRequest(Service, Version, action)
	req.SetContext(ctx)
	if err := req.SetActionParameters(params); err != nil {
		return &Error{Action: action, cause: errors.New("building the request failed")}
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		e := sendError(ctx, action, err, rec.status)
		if e.Code == roomNotExist {
			return nil
		}
		return e
	}
	if rec.status != http.StatusOK {
		return &Error{Action: action, Status: rec.status, Temporary: rec.status >= 500 || rec.status == http.StatusTooManyRequests}
	}
	var out struct {
		Response struct {
			RequestID string `json:"RequestId"`
		} `json:"Response"`
	}
	if err := json.Unmarshal(resp.GetBody(), &out); err != nil || out.Response.RequestID == "" {
		return &Error{Action: action, Status: rec.status, Temporary: true, cause: errors.New("response is not the expected JSON")}
	}
	return nil
}

// sendError maps an error of the generic client. SDK messages are never
// used: some quote the response body.
func sendError(ctx context.Context, action string, err error, status int) *Error {
	e := &Error{Action: action, Status: status, Temporary: true}
	var netErr net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.cause = context.DeadlineExceeded
		return e
	case errors.Is(err, context.Canceled) || ctx.Err() != nil:
		e.cause, e.Temporary = context.Canceled, false
		return e
	case errors.As(err, &netErr):
		e.cause = errors.New("could not reach the API")
		return e
	}
	var sdkErr *tcerr.TencentCloudSDKError
	if errors.As(err, &sdkErr) {
		if strings.HasPrefix(sdkErr.Code, "ClientError") {
			// Network failure, bad status or unparseable body: the message
			// quotes the body, so report the status only.
			if status == 0 {
				e.cause = errors.New("could not reach the API")
			}
			e.Temporary = status == 0 || status >= 500 || status == http.StatusTooManyRequests
			return e
		}
		e.Code, e.RequestID = sdkErr.Code, sdkErr.RequestId
		e.Temporary = temporaryCode(sdkErr.Code)
		return e
	}
	e.cause = errors.New("unexpected client error")
	return e
}

// temporaryCode reports whether an API error code is worth retrying.
func temporaryCode(code string) bool {
	major, _, _ := strings.Cut(code, ".")
	switch major {
	case "InternalError", "RequestLimitExceeded", "LimitExceeded", "ResourceUnavailable":
		return true
	}
	return code == "AuthFailure.SignatureExpire" // clock skew that may recover
}
