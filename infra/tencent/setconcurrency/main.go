// Command setconcurrency applies a stage's reserved concurrency to its SCF
// functions (infra/tencent/<stage>/concurrency.json) with the SCF API
// PutReservedConcurrencyConfig: the Tencent counterpart of Lambda's
// reserved concurrency, a cap on how many instances, and so how much
// money, a flood of requests can use. Neither the CloudBase CLI nor the
// scf component sets it from their configuration files, so make deploy
// runs this after deploying each function.
//
//	setconcurrency -file infra/tencent/prod/concurrency.json -function web
//	setconcurrency -file ... -function event -namespace "$TCB_ENV_ID"
//
// Credentials come from TENCENTCLOUD_SECRETID, TENCENTCLOUD_SECRETKEY and
// (optional) TENCENTCLOUD_SESSIONTOKEN; the region from -region.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common"
	tchttp "github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/http"
	"github.com/tencentcloud/tencentcloud-sdk-go/tencentcloud/common/profile"
)

// Caps is the content of concurrency.json.
type Caps struct {
	// MemoryMB is the functions' memory size; SCF reserves concurrency as
	// memory (instances × MB).
	MemoryMB int `json:"memoryMB"`
	// Web and Event are the HTTPS Web function and the CloudBase event
	// function.
	Web   Function `json:"web"`
	Event Function `json:"event"`
}

// Function is one function's cap.
type Function struct {
	// Name is the SCF function name.
	Name string `json:"name"`
	// Namespace is the SCF namespace ("default"; a CloudBase function's is
	// its environment ID, given with -namespace).
	Namespace string `json:"namespace,omitempty"`
	// ReservedConcurrency is the most instances the function may run.
	ReservedConcurrency int `json:"reservedConcurrency"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("setconcurrency", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("file", "", "the stage's concurrency.json")
	which := fs.String("function", "", "web or event")
	namespace := fs.String("namespace", "", "SCF namespace (overrides the file's)")
	region := fs.String("region", "ap-guangzhou", "SCF region")
	endpoint := fs.String("endpoint", "https://scf.tencentcloudapi.com", "SCF API endpoint")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	fn, mem, err := load(*file, *which)
	if err != nil {
		fmt.Fprintf(stderr, "setconcurrency: %v\n", err)
		return 2
	}
	if *namespace != "" {
		fn.Namespace = *namespace
	}
	if fn.Namespace == "" {
		fmt.Fprintln(stderr, "setconcurrency: no namespace (give -namespace)")
		return 2
	}
	id, key := getenv("TENCENTCLOUD_SECRETID"), getenv("TENCENTCLOUD_SECRETKEY")
	if id == "" || key == "" {
		fmt.Fprintln(stderr, "setconcurrency: set TENCENTCLOUD_SECRETID and TENCENTCLOUD_SECRETKEY")
		return 2
	}
	u, err := url.Parse(*endpoint)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		fmt.Fprintf(stderr, "setconcurrency: -endpoint %q is not an http(s) URL\n", *endpoint)
		return 2
	}
	cpf := profile.NewClientProfile()
	cpf.HttpProfile.Endpoint = u.Host
	cpf.HttpProfile.Scheme = u.Scheme
	cpf.NetworkFailureMaxRetries = 0
	client := common.NewCommonClient(common.NewTokenCredential(id, key, getenv("TENCENTCLOUD_SESSIONTOKEN")), *region, cpf)
	req := tchttp.NewCommonRequest("scf", "2018-04-16", "PutReservedConcurrencyConfig")
	if err := req.SetActionParameters(map[string]any{
		"FunctionName":           fn.Name,
		"Namespace":              fn.Namespace,
		"ReservedConcurrencyMem": fn.ReservedConcurrency * mem,
	}); err != nil {
		fmt.Fprintf(stderr, "setconcurrency: building the request: %v\n", err)
		return 1
	}
	resp := tchttp.NewCommonResponse()
	if err := client.Send(req, resp); err != nil {
		// The SDK's error names the API error code and message; it holds
		// no credential.
		fmt.Fprintf(stderr, "setconcurrency: %s/%s: %v\n", fn.Namespace, fn.Name, err)
		return 1
	}
	fmt.Fprintf(stdout, "setconcurrency: %s/%s: at most %d instances (%d MB reserved)\n",
		fn.Namespace, fn.Name, fn.ReservedConcurrency, fn.ReservedConcurrency*mem)
	return 0
}

// load reads the cap of the web or event function from file.
func load(file, which string) (Function, int, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return Function{}, 0, fmt.Errorf("-file: %w", err)
	}
	var c Caps
	if err := json.Unmarshal(raw, &c); err != nil {
		return Function{}, 0, fmt.Errorf("%s: %w", file, err)
	}
	var fn Function
	switch which {
	case "web":
		fn = c.Web
	case "event":
		fn = c.Event
	default:
		return Function{}, 0, errors.New("-function must be web or event")
	}
	if fn.Name == "" || fn.ReservedConcurrency < 1 || c.MemoryMB < 64 {
		return Function{}, 0, fmt.Errorf("%s: %s needs a name, a reservedConcurrency of at least 1 and memoryMB", file, which)
	}
	return fn, c.MemoryMB, nil
}
