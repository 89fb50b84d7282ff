package httpadapter

import _ "embed"

// OpenAPI is the OpenAPI 3.1 document (YAML) of the endpoint NewHandler
// serves: the RevokeToken operation of the SDK's bundle, with every response
// the handler can give documented. Serve it to your clients if you like, e.g.
//
//	mux.HandleFunc("GET /openapi.yaml", func(w http.ResponseWriter, _ *http.Request) {
//		w.Header().Set("Content-Type", "application/yaml")
//		w.Write(httpadapter.OpenAPI)
//	})
//
// Its limits (4096-byte tokens, 256-byte client IDs, 64 KiB bodies) are the
// defaults; a handler built with other options enforces those instead. Do not
// modify the slice.
//
//go:embed openapi.yaml
var OpenAPI []byte
