module github.com/sdkauth/revocation

go 1.25.0

require (
	github.com/getkin/kin-openapi v0.153.0 // indirect
	go.etcd.io/bbolt v1.5.0 // indirect
	golang.org/x/sys v0.45.0 // indirect
)
