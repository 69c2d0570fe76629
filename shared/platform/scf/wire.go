package scf

// The wire types of the SCF Go1 runtime protocol (Go net/rpc with gob
// encoding). gob matches exported field names and compatible types, not
// type or package names, so these are callsign's own declarations with
// exactly the field names and Go types the runtime sends and expects
// (tencentyun/scf-go-lib cloudfunction/messages). The underscores in the
// type names mirror that protocol's generated names; they are kept so the
// types read the same as the protocol they implement, which is why the
// staticcheck naming check (ST1003) is silenced on each of them.

// PingRequest is the argument of Function.Ping.
type PingRequest struct{}

// PingResponse is the reply of Function.Ping.
type PingResponse struct{}

// InvokeRequest_Timestamp is an absolute time, seconds and nanoseconds since
// the Unix epoch.
//
//lint:ignore ST1003 the underscore is part of the SCF Go1 wire type name
type InvokeRequest_Timestamp struct {
	Seconds int64
	Nanos   int64
}

// InvokeRequest is the argument of Function.Invoke: one invocation.
type InvokeRequest struct {
	// Payload is the event JSON.
	Payload []byte
	// RequestId is the platform's request ID.
	//lint:ignore ST1003 wire-format field name
	RequestId string
	// TraceId is the platform's trace ID.
	//lint:ignore ST1003 wire-format field name
	TraceId string
	// Deadline is the absolute deadline of the invocation; zero when unset.
	Deadline InvokeRequest_Timestamp
	// InvokedFunctionUnique identifies the invoked function.
	InvokedFunctionUnique string
	// ClientContext is optional client context JSON.
	ClientContext []byte
	// Namespace is the function's namespace.
	Namespace string
	// FunctionName is the function's name.
	FunctionName string
	// FunctionVersion is the invoked version.
	FunctionVersion string
	// MemoryLimitInMb is the configured memory.
	MemoryLimitInMb int32
	// TimeLimitInMs is the configured timeout.
	TimeLimitInMs int32
	// Environment is the per-invocation environment as JSON object text,
	// e.g. {"WX_OPENID":"...","WX_APPID":"..."} for a CloudBase callFunction.
	Environment string
	// TencentcloudRegion is the region.
	TencentcloudRegion string
	// TencentcloudAppID is the Tencent Cloud account AppID.
	TencentcloudAppID string
	// TencentcloudUin is the account UIN.
	TencentcloudUin string
	// FunctionTrace is trace data.
	FunctionTrace string
}

// InvokeResponse is the reply of Function.Invoke. Exactly one of Payload and
// Error is meaningful.
type InvokeResponse struct {
	// Payload is the result JSON.
	Payload []byte
	// Error is set when the invocation failed.
	Error *InvokeResponse_Error
}

// InvokeResponse_Error describes a failed invocation.
//
//lint:ignore ST1003 the underscore is part of the SCF Go1 wire type name
type InvokeResponse_Error struct {
	// Message is a human-readable description; it never contains secrets.
	Message string `json:"errorMessage"`
	// Type classifies the failure.
	Type string `json:"errorType"`
	// StackTrace is set for panics.
	StackTrace []*InvokeResponse_Error_StackFrame `json:"stackTrace,omitempty"`
	// ShouldExit asks the runtime to recycle the instance (after a panic).
	ShouldExit bool `json:"-"`
}

// InvokeResponse_Error_StackFrame is one frame of a panic's stack.
//
//lint:ignore ST1003 the underscore is part of the SCF Go1 wire type name
type InvokeResponse_Error_StackFrame struct {
	// Path is the source file.
	Path string `json:"path"`
	// Line is the line number.
	Line int32 `json:"line"`
	// Label is the function name.
	Label string `json:"label"`
}
