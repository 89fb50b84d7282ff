package httpadapter

import "net/http"

// Router is what Mount registers the handler on: *http.ServeMux, and routers
// with the same Handle method (chi's Router has it), where a pattern without
// a method matches every method.
type Router interface {
	Handle(pattern string, h http.Handler)
}

// Mount registers h (a handler from NewHandler) on mux at Path for every
// method, so that h answers every request to the path itself: a GET gets the
// handler's JSON 405 with Allow: POST, and an OPTIONS the CORS preflight
// (WithCORS). Registering it with a method pattern instead ("POST " + Path
// on a ServeMux, or chi's Post) lets the router answer other methods with
// its own text/plain 405 and no preflight, breaking the contract that every
// response is JSON.
func Mount(mux Router, h http.Handler) {
	mux.Handle(Path, h)
}
