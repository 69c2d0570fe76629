package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/callsign-dev/callsign/shared/identity"
	"github.com/callsign-dev/callsign/shared/service"
)

// invoke decodes body for op and runs the operation. It is shared by the
// HTTP routes and Do, so both apply the same decoding and validation.
func (a *API) invoke(ctx context.Context, op string, creds identity.Credentials, body []byte) (any, *service.Error) {
	var (
		resp any
		err  error
	)
	switch op {
	case OpUserSig:
		var in service.UserSigRequest
		if e := decodeJSON(body, &in); e != nil {
			return nil, e
		}
		resp, err = nonNil(a.svc.IssueUserSig(ctx, creds, in))
	case OpCallCreate:
		var in service.CreateCallRequest
		if e := decodeJSON(body, &in); e != nil {
			return nil, e
		}
		resp, err = nonNil(a.svc.CreateCall(ctx, creds, in))
	case OpCallJoin:
		var in service.JoinCallRequest
		if e := decodeJSON(body, &in); e != nil {
			return nil, e
		}
		resp, err = nonNil(a.svc.JoinCall(ctx, creds, in))
	case OpSession:
		var in service.StartSessionRequest
		if e := decodeJSON(body, &in); e != nil {
			return nil, e
		}
		resp, err = nonNil(a.svc.StartSession(ctx, creds.ClientIP, in))
	default:
		return nil, service.NewError(service.CodeNotFound, "unknown operation")
	}
	if err != nil {
		return nil, service.AsError(err)
	}
	return resp, nil
}

// nonNil converts a typed result to any, keeping a nil pointer nil.
func nonNil[T any](v *T, err error) (any, error) {
	if err != nil || v == nil {
		if err == nil {
			err = errors.New("api: operation returned no result")
		}
		return nil, err
	}
	return v, nil
}

// maxQuoted bounds client-chosen names quoted in error messages.
const maxQuoted = 40

// decodeJSON decodes one JSON object from body into v, strictly: unknown
// fields, a non-object, a wrongly typed field and trailing data are 400s.
// An empty (or all-whitespace) body and "null" decode as {}.
func decodeJSON(body []byte, v any) *service.Error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return service.NewError(service.CodeInvalidRequest, "request body has data after the JSON object")
	}
	return nil
}

// jsonError turns a decoding error into a client-safe 400.
func jsonError(err error) *service.Error {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field == "" {
			return service.NewError(service.CodeInvalidRequest, "request body must be a JSON object")
		}
		return service.NewError(service.CodeInvalidRequest,
			"field "+strconv.Quote(truncate(te.Field, maxQuoted))+" must be "+kindName(te.Type))
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if n, err := strconv.Unquote(name); err == nil {
			name = strconv.Quote(truncate(n, maxQuoted))
		} else {
			name = "in the body"
		}
		return service.NewError(service.CodeInvalidRequest, "unknown field "+name)
	}
	return service.NewError(service.CodeInvalidRequest, "request body is not valid JSON")
}

// kindName describes the JSON type a Go type expects.
func kindName(t reflect.Type) string {
	if t == nil {
		return "of another type"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	default:
		return "of another type"
	}
}
