package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/callsign-dev/callsign/shared/enforce"
	"github.com/callsign-dev/callsign/shared/service"
	"github.com/callsign-dev/callsign/shared/trtcevent"
)

// callbackAck is the answer Tencent expects from a callback: HTTP 200 and
// {"code":0} (Tencent ignores the body; it must stay under 2000 bytes).
type callbackAck struct {
	// Code is always 0.
	Code int `json:"code"`
}

// trtcCallback serves POST /v1/callbacks/trtc: a TRTC room or media event
// callback. The body (at most 16 KiB) is handed to the Enforcer as raw
// bytes, with the Sign and SdkAppId headers. A missing or bad signature or
// SDKAppID is 401 and nothing else happens; a failure Tencent should retry
// is 503.
func (a *API) trtcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	exchangeFrom(ctx).op = OpCallbackTRTC
	body, e := a.readBodyLimit(w, r, trtcevent.MaxBodyBytes)
	if e != nil {
		a.writeError(w, r, e)
		return
	}
	err := a.enf.Handle(ctx, enforce.Callback{Sign: r.Header.Get("Sign"), SDKAppID: r.Header.Get("SdkAppId"), Body: body})
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, callbackAck{})
		return
	case errors.Is(err, enforce.ErrUnauthenticated):
		// The reason names the check that failed, never a value.
		a.log.LogAttrs(ctx, slog.LevelWarn, "TRTC callback refused", slog.String("reason", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeUnauthenticated, "invalid callback signature"))
	case errors.Is(err, enforce.ErrInvalid):
		a.log.LogAttrs(ctx, slog.LevelWarn, "TRTC callback invalid", slog.String("reason", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeInvalidRequest, "invalid callback body"))
	default:
		a.log.LogAttrs(ctx, slog.LevelError, "TRTC callback failed", slog.String("error", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeUnavailable, "callback could not be handled; retry later"))
	}
}

// callCallback serves POST /v1/callbacks/call: a TUICallKit Call.*
// callback (query SdkAppid, CallbackCommand, ...). It carries no
// signature; the Enforcer confirms the call with Tencent before acting.
// The answer is {"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}; a
// foreign SdkAppid is 401, a body that is not JSON 400, a failure 503.
func (a *API) callCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	exchangeFrom(ctx).op = OpCallbackCall
	body, e := a.readBodyLimit(w, r, trtcevent.MaxBodyBytes)
	if e != nil {
		a.writeError(w, r, e)
		return
	}
	err := a.enf.HandleCall(ctx, enforce.CallCallback{SDKAppID: r.URL.Query().Get("SdkAppid"), Body: body})
	switch {
	case err == nil:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(enforce.CallAck)
	case errors.Is(err, enforce.ErrUnauthenticated):
		a.log.LogAttrs(ctx, slog.LevelWarn, "TUICallKit callback refused", slog.String("reason", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeUnauthenticated, "callback is not for this application"))
	case errors.Is(err, enforce.ErrInvalid):
		a.log.LogAttrs(ctx, slog.LevelWarn, "TUICallKit callback invalid", slog.String("reason", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeInvalidRequest, "invalid callback body"))
	default:
		a.log.LogAttrs(ctx, slog.LevelError, "TUICallKit callback failed", slog.String("error", err.Error()))
		a.writeError(w, r, service.NewError(service.CodeUnavailable, "callback could not be handled; retry later"))
	}
}
