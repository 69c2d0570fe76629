package scf

import "time"

// Timeout exposes timeout to the external tests.
func (f *Function) Timeout(req *InvokeRequest) time.Duration { return f.timeout(req) }
